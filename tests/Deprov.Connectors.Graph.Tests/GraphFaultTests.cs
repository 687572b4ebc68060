using Deprov.Connectors.Graph.Tests.Fake;
using Deprov.Connectors.Graph.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph.Tests;

public sealed class GraphFaultTests
{
    private static async Task<(GraphTestServer Server, FakeUser User)> ServerWithUserAsync()
    {
        var server = await GraphTestServer.StartAsync();
        return (server, server.AddUser(GraphTest.Unique("u")));
    }

    [Fact]
    public async Task Execute_429WithFractionalRetryAfter_RetriedThenSucceeds()
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = GraphTest.Connect(server);
        server.Faults.FailNext(1, 429, retryAfter: "0.05", method: "PATCH");

        var result = await connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default);

        Assert.False(result.AlreadyInState);
        Assert.False(server.User(user.Id)!.AccountEnabled);
        Assert.Equal(2, server.ApiRequests.Count(r => r.Method == "PATCH"));
    }

    [Fact]
    public async Task Execute_429RetryAfterBeyondCap_TransientWithTheFractionalRetryAfter()
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = GraphTest.Connect(server, s => s["max_retry_after_seconds"] = "5");
        server.Faults.FailNext(1, 429, retryAfter: "120.5", method: "PATCH");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default));

        Assert.True(e.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(120.5), e.RetryAfter);
        Assert.True(e.IsRateLimited);
        Assert.Contains("429 throttled TooManyRequests", e.Message, StringComparison.Ordinal);
        Assert.True(server.User(user.Id)!.AccountEnabled);
    }

    [Fact]
    public async Task Execute_429_TeachesTheRateLimiterToPace()
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = GraphTest.Connect(server);
        Assert.True(double.IsPositiveInfinity(connector.Limiter.CurrentRate));
        server.Faults.FailNext(1, 429, retryAfter: "0.01", method: "PATCH");

        await connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default);

        Assert.True(double.IsFinite(connector.Limiter.CurrentRate));
    }

    [Theory]
    [InlineData(503)]
    [InlineData(504)]
    [InlineData(500)]
    public async Task Execute_TransientStatusOnce_RetriedThenSucceeds(int status)
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = GraphTest.Connect(server);
        server.Faults.FailNext(1, status, retryAfter: "0.01", method: "PATCH");

        await connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default);

        Assert.False(server.User(user.Id)!.AccountEnabled);
        Assert.Equal(2, server.ApiRequests.Count(r => r.Method == "PATCH"));
    }

    [Fact]
    public async Task Execute_503BeyondRetries_TransientNamingTheRequest()
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = GraphTest.Connect(server, s => s["max_retries"] = "1");
        server.Faults.FailNext(2, 503, retryAfter: "0.01", method: "POST");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.RevokeSessions, user.Id), default));

        Assert.True(e.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(0.01), e.RetryAfter);
        Assert.True(e.IsRateLimited); // a 503 with Retry-After is the service pacing us too
        Assert.Contains($"POST users/{user.Id}/revokeSignInSessions (revoke sessions) failed: 503", e.Message, StringComparison.Ordinal);
        Assert.Contains("serviceNotAvailable", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_SlowAnswerBeyondTimeout_Transient()
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = GraphTest.Connect(server, s => { s["timeout_seconds"] = "1"; s["max_retries"] = "0"; });
        var hold = server.Faults.HoldNext(method: "GET");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default));
        hold.SetResult();

        Assert.True(e.IsTransient);
        Assert.Contains("timed out", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_MissingPermission_PermanentNamingTheLeastPrivilegedPermission()
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        server.Granted.Remove("User.EnableDisableAccount.All");
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default));

        Assert.False(e.IsTransient);
        Assert.Null(e.RetryAfter);
        Assert.False(e.IsRateLimited);
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
        Assert.Contains("Authorization_RequestDenied: Insufficient privileges to complete the operation.", e.Message, StringComparison.Ordinal);
        Assert.Contains("User.EnableDisableAccount.All", e.Message, StringComparison.Ordinal);
        Assert.Contains("request-id", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(ActionKind.RevokeSessions, "User.RevokeSessions.All")]
    [InlineData(ActionKind.DeleteAccount, "User.DeleteRestore.All")]
    public async Task Execute_MissingActionPermission_NamesIt(ActionKind kind, string permission)
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        server.Granted.Remove(permission);
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(kind, user.Id), default));

        Assert.False(e.IsTransient);
        Assert.Contains(permission, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Auth_TokenFetchedOnceForManyRequests_WithClientSecretPostAndGraphScope()
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = GraphTest.Connect(server);

        await connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default);
        await connector.ExecuteAsync(GraphTest.Action(ActionKind.EnableAccount, user.Id), default);

        Assert.Equal(1, server.TokensIssued);
        Assert.Equal(1, connector.TokensFetched);
        Assert.All(server.ApiRequests, r => Assert.Equal("Bearer", r.AuthScheme));
        // client_secret_post: no Authorization header on the token request, the fake checked the form body.
        Assert.Null(server.Requests.Single(r => r.Path.EndsWith("/token", StringComparison.Ordinal)).AuthScheme);
    }

    [Fact]
    public async Task Auth_TokenRevoked_FetchesOneFreshTokenAfter401()
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = GraphTest.Connect(server);
        await connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default);
        server.RevokeTokens();

        await connector.ExecuteAsync(GraphTest.Action(ActionKind.EnableAccount, user.Id), default);

        Assert.Equal(2, server.TokensIssued);
        Assert.True(server.User(user.Id)!.AccountEnabled);
    }

    [Fact]
    public async Task Auth_WrongSecret_PermanentWithoutTheSecret()
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = GraphTest.Connect(server, secrets: new TestSecrets(new() { ["GRAPH_CLIENT_SECRET"] = "wrong-secret-4711" }));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default));

        Assert.False(e.IsTransient);
        Assert.Contains("invalid_client", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-secret-4711", e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(server.ClientSecret, e.ToString(), StringComparison.Ordinal);
        Assert.True(server.User(user.Id)!.AccountEnabled);
    }

    [Fact]
    public async Task Auth_ScopeOtherThanGraphDefault_TokenEndpointRefusesPermanently()
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = GraphTest.Connect(server, s => ((Dictionary<string, object>)s["auth"])["scope"] = "User.Read.All");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default));

        Assert.False(e.IsTransient);
        Assert.Contains("invalid_scope", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.TokensIssued);
    }

    [Fact]
    public async Task Auth_StaticBearerRejected_PermanentAuthenticationFailure()
    {
        var (server, user) = await ServerWithUserAsync();
        await using var _ = server;
        using var connector = GraphTest.Connect(server,
            s => s["auth"] = new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "env:GRAPH_TOKEN" },
            new TestSecrets(new() { ["GRAPH_TOKEN"] = "eyJ-not-issued-by-the-fake" }));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default));

        Assert.False(e.IsTransient);
        Assert.Contains("401", e.Message, StringComparison.Ordinal);
        Assert.Contains("InvalidAuthenticationToken", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("eyJ-not-issued", e.ToString(), StringComparison.Ordinal);
    }
}
