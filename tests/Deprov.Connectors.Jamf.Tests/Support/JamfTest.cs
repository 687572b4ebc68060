using Deprov.Connectors.Jamf.Tests.Fake;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Jamf.Tests.Support;

public enum JamfAuth
{
    OAuth,
    UserToken,
}

/// <summary>Builds settings, connectors and actions for tests.</summary>
internal static class JamfTest
{
    public static readonly ConnectedSystem System = new("jamf", "Jamf Pro", "jamf", SystemRole.DeviceManager, RiskTier.Medium, 0, 30);

    /// <summary>A settings mapping; values are strings, string lists or nested dictionaries.</summary>
    public static SettingsNode Settings(Dictionary<string, object> values, string path = "systems[0].settings") => TestSettings.Mapping(values, path);

    public static Dictionary<string, object> BaseSettings(JamfFakeServer server, JamfAuth auth = JamfAuth.OAuth) => new()
    {
        ["base_url"] = server.BaseUrl.ToString(),
        ["auth"] = auth == JamfAuth.OAuth
            ? new Dictionary<string, object> { ["type"] = "oauth_client_credentials", ["client_id"] = server.Options.ClientId, ["client_secret"] = "env:JAMF_CLIENT_SECRET" }
            : new Dictionary<string, object> { ["type"] = "basic", ["username"] = server.Options.Username, ["password"] = "env:JAMF_PASSWORD" },
        ["timeout_seconds"] = "5",
    };

    public static TestSecrets SecretsFor(JamfFakeServer server) => new(new Dictionary<string, string>
    {
        ["JAMF_CLIENT_SECRET"] = server.Options.ClientSecret,
        ["JAMF_PASSWORD"] = server.Options.Password,
    });

    public static JamfConnector Connect(JamfFakeServer server, JamfAuth auth = JamfAuth.OAuth, Action<Dictionary<string, object>>? configure = null,
        TestSecrets? secrets = null, TimeProvider? time = null)
    {
        var settings = BaseSettings(server, auth);
        configure?.Invoke(settings);
        var context = new ConnectorContext(time ?? server.Options.Time, Path.GetTempPath(), secrets ?? SecretsFor(server));
        return (JamfConnector)new JamfConnectorFactory().Create(System, Settings(settings), context);
    }

    public static ConnectorAction Action(ActionKind kind, string deviceId) =>
        new($"step-{Guid.NewGuid():N}", kind, System.Id, null, null, null, deviceId, null, new Dictionary<string, string>());

    public static string Computer(int id) => $"computers/{id}";

    public static string Mobile(int id) => $"mobile-devices/{id}";
}
