using System.Text.Json.Nodes;
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
    public static SettingsNode Settings(Dictionary<string, object> values, string path = "systems[0].settings") => TestSettings.Mapping(values, path);

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

    public static GraphConnector Connect(GraphTestServer server, Action<Dictionary<string, object>>? configure = null, TestSecrets? secrets = null, TimeProvider? time = null)
    {
        var settings = BaseSettings(server);
        configure?.Invoke(settings);
        var context = new ConnectorContext(time ?? TimeProvider.System, Path.GetTempPath(), secrets ?? SecretsFor(server));
        return (GraphConnector)new GraphConnectorFactory().Create(System, Settings(settings), context);
    }

    public static ConnectorAction Action(ActionKind kind, string? userId, string? entitlementId = null, string? deviceId = null, Dictionary<string, string>? parameters = null) =>
        new($"step-{Guid.NewGuid():N}", kind, System.Id, userId, "user", entitlementId, deviceId, null, parameters ?? []);

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)] + "@contoso.com";

    /// <summary>A token from the fake's token endpoint, for tests that call the fake directly.</summary>
    public static async Task<string> TokenAsync(GraphTestServer server)
    {
        using var http = new HttpClient();
        using var form = new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials",
            ["client_id"] = GraphTestServer.ClientId,
            ["client_secret"] = server.ClientSecret,
            ["scope"] = "https://graph.microsoft.com/.default",
        });
        using var response = await http.PostAsync(server.TokenUrl, form);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return json["access_token"]!.GetValue<string>();
    }
}
