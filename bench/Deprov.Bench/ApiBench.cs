using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using Deprov.Connectors.Sandbox;
using Deprov.Core.Model;
using Deprov.Core.Security;
using Deprov.Core.Store;
using Deprov.Server;
using Deprov.Server.Endpoints;
using Deprov.Testing;

namespace Deprov.Bench;

/// <summary>
/// <c>deprov bench api [--people 50000] [--accounts 1000000] [--seconds 10] [--warmup-seconds 5] [--concurrency 32]</c>:
/// seeds the store, starts the real server on loopback, measures dashboard and person-profile page times (p95,
/// sequential) and authenticated API reads per second (person profiles over an API key, concurrent HttpClients). The
/// reads are timed on a warm server: the same concurrent reads run untimed for <c>--warmup-seconds</c> first, while the
/// JIT compiles and tiers the request path (their rate is printed as <c>api_reads_warmup/s</c>).
/// </summary>
internal static class ApiBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        int Arg(string name, int d) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : d;
        var peopleCount = Arg("--people", 50_000);
        var accountCount = Arg("--accounts", 1_000_000);
        var seconds = Arg("--seconds", 10);
        var concurrency = Arg("--concurrency", 32);
        var warmupSeconds = Arg("--warmup-seconds", 5);

        await using var env = await TestEnvironment.CreateAsync();
        var store = env.Engine.Store;
        var seed = Stopwatch.StartNew();
        var people = Enumerable.Range(0, peopleCount).Select(i => Some.Person($"b{i:D6}")).ToList();
        await store.UpsertPeopleAsync(people, ct);
        var systems = env.Engine.Config.Systems.Select(s => s.System.Id).ToList();
        var perSystem = accountCount / systems.Count;
        var n = 0;
        foreach (var sys in systems)
        {
            var accounts = new List<Account>(perSystem);
            for (var i = 0; i < perSystem; i++, n++)
            {
                var p = people[n % peopleCount];
                accounts.Add(new Account($"{sys}/a{n}", sys, $"a{n}", $"{p.Id}.{i / peopleCount}", p.Email, p.Id, AccountKind.User, AccountStatus.Active, null, "email"));
            }

            await store.ReplaceInventoryAsync(sys, new InventorySnapshot(accounts, [], [], [], []), ct);
        }

        Console.WriteLine($"seeded: {peopleCount} people, {n} accounts in {seed.Elapsed.TotalSeconds:0.0} s");

        var port = FreePort.Next();
        var baseUri = new Uri($"http://127.0.0.1:{port}");
        var app = await DeprovServer.BuildAsync(new ServerOptions
        {
            ConfigPath = env.ConfigPath,
            Urls = baseUri.ToString().TrimEnd('/'),
            Factories = [new SandboxConnectorFactory()],
            Announce = _ => { },
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
        }, ct);
        await using (app)
        {
            await app.StartAsync(ct);
            var (_, secret) = await AdminActions.CreateApiKeyAsync(store, TimeProvider.System, "bench", Role.Auditor, "admin:bench", ct);
            using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency * 2 }) { BaseAddress = baseUri };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", secret);
            var random = new Random(7);

            // Pages: warm up, then time dashboard and person profiles one at a time.
            var pageTimes = new List<double>();
            for (var i = 0; i < 240; i++)
            {
                var path = i % 2 == 0 ? "/" : $"/people/{people[random.Next(peopleCount)].Id}";
                var sw = Stopwatch.StartNew();
                using var r = await http.GetAsync(path, ct);
                var body = await r.Content.ReadAsStringAsync(ct);
                sw.Stop();
                r.EnsureSuccessStatusCode();
                if (i >= 40)
                {
                    pageTimes.Add(sw.Elapsed.TotalMilliseconds);
                }
            }

            pageTimes.Sort();
            var p95 = pageTimes[(int)Math.Ceiling(0.95 * pageTimes.Count) - 1];

            // API reads: concurrent person profiles for a fixed time, first untimed (warm-up), then timed.
            async Task<(long Reads, long Failures, double Rate)> ReadAsync(int forSeconds, int seedBase)
            {
                long reads = 0;
                long failures = 0;
                var until = Stopwatch.StartNew();
                var workers = Enumerable.Range(0, concurrency).Select(w => Task.Run(async () =>
                {
                    var rnd = new Random(seedBase + w);
                    while (until.Elapsed.TotalSeconds < forSeconds && !ct.IsCancellationRequested)
                    {
                        using var r = await http.GetAsync($"/api/people/{people[rnd.Next(peopleCount)].Id}", ct);
                        await r.Content.ReadAsByteArrayAsync(ct);
                        Interlocked.Increment(ref r.IsSuccessStatusCode ? ref reads : ref failures);
                    }
                }, ct)).ToList();
                await Task.WhenAll(workers);
                return (reads, failures, reads / until.Elapsed.TotalSeconds);
            }

            var warm = warmupSeconds > 0 ? await ReadAsync(warmupSeconds, 1_000) : (Reads: 0L, Failures: 0L, Rate: 0d);
            var (_, failures, rate) = await ReadAsync(seconds, 0);
            await app.StopAsync(ct);

            Console.WriteLine($"pages_measured: {pageTimes.Count} (dashboard and person profile, alternating)");
            Console.WriteLine($"page_p50_ms: {pageTimes[pageTimes.Count / 2]:0.0}");
            Console.WriteLine($"page_p95_ms: {p95:0.0}");
            Console.WriteLine($"api_failures: {failures + warm.Failures}");
            Console.WriteLine($"api_reads_warmup/s: {warm.Rate:0} (first {warmupSeconds} s, untimed)");
            Console.WriteLine($"api_reads/s: {rate:0}");
        }

        return 0;
    }
}
