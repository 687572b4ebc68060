using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Jamf.Tests.Fake;
using Deprov.Connectors.Jamf.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Connectors.Jamf.Tests.Auth;

/// <summary>API-client OAuth and the user bearer-token flow (sign-in, keep-alive, one re-fetch after a 401).</summary>
public sealed class JamfAuthTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    private static async Task DiscoverAllAsync(JamfConnector connector)
    {
        await foreach (var _ in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
        }
    }

    [Fact]
    public async Task OAuth_TokenFetchedOnceWithClientSecretPostAtDerivedUrl()
    {
        await using var server = await JamfFakeServer.StartAsync();
        server.AddComputer("C1");
        using var connector = JamfTest.Connect(server);

        await DiscoverAllAsync(connector);
        await DiscoverAllAsync(connector);

        Assert.Equal(1, server.OAuthTokensIssued);
        Assert.Equal(1, connector.TokensFetched);
        var token = Assert.Single(server.Requests, r => r.Path == "/api/oauth/token");
        Assert.Contains("client_id=deprov-client", token.Body, StringComparison.Ordinal);
        Assert.Contains("client_secret=", token.Body, StringComparison.Ordinal);
        Assert.Null(token.AuthScheme); // client_secret_post: no Basic header
        Assert.All(server.Requests.Where(r => r.Path.StartsWith("/api/v", StringComparison.Ordinal)), r => Assert.Equal("Bearer", r.AuthScheme));
    }

    [Fact]
    public async Task OAuth_TokenRevoked_OneRefetchAfter401ThenSucceeds()
    {
        await using var server = await JamfFakeServer.StartAsync();
        server.AddComputer("C1");
        using var connector = JamfTest.Connect(server);
        await DiscoverAllAsync(connector);
        server.RevokeTokens();

        await DiscoverAllAsync(connector);

        Assert.Equal(2, server.OAuthTokensIssued);
    }

    [Fact]
    public async Task OAuth_WrongSecret_PermanentWithoutTheSecret()
    {
        await using var server = await JamfFakeServer.StartAsync();
        using var connector = JamfTest.Connect(server, secrets: new TestSecrets(new() { ["JAMF_CLIENT_SECRET"] = "wrong-secret-value" }));

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => DiscoverAllAsync(connector));

        Assert.False(ex.IsTransient);
        Assert.Contains("invalid_client", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-secret-value", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserToken_SignsInOnceWithBasicThenUsesBearer()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C1");
        using var connector = JamfTest.Connect(server, JamfAuth.UserToken);

        await DiscoverAllAsync(connector);
        await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);

        Assert.Equal(1, server.SignIns);
        Assert.Equal("Basic", Assert.Single(server.Requests, r => r.Path == "/api/v1/auth/token").AuthScheme);
        Assert.All(server.Requests.Where(r => r.Path != "/api/v1/auth/token"), r => Assert.Equal("Bearer", r.AuthScheme));
    }

    [Fact]
    public async Task UserToken_NearExpiry_KeepAliveInsteadOfNewSignIn()
    {
        var time = new FakeTimeProvider(Start);
        await using var server = await JamfFakeServer.StartAsync(new JamfFakeOptions { Time = time });
        server.AddComputer("C1");
        using var connector = JamfTest.Connect(server, JamfAuth.UserToken);
        await DiscoverAllAsync(connector);

        time.Advance(TimeSpan.FromMinutes(29) + TimeSpan.FromSeconds(30)); // 30 s before the 30-minute token expires
        await DiscoverAllAsync(connector);
        time.Advance(TimeSpan.FromMinutes(29) + TimeSpan.FromSeconds(30));
        await DiscoverAllAsync(connector);

        Assert.Equal(1, server.SignIns);
        Assert.Equal(2, server.KeepAlives);
        Assert.Equal(2, connector.KeepAlives);
        Assert.Equal("Bearer", Assert.IsType<JamfRecordedRequest>(server.Requests.First(r => r.Path == "/api/v1/auth/keep-alive")).AuthScheme);
    }

    [Fact]
    public async Task UserToken_Invalidated_OneNewSignInAfter401()
    {
        await using var server = await JamfFakeServer.StartAsync();
        server.AddComputer("C1");
        using var connector = JamfTest.Connect(server, JamfAuth.UserToken);
        await DiscoverAllAsync(connector);
        server.RevokeTokens();

        await DiscoverAllAsync(connector);

        Assert.Equal(2, server.SignIns);
        Assert.Equal(0, server.KeepAlives);
    }

    [Fact]
    public async Task UserToken_KeepAliveRefused_SignsInAgain()
    {
        var time = new FakeTimeProvider(Start);
        await using var server = await JamfFakeServer.StartAsync(new JamfFakeOptions { Time = time });
        server.AddComputer("C1");
        using var connector = JamfTest.Connect(server, JamfAuth.UserToken);
        await DiscoverAllAsync(connector);
        time.Advance(TimeSpan.FromMinutes(29) + TimeSpan.FromSeconds(30));
        server.RevokeTokens(); // invalidated elsewhere: keep-alive answers 401

        await DiscoverAllAsync(connector);

        Assert.Equal(2, server.SignIns);
        Assert.Contains(server.Requests, r => r.Path == "/api/v1/auth/keep-alive");
    }

    [Fact]
    public async Task UserToken_WrongPassword_PermanentWithoutThePassword()
    {
        await using var server = await JamfFakeServer.StartAsync();
        using var connector = JamfTest.Connect(server, JamfAuth.UserToken, secrets: new TestSecrets(new() { ["JAMF_PASSWORD"] = "not-the-password-42" }));

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => DiscoverAllAsync(connector));

        Assert.False(ex.IsTransient);
        Assert.Contains("user 'deprov-api' was refused", ex.Message, StringComparison.Ordinal);
        Assert.Contains("INVALID_CREDENTIALS", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-password-42", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UserToken_PasswordVariableMissing_PermanentNamingTheVariable()
    {
        await using var server = await JamfFakeServer.StartAsync();
        using var connector = JamfTest.Connect(server, JamfAuth.UserToken, secrets: new TestSecrets([]));

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => DiscoverAllAsync(connector));

        Assert.False(ex.IsTransient);
        Assert.Contains("JAMF_PASSWORD", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StaticBearer_ExpiredToken_PermanentAfterNoRefresh()
    {
        await using var server = await JamfFakeServer.StartAsync();
        using var connector = JamfTest.Connect(server, configure: s => s["auth"] = new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "env:JAMF_TOKEN" },
            secrets: new TestSecrets(new() { ["JAMF_TOKEN"] = "stale-token-123" }));

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => DiscoverAllAsync(connector));

        Assert.False(ex.IsTransient);
        Assert.Contains("401 authentication failed", ex.Message, StringComparison.Ordinal);
        Assert.Contains("INVALID_TOKEN", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("stale-token-123", ex.ToString(), StringComparison.Ordinal);
    }

    /// <summary>The shared layer's exchange option on its own: cached, extended near expiry, re-fetched after Invalidate.</summary>
    [Fact]
    public async Task HttpCredentialsFromExchange_CachesExtendsAndRefetches()
    {
        var time = new FakeTimeProvider(Start);
        var calls = new List<string?>();
        var n = 0;
        using var credentials = HttpCredentials.FromExchange("Test x", (current, _) =>
        {
            calls.Add(current);
            return Task.FromResult(new ExchangedToken($"t{++n}", time.GetUtcNow().AddMinutes(10)));
        }, time);

        var a = await credentials.GetAsync(CancellationToken.None);
        var b = await credentials.GetAsync(CancellationToken.None);
        time.Advance(TimeSpan.FromMinutes(9) + TimeSpan.FromSeconds(1)); // within the one-minute margin
        var c = await credentials.GetAsync(CancellationToken.None);
        credentials.Invalidate(c);
        var d = await credentials.GetAsync(CancellationToken.None);

        Assert.True(credentials.CanRefresh);
        Assert.Same(a, b);
        Assert.Equal("t1,t2,t3", string.Join(",", new[] { a, c, d }.Select(h => h.Parameter)));
        Assert.Equal(new List<string?> { null, "t1", null }, calls);
        Assert.Equal(3, credentials.TokensFetched);
    }

    [Fact]
    public void HttpAuthSettingsParse_DefaultTokenUrlGiven_TokenUrlOptional()
    {
        var errors = new List<ValidationError>();
        var auth = JamfTest.Settings(new() { ["type"] = "oauth_client_credentials", ["client_id"] = "x", ["client_secret"] = "env:S" }, "a");
        var parsed = HttpAuthSettings.Parse(auth, errors, "T", oauthDefaults: new OAuthDefaults(new Uri("https://h/api/oauth/token"), Scope: null, OAuthClientAuth.Post));
        var without = HttpAuthSettings.Parse(auth, errors = [], "T");

        Assert.Equal(new Uri("https://h/api/oauth/token"), parsed.TokenUrl);
        Assert.Equal(OAuthClientAuth.Post, parsed.ClientAuth);
        Assert.Equal(OAuthClientAuth.Basic, without.ClientAuth);
        Assert.Contains(errors, e => e.Key == "a.token_url"); // unchanged behaviour without a default
    }
}
