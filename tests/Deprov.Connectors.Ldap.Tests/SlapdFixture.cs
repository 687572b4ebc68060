using Deprov.Core.Connectors;
using Deprov.Testing.Ldap;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>One real slapd per test collection; each test builds its own OU in it.</summary>
public sealed class SlapdFixture : IAsyncLifetime
{
    public SlapdServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await SlapdServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();

    /// <summary>Creates the tree's entries and returns it.</summary>
    public async Task<Some.Tree> NewTreeAsync(int users, IReadOnlyDictionary<string, (string Kind, int[] Members)>? groups = null)
    {
        var tree = new Some.Tree(SlapdServer.Suffix);
        await Server.ModifyAsync(tree.Ldif(users, groups ?? new Dictionary<string, (string, int[])>()));
        return tree;
    }

    public Dictionary<string, object> SettingsFor(Some.Tree tree, string bindDn = SlapdServer.ServiceDn) => SettingsFor(Server, tree, bindDn);

    /// <summary>
    /// A <c>deprov.yaml</c> systems block with this slapd as the directory (<c>kind: ldap</c>, id <c>corp-ldap</c>) over
    /// <paramref name="tree"/>; the bind password is put in environment variable <paramref name="variable"/>.
    /// </summary>
    public string SystemsYaml(Some.Tree tree, string variable, string correlate)
    {
        Environment.SetEnvironmentVariable(variable, Server.ServicePassword);
        return $$"""
            systems:
              - id: corp-ldap
                kind: ldap
                role: directory
                risk: high
                correlate: [{{correlate}}]
                settings:
                  host: {{Server.Host}}
                  port: {{Server.Port}}
                  security: none
                  bind_dn: "{{SlapdServer.ServiceDn}}"
                  bind_password: env:{{variable}}
                  flavour: openldap
                  users: { base: "{{tree.People}}" }
                  groups: { base: "{{tree.Groups}}" }
                  correlate_attribute: employeeNumber
                  privileged_groups: [admins]
            """;
    }

    public static Dictionary<string, object> SettingsFor(SlapdServer server, Some.Tree tree, string bindDn = SlapdServer.ServiceDn) => new()
    {
        ["host"] = server.Host,
        ["port"] = server.Port,
        ["security"] = "none",
        ["bind_dn"] = bindDn,
        ["bind_password"] = "env:LDAP_BIND_PASSWORD",
        ["flavour"] = "openldap",
        ["users"] = new Dictionary<string, object> { ["base"] = tree.People },
        ["groups"] = new Dictionary<string, object> { ["base"] = tree.Groups },
        ["timeout_seconds"] = 5,
        ["pool_size"] = 4,
    };

    internal LdapConnector Create(Dictionary<string, object> settings, string password) => Create(settings, new InMemorySecrets().With("env:LDAP_BIND_PASSWORD", password));

    internal LdapConnector Create(Dictionary<string, object> settings) => Create(settings, Server.ServicePassword);

    internal static LdapConnector Create(Dictionary<string, object> settings, ISecretResolver secrets, TimeProvider? time = null) =>
        (LdapConnector)new LdapConnectorFactory().Create(Some.System(), Settings.From(settings), new ConnectorContext(time ?? TimeProvider.System, Path.GetTempPath(), secrets));

    public async Task<string> EntryUuidAsync(string dn) => await EntryUuidAsync(Server, dn);

    public static async Task<string> EntryUuidAsync(SlapdServer server, string dn)
    {
        var ldif = await server.SearchAsync(dn, "(objectClass=*)", ["entryUUID"]);
        return ldif.Split('\n').Single(l => l.StartsWith("entryUUID: ", StringComparison.Ordinal))["entryUUID: ".Length..].Trim();
    }

    /// <summary>The values of <paramref name="attribute"/> on <paramref name="dn"/>, read as root with ldapsearch.</summary>
    public async Task<List<string>> ValuesAsync(string dn, string attribute)
    {
        var ldif = await Server.SearchAsync(dn, "(objectClass=*)", [attribute]);
        var prefix = attribute + ":";
        return ldif.Split('\n').Where(l => l.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).Select(l => l[prefix.Length..])
            .Select(v => v.StartsWith(':') ? System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(v[1..].Trim())) : v.Trim())
            .ToList();
    }
}

[CollectionDefinition(Name)]
public sealed class SlapdCollection : ICollectionFixture<SlapdFixture>
{
    public const string Name = "slapd";
}
