using Deprov.Bench;

// Each benchmark registers itself here: name → entry point. Output is plain `key: value` lines so scripts can read it.
var benches = new SortedDictionary<string, (string Description, Func<string[], CancellationToken, Task<int>> Run)>(StringComparer.Ordinal)
{
    ["engine"] = ("mass offboarding on the sandbox: durable steps/s, layoff time, exposure-window percentiles at 50 ms latency (--store postgres: on PostgreSQL)", EngineBench.RunAsync),
    ["api"] = ("server: dashboard/person page p95 and authenticated API reads/s with 50,000 people and 1,000,000 accounts", ApiBench.RunAsync),
    ["fuzz"] = ("mutated webhooks and API bodies against a live server, mutated rosters against the importer: 5xx, crashes, invalid input accepted", FuzzBench.RunAsync),
    ["hr-sync"] = ("BambooHR pull against a fake at 20 ms per call: 500 changes among 50,000 people (sync_changed_s), then a full listing diff (sync_full_s)", HrSyncBench.RunAsync),
    ["hooks"] = ("signed HR webhooks accepted per second (durable) and hook-to-plan p99, through the real server", HooksBench.RunAsync),
    ["audit"] = ("audit chain: append and verify 1,000,000 records", AuditBench.RunAsync),
    ["reconcile"] = ("reconciliation: 1,000,000 accounts / 5,000,000 memberships over 10 sandbox systems, then an unchanged re-run", ReconcileBench.RunAsync),
    ["scim"] = ("deactivate 10,000 users over SCIM vs a raw HttpClient loop; rate-limit use", ScimBench.RunAsync),
    ["ldap"] = ("disable 10,000 accounts on a local slapd vs parallel ldapmodify", LdapBench.RunAsync),
    ["truth"] = ("misbehaving systems (ignored writes, fooled reads, not-found, outages, crashes): steps reported verified whose access remains", TruthBench.RunAsync),
};

if (args.Length == 0 || !benches.TryGetValue(args[0], out var bench))
{
    await Console.Error.WriteLineAsync("usage: deprov bench <name> [options]\n\nbenchmarks:");
    foreach (var (name, b) in benches)
    {
        await Console.Error.WriteLineAsync($"  {name,-10} {b.Description}");
    }

    return args.Length == 0 ? 2 : 64;
}

using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cts.Cancel();
};
return await bench.Run(args[1..], cts.Token);

