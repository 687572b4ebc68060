using System.Security.Cryptography;
using Deprov.Connectors.Google.Tests.Fake;
using Deprov.Connectors.Google.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google.Tests;

public sealed class GoogleAuthTests
{
    [Fact]
    public async Task Requests_ExchangeOneSignedJwtAndReuseTheToken()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);

        await connector.ExecuteAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None);
        await connector.ReadBackAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None);

        Assert.Equal(1, server.TokensIssued);
        Assert.Equal(1, connector.TokensFetched);
        var claims = server.LastClaims!;
        Assert.Equal(GoogleTestServer.ClientEmail, claims["iss"]!.GetValue<string>());
        Assert.Equal(GoogleTestServer.AdminEmail, claims["sub"]!.GetValue<string>());
        Assert.Equal(server.TokenUrl.AbsoluteUri, claims["aud"]!.GetValue<string>());
        Assert.Equal(string.Join(' ', GoogleTestServer.LeastPrivilege), claims["scope"]!.GetValue<string>());
        Assert.Equal(3600, claims["exp"]!.GetValue<long>() - claims["iat"]!.GetValue<long>());
    }

    [Fact]
    public async Task Token_RejectedWith401_FetchedAgainOnceAndRequestSucceeds()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);
        await connector.ReadBackAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None);

        server.RevokeTokens();
        var result = await connector.ExecuteAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None);

        Assert.False(result.AlreadyInState);
        Assert.Equal(2, server.TokensIssued);
        Assert.True(server.User(ann.Id)!.Suspended);
    }

    [Fact]
    public async Task WrongKey_PermanentFailureWithoutTheKey()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var other = RSA.Create(2048);
        var keyJson = server.KeyJson(other);
        using var connector = GoogleTest.Connect(server, keyJson: keyJson);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None));

        Assert.False(e.IsTransient);
        Assert.Contains("invalid_grant", e.Message, StringComparison.Ordinal);
        Assert.Contains(GoogleTestServer.ClientEmail, e.Message, StringComparison.Ordinal);
        var pemBody = other.ExportPkcs8PrivateKeyPem().Split('\n')[1];
        Assert.DoesNotContain(pemBody, e.ToString(), StringComparison.Ordinal);
        Assert.False(server.User(ann.Id)!.Suspended);
    }

    [Fact]
    public async Task ScopeNotDelegated_PermanentNamingTheClientIdToDelegate()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        server.Delegated.Remove("https://www.googleapis.com/auth/admin.directory.device.mobile.action");
        using var connector = GoogleTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None));

        Assert.False(e.IsTransient);
        Assert.Contains("unauthorized_client", e.Message, StringComparison.Ordinal);
        Assert.Contains(GoogleTestServer.ClientId, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownAdmin_InvalidGrantPermanent()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server, s => s["admin_email"] = "nobody@example.com");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None));

        Assert.False(e.IsTransient);
        Assert.Contains("nobody@example.com", e.Message, StringComparison.Ordinal);
        Assert.Contains("Invalid email or User ID", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("not json at all MIIEsecret", "is not JSON")]
    [InlineData("{\"type\":\"service_account\",\"client_email\":\"x@y.iam.gserviceaccount.com\",\"private_key\":\"MIIEsecret\"}", "not a PEM RSA private key")]
    [InlineData("{\"type\":\"authorized_user\",\"client_secret\":\"MIIEsecret\"}", "not a service account key")]
    public async Task UnusableKey_PermanentWithoutQuotingIt(string keyJson, string expected)
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server, keyJson: keyJson);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id), CancellationToken.None));

        Assert.False(e.IsTransient);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("MIIEsecret", e.ToString(), StringComparison.Ordinal);
        Assert.Equal(0, server.TokensIssued);
    }
}
