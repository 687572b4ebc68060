using Deprov.Connectors.Vault.Tests.Fake;
using Deprov.Connectors.Vault.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Vault.Tests;

public sealed class VaultLoginTests
{
    [Fact]
    public async Task Discover_LoginLeases_OneTokenCredentialPerUser()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.Login("ldap", "ann");
        server.Login("ldap", "ann");
        server.Login("ldap", "bob");
        server.Login("userpass", "carol");
        using var connector = VaultTest.Connect(server);

        var found = (await VaultTest.DiscoverAsync(connector)).OfType<DiscoveredCredential>().OrderBy(c => c.ExternalId, StringComparer.Ordinal).ToList();

        Assert.Equal(["login:ldap/ann", "login:ldap/bob"], found.Select(c => c.ExternalId));
        Assert.All(found, c => Assert.Equal(CredentialKind.ApiToken, c.Kind));
        Assert.Equal("ann@example.com", found[0].OwnerUserName);
        Assert.Equal("auth/ldap/login/ann", found[0].Name);
    }

    [Fact]
    public async Task Revoke_RevokesOnlyThatUsersLeases_ReadBackConfirms_ReplayRevokesAgainHarmlessly()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.Login("ldap", "ann");
        server.Login("ldap", "ann");
        server.Login("ldap", "ann2");
        using var connector = VaultTest.Connect(server);
        var action = VaultTest.Action(ActionKind.RevokeToken, "login:ldap/ann");

        Assert.False((await connector.ReadBackAsync(action, CancellationToken.None)).Confirmed);
        var result = await connector.ExecuteAsync(action, CancellationToken.None);

        Assert.False(result.AlreadyInState);
        Assert.Equal("2", result.Before["leases"]);
        Assert.Equal(0, server.LeaseCount("auth/ldap/login/ann/"));
        Assert.Equal(1, server.LeaseCount("auth/ldap/login/ann2/"));
        Assert.Contains(server.Requests, r => r.Method == "POST" && r.Path == "/v1/sys/leases/revoke-prefix/auth/ldap/login/ann/" && r.Query == "?sync=true");
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);
        Assert.True(readBack.Confirmed);
        Assert.Equal("0", readBack.Observed["leases"]);

        Assert.Contains("answers without this person", readBack.Observed["mount_login_list"], StringComparison.Ordinal);

        // The person's lease list now answers 404, which Vault also answers for a wrong path: not taken as "nothing to
        // revoke". Revoking an empty prefix again changes nothing.
        var replay = await connector.ExecuteAsync(action, CancellationToken.None);
        Assert.False(replay.AlreadyInState);
        Assert.Equal(2, server.Requests.Count(r => r.Method == "POST" && r.Path == "/v1/sys/leases/revoke-prefix/auth/ldap/login/ann/"));
        Assert.Equal(1, server.LeaseCount("auth/ldap/login/ann2/"));
    }

    [Fact]
    public async Task Revoke_TokenWithoutSudo_PermanentNamingSudo()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.Login("ldap", "ann");
        var weak = server.IssueToken(sudo: false);
        using var connector = VaultTest.Connect(server, secrets: VaultTest.SecretsFor(server, weak));

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(VaultTest.Action(ActionKind.RevokeToken, "login:ldap/ann"), CancellationToken.None));

        Assert.False(e.IsTransient);
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
        Assert.Contains("'sudo'", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(weak, e.Message, StringComparison.Ordinal);
        Assert.Equal(1, server.LeaseCount("auth/ldap/login/ann/"));
    }

    [Fact]
    public async Task Revoke_MountNotConfigured_Permanent()
    {
        await using var server = await VaultTestServer.StartAsync();
        using var connector = VaultTest.Connect(server);
        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(VaultTest.Action(ActionKind.RevokeToken, "login:userpass/ann"), CancellationToken.None));
        Assert.False(e.IsTransient);
        Assert.Contains("auth_mounts", e.Message, StringComparison.Ordinal);
    }
}
