using Deprov.Connectors.Sandbox;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Hosting;
using Deprov.Hosting.Configuration;
using Deprov.Hosting.Discovery;
using Deprov.Hosting.Execution;

namespace Deprov.Testing;

/// <summary>
/// A complete Deprov in a temp folder: a <c>deprov.yaml</c>, a SQLite store, a sandbox world and an engine built the way
/// the CLI builds it. Tests describe systems and policy in YAML, seed the sandbox, and drive the engine.
/// </summary>
public sealed class TestEnvironment : IAsyncDisposable
{
    /// <summary>Six sandbox systems covering every role: directory, SSO, an app with a licence, devices, badges, vault.</summary>
    public const string DefaultSystems = """
        systems:
          - { id: directory, kind: sandbox, role: directory, risk: high, retention_days: 30, correlate: [attribute:employeeNumber], settings: { flavour: directory } }
          - { id: okta, kind: sandbox, role: identity_provider, risk: critical, retention_days: 30, correlate: [email], settings: { flavour: idp } }
          - { id: slack, kind: sandbox, role: application, licence_cost: 8.75, retention_days: 30, settings: { flavour: app } }
          - { id: jamf, kind: sandbox, role: device_manager, settings: { flavour: mdm } }
          - { id: badges, kind: sandbox, role: badge, retention_days: 7, settings: { flavour: badge } }
          - { id: vault, kind: sandbox, role: vault, risk: critical, settings: { flavour: vault } }
        """;

    private TestEnvironment(string dir, DeprovEngine engine, TimeProvider time)
    {
        Directory = dir;
        Engine = engine;
        Time = time;
    }

    public string Directory { get; }

    public DeprovEngine Engine { get; }

    public TimeProvider Time { get; }

    public string ConfigPath => Path.Combine(Directory, "deprov.yaml");

    public static string NewTempDirectory(string prefix = "deprov-test")
    {
        var dir = Path.Combine(Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        System.IO.Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>Creates the environment. <paramref name="yaml"/> replaces the systems block; <paramref name="policy"/> adds a policy block.</summary>
    /// <param name="fullDurability">fsync every commit, as the product's default does (benchmarks of durable work); tests
    /// run with <c>durability: normal</c>, which survives a process crash.</param>
    /// <param name="store">Replaces the <c>store:</c> block (e.g. a PostgreSQL database); by default a SQLite file in the folder.</param>
    public static async Task<TestEnvironment> CreateAsync(string? yaml = null, string? policy = null, TimeProvider? time = null,
        IEnumerable<IConnectorFactory>? factories = null, EngineOptions? options = null, string? directory = null, bool fullDurability = false, string? store = null)
    {
        var dir = directory ?? NewTempDirectory();
        var text = (store ?? $"store:\n  path: deprov.db\n  durability: {(fullDurability ? "full" : "normal")}") + "\n" + (yaml ?? DefaultSystems) + "\n" + (policy ?? string.Empty);
        await File.WriteAllTextAsync(Path.Combine(dir, "deprov.yaml"), text);
        var clock = time ?? TimeProvider.System;
        var all = new List<IConnectorFactory> { new SandboxConnectorFactory() };
        all.AddRange(factories ?? []);
        var engine = await DeprovHost.OpenAsync(Path.Combine(dir, "deprov.yaml"), all, clock, null, options, CancellationToken.None);
        return new TestEnvironment(dir, engine, clock);
    }

    public SandboxWorld AcquireWorld() => SandboxWorld.Acquire(Path.Combine(Engine.Config.DataDirectory, "sandbox.db"));

    /// <summary>Replaces the sandbox with <paramref name="systems"/>, stores the people, and runs discovery.</summary>
    public async Task SeedAsync(IReadOnlyList<Person> people, IReadOnlyDictionary<string, SandboxSystemState> systems)
    {
        var world = AcquireWorld();
        await using (world)
        {
            await world.ResetAsync(systems, CancellationToken.None);
        }

        await Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
        await DiscoverAsync();
    }

    public async Task DiscoverAsync()
    {
        var discovery = new DiscoveryService(Engine.Store, Time);
        foreach (var rt in Engine.Systems.Values)
        {
            await discovery.DiscoverAsync(rt, null, CancellationToken.None);
        }
    }

    /// <summary>Seeds a generated company (the demo's generator) for the configured sandbox systems.</summary>
    public async Task<SandboxCompany.Company> SeedCompanyAsync(int people = 60, int seed = 3)
    {
        var flavours = Engine.Config.Systems.Where(s => s.System.Kind == "sandbox")
            .ToDictionary(s => s.System.Id, s => Enum.Parse<SandboxFlavour>(s.Settings["flavour"].Scalar!, ignoreCase: true), StringComparer.Ordinal);
        var company = SandboxCompany.Generate(people, seed, flavours, DateOnly.FromDateTime(Time.GetUtcNow().UtcDateTime));
        await SeedAsync(company.People, company.Systems);
        return company;
    }

    public Task RunUntilIdleAsync() => Engine.RunAsync(RunMode.UntilIdle, CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        await Engine.DisposeAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A file still held by a process the test started: the OS cleans temp folders.
        }
    }
}
