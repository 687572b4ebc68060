using Deprov.Connectors.Vault.Tests.Support;

namespace Deprov.Connectors.Vault.Tests;

public sealed class VaultSettingsTests
{
    private static IReadOnlyList<Deprov.Core.ValidationError> Validate(Dictionary<string, object> values) =>
        new VaultConnectorFactory().Validate(VaultTest.System, VaultTest.Settings(values));

    private static Dictionary<string, object> Minimal() => new()
    {
        ["address"] = "https://vault.example.com:8200",
        ["auth"] = new Dictionary<string, object> { ["type"] = "token", ["token"] = "env:VAULT_TOKEN" },
    };

    [Fact]
    public void Parse_Minimal_AppliesDefaults()
    {
        var errors = new List<Deprov.Core.ValidationError>();
        var s = VaultSettings.Parse(VaultTest.Settings(Minimal()), errors);
        Assert.Empty(errors);
        Assert.Equal(new Uri("https://vault.example.com:8200/v1/"), s.ApiBase);
        Assert.Equal("secret", s.KvMount);
        Assert.Equal([string.Empty], s.KvPrefixes);
        Assert.Equal("known_by", s.KnownByKey);
        Assert.Equal("owner", s.OwnerKey);
        Assert.Equal(["password"], s.RotateKeys);
        Assert.Equal(32, s.SecretLength);
        Assert.Empty(s.AuthMounts);
        Assert.Equal(VaultAuthType.Token, s.Auth.Type);
    }

    [Fact]
    public void Validate_MissingAddressAndAuth_ReportsBoth()
    {
        var errors = Validate([]);
        Assert.Contains(errors, e => (e.Key ?? string.Empty).EndsWith(".address", StringComparison.Ordinal));
        Assert.Contains(errors, e => (e.Key ?? string.Empty).EndsWith(".auth", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_LiteralToken_RefusedWithoutQuotingIt()
    {
        var values = Minimal();
        values["auth"] = new Dictionary<string, object> { ["type"] = "token", ["token"] = "hvs.literalsecret123" };
        var error = Assert.Single(Validate(values));
        Assert.Contains("literal secret", error.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain("hvs.literalsecret123", $"{error.Problem}{error.Fix}", StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_AppRoleWithoutRoleIdOrSecretId_ReportsBoth()
    {
        var values = Minimal();
        values["auth"] = new Dictionary<string, object> { ["type"] = "approle" };
        var errors = Validate(values);
        Assert.Contains(errors, e => (e.Key ?? string.Empty).EndsWith("auth.role_id", StringComparison.Ordinal));
        Assert.Contains(errors, e => (e.Key ?? string.Empty).EndsWith("auth.secret_id", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_BadValues_EachNamed()
    {
        var values = Minimal();
        values["address"] = "vault:8200/ui";
        values["auth_mounts"] = new[] { "auth/ldap", "oidc" };
        values["email_domain"] = "not a domain";
        values["rotate_keys"] = Array.Empty<string>();
        values["kv_prefixes"] = new[] { "shared/*" };
        values["secret_length"] = "4";
        values["colour"] = "blue";
        var errors = Validate(values);
        Assert.Contains(errors, e => (e.Key ?? string.Empty).EndsWith(".address", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Problem.Contains("'oidc'", StringComparison.Ordinal));
        Assert.DoesNotContain(errors, e => e.Problem.Contains("'ldap'", StringComparison.Ordinal));
        Assert.Contains(errors, e => (e.Key ?? string.Empty).EndsWith(".email_domain", StringComparison.Ordinal));
        Assert.Contains(errors, e => (e.Key ?? string.Empty).EndsWith(".rotate_keys", StringComparison.Ordinal));
        Assert.Contains(errors, e => (e.Key ?? string.Empty).EndsWith(".kv_prefixes", StringComparison.Ordinal));
        Assert.Contains(errors, e => (e.Key ?? string.Empty).EndsWith(".secret_length", StringComparison.Ordinal));
        Assert.Contains(errors, e => (e.Key ?? string.Empty).EndsWith(".colour", StringComparison.Ordinal));
    }

    [Fact]
    public void Create_InvalidSettings_ThrowsValidationException()
    {
        var context = new Deprov.Core.Connectors.ConnectorContext(TimeProvider.System, Path.GetTempPath(), new TestSecrets([]));
        Assert.Throws<Deprov.Core.ValidationException>(() => new VaultConnectorFactory().Create(VaultTest.System, VaultTest.Settings([]), context));
    }
}
