using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Testing.Ldap;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>A certificate the connection rejects is a configuration error naming the host, the certificate and the fix; each test runs its own TLS slapd.</summary>
public sealed class TlsErrorTests
{
    private static readonly DateTimeOffset Now = TimeProvider.System.GetUtcNow();

    [Theory]
    [InlineData("ldaps")]
    [InlineData("starttls")]
    public async Task Execute_CertificateForAnotherName_PermanentErrorNamingHostAndCertificateNames(string security)
    {
        var certificates = await TestCertificates.CreateAsync(["ldap.deprov.invalid"], [], Now.AddDays(-1), Now.AddDays(30));
        var (server, tree, id) = await StartAsync(certificates);
        await using var _ = server;
        using var connector = Create(server, tree, security, certificates.CaDirectory);

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, id), CancellationToken.None));

        Assert.False(ex.IsTransient, ex.Message);
        Assert.Contains("'ldap.deprov.invalid'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("not for '127.0.0.1'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Set 'host'", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("retry.", ex.Message.Replace("retrying will not help.", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ldaps")]
    [InlineData("starttls")]
    public async Task Execute_CertificateFromUnknownCa_PermanentErrorNamingTrustedCaDir(string security)
    {
        var certificates = await TestCertificates.CreateAsync([], ["127.0.0.1"], Now.AddDays(-1), Now.AddDays(30));
        var other = await TestCertificates.CreateAsync([], ["127.0.0.1"], Now.AddDays(-1), Now.AddDays(30));
        var (server, tree, id) = await StartAsync(certificates);
        await using var _ = server;
        using var connector = Create(server, tree, security, other.CaDirectory);

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, id), CancellationToken.None));

        Assert.False(ex.IsTransient, ex.Message);
        Assert.Contains("is not trusted", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"trusted_ca_dir '{other.CaDirectory}'", ex.Message, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Execute_ExpiredCertificate_PermanentErrorSayingRenew()
    {
        var certificates = await TestCertificates.CreateAsync([], ["127.0.0.1"], Now.AddDays(-30), Now.AddDays(-1));
        var (server, tree, id) = await StartAsync(certificates);
        await using var _ = server;
        using var connector = Create(server, tree, "ldaps", certificates.CaDirectory);

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, id), CancellationToken.None));

        Assert.False(ex.IsTransient, ex.Message);
        Assert.Contains("Renew the server's certificate", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ldaps")]
    [InlineData("starttls")]
    public async Task Execute_ValidCertificateFromTrustedCa_Works(string security)
    {
        var certificates = await TestCertificates.CreateAsync([], ["127.0.0.1"], Now.AddDays(-1), Now.AddDays(30));
        var (server, tree, id) = await StartAsync(certificates);
        await using var _ = server;
        using var connector = Create(server, tree, security, certificates.CaDirectory);
        var action = Some.Action(ActionKind.DisableAccount, id);

        await connector.ExecuteAsync(action, CancellationToken.None);

        Assert.True((await connector.ReadBackAsync(action, CancellationToken.None)).Confirmed);
    }

    private static async Task<(SlapdServer Server, Some.Tree Tree, string Id)> StartAsync(TestCertificates certificates)
    {
        var tree = new Some.Tree(SlapdServer.Suffix);
        var server = await SlapdServer.StartAsync(tree.Ldif(1, new Dictionary<string, (string, int[])>()), certificates);
        return (server, tree, await SlapdFixture.EntryUuidAsync(server, tree.UserDn(0)));
    }

    private static LdapConnector Create(SlapdServer server, Some.Tree tree, string security, string caDirectory)
    {
        var settings = SlapdFixture.SettingsFor(server, tree);
        settings["security"] = security;
        settings["port"] = security == "ldaps" ? server.TlsPort : server.Port;
        settings["trusted_ca_dir"] = caDirectory;
        return SlapdFixture.Create(settings, new InMemorySecrets().With("env:LDAP_BIND_PASSWORD", server.ServicePassword));
    }
}
