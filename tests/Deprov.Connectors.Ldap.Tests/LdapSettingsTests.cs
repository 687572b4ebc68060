using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Ldap.Tests;

public sealed class LdapSettingsTests
{
    private static Dictionary<string, object> Valid() => new()
    {
        ["host"] = "ldap.example.com",
        ["security"] = "ldaps",
        ["bind_dn"] = "cn=deprov,ou=services,dc=example,dc=com",
        ["bind_password"] = "file:/run/secrets/ldap",
        ["flavour"] = "openldap",
        ["users"] = new Dictionary<string, object> { ["base"] = "ou=people,dc=example,dc=com", ["filter"] = "(objectClass=inetOrgPerson)", ["scope"] = "one" },
        ["groups"] = new Dictionary<string, object> { ["base"] = "ou=groups,dc=example,dc=com" },
        ["correlate_attribute"] = "employeeNumber",
        ["page_size"] = 1000,
        ["disabled_ou"] = "ou=disabled,dc=example,dc=com",
        ["privileged_groups"] = new[] { "admins", "cn=root*" },
        ["timeout_seconds"] = 10,
        ["pool_size"] = 16,
        ["trusted_ca_dir"] = "/etc/deprov/ca",
    };

    [Fact]
    public void Validate_FullOpenLdapExample_NoErrors()
    {
        var errors = new LdapConnectorFactory().Validate(Some.System(), Settings.From(Valid()));

        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("nobody", "which is not a DN")]
    [InlineData("cn=nobody,ou=people,dc=example,dc=com", "under users.base")]
    public void Validate_PlaceholderMemberNotADnOrAmongAccounts_ErrorNamingTheKey(string placeholder, string reason)
    {
        var map = Valid();
        map["placeholder_member"] = placeholder;

        var error = Assert.Single(new LdapConnectorFactory().Validate(Some.System(), Settings.From(map)));

        Assert.Equal("systems[0].settings.placeholder_member", error.Key);
        Assert.Contains(reason, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_PlaceholderMemberOutsideUsersBase_Kept()
    {
        var map = Valid();
        map["placeholder_member"] = "cn=nobody,ou=services,dc=example,dc=com";

        Assert.Equal("cn=nobody,ou=services,dc=example,dc=com", LdapSettings.Parse(Settings.From(map), [])!.PlaceholderMember);
    }

    [Fact]
    public void Parse_Defaults_LdapsPortAndFlavourDefaults()
    {
        var map = Valid();
        map.Remove("groups");
        map.Remove("privileged_groups");
        map["flavour"] = "ad";
        var settings = LdapSettings.Parse(Settings.From(map), [])!;

        Assert.Equal(636, settings.Port);
        Assert.Equal("sAMAccountName", settings.UserNameAttribute);
        Assert.Equal("objectGUID", settings.IdAttribute);
        Assert.Equal("ou=people,dc=example,dc=com", settings.Groups.Base);
        Assert.Equal("(objectClass=group)", settings.Groups.Filter);
        Assert.Contains("Domain Admins", settings.PrivilegedGroups);
        Assert.False(settings.Users.Subtree);
    }

    [Fact]
    public void Validate_LiteralPassword_ErrorTellsHowToFixWithoutEchoingIt()
    {
        var map = Valid();
        map["bind_password"] = "hunter2-secret";

        var error = Assert.Single(new LdapConnectorFactory().Validate(Some.System(), Settings.From(map)));

        Assert.Equal("systems[0].settings.bind_password", error.Key);
        Assert.Contains("env:LDAP_BIND_PASSWORD", error.Fix, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ManyProblems_ReportsEveryOneAtOnce()
    {
        var map = new Dictionary<string, object>
        {
            ["security"] = "tls",
            ["bind_password"] = "env:X",
            ["page_size"] = 0,
            ["pool"] = 3,
            ["users"] = new Dictionary<string, object> { ["base"] = "people", ["filter"] = "objectClass=person", ["scope"] = "deep" },
            ["disabled_ou"] = "disabled",
        };

        var errors = new LdapConnectorFactory().Validate(Some.System(), Settings.From(map));
        var keys = errors.Select(e => e.Key).ToList();

        Assert.Contains("systems[0].settings.host", keys);
        Assert.Contains("systems[0].settings.bind_dn", keys);
        Assert.Contains("systems[0].settings.flavour", keys);
        Assert.Contains("systems[0].settings.security", keys);
        Assert.Contains("systems[0].settings.page_size", keys);
        Assert.Contains("systems[0].settings.pool", keys);
        Assert.Contains("systems[0].settings.users.base", keys);
        Assert.Contains("systems[0].settings.users.filter", keys);
        Assert.Contains("systems[0].settings.users.scope", keys);
        Assert.Contains("systems[0].settings.disabled_ou", keys);
        Assert.All(errors, e => Assert.False(string.IsNullOrEmpty(e.Fix)));
        Assert.Contains(errors, e => e.Key == "systems[0].settings.pool" && e.Fix!.Contains("pool_size", StringComparison.Ordinal));
    }

    [Fact]
    public void Create_InvalidSettings_ThrowsValidationException()
    {
        var map = Valid();
        map.Remove("host");

        var ex = Assert.Throws<ValidationException>(() => new LdapConnectorFactory().Create(Some.System(), Settings.From(map),
            new ConnectorContext(TimeProvider.System, Path.GetTempPath(), new InMemorySecrets())));

        Assert.Contains("host", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void PasswordModifyValue_LongPassword_EncodesBerLengths()
    {
        var dn = new string('a', 200);
        var value = LdapConnector.PasswordModifyValue(dn, "pw");

        Assert.Equal([0x30, 0x81, 0xCF, 0x80, 0x81, 0xC8], value[..6]);
        Assert.Equal([0x82, 0x02, (byte)'p', (byte)'w'], value[^4..]);
    }
}
