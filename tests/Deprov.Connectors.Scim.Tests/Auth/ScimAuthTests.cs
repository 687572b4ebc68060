using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Testing.Scim;

namespace Deprov.Connectors.Scim.Tests.Auth;

public sealed class ScimAuthTests
{
    [Fact]
    public async Task ExecuteAsync_BasicAuth_IsAccepted()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.Basic });
        var id = server.AddUser(ScimTest.Unique("basic"));
        using var connector = ScimTest.Connect(server);

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(server.IsActive(id));
        Assert.All(server.Requests, r => Assert.Equal("Basic", r.AuthScheme));
    }

    [Fact]
    public async Task ExecuteAsync_WrongBearerToken_ThrowsPermanentWithoutTheToken()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.Bearer });
        var id = server.AddUser(ScimTest.Unique("bad"));
        var secrets = new TestSecrets(new() { ["SCIM_TOKEN"] = "wrong-token-value" });
        using var connector = ScimTest.Connect(server, secrets: secrets);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default));

        Assert.False(e.IsTransient);
        Assert.Contains("401", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-token-value", e.Message, StringComparison.Ordinal);
        Assert.True(server.IsActive(id));
    }

    [Fact]
    public async Task ExecuteAsync_MissingSecretVariable_ThrowsPermanentNamingTheVariable()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.Bearer });
        using var connector = ScimTest.Connect(server, secrets: new TestSecrets([]));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, "x"), default));

        Assert.False(e.IsTransient);
        Assert.Contains("SCIM_TOKEN", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_OAuthClientCredentials_FetchesTokenOnceAndReusesIt()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.OAuthClientCredentials });
        var ids = Enumerable.Range(0, 5).Select(i => server.AddUser(ScimTest.Unique($"o{i}"))).ToList();
        using var connector = ScimTest.Connect(server);

        await Task.WhenAll(ids.Select(id => connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default)));

        Assert.All(ids, id => Assert.False(server.IsActive(id)));
        Assert.Equal(1, server.TokensIssued);
    }

    [Fact]
    public async Task ExecuteAsync_OAuthTokenRevoked_RefreshesAndRetries()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.OAuthClientCredentials });
        var a = server.AddUser(ScimTest.Unique("ra"));
        var b = server.AddUser(ScimTest.Unique("rb"));
        using var connector = ScimTest.Connect(server);
        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, a), default);

        server.RevokeTokens();
        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, b), default);

        Assert.False(server.IsActive(b));
        Assert.Equal(2, server.TokensIssued);
    }

    [Fact]
    public async Task ExecuteAsync_OAuthWrongClientSecret_ThrowsPermanentNamingTheClient()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.OAuthClientCredentials });
        var secrets = new TestSecrets(new() { ["SCIM_CLIENT_SECRET"] = "not-the-secret" });
        using var connector = ScimTest.Connect(server, secrets: secrets);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, "x"), default));

        Assert.False(e.IsTransient);
        Assert.Contains("invalid_client", e.Message, StringComparison.Ordinal);
        Assert.Contains("'deprov'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_TokenWithOtherScheme_SendsThatScheme()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.Bearer, TokenScheme = "SSWS" });
        var id = server.AddUser(ScimTest.Unique("ssws"));
        using var connector = ScimTest.Connect(server, configure: s => ((Dictionary<string, object>)s["auth"])["scheme"] = "SSWS");

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(server.IsActive(id));
        Assert.All(server.Requests, r => Assert.Equal("SSWS", r.AuthScheme));
    }

    [Theory]
    [InlineData("basic")]
    [InlineData("post")]
    public async Task ExecuteAsync_OAuthClientAuthMethod_AuthenticatesAtTheTokenEndpointThatWay(string method)
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.OAuthClientCredentials });
        var id = server.AddUser(ScimTest.Unique("ca"));
        using var connector = ScimTest.Connect(server, configure: s => ((Dictionary<string, object>)s["auth"])["client_auth"] = method);

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(server.IsActive(id));
        Assert.Equal(method, server.LastTokenClientAuth);
    }
}
