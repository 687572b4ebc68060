using Deprov.Connectors.Vault.Tests.Fake;
using Deprov.Connectors.Vault.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Vault.Tests;

public sealed class VaultAuthAndFaultTests
{
    [Fact]
    public async Task AppRole_LogsInOnce_ReusesToken_ReLogsInAfter403InvalidToken()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.Login("ldap", "ann");
        server.Login("ldap", "bob");
        using var connector = VaultTest.Connect(server, appRole: true);

        await connector.ExecuteAsync(VaultTest.Action(ActionKind.RevokeToken, "login:ldap/ann"), CancellationToken.None);
        Assert.Equal(1, server.AppRoleLogins);
        Assert.Equal(1, connector.TokensFetched);

        server.RevokeIssuedTokens();
        var result = await connector.ExecuteAsync(VaultTest.Action(ActionKind.RevokeToken, "login:ldap/bob"), CancellationToken.None);

        Assert.False(result.AlreadyInState);
        Assert.Equal(2, server.AppRoleLogins);
        Assert.Equal(0, server.LeaseCount("auth/ldap/login/"));
    }

    [Fact]
    public async Task AppRole_WrongSecretId_PermanentWithoutTheSecret()
    {
        await using var server = await VaultTestServer.StartAsync();
        var wrong = "wrong-secret-id-" + Guid.NewGuid().ToString("N");
        using var connector = VaultTest.Connect(server, appRole: true, secrets: new TestSecrets(new() { ["VAULT_SECRET_ID"] = wrong }));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(VaultTest.Action(ActionKind.RevokeToken, "login:ldap/ann"), CancellationToken.None));

        Assert.False(e.IsTransient);
        Assert.Contains("invalid role or secret ID", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, e.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain(server.SecretId, e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Token_InvalidToken_Permanent403WithoutTheToken()
    {
        await using var server = await VaultTestServer.StartAsync();
        var bogus = "hvs.bogus" + Guid.NewGuid().ToString("N");
        using var connector = VaultTest.Connect(server, secrets: VaultTest.SecretsFor(server, bogus));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => VaultTest.DiscoverAsync(connector));

        Assert.False(e.IsTransient);
        Assert.Contains("permission denied", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(bogus, e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sealed_OnceIsRetried_PersistentIsTransientAndNamed()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.PutSecret("shared/db", new() { ["password"] = "old" });
        using var connector = VaultTest.Connect(server);

        server.Faults.Enqueue((503, VaultTestServer.Errors("Vault is sealed")));
        await connector.ExecuteAsync(VaultTest.Action(ActionKind.RotateCredential, "kv:shared/db"), CancellationToken.None);
        Assert.Equal(2, server.Version("shared/db"));

        server.Faults.Enqueue((503, VaultTestServer.Errors("Vault is sealed")));
        server.Faults.Enqueue((503, VaultTestServer.Errors("Vault is sealed")));
        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(VaultTest.Action(ActionKind.RotateCredential, "kv:shared/db"), CancellationToken.None));
        Assert.True(e.IsTransient);
        Assert.Contains("sealed", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(412, "Enterprise")]
    [InlineData(429, "rate limited")]
    [InlineData(500, "internal error")]
    public async Task TransientStatuses_AfterRetries_TransientException(int status, string message)
    {
        await using var server = await VaultTestServer.StartAsync();
        server.Login("ldap", "ann");
        using var connector = VaultTest.Connect(server, s => s["max_retries"] = "0");
        server.Faults.Enqueue((status, VaultTestServer.Errors(message)));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ReadBackAsync(VaultTest.Action(ActionKind.RevokeToken, "login:ldap/ann"), CancellationToken.None));

        Assert.True(e.IsTransient);
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.True((await connector.ReadBackAsync(VaultTest.Action(ActionKind.RevokeToken, "login:ldap/bob"), CancellationToken.None)).Confirmed);
    }

    [Fact]
    public async Task Token_SentAsBearer()
    {
        await using var server = await VaultTestServer.StartAsync();
        using var connector = VaultTest.Connect(server);
        Assert.Empty(await VaultTest.DiscoverAsync(connector));
        Assert.Equal(0, server.AppRoleLogins);
    }
}
