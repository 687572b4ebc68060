using Deprov.Connectors.Okta.Tests.Fake;
using Deprov.Connectors.Okta.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta.Tests;

/// <summary>Okta's errors turned into the IConnector contract: transient (with the wait) or permanent (naming the cause).</summary>
public sealed class OktaConnectorFaultTests
{
    [Fact]
    public async Task ExecuteAsync_ReadOnlyAdmin_ThrowsPermanentNamingTheMissingRight()
    {
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { ReadOnlyAdmin = true });
        var id = server.AddUser(OktaTest.Unique("ro"));
        using var connector = OktaTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default));

        Assert.False(e.IsTransient);
        Assert.Contains("403 E0000006", e.Message, StringComparison.Ordinal);
        Assert.Contains("okta.users.manage", e.Message, StringComparison.Ordinal);
        Assert.Contains("lifecycle/suspend", e.Message, StringComparison.Ordinal);
        Assert.Equal("ACTIVE", server.StatusOf(id));
    }

    [Fact]
    public async Task ExecuteAsync_ReadOnlyAdminOnGroups_NamesTheGroupRight()
    {
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { ReadOnlyAdmin = true });
        var id = server.AddUser(OktaTest.Unique("rog"));
        var group = server.AddGroup("staff", id);
        using var connector = OktaTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.RemoveEntitlement, id, group), default));

        Assert.False(e.IsTransient);
        Assert.Contains("okta.groups.manage", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_ServerError_IsRetriedAndSucceeds()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("5xx"));
        using var connector = OktaTest.Connect(server);
        server.Faults.FailNext(2, 500, method: "POST");

        await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default);

        Assert.Equal("SUSPENDED", server.StatusOf(id));
    }

    [Fact]
    public async Task ExecuteAsync_ServerErrorsBeyondRetries_ThrowsTransient()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("503"));
        using var connector = OktaTest.Connect(server, s => s["max_retries"] = "1");
        server.Faults.FailNext(2, 503, method: "POST");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default));

        Assert.True(e.IsTransient);
        Assert.Contains("503", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_ConnectionDropped_IsRetriedAndSucceeds()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("drop"));
        using var connector = OktaTest.Connect(server);
        server.Faults.DropNext(1, method: "POST");

        await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default);

        Assert.Equal("SUSPENDED", server.StatusOf(id));
    }

    [Fact]
    public async Task ExecuteAsync_SlowAnswer_TimesOutTransient()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("slow"));
        using var connector = OktaTest.Connect(server, s =>
        {
            s["timeout_seconds"] = "1";
            s["max_retries"] = "0";
        });
        server.Faults.SlowNext(1, TimeSpan.FromSeconds(5), method: "GET");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default));

        Assert.True(e.IsTransient);
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_RateLimitedWithoutRetries_ThrowsTransientWithTheResetWait()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("429"));
        using var connector = OktaTest.Connect(server, s => s["max_retries"] = "0");
        server.Faults.FailNext(1, 429);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default));

        Assert.True(e.IsTransient);
        Assert.Contains("429 E0000047", e.Message, StringComparison.Ordinal);
        Assert.NotNull(e.RetryAfter);
        Assert.InRange(e.RetryAfter!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(61));
        Assert.True(e.IsRateLimited);
    }

    [Fact]
    public async Task ExecuteAsync_RateLimited_WaitsForTheResetAndSucceeds()
    {
        await using var server = await OktaFakeServer.StartAsync();
        // A short window so the reset the 429 announces is a second or two away.
        server.Faults.EnforceQuota(1_000, TimeSpan.FromSeconds(1));
        var id = server.AddUser(OktaTest.Unique("w429"));
        using var connector = OktaTest.Connect(server);
        server.Faults.FailNext(1, 429, method: "POST");

        await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default);

        Assert.Equal("SUSPENDED", server.StatusOf(id));
        Assert.Equal(1, server.Faults.Answered429);
        Assert.Equal(2, server.Requests.Count(r => r.Method == "POST"));
    }

    [Fact]
    public async Task ExecuteAsync_RateLimitResetBeyondMaxRetryAfter_ThrowsTransientForTheEngineToReschedule()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("long"));
        // The default window is a minute: its reset is further away than this system accepts to wait inline.
        using var connector = OktaTest.Connect(server, s => s["max_retry_after_seconds"] = "0");
        server.Faults.FailNext(1, 429, method: "POST");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default));

        Assert.True(e.IsTransient);
        Assert.True(e.RetryAfter > TimeSpan.Zero);
        Assert.True(e.IsRateLimited);
        Assert.Equal(1, server.Requests.Count(r => r.Method == "POST"));
    }

    [Fact]
    public async Task ExecuteAsync_OneRefusalWhileStatusMoves_ReadsAgainAndSucceeds()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("race"));
        using var connector = OktaTest.Connect(server);
        server.Faults.FailNext(1, 400, "E0000001", method: "POST");

        var result = await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default);

        Assert.Equal("SUSPENDED", server.StatusOf(id));
        Assert.False(result.AlreadyInState);
        Assert.Equal(2, server.Requests.Count(r => r.Method == "GET" && r.Path == $"/api/v1/users/{id}"));
    }

    [Fact]
    public async Task ExecuteAsync_ValidationError_ThrowsPermanentWithOktaSummaryAndCauses()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("400"));
        using var connector = OktaTest.Connect(server);
        // Two 400s: the connector re-reads once after the first (the status may have moved), then gives up.
        server.Faults.FailNext(2, 400, "E0000001", method: "POST");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default));

        Assert.False(e.IsTransient);
        Assert.Contains("400 E0000001", e.Message, StringComparison.Ordinal);
        Assert.Contains("Injected fault 400", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiscoverAsync_ServerErrorMidListing_ThrowsTransient()
    {
        await using var server = await OktaFakeServer.StartAsync();
        server.AddUser("a@example.com");
        using var connector = OktaTest.Connect(server, s => s["max_retries"] = "0");
        server.Faults.FailNext(1, 502, method: "GET");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => OktaTest.DiscoverAllAsync(connector));

        Assert.True(e.IsTransient);
        Assert.Contains("discover users", e.Message, StringComparison.Ordinal);
    }
}
