using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core.Connectors;
using Deprov.Testing.Scim;

namespace Deprov.Connectors.Scim.Tests.Scimmy;

/// <summary>One scimmy server per collection; each test creates its own users and groups.</summary>
public sealed class ScimmyFixture : IAsyncLifetime
{
    public ScimmyServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await ScimmyServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();

    internal ScimConnector Connect(string profile, Action<Dictionary<string, object>>? configure = null)
    {
        var settings = new Dictionary<string, object>
        {
            ["base_url"] = Server.BaseUrl.ToString(),
            ["profile"] = profile,
            ["auth"] = new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "env:SCIMMY_TOKEN" },
            ["timeout_seconds"] = "10",
        };
        configure?.Invoke(settings);
        var secrets = new TestSecrets(new Dictionary<string, string> { ["SCIMMY_TOKEN"] = Server.Token });
        var context = new ConnectorContext(TimeProvider.System, Path.GetTempPath(), secrets);
        return (ScimConnector)new ScimConnectorFactory().Create(ScimTest.System, ScimTest.Settings(settings), context);
    }
}

[CollectionDefinition(Name)]
public sealed class ScimmyCollection : ICollectionFixture<ScimmyFixture>
{
    public const string Name = "scimmy";
}
