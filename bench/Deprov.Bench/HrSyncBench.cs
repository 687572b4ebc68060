using System.Diagnostics;
using System.Globalization;
using Deprov.Connectors.BambooHr;
using Deprov.Core.Model;
using Deprov.Hosting.HrSources;
using Deprov.Testing;
using Deprov.Testing.BambooHr;

namespace Deprov.Bench;

/// <summary>
/// <c>deprov bench hr-sync [--people 50000] [--changes 500] [--latency-ms 20]</c>: the BambooHR fake holds a company that
/// Deprov already knows, every answer taking <c>--latency-ms</c>. After a first full pull (the baseline), HR enters
/// <c>--changes</c> terminations; <c>sync_changed_s</c> is the changed-since pull that turns them into cases (one listing,
/// one read per changed employee). HR then changes as many job titles; <c>sync_full_s</c> is a full listing of everyone
/// compared with the store, implying those moves.
/// </summary>
internal static class HrSyncBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var people = EngineBench.Arg(args, "--people", 50_000);
        var changes = EngineBench.Arg(args, "--changes", 500);
        var latency = TimeSpan.FromMilliseconds(EngineBench.Arg(args, "--latency-ms", 20));
        await using var fake = await BambooHrFake.StartAsync(TimeProvider.System);
        var dir = TestEnvironment.NewTempDirectory("deprov-bench-hr");
        var keyFile = Path.Combine(dir, "bamboo.key");
        await File.WriteAllTextAsync(keyFile, BambooHrFake.ApiKey, ct);
        var yaml = "systems:\n  - { id: app, kind: sandbox, role: application, correlate: [email], settings: { flavour: app } }\n";
        // A benchmark of the pull, not of the brake; full_interval 0 so only an explicit --full lists everyone.
        var policy = "policy:\n  safety_brake: { enabled: false }\nhr_sources:\n  - id: bamboo\n    kind: bamboohr\n    interval: 0\n    full_interval: 0\n" +
            $"    settings: {{ base_url: \"{fake.ApiUrl}\", api_key: \"file:{keyFile}\" }}\n";
        await using var env = await TestEnvironment.CreateAsync(yaml, policy, directory: dir, hrSources: [new BambooHrSourceFactory()]);
        var staff = Enumerable.Range(0, people).Select(i => Some.Person((100_000 + i).ToString(CultureInfo.InvariantCulture)) with { DisplayName = $"First{i} Last{i}" }).ToList();
        await env.Engine.Store.UpsertPeopleAsync(staff, ct);
        foreach (var p in staff)
        {
            fake.Put(p.Id, p.DisplayName.Split(' ')[0], p.DisplayName.Split(' ')[1], p.Email, p.Department, p.Title);
        }

        fake.Backdate(TimeProvider.System.GetUtcNow().AddDays(-1));
        var runner = new HrSourceRunner(env.Engine);
        var baseline = await runner.SyncAsync("bamboo", true, "bench", ct);
        if (!baseline.Succeeded || baseline.Results.Count != 0)
        {
            await Console.Error.WriteLineAsync($"hr-sync: the baseline pull should change nothing: {baseline.Error ?? baseline.Refused ?? $"{baseline.Results.Count} events"}");
            return 1;
        }

        fake.Latency = latency;
        var today = DateOnly.FromDateTime(TimeProvider.System.GetUtcNow().UtcDateTime);
        foreach (var p in staff.Take(changes))
        {
            fake.Terminate(p.Id, today.AddDays(30));
        }

        var sw = Stopwatch.StartNew();
        var changed = await runner.SyncAsync("bamboo", false, "bench", ct);
        var changedS = sw.Elapsed.TotalSeconds;
        var leaves = changed.Results.Count(r => r.Event.Kind == EventKind.Leave);

        foreach (var p in staff.Skip(changes).Take(changes))
        {
            fake.Set(p.Id, "jobTitle", p.Title + " II");
        }

        sw.Restart();
        var full = await runner.SyncAsync("bamboo", true, "bench", ct);
        var fullS = sw.Elapsed.TotalSeconds;
        var moves = full.Results.Count(r => r.Event.Kind == EventKind.Move);

        Console.WriteLine($"people: {people}");
        Console.WriteLine($"changes: {changes}");
        Console.WriteLine($"latency_ms: {latency.TotalMilliseconds:0}");
        Console.WriteLine($"sync_changed_s: {changedS:0.000}");
        Console.WriteLine($"sync_changed_calls: {changed.Calls}");
        Console.WriteLine($"sync_changed_leaves: {leaves}");
        Console.WriteLine($"sync_full_s: {fullS:0.000}");
        Console.WriteLine($"sync_full_calls: {full.Calls}");
        Console.WriteLine($"sync_full_moves: {moves}");
        var ok = changed.Succeeded && full.Succeeded && leaves == changes && moves == changes;
        if (!ok)
        {
            await Console.Error.WriteLineAsync($"hr-sync: expected {changes} leaves and {changes} moves; changed: {changed.Error ?? changed.Refused}, full: {full.Error ?? full.Refused}");
        }

        return ok ? 0 : 1;
    }
}
