using Deprov.Connectors.Okta.Tests.Fake;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta.Tests.Support;

/// <summary>Builds settings, connectors and actions for tests.</summary>
internal static class OktaTest
{
    public static readonly ConnectedSystem System = new("okta", "Okta", "okta", SystemRole.IdentityProvider, RiskTier.Critical, 0, 30);

    /// <summary>A settings mapping; values are strings, string lists or nested dictionaries.</summary>
    public static SettingsNode Settings(Dictionary<string, object> values, string path = "systems[0].settings") => TestSettings.Mapping(values, path);

    public static Dictionary<string, object> BaseSettings(OktaFakeServer server) => new()
    {
        ["base_url"] = server.OrgUrl.ToString(),
        ["auth"] = server.Options.Auth switch
        {
            OktaFakeAuth.OAuthClientCredentials => new Dictionary<string, object>
            {
                ["type"] = "oauth_client_credentials",
                ["token_url"] = server.TokenUrl.ToString(),
                ["client_id"] = server.Options.ClientId,
                ["client_secret"] = "env:OKTA_CLIENT_SECRET",
                ["scope"] = "okta.users.manage okta.groups.manage",
            },
            _ => new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "env:OKTA_API_TOKEN" },
        },
        ["timeout_seconds"] = "5",
    };

    public static TestSecrets SecretsFor(OktaFakeServer server) => new(new Dictionary<string, string>
    {
        ["OKTA_API_TOKEN"] = server.Options.ApiToken,
        ["OKTA_CLIENT_SECRET"] = server.Options.ClientSecret,
    });

    public static OktaConnector Connect(OktaFakeServer server, Action<Dictionary<string, object>>? configure = null, TestSecrets? secrets = null)
    {
        var settings = BaseSettings(server);
        configure?.Invoke(settings);
        var context = new ConnectorContext(TimeProvider.System, Path.GetTempPath(), secrets ?? SecretsFor(server));
        return (OktaConnector)new OktaConnectorFactory().Create(System, Settings(settings), context);
    }

    public static ConnectorAction Action(ActionKind kind, string? userId, string? groupId = null, Dictionary<string, string>? parameters = null) =>
        new($"step-{Guid.NewGuid():N}", kind, System.Id, userId, "user", groupId, null, null, parameters ?? []);

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)] + "@example.com";

    public static async Task<List<DiscoveredObject>> DiscoverAllAsync(OktaConnector connector)
    {
        var all = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
            all.Add(o);
        }

        return all;
    }
}
