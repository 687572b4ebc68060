using Deprov.Connectors.Google.Tests.Fake;
using Deprov.Connectors.Google.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google.Tests;

public sealed class GoogleFaultTests
{
    [Theory]
    [InlineData("userRateLimitExceeded")]
    [InlineData("rateLimitExceeded")]
    [InlineData("quotaExceeded")]
    public async Task RateLimit403_RetriedInTheClientAndSucceeds(string reason)
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);
        server.Faults.FailNext(2, 403, reason, method: "PATCH");

        var result = await connector.ExecuteAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None);

        Assert.False(result.AlreadyInState);
        Assert.True(server.User(ann.Id)!.Suspended);
        Assert.Equal(2, server.Faults.Answered);
        Assert.Equal(2, connector.Client.RateLimitRetries);
    }

    [Fact]
    public async Task RateLimit403_Persisting_TransientNotPermissions()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server, s => s["max_retries"] = "1");
        server.Faults.FailNext(5, 403, "userRateLimitExceeded", method: "PATCH");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None));

        Assert.True(e.IsTransient);
        Assert.Contains("rate limit", e.Message, StringComparison.Ordinal);
        Assert.Contains("userRateLimitExceeded", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("scope", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, server.Faults.Answered);
    }

    [Theory]
    [InlineData("forbidden")]
    [InlineData("insufficientPermissions")]
    public async Task Forbidden403_PermanentNamingTheScopeAndNotRetried(string reason)
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);
        server.Faults.FailNext(3, 403, reason, method: "POST");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.RevokeSessions, ann.Id), CancellationToken.None));

        Assert.False(e.IsTransient);
        Assert.Contains("https://www.googleapis.com/auth/admin.directory.user.security", e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.Faults.Answered);
    }

    [Fact]
    public async Task ScopeMissingFromToken_RealInsufficientPermissionsIsPermanent()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server, s => s["scopes"] = new[] { "https://www.googleapis.com/auth/admin.directory.user" });

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.RevokeSessions, ann.Id), CancellationToken.None));

        Assert.False(e.IsTransient);
        Assert.Contains("403 forbidden; the service account needs the scope https://www.googleapis.com/auth/admin.directory.user.security", e.Message, StringComparison.Ordinal);
        Assert.Contains("insufficientPermissions", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(429, "rateLimitExceeded")]
    [InlineData(503, "backendError")]
    public async Task Status429And503_RetriedBySharedPipeline(int status, string reason)
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);
        server.Faults.FailNext(2, status, reason, method: "PATCH", retryAfter: "0");

        await connector.ExecuteAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None);

        Assert.True(server.User(ann.Id)!.Suspended);
        Assert.Equal(2, server.Faults.Answered);
    }

    [Fact]
    public async Task ResourceExhausted429_Persisting_TransientWithGoogleMessage()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server, s => s["max_retries"] = "0");
        server.Faults.FailNext(1, 429, "rateLimitExceeded", method: "PATCH");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None));

        Assert.True(e.IsTransient);
        Assert.Contains("429 rate limit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BackendError_Persisting_Transient()
    {
        await using var server = await GoogleTestServer.StartAsync();
        using var connector = GoogleTest.Connect(server, s => s["max_retries"] = "0");
        server.Faults.FailNext(1, 503, "backendError", method: "GET", pathContains: "/users");

        var e = await Assert.ThrowsAsync<ConnectorException>(async () =>
        {
            await foreach (var o in connector.DiscoverAsync(new Core.Connectors.DiscoveryRequest(null), CancellationToken.None))
            {
                Assert.NotNull(o);
            }
        });

        Assert.True(e.IsTransient);
        Assert.Contains("503 service unavailable backendError: Service unavailable. Please try again", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SlowAnswer_TimesOutTransient()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server, s =>
        {
            s["timeout_seconds"] = "1";
            s["max_retries"] = "0";
        });
        var hold = server.Faults.HoldNext(method: "GET");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None));
        hold.SetResult();

        Assert.True(e.IsTransient);
        Assert.Contains("timed out after 1 s", e.Message, StringComparison.Ordinal);
    }
}
