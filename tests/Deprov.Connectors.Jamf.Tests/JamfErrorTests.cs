using Deprov.Connectors.Jamf.Tests.Fake;
using Deprov.Connectors.Jamf.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Jamf.Tests;

/// <summary>Jamf's error body to clear messages; statuses classified per the IConnector contract; rate limits.</summary>
public sealed class JamfErrorTests
{
    [Fact]
    public async Task ExecuteAsync_403_PermanentWithJamfErrorCode()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C1");
        using var connector = JamfTest.Connect(server, configure: s => s["max_retries"] = "0");
        server.Faults.FailNext(1, 403, pathPrefix: "/api/v2/mdm/commands", method: "POST");

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.Contains("403 forbidden", ex.Message, StringComparison.Ordinal);
        Assert.Contains("SERVER_ERROR", ex.Message, StringComparison.Ordinal); // Jamf's error code from the body
        Assert.Contains("POST api/v2/mdm/commands", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"computers/{id}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_404OnCommandHistory_Permanent()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C1");
        using var connector = JamfTest.Connect(server);
        server.Faults.FailNext(1, 404, pathPrefix: "/api/v2/mdm/commands");

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.Contains("404 not found", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_400FromJamf_PermanentNotRetried()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C1");
        using var connector = JamfTest.Connect(server);
        server.Faults.FailNext(1, 400, pathPrefix: "/api/v2/mdm/commands", method: "POST");

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.Contains("400 rejected as invalid: SERVER_ERROR injected 400", ex.Message, StringComparison.Ordinal);
        Assert.Single(server.Requests, r => r.Method == "POST" && r.Path == "/api/v2/mdm/commands");
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    public async Task ExecuteAsync_5xxAfterRetries_Transient(int status)
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C1");
        using var connector = JamfTest.Connect(server, configure: s => s["max_retries"] = "1");
        server.Faults.FailNext(2, status, pathPrefix: "/api/v1/computers-inventory");

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None));

        Assert.True(ex.IsTransient);
        Assert.Contains($"{status}", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.CommandsFor(server.ManagementIdOfComputer(id)));
    }

    [Fact]
    public async Task ExecuteAsync_One503_RetriedInsideTheCallAndSucceeds()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C1");
        using var connector = JamfTest.Connect(server);
        server.Faults.HtmlErrorNext(1, 503, "/api/v2/mdm/commands");

        var result = await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);

        Assert.False(result.AlreadyInState);
        Assert.Single(server.CommandsFor(server.ManagementIdOfComputer(id)));
    }

    [Fact]
    public async Task ExecuteAsync_HtmlErrorPage_MessageStillClear()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C1");
        using var connector = JamfTest.Connect(server, configure: s => s["max_retries"] = "0");
        server.Faults.HtmlErrorNext(1, 502, "/api/v1/computers-inventory");

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None));

        Assert.True(ex.IsTransient);
        Assert.Contains("502 BadGateway", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_429WithShortRetryAfter_HonouredInsideTheCall()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C1");
        using var connector = JamfTest.Connect(server);
        server.Faults.FailNext(1, 429, retryAfter: TimeSpan.FromSeconds(1), pathPrefix: "/api/v1/computers-inventory");

        var result = await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);

        Assert.False(result.AlreadyInState);
        Assert.Equal(2, server.Requests.Count(r => r.Path == $"/api/v1/computers-inventory/{id}"));
    }

    [Fact]
    public async Task ExecuteAsync_429WithLongRetryAfter_TransientWithRetryAfterForTheEngine()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C1");
        using var connector = JamfTest.Connect(server, configure: s => s["max_retry_after_seconds"] = "5");
        server.Faults.FailNext(1, 429, retryAfter: TimeSpan.FromSeconds(120), pathPrefix: "/api/v2/mdm/commands", method: "GET");

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None));

        Assert.True(ex.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(120), ex.RetryAfter);
        Assert.True(ex.IsRateLimited);
        Assert.Contains("429 rate limited", ex.Message, StringComparison.Ordinal);
        Assert.Empty(server.CommandsFor(server.ManagementIdOfComputer(id)));
    }

    [Fact]
    public async Task DiscoverAsync_ServerHangs_TransientTimeout()
    {
        await using var server = await JamfFakeServer.StartAsync();
        using var connector = JamfTest.Connect(server, configure: s => { s["timeout_seconds"] = "1"; s["max_retries"] = "0"; });
        server.Faults.HangNext(1, "/api/v1/computers-inventory");

        var ex = await Assert.ThrowsAsync<ConnectorException>(async () =>
        {
            await foreach (var _ in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
            {
            }
        });

        Assert.True(ex.IsTransient);
        Assert.Contains("timed out", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiscoverAsync_ConnectionRefused_Transient()
    {
        var server = await JamfFakeServer.StartAsync();
        using var connector = JamfTest.Connect(server, configure: s => s["max_retries"] = "0");
        await server.DisposeAsync();

        var ex = await Assert.ThrowsAsync<ConnectorException>(async () =>
        {
            await foreach (var _ in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
            {
            }
        });

        Assert.True(ex.IsTransient);
    }
}
