using Deprov.Connectors.Vault.Tests.Fake;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Vault.Tests.Support;

/// <summary>Builds settings, connectors and actions for tests.</summary>
internal static class VaultTest
{
    public static readonly ConnectedSystem System = new("vault", "Vault", "vault", SystemRole.Vault, RiskTier.Critical, 0, 30);

    /// <summary>A settings mapping; values are strings, string lists or nested dictionaries.</summary>
    public static SettingsNode Settings(Dictionary<string, object> values, string path = "systems[0].settings") => TestSettings.Mapping(values, path);

    public static Dictionary<string, object> TokenSettings(VaultTestServer server) => new()
    {
        ["address"] = server.Address.ToString(),
        ["auth"] = new Dictionary<string, object> { ["type"] = "token", ["token"] = "env:VAULT_TOKEN" },
        ["auth_mounts"] = new[] { "ldap" },
        ["email_domain"] = "example.com",
        ["timeout_seconds"] = "5",
        ["max_retries"] = "1",
    };

    public static Dictionary<string, object> AppRoleSettings(VaultTestServer server)
    {
        var s = TokenSettings(server);
        s["auth"] = new Dictionary<string, object> { ["type"] = "approle", ["role_id"] = server.RoleId, ["secret_id"] = "env:VAULT_SECRET_ID" };
        return s;
    }

    public static TestSecrets SecretsFor(VaultTestServer server, string? token = null) =>
        new(new Dictionary<string, string> { ["VAULT_TOKEN"] = token ?? server.RootToken, ["VAULT_SECRET_ID"] = server.SecretId });

    public static VaultConnector Connect(VaultTestServer server, Action<Dictionary<string, object>>? configure = null, TestSecrets? secrets = null, bool appRole = false)
    {
        var settings = appRole ? AppRoleSettings(server) : TokenSettings(server);
        configure?.Invoke(settings);
        var context = new ConnectorContext(TimeProvider.System, Path.GetTempPath(), secrets ?? SecretsFor(server));
        return (VaultConnector)new VaultConnectorFactory().Create(System, Settings(settings), context);
    }

    public static ConnectorAction Action(ActionKind kind, string credentialId, string? key = null) =>
        new(key ?? $"step-{Guid.NewGuid():N}", kind, System.Id, null, null, null, null, credentialId, new Dictionary<string, string>());

    public static async Task<List<DiscoveredObject>> DiscoverAsync(VaultConnector connector)
    {
        var list = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
            list.Add(o);
        }

        return list;
    }

    /// <summary>Everything a result says, flattened, for "no secret in it" assertions.</summary>
    public static string Flatten(ActionResult r) =>
        string.Join('|', r.Before.Concat(r.After).Select(kv => $"{kv.Key}={kv.Value}")) + r.Detail;
}
