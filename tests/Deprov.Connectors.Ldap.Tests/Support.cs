using System.Text;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>Secrets held in memory, resolved by their <c>env:</c>/<c>file:</c> reference like the real resolver.</summary>
public sealed class InMemorySecrets : ISecretResolver
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public InMemorySecrets With(string reference, string value)
    {
        _values[reference] = value;
        return this;
    }

    public string Resolve(string reference, string usedFor) =>
        _values.TryGetValue(reference, out var v) ? v : throw new ValidationException($"Secret '{reference}' for {usedFor} is not set.");
}

/// <summary>Builds settings trees from nested dictionaries, lists and strings, as the YAML loader would.</summary>
public static class Settings
{
    public static SettingsNode From(IDictionary<string, object> map, string path = "systems[0].settings") =>
        SettingsNode.MappingNode(path, map.ToDictionary(kv => kv.Key, kv => Node(kv.Value, $"{path}.{kv.Key}")), "deprov.yaml", 7);

    private static SettingsNode Node(object value, string path) => value switch
    {
        IDictionary<string, object> m => From(m, path),
        IEnumerable<string> list => SettingsNode.SequenceNode(path, list.Select((s, i) => SettingsNode.ScalarNode($"{path}[{i}]", s)).ToList()),
        _ => SettingsNode.ScalarNode(path, Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)!, "deprov.yaml", 9),
    };
}

/// <summary>Test data: unique names, LDIF for a test's own OU, actions.</summary>
public static class Some
{
    public static string Name(string prefix) => $"{prefix}{Guid.NewGuid().ToString("N")[..10]}";

    public static ConnectedSystem System(string id = "dir") => new(id, "Directory", "ldap", SystemRole.Directory, RiskTier.High, 0m, 30);

    public static ConnectorAction Action(ActionKind kind, string? accountId, string? group = null, IReadOnlyDictionary<string, string>? parameters = null, string? userName = null) =>
        new(Name("step-"), kind, "dir", accountId, userName, group, null, null, parameters ?? new Dictionary<string, string>());

    /// <summary>An OU with people and groups for one test (each test owns its data).</summary>
    public sealed class Tree
    {
        public Tree(string suffix)
        {
            Ou = Name("t");
            Base = $"ou={Ou},{suffix}";
        }

        public string Ou { get; }

        public string Base { get; }

        public string People => $"ou=people,{Base}";

        public string Groups => $"ou=groups,{Base}";

        public string Disabled => $"ou=disabled,{Base}";

        public string UserDn(int i) => $"uid=u{i:D5},{People}";

        public string GroupDn(string cn) => $"cn={cn},{Groups}";

        public static string Password(int i) => $"pw-{i}-secret";

        /// <summary>LDIF for the OU with <paramref name="users"/> people (u00000…), plus groups of each kind.</summary>
        public string Ldif(int users, IReadOnlyDictionary<string, (string Kind, int[] Members)> groups)
        {
            var sb = new StringBuilder();
            sb.Append($"dn: {Base}\nobjectClass: organizationalUnit\nou: {Ou}\n\n");
            foreach (var ou in new[] { "people", "groups", "disabled" })
            {
                sb.Append($"dn: ou={ou},{Base}\nobjectClass: organizationalUnit\nou: {ou}\n\n");
            }

            for (var i = 0; i < users; i++)
            {
                sb.Append($"dn: {UserDn(i)}\nobjectClass: inetOrgPerson\nobjectClass: posixAccount\nuid: u{i:D5}\ncn: User {i}\nsn: {i}\n")
                  .Append($"mail: u{i:D5}@{Ou}.example.com\nemployeeNumber: E{i:D5}\nuidNumber: {10000 + i}\ngidNumber: 100\nhomeDirectory: /home/u{i}\n")
                  .Append($"userPassword: {Password(i)}\n\n");
            }

            foreach (var (cn, (kind, members)) in groups)
            {
                sb.Append($"dn: {GroupDn(cn)}\ncn: {cn}\n");
                switch (kind)
                {
                    case "groupOfNames":
                        sb.Append("objectClass: groupOfNames\n");
                        sb.Append(string.Concat(members.Select(m => $"member: {UserDn(m)}\n")));
                        break;
                    case "groupOfUniqueNames":
                        sb.Append("objectClass: groupOfUniqueNames\n");
                        sb.Append(string.Concat(members.Select(m => $"uniqueMember: {UserDn(m)}\n")));
                        break;
                    default:
                        sb.Append("objectClass: posixGroup\ngidNumber: 5000\n");
                        sb.Append(string.Concat(members.Select(m => $"memberUid: u{m:D5}\n")));
                        break;
                }

                sb.Append('\n');
            }

            return sb.ToString();
        }
    }
}
