using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Testing.Scim;

namespace Deprov.Connectors.Scim.Tests.Support;

/// <summary>Builds settings, connectors and actions for tests.</summary>
internal static class ScimTest
{
    public static readonly ConnectedSystem System = new("app", "App", "scim", SystemRole.Application, RiskTier.Medium, 0, 30);

    /// <summary>A settings mapping; values are strings, string lists or nested dictionaries.</summary>
    public static SettingsNode Settings(Dictionary<string, object> values, string path = "systems[0].settings") => TestSettings.Mapping(values, path);

    public static Dictionary<string, object> BaseSettings(ScimTestServer server, string profile = "generic") => new()
    {
        ["base_url"] = server.BaseUrl.ToString(),
        ["profile"] = profile,
        ["auth"] = server.Options.Auth switch
        {
            ScimAuthMode.Basic => new Dictionary<string, object> { ["type"] = "basic", ["username"] = server.Options.Username, ["password"] = "env:SCIM_PASSWORD" },
            ScimAuthMode.OAuthClientCredentials => new Dictionary<string, object>
            {
                ["type"] = "oauth_client_credentials",
                ["token_url"] = server.TokenUrl.ToString(),
                ["client_id"] = server.Options.ClientId,
                ["client_secret"] = "env:SCIM_CLIENT_SECRET",
                ["scope"] = "scim",
            },
            _ => new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "env:SCIM_TOKEN" },
        },
        ["timeout_seconds"] = "5",
    };

    public static TestSecrets SecretsFor(ScimTestServer server) => new(new Dictionary<string, string>
    {
        ["SCIM_TOKEN"] = server.Options.Token,
        ["SCIM_PASSWORD"] = server.Options.Password,
        ["SCIM_CLIENT_SECRET"] = server.Options.ClientSecret,
    });

    public static ScimConnector Connect(ScimTestServer server, string profile = "generic", Action<Dictionary<string, object>>? configure = null, TestSecrets? secrets = null)
    {
        var settings = BaseSettings(server, profile);
        configure?.Invoke(settings);
        var context = new ConnectorContext(TimeProvider.System, Path.GetTempPath(), secrets ?? SecretsFor(server));
        return (ScimConnector)new ScimConnectorFactory().Create(System, Settings(settings), context);
    }

    public static ConnectorAction Action(ActionKind kind, string? userId, string? groupId = null, Dictionary<string, string>? parameters = null) =>
        new($"step-{Guid.NewGuid():N}", kind, System.Id, userId, "user", groupId, null, null, parameters ?? []);

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)] + "@example.com";
}
