using Deprov.Connectors.Aws.Tests.Fake;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Aws.Tests.Support;

/// <summary>Builds settings, connectors and actions for tests.</summary>
internal static class AwsTest
{
    public static readonly ConnectedSystem System = new("aws", "AWS", "aws_iam", SystemRole.Application, RiskTier.Critical, 0, 30);

    public static SettingsNode Settings(Dictionary<string, object> values, string path = "systems[0].settings") => TestSettings.Mapping(values, path);

    public static Dictionary<string, object> BaseSettings(IamFakeServer server) => new()
    {
        ["endpoint"] = server.Endpoint.ToString(),
        ["access_key_id"] = server.Options.AccessKeyId,
        ["secret_access_key"] = "env:AWS_SECRET_ACCESS_KEY",
        ["timeout_seconds"] = "5",
    };

    public static TestSecrets SecretsFor(IamFakeServer server) => new(new Dictionary<string, string> { ["AWS_SECRET_ACCESS_KEY"] = server.Options.SecretAccessKey });

    public static AwsIamConnector Connect(IamFakeServer server, Action<Dictionary<string, object>>? configure = null, TestSecrets? secrets = null, TimeProvider? time = null)
    {
        var settings = BaseSettings(server);
        configure?.Invoke(settings);
        var context = new ConnectorContext(time ?? TimeProvider.System, Path.GetTempPath(), secrets ?? SecretsFor(server));
        return (AwsIamConnector)new AwsIamConnectorFactory().Create(System, Settings(settings), context);
    }

    public static ConnectorAction Action(ActionKind kind, string? user, string? group = null, Dictionary<string, string>? parameters = null, string? credential = null) =>
        new($"step-{Guid.NewGuid():N}", kind, System.Id, user, user, group, null, credential, parameters ?? []);

    /// <summary>A restore action carrying the cut step's before-state, as the planner builds it.</summary>
    public static ConnectorAction Restore(ActionKind kind, string user, IReadOnlyDictionary<string, string> before, string? group = null) =>
        Action(kind, user, group, new Dictionary<string, string> { ["before"] = Deprov.Core.Planning.CoreJson.Serialize(before) });

    public static string Unique(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 9)];

    public static async Task<List<DiscoveredObject>> DiscoverAllAsync(AwsIamConnector connector)
    {
        var all = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
            all.Add(o);
        }

        return all;
    }
}
