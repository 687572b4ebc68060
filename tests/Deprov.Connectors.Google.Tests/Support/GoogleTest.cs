using Deprov.Connectors.Google.Tests.Fake;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google.Tests.Support;

/// <summary>Builds settings, connectors and actions for tests.</summary>
internal static class GoogleTest
{
    public static readonly ConnectedSystem System = new("workspace", "Google Workspace", "google", SystemRole.IdentityProvider, RiskTier.High, 0, 30);

    public static SettingsNode Settings(Dictionary<string, object> values, string path = "systems[0].settings") => TestSettings.Mapping(values, path);

    public static Dictionary<string, object> BaseSettings(GoogleTestServer server) => new()
    {
        ["admin_email"] = GoogleTestServer.AdminEmail,
        ["key"] = "env:GOOGLE_SA_KEY",
        ["base_url"] = server.Root.ToString(),
        ["timeout_seconds"] = "5",
    };

    public static GoogleConnector Connect(GoogleTestServer server, Action<Dictionary<string, object>>? configure = null, string? keyJson = null)
    {
        var settings = BaseSettings(server);
        configure?.Invoke(settings);
        var secrets = new TestSecrets(new Dictionary<string, string> { ["GOOGLE_SA_KEY"] = keyJson ?? server.KeyJson() });
        var context = new ConnectorContext(TimeProvider.System, Path.GetTempPath(), secrets);
        var connector = (GoogleConnector)new GoogleConnectorFactory().Create(System, Settings(settings), context);
        // Rate-limit 403s are waited out from 1 s in production; tests keep the same doubling from 1 ms.
        connector.Client.RateLimitBackoff = TimeSpan.FromMilliseconds(1);
        return connector;
    }

    public static ConnectorAction Action(ActionKind kind, string? userId, string? groupId = null, string? deviceId = null, string? credentialId = null, Dictionary<string, string>? parameters = null, string? userName = null) =>
        new($"step-{Guid.NewGuid():N}", kind, System.Id, userId, userName, groupId, deviceId, credentialId, parameters ?? []);
}
