using Deprov.Connectors.Okta.Tests.Fake;
using Deprov.Connectors.Okta.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta.Tests;

public sealed class OktaAuthTests
{
    [Fact]
    public async Task ExecuteAsync_ApiToken_IsSentWithTheSswsScheme()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("ssws"));
        using var connector = OktaTest.Connect(server);

        await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default);

        Assert.Equal("SUSPENDED", server.StatusOf(id));
        Assert.All(server.Requests, r => Assert.Equal("SSWS", r.AuthScheme));
    }

    [Fact]
    public async Task ExecuteAsync_WrongApiToken_ThrowsPermanentNamingTheSettingWithoutTheToken()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("bad"));
        using var connector = OktaTest.Connect(server, secrets: new TestSecrets(new() { ["OKTA_API_TOKEN"] = "00wrong-token-value" }));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default));

        Assert.False(e.IsTransient);
        Assert.Contains("401 E0000011", e.Message, StringComparison.Ordinal);
        Assert.Contains("auth.token", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("00wrong-token-value", e.Message, StringComparison.Ordinal);
        Assert.Equal("ACTIVE", server.StatusOf(id));
    }

    [Fact]
    public async Task ExecuteAsync_MissingTokenVariable_ThrowsPermanentNamingTheVariable()
    {
        await using var server = await OktaFakeServer.StartAsync();
        using var connector = OktaTest.Connect(server, secrets: new TestSecrets([]));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, "x"), default));

        Assert.False(e.IsTransient);
        Assert.Contains("OKTA_API_TOKEN", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_OAuthClientCredentials_FetchesTokenOnceAndReusesIt()
    {
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { Auth = OktaFakeAuth.OAuthClientCredentials });
        var ids = Enumerable.Range(0, 4).Select(i => server.AddUser(OktaTest.Unique($"o{i}"))).ToList();
        using var connector = OktaTest.Connect(server);

        await Task.WhenAll(ids.Select(id => connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default)));

        Assert.All(ids, id => Assert.Equal("SUSPENDED", server.StatusOf(id)));
        Assert.Equal(1, server.TokensIssued);
        Assert.Equal(1, connector.TokensFetched);
        Assert.All(server.Requests.Where(r => r.Path.StartsWith("/api/", StringComparison.Ordinal)), r => Assert.Equal("Bearer", r.AuthScheme));
    }

    [Fact]
    public async Task ExecuteAsync_OAuthTokenRevoked_RefreshesOnceAndRetries()
    {
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { Auth = OktaFakeAuth.OAuthClientCredentials });
        var a = server.AddUser(OktaTest.Unique("ra"));
        var b = server.AddUser(OktaTest.Unique("rb"));
        using var connector = OktaTest.Connect(server);
        await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, a), default);

        server.RevokeTokens();
        await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, b), default);

        Assert.Equal("SUSPENDED", server.StatusOf(b));
        Assert.Equal(2, server.TokensIssued);
    }

    [Fact]
    public async Task ExecuteAsync_OAuthWrongClientSecret_ThrowsPermanentWithoutTheSecret()
    {
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { Auth = OktaFakeAuth.OAuthClientCredentials });
        using var connector = OktaTest.Connect(server, secrets: new TestSecrets(new() { ["OKTA_CLIENT_SECRET"] = "not-the-secret" }));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, "x"), default));

        Assert.False(e.IsTransient);
        Assert.Contains("invalid_client", e.Message, StringComparison.Ordinal);
        Assert.Contains("'0oadeprov'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret", e.Message, StringComparison.Ordinal);
    }
}
