using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Testing.Scim;

namespace Deprov.Connectors.Scim.Tests;

public sealed class ScimConnectorFaultTests
{
    private static async Task<(ScimTestServer Server, string Id)> ServerWithUserAsync(ScimServerOptions? options = null)
    {
        var server = await ScimTestServer.StartAsync(options);
        return (server, server.AddUser(ScimTest.Unique("u")));
    }

    [Fact]
    public async Task ExecuteAsync_429WithRetryAfter_WaitsAndSucceeds()
    {
        var (server, id) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = ScimTest.Connect(server);
        server.Faults.FailNext(1, 429, TimeSpan.FromSeconds(1), method: "GET");
        var started = TimeProvider.System.GetTimestamp();

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(server.IsActive(id));
        Assert.True(TimeProvider.System.GetElapsedTime(started) >= TimeSpan.FromSeconds(0.95), "Retry-After: 1 was not honoured");
        Assert.Equal(1, server.Faults.Answered429);
    }

    [Fact]
    public async Task ExecuteAsync_429RetryAfterBeyondCap_ThrowsTransientWithRetryAfter()
    {
        var (server, id) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = ScimTest.Connect(server, configure: s => s["max_retry_after_seconds"] = "5");
        server.Faults.FailNext(1, 429, TimeSpan.FromSeconds(120), method: "GET");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default));

        Assert.True(e.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(120), e.RetryAfter);
        Assert.True(e.IsRateLimited);
        Assert.Contains("429", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(504)]
    [InlineData(408)]
    [InlineData(409)]
    public async Task ExecuteAsync_TransientStatusOnce_RetriesAndSucceeds(int status)
    {
        var (server, id) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = ScimTest.Connect(server);
        server.Faults.FailNext(1, status, method: "PATCH");

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(server.IsActive(id));
        Assert.Equal(2, server.Faults.ByMethod["PATCH"]);
    }

    [Fact]
    public async Task ExecuteAsync_5xxBeyondRetries_ThrowsTransient()
    {
        var (server, id) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = ScimTest.Connect(server, configure: s => s["max_retries"] = "2");
        server.Faults.FailNext(3, 500, method: "GET");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default));

        Assert.True(e.IsTransient);
        Assert.Contains("500", e.Message, StringComparison.Ordinal);
        Assert.True(server.IsActive(id));
    }

    [Theory]
    [InlineData(400)]
    [InlineData(403)]
    [InlineData(422)]
    public async Task ExecuteAsync_Permanent4xx_ThrowsPermanentWithoutRetry(int status)
    {
        var (server, id) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = ScimTest.Connect(server);
        server.Faults.FailNext(1, status, method: "PATCH");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default));

        Assert.False(e.IsTransient);
        Assert.Equal(1, server.Faults.ByMethod["PATCH"]);
        Assert.Contains("app", e.Message, StringComparison.Ordinal);
        Assert.Contains($"Users/{id}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_DroppedConnection_RetriesAndSucceeds()
    {
        var (server, id) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = ScimTest.Connect(server);
        server.Faults.DropNext(1, method: "PATCH");

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(server.IsActive(id));
        Assert.Equal(1, server.Faults.Dropped);
    }

    [Fact]
    public async Task ExecuteAsync_DroppedConnectionsBeyondRetries_ThrowsTransient()
    {
        var (server, id) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = ScimTest.Connect(server, configure: s => s["max_retries"] = "1");
        server.Faults.DropNext(2, method: "GET");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default));

        Assert.True(e.IsTransient);
        Assert.Contains("connection", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_SlowAnswerBeyondTimeout_TimesOutAndRetries()
    {
        var (server, id) = await ServerWithUserAsync();
        await using var _ = server;
        // The lookup and the retried PATCH must each answer within the limit, on a machine busy with the whole suite:
        // 3 s, not 1. The slow answer would take 30 s; the fake drops it when the client gives up.
        using var connector = ScimTest.Connect(server, configure: s => s["timeout_seconds"] = "3");
        server.Faults.SlowNext(1, TimeSpan.FromSeconds(30), method: "PATCH");

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(server.IsActive(id));
        Assert.Equal(2, server.Faults.ByMethod["PATCH"]);
    }

    [Fact]
    public async Task ExecuteAsync_SlowAnswersBeyondRetries_ThrowsTransientTimeout()
    {
        var (server, id) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = ScimTest.Connect(server, configure: s =>
        {
            s["timeout_seconds"] = "1";
            s["max_retries"] = "0";
        });
        server.Faults.SlowNext(1, TimeSpan.FromSeconds(4), method: "GET");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default));

        Assert.True(e.IsTransient);
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiscoverAsync_InvalidFilter_ThrowsPermanentWithScimTypeAndDetail()
    {
        await using var server = await ScimTestServer.StartAsync();
        using var connector = ScimTest.Connect(server, configure: s => s["user_filter"] = "userName zz \"x\"");

        var e = await Assert.ThrowsAsync<ConnectorException>(async () =>
        {
            await foreach (var _ in connector.DiscoverAsync(new(null), default))
            {
            }
        });

        Assert.False(e.IsTransient);
        Assert.Contains("scimType=invalidFilter", e.Message, StringComparison.Ordinal);
        Assert.Contains("unknown operator 'zz'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_ServerNoTargetOnRemove_IsAlreadyInState()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("nt"));
        var group = server.AddGroup("G", id);
        using var connector = ScimTest.Connect(server);
        // Someone removed the member between our membership check and our PATCH: the server says noTarget.
        server.Faults.FailNext(1, 400, method: "PATCH", scimType: "noTarget");

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, group), default);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.After["member"]);
    }

    [Fact]
    public async Task ExecuteAsync_400WithScimError_MessageCarriesScimTypeAndDetail()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("iv"));
        using var connector = ScimTest.Connect(server);
        server.Faults.FailNext(1, 400, method: "PATCH", scimType: "invalidValue");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default));

        Assert.False(e.IsTransient);
        Assert.Contains("scimType=invalidValue", e.Message, StringComparison.Ordinal);
        Assert.Contains("injected fault 400", e.Message, StringComparison.Ordinal);
    }
}
