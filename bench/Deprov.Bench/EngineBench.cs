using System.Diagnostics;
using System.Globalization;
using Deprov.Connectors.Sandbox;
using Deprov.Core.Execution;
using Deprov.Core.Model;
using Deprov.Hosting;
using Deprov.Hosting.Configuration;
using Deprov.Hosting.Execution;

namespace Deprov.Bench;

/// <summary>
/// `deprov bench engine`: a mass offboarding on the sandbox with zero latency (durable steps per second, layoff time),
/// then offboardings with 50 ms per call (exposure-window percentiles). <c>--store postgres</c> runs the same on a
/// throw-away PostgreSQL server (Debian's binaries, default durability: fsync on) instead of the SQLite file.
/// </summary>
internal static class EngineBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var people = Arg(args, "--people", 2000);
        var accounts = Arg(args, "--accounts", 25);
        var exposurePeople = Arg(args, "--exposure-people", 200);
        var latency = Arg(args, "--latency-ms", 50);
        var wave = Arg(args, "--wave", 10);
        var storeIndex = Array.IndexOf(args, "--store");
        var postgres = storeIndex >= 0 && storeIndex + 1 < args.Length && args[storeIndex + 1] == "postgres";
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
        await using var server = postgres ? await Deprov.Testing.Postgres.PostgresServer.StartDedicatedAsync(ct) : null;
        Console.WriteLine($"store: {(postgres ? "postgres (local server, Unix socket, fsync on)" : "sqlite")}");

        // 1. Mass layoff, zero latency.
        using (var dir = new TempDir())
        {
            await using var engine = await OpenAsync(dir.Path, latencyMs: 0, server, ct);
            var population = await SeedAsync(engine, dir.Path, people, accounts, ct);
            var events = population.Select(p => new LifecycleEvent(string.Empty, EventKind.Leave, p.Id, engine.Time.GetUtcNow(), ExitReason.Involuntary, "bench", string.Empty, default)).ToList();
            var sw = Stopwatch.StartNew();
            var submitted = await engine.SubmitManyAsync(events, "admin:bench", ct);
            var planned = sw.Elapsed;
            var steps = submitted.Sum(r => r.Plan!.Steps.Count(s => s.DueAt <= engine.Time.GetUtcNow() && s.Action != ActionKind.Manual));
            var runStart = sw.Elapsed;
            await engine.RunAsync(RunMode.UntilIdle, ct);
            var total = sw.Elapsed;
            var run = total - runStart;
            var stats = await engine.Store.GetStatisticsAsync(engine.Time.GetUtcNow(), ct);
            Console.WriteLine($"layoff: {people} people x {accounts} accounts over 9 systems, 0 ms latency, durability {engine.Config.Store.Durability.ToString().ToLowerInvariant()}");
            Console.WriteLine($"layoff_plan_s: {planned.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}");
            Console.WriteLine($"layoff_steps: {steps}");
            Console.WriteLine($"layoff_execute_s: {run.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}");
            Console.WriteLine($"layoff_total_s: {total.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}");
            Console.WriteLine($"layoff_failed_steps: {stats.FailedSteps}");
            Console.WriteLine($"steps/s: {(steps / run.TotalSeconds).ToString("0", CultureInfo.InvariantCulture)}");
        }

        // 2. Exposure window with a real-world latency.
        using (var dir = new TempDir())
        {
            await using var engine = await OpenAsync(dir.Path, latencyMs: latency, server, ct);
            var population = await SeedAsync(engine, dir.Path, exposurePeople, accounts, ct);
            foreach (var chunk in population.Chunk(wave))
            {
                var events = chunk.Select(p => new LifecycleEvent(string.Empty, EventKind.Leave, p.Id, engine.Time.GetUtcNow(), ExitReason.Involuntary, "bench", string.Empty, default)).ToList();
                await engine.SubmitManyAsync(events, "admin:bench", ct);
                await engine.RunAsync(RunMode.UntilIdle, ct);
            }

            var windows = await engine.Store.GetExposureWindowsAsync(null, ct);
            Console.WriteLine($"exposure: {windows.Count} offboardings of a person with {accounts} accounts over 9 systems, {latency} ms per call, {wave} at a time");
            Console.WriteLine($"exposure_p50_ms: {Percentiles.Of(windows, 50).ToString("0", CultureInfo.InvariantCulture)}");
            Console.WriteLine($"exposure_p95_ms: {Percentiles.Of(windows, 95).ToString("0", CultureInfo.InvariantCulture)}");
            Console.WriteLine($"exposure_p99_ms: {Percentiles.Of(windows, 99).ToString("0", CultureInfo.InvariantCulture)}");
        }

        return 0;
    }

    internal static int Arg(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }

    private static readonly (string Id, string Role, string Flavour, int PerPerson)[] Systems =
    [
        ("directory", "directory", "directory", 2), ("okta", "identity_provider", "idp", 2), ("slack", "application", "app", 4),
        ("github", "application", "app", 4), ("salesforce", "application", "app", 4), ("zoom", "application", "app", 4),
        ("jamf", "device_manager", "mdm", 0), ("badges", "badge", "badge", 1), ("vault", "vault", "vault", 4),
    ];

    private static async Task<DeprovEngine> OpenAsync(string dir, int latencyMs, Deprov.Testing.Postgres.PostgresServer? server, CancellationToken ct)
    {
        var store = "store:\n  path: deprov.db\n  durability: full\n";
        if (server is not null)
        {
            var secret = Path.Combine(dir, "pg.secret");
            await File.WriteAllTextAsync(secret, await server.CreateDatabaseAsync(ct), ct);
            store += $"  provider: postgres\n  connection_string: file:{secret}\n";
        }

        var systems = string.Join('\n', Systems.Select(s =>
            $"  - {{ id: {s.Id}, kind: sandbox, role: {s.Role}, concurrency: 64, correlate: [attribute:employeeNumber], settings: {{ flavour: {s.Flavour}, latency_ms: {latencyMs} }} }}"));
        // A planned layoff: the safety brake is switched off on purpose (it would, rightly, hold 2,000 leavers for approval).
        var yaml = $"{store}systems:\n{systems}\npolicy:\n  safety_brake: {{ enabled: false }}\n";
        var path = Path.Combine(dir, "deprov.yaml");
        await File.WriteAllTextAsync(path, yaml, ct);
        return await DeprovHost.OpenAsync(path, [new SandboxConnectorFactory()], TimeProvider.System, null, new EngineOptions(MaxInFlight: 1024, CommitBatch: 2048), ct);
    }

    /// <summary>A population where each person has <paramref name="accounts"/> accounts spread over the 9 systems.</summary>
    private static async Task<List<Person>> SeedAsync(DeprovEngine engine, string dir, int people, int accounts, CancellationToken ct)
    {
        var states = Systems.ToDictionary(s => s.Id, _ => new SandboxSystemState(), StringComparer.Ordinal);
        var list = new List<Person>(people);
        var perPerson = Systems.Sum(s => s.PerPerson);
        for (var i = 0; i < people; i++)
        {
            var p = new Person($"b{i:D6}", $"user{i}@bench.example", $"User {i}", null, "Engineering", "Engineer", "Remote", WorkerType.Employee, PersonStatus.Active, null, null, "UTC");
            list.Add(p);
            var n = 0;
            foreach (var (id, _, flavour, per) in Systems)
            {
                var s = states[id];
                if (flavour == "mdm")
                {
                    s.Devices[$"d{i}"] = new SbDevice { Id = $"d{i}", Serial = $"SN{i}", Model = "Laptop", Owner = p.Email, Status = DeviceStatus.Active };
                    continue;
                }

                var count = per * accounts / perPerson + (n == 0 ? accounts - (perPerson * accounts / perPerson) : 0);
                for (var k = 0; k < Math.Max(per == 0 ? 0 : 1, count); k++, n++)
                {
                    var aid = $"{id}-{i}-{k}";
                    s.Accounts[aid] = new SbAccount { Id = aid, UserName = $"user{i}.{k}", Email = p.Email, EmployeeId = p.Id, Sessions = 1 };
                }
            }
        }

        var world = SandboxWorld.Acquire(Path.Combine(dir, "sandbox.db"));
        await using (world)
        {
            await world.ResetAsync(states, ct);
        }

        await engine.Store.UpsertPeopleAsync(list, ct);
        var discovery = new Deprov.Hosting.Discovery.DiscoveryService(engine.Store, engine.Time);
        foreach (var rt in engine.Systems.Values)
        {
            await discovery.DiscoverAsync(rt, null, ct);
        }

        return list;
    }
}

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "deprov-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A file still open by a late writer: leave the temp folder to the OS.
        }
    }
}
