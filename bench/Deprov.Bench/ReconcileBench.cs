using System.Diagnostics;
using System.Globalization;
using Deprov.Connectors.Sandbox;
using Deprov.Core.Model;
using Deprov.Hosting;
using Deprov.Hosting.Execution;
using Deprov.Hosting.Reconciliation;

namespace Deprov.Bench;

/// <summary>
/// `deprov bench reconcile`: discovery, correlation, findings and reactions over 10 sandbox systems holding 1,000,000
/// accounts and 5,000,000 memberships for 100,000 people, end to end; then the same again with nothing changed.
/// Prints <c>reconcile_s</c>, <c>rerun_s</c> and <c>peak_mb</c> (process peak working set, set-up included), and for the
/// first run its garbage collections (<c>first_run_gc</c>) and managed allocations (<c>first_run_alloc_mb</c>).
/// </summary>
internal static class ReconcileBench
{
    private static readonly string[] SystemIds = ["directory", "okta", "slack", "github", "salesforce", "zoom", "jira", "confluence", "aws", "badges"];

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var people = EngineBench.Arg(args, "--people", 100_000);
        var accounts = EngineBench.Arg(args, "--accounts", 1_000_000);
        var memberships = EngineBench.Arg(args, "--memberships", 5_000_000);
        Console.WriteLine($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}");
        using var dir = new TempDir();
        var setup = Stopwatch.StartNew();
        var yaml = "store:\n  path: deprov.db\n  durability: full\nsystems:\n" + string.Join('\n', SystemIds.Select((id, i) =>
            $"  - {{ id: {id}, kind: sandbox, role: {(i == 0 ? "directory" : i == 1 ? "identity_provider" : "application")}, licence_cost: {5 + i}, correlate: [employee_id, email], settings: {{ flavour: {(i == 0 ? "directory" : i == 1 ? "idp" : "app")} }} }}"))
            + "\nreconciliation:\n  dormant_days: 90\n";
        var path = Path.Combine(dir.Path, "deprov.yaml");
        await File.WriteAllTextAsync(path, yaml, ct);
        await using var engine = await DeprovHost.OpenAsync(path, [new SandboxConnectorFactory()], TimeProvider.System, null, null, ct);
        var population = await SeedAsync(engine, dir.Path, people, accounts, memberships, ct);
        Console.WriteLine($"setup: {population} people, {accounts:N0} accounts, {memberships:N0} memberships over {SystemIds.Length} systems in {setup.Elapsed.TotalSeconds:0.0}s");
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        Console.WriteLine($"setup_peak_mb: {(Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)).ToString(CultureInfo.InvariantCulture)}");
        Console.WriteLine($"after_setup_mb: {(Process.GetCurrentProcess().WorkingSet64 / (1024 * 1024)).ToString(CultureInfo.InvariantCulture)}");

        var reconciler = new Reconciler(engine);
        var (gen1, gen2, paused, allocated) = (GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(), GC.GetTotalAllocatedBytes());
        var sw = Stopwatch.StartNew();
        var first = await reconciler.ReconcileAsync(null, "admin:bench", force: false, null, ct);
        var reconcile = sw.Elapsed;
        (gen1, gen2, paused, allocated) = (GC.CollectionCount(1) - gen1, GC.CollectionCount(2) - gen2, GC.GetTotalPauseDuration() - paused, GC.GetTotalAllocatedBytes() - allocated);
        sw.Restart();
        var rerun = await reconciler.ReconcileAsync(null, "admin:bench", force: false, null, ct);
        var again = sw.Elapsed;

        Console.WriteLine($"discovered: {first.Sum(r => r.Discovery?.Accounts ?? 0):N0} accounts, {first.Sum(r => r.Discovery?.Memberships ?? 0):N0} memberships, " +
            $"{first.Sum(r => r.Discovery?.Orphans ?? 0):N0} orphans, {first.Sum(r => r.NewFindings):N0} findings, {first.Count(r => r.Error is not null)} failed");
        Console.WriteLine($"rerun_unchanged_systems: {rerun.Count(r => r.Unchanged)}/{rerun.Count}");
        Console.WriteLine($"reconcile_s: {reconcile.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"first_run_gc: {gen1} gen1 (of which {gen2} gen2), {paused.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture)} ms paused");
        Console.WriteLine($"first_run_alloc_mb: {(allocated / (1024 * 1024)).ToString(CultureInfo.InvariantCulture)}");
        Console.WriteLine($"rerun_s: {again.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"peak_mb: {(Process.GetCurrentProcess().PeakWorkingSet64 / (1024 * 1024)).ToString(CultureInfo.InvariantCulture)}");
        return first.Any(r => r.Error is not null) ? 1 : 0;
    }

    /// <summary>Each person has one account per system (the rest of the accounts are orphans); memberships are spread
    /// evenly over 50 groups per system. 1% of people have left, 0.5% of sign-ins are older than 90 days.</summary>
    private static async Task<int> SeedAsync(DeprovEngine engine, string dir, int people, int accounts, int memberships, CancellationToken ct)
    {
        var today = new DateTimeOffset(TimeProvider.System.GetUtcNow().UtcDateTime.Date, TimeSpan.Zero);
        var random = new Random(42);
        var list = new List<Person>(people);
        for (var i = 0; i < people; i++)
        {
            var left = i % 100 == 7;
            list.Add(new Person($"e{i:D6}", $"user{i}@bench.example", $"User {i}", null, "Engineering", "Engineer", "Remote", WorkerType.Employee,
                left ? PersonStatus.Left : PersonStatus.Active, null, left ? DateOnly.FromDateTime(today.UtcDateTime.AddDays(-10)) : null, "UTC"));
        }

        var perSystem = accounts / SystemIds.Length;
        var membershipsPerAccount = Math.Max(1, memberships / Math.Max(1, accounts));
        var states = new Dictionary<string, SandboxSystemState>(StringComparer.Ordinal);
        foreach (var id in SystemIds)
        {
            var s = new SandboxSystemState();
            var groups = new string[50];
            for (var g = 0; g < groups.Length; g++)
            {
                groups[g] = $"g{g}";
                s.Groups[groups[g]] = new SbGroup { Id = groups[g], Name = $"{id}-group-{g}", Kind = g == 0 ? EntitlementKind.Licence : EntitlementKind.Group, Privileged = g == 1 };
                s.Members[groups[g]] = new HashSet<string>(perSystem * membershipsPerAccount / groups.Length + 16, StringComparer.Ordinal);
            }

            for (var k = 0; k < perSystem; k++)
            {
                var owned = k < people;
                var aid = $"a{k}";
                s.Accounts[aid] = new SbAccount
                {
                    Id = aid,
                    UserName = owned ? $"user{k}" : $"orphan{k}",
                    Email = owned ? $"user{k}@bench.example" : null,
                    EmployeeId = owned ? $"e{k:D6}" : null,
                    LastSignIn = today.AddDays(random.Next(1000) < 5 ? -120 : -random.Next(30)),
                };
                for (var m = 0; m < membershipsPerAccount; m++)
                {
                    s.Members[groups[(k + (m * 7)) % groups.Length]].Add(aid);
                }
            }

            states[id] = s;
        }

        var world = SandboxWorld.Acquire(Path.Combine(dir, "sandbox.db"));
        await using (world)
        {
            await world.ResetAsync(states, ct);
        }

        await engine.Store.UpsertPeopleAsync(list, ct);
        return list.Count;
    }
}
