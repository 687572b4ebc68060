using Deprov.Connectors.Graph.Tests.Fake;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph.Tests.Support;

/// <summary>Builds settings, connectors and actions for tests.</summary>
internal static class GraphTest
{
    public static readonly ConnectedSystem System = new("entra", "Entra ID", "graph", SystemRole.IdentityProvider, RiskTier.High, 0, 30);

    /// <summary>A settings mapping; values are strings, string lists or nested dictionaries.</summary>
    public static SettingsNode Settings(Dictionary<string, object> values, string path = "systems[0].settings")
    {
        var entries = new Dictionary<string, SettingsNode>(StringComparer.Ordinal);
        foreach (var (k, v) in values)
        {
            var p = $"{path}.{k}";
            entries[k] = v switch
            {
                Dictionary<string, object> d => Settings(d, p),
                string[] list => SettingsNode.SequenceNode(p, [.. list.Select((s, i) => SettingsNode.ScalarNode($"{p}[{i}]", s, "deprov.yaml", 10 + i))], "deprov.yaml", 9),
                _ => SettingsNode.ScalarNode(p, Convert.ToString(v, global::System.Globalization.CultureInfo.InvariantCulture)!, "deprov.yaml", 7),
            };
        }

        return SettingsNode.MappingNode(path, entries, "deprov.yaml", 5);
    }

    public static Dictionary<string, object> BaseSettings(GraphTestServer server) => new()
    {
        ["tenant"] = GraphTestServer.Tenant,
        ["base_url"] = server.BaseUrl.ToString(),
        ["auth"] = new Dictionary<string, object>
        {
            ["type"] = "oauth_client_credentials",
            ["client_id"] = GraphTestServer.ClientId,
            ["client_secret"] = "env:GRAPH_CLIENT_SECRET",
            // The fake's token endpoint, at the same path as login.microsoftonline.com's.
            ["token_url"] = server.TokenUrl.ToString(),
        },
        ["timeout_seconds"] = "5",
    };

    public static TestSecrets SecretsFor(GraphTestServer server) => new(new Dictionary<string, string> { ["GRAPH_CLIENT_SECRET"] = server.ClientSecret });

    public static GraphConnector Connect(GraphTestServer server, Action<Dictionary<string, object>>? configure = null, TestSecrets? secrets = null)
    {
        var settings = BaseSettings(server);
        configure?.Invoke(settings);
        var context = new ConnectorContext(TimeProvider.System, Path.GetTempPath(), secrets ?? SecretsFor(server));
        return (GraphConnector)new GraphConnectorFactory().Create(System, Settings(settings), context);
    }

    public static ConnectorAction Action(ActionKind kind, string? userId, string? entitlementId = null, string? deviceId = null, Dictionary<string, string>? parameters = null) =>
        new($"step-{Guid.NewGuid():N}", kind, System.Id, userId, "user", entitlementId, deviceId, null, parameters ?? []);

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)] + "@contoso.com";
}

/// <summary>Resolves <c>env:NAME</c> from an in-memory table (so tests never touch the process environment).</summary>
public sealed class TestSecrets(Dictionary<string, string> values) : ISecretResolver
{
    public string Resolve(string reference, string usedFor)
    {
        var name = reference.StartsWith("env:", StringComparison.Ordinal) ? reference[4..] : reference;
        return values.TryGetValue(name, out var v) ? v : throw new ValidationException($"{usedFor}: environment variable {name} is not set.");
    }
}
