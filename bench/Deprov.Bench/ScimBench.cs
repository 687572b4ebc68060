using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Deprov.Connectors.Scim;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Testing.Scim;

namespace Deprov.Bench;

/// <summary>
/// <c>deprov bench scim</c>: deactivates users over SCIM against the in-process test server.
/// 1. Throughput: a raw HttpClient PATCH loop and the connector's DisableAccount, same concurrency, same server,
///    identical user populations. Read-back is timed separately and not counted in <c>scim_deprov_per_s</c>.
/// 2. Rate limit: a server enforcing R requests/s (token bucket, burst R/10); the connector is configured with the
///    app's documented limit R and must use it without a storm of 429s.
/// 3. Learning: the same server, but the configured ceiling is 2R, so the limiter has to find R from 429s.
/// </summary>
internal static class ScimBench
{
    private const string Token = "bench-token";
    private const int WarmupChunk = 2_000;

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var users = Option(args, "--users", 10_000);
        var concurrency = Option(args, "--concurrency", 32);
        var rate = Option(args, "--rate", 200);
        var limitedUsers = Option(args, "--limited-users", rate * 20);
        var warmupChunks = Option(args, "--warmup", 40_000) / WarmupChunk;
        var rounds = Option(args, "--rounds", 10);
        var phase = args.Contains("--limit-only") ? "limit" : args.Contains("--throughput-only") ? "throughput" : "all";
        Console.WriteLine($"scim_users: {users}");
        Console.WriteLine($"scim_concurrency: {concurrency}");

        if (args.Contains("--variants"))
        {
            var o = Array.IndexOf(args, "--only");
            await ScimVariants.RunAsync(users, concurrency, o >= 0 && o + 1 < args.Length ? args[o + 1] : null, ct);
            return 0;
        }

        if (phase == "all")
        {
            await ThroughputAsync(users, concurrency, warmupChunks, rounds, ct);
        }

        if (phase == "throughput")
        {
            await ThroughputAsync(users, concurrency, warmupChunks, rounds, ct);
            return 0;
        }

        var (use, share) = await LimitedAsync(rate, rate, limitedUsers, concurrency, ct);
        Console.WriteLine($"scim_rate_limit_r: {rate}");
        Console.WriteLine($"limit_use_pct: {use:F1}");
        Console.WriteLine($"answered_429_pct: {share:F2}");
        var (learnUse, learnShare) = await LimitedAsync(rate, 2 * rate, limitedUsers, concurrency, ct);
        Console.WriteLine($"learn_ceiling_2r_limit_use_pct: {learnUse:F1}");
        Console.WriteLine($"learn_ceiling_2r_answered_429_pct: {learnShare:F2}");
        return 0;
    }

    private static async Task ThroughputAsync(int users, int concurrency, int warmupChunks, int rounds, CancellationToken ct)
    {
        await using (var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.Bearer, Token = Token, RecordRequests = false }, ct))
        {
            // Every user exists before the connector's discovery, as in a real run (it remembers each user's ETag, so a
            // disable is one PATCH with If-Match, like the raw loop's one PATCH).
            using var http = RawClient(server, concurrency);
            var warmRaw = AddUsers(server, WarmupChunk * warmupChunks);
            var warmDeprov = AddUsers(server, WarmupChunk * warmupChunks);
            var rawIds = AddUsers(server, users);
            var deprovIds = AddUsers(server, users);
            var connector = Connect(server, concurrency, null);
            using var owned = connector as IDisposable;
            var sw = Stopwatch.StartNew();
            var discovered = 0;
            await foreach (var _ in connector.DiscoverAsync(new DiscoveryRequest(null), ct))
            {
                discovered++;
            }

            Console.WriteLine($"scim_discovery_s: {sw.Elapsed.TotalSeconds:F2} ({discovered} objects, untimed for the ratio)");

            // Warm-up, interleaved like the timed rounds: .NET first runs code unoptimised and recompiles hot methods only
            // after a quiet spell without new methods, which a busy 2-core process reaches only after tens of thousands of
            // requests. Before that both contenders run partly unoptimised code, and the ratio measures the JIT's
            // progress rather than the connector (a long-running `deprov serve` is past it). The first chunk's ratio is
            // printed as the cold-process figure; the methods compiled during the timed rounds show how settled it was.
            double? coldRatio = null;
            for (var chunk = 0; chunk < warmupChunks; chunk++)
            {
                var rawRate = await RawLoopAsync(http, warmRaw.GetRange(chunk * WarmupChunk, WarmupChunk), concurrency, ct);
                var deprovRate = await DisableAllAsync(connector, warmDeprov.GetRange(chunk * WarmupChunk, WarmupChunk), concurrency, ct);
                coldRatio ??= deprovRate / rawRate;
            }

            Console.WriteLine($"scim_warmup_users_each: {warmupChunks * WarmupChunk}");
            if (coldRatio is { } cold)
            {
                Console.WriteLine($"scim_cold_ratio: {cold:F2} (first {WarmupChunk} users of each in a fresh process; diagnostic)");
            }

            // Interleaved rounds (raw, deprov, raw, deprov, …) so both contenders see the same moments of a noisy machine;
            // each rate is its users over the sum of its rounds' wall time.
            var jitBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
            var before = server.Faults.Requests;
            var rawCost = Cost.Zero;
            var deprovCost = Cost.Zero;
            for (var round = 0; round < rounds; round++)
            {
                var from = round * users / rounds;
                var n = ((round + 1) * users / rounds) - from;
                rawCost += await Timed(() => RawLoopAsync(http, rawIds.GetRange(from, n), concurrency, ct));
                deprovCost += await Timed(() => DisableAllAsync(connector, deprovIds.GetRange(from, n), concurrency, ct));
            }

            Console.WriteLine($"scim_jit_methods_compiled_while_timed: {System.Runtime.JitInfo.GetCompiledMethodCount() - jitBefore}");
            var rawTime = rawCost.Wall;
            var deprovTime = deprovCost.Wall;

            var deprovRequests = server.Faults.Requests - before - users;
            var raw = users / rawTime.TotalSeconds;
            var deprov = users / deprovTime.TotalSeconds;
            Console.WriteLine($"scim_raw_per_s: {raw:F0}");
            Console.WriteLine($"scim_deprov_per_s: {deprov:F0}");
            Console.WriteLine($"scim_deprov_requests_per_user: {(double)deprovRequests / users:F2}");
            // Diagnostics: whole-process CPU and allocations (client and in-process server together) per user.
            Console.WriteLine($"scim_raw_cpu_us_per_user: {rawCost.Cpu.TotalMicroseconds / users:F0}");
            Console.WriteLine($"scim_deprov_cpu_us_per_user: {deprovCost.Cpu.TotalMicroseconds / users:F0}");
            Console.WriteLine($"scim_raw_alloc_bytes_per_user: {rawCost.Allocated / users}");
            Console.WriteLine($"scim_deprov_alloc_bytes_per_user: {deprovCost.Allocated / users}");
            var readBack = await ReadBackAllAsync(connector, deprovIds, concurrency, ct);
            Console.WriteLine($"scim_readback_per_s: {readBack.PerSecond:F0} (timed separately; not counted in scim_deprov_per_s)");
            Console.WriteLine($"scim_readback_confirmed: {readBack.Confirmed}/{deprovIds.Count}");
            Console.WriteLine($"scim_deprov_with_readback_per_s: {1 / ((1 / deprov) + (1 / readBack.PerSecond)):F0}");
            Console.WriteLine($"scim_ratio: {deprov / raw:F2}");
        }
    }

    private static async Task<(double UsePct, double Share429Pct)> LimitedAsync(int rate, int ceiling, int count, int concurrency, CancellationToken ct)
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.Bearer, Token = Token, RecordRequests = false }, ct);
        var ids = AddUsers(server, count);
        var connector = Connect(server, concurrency, ceiling);
        using var owned = connector as IDisposable;
        await foreach (var _ in connector.DiscoverAsync(new DiscoveryRequest(null), ct))
        {
        }

        server.Faults.Reset();
        server.Faults.EnforceRate(rate, Math.Max(1, rate / 10.0));
        var perSecond = await DisableAllAsync(connector, ids, concurrency, ct);
        var share = 100.0 * server.Faults.Answered429 / server.Faults.Requests;
        return (100.0 * perSecond / rate, share);
    }

    private static async Task<Cost> Timed(Func<Task<double>> run)
    {
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var sw = Stopwatch.StartNew();
        await run();
        var wall = sw.Elapsed;
        process.Refresh();
        return new Cost(wall, process.TotalProcessorTime - cpu, GC.GetTotalAllocatedBytes(precise: true) - allocated);
    }

    /// <summary>Wall time, process CPU time and bytes allocated by one timed run.</summary>
    private readonly record struct Cost(TimeSpan Wall, TimeSpan Cpu, long Allocated)
    {
        public static Cost Zero => default;

        public static Cost operator +(Cost a, Cost b) => new(a.Wall + b.Wall, a.Cpu + b.Cpu, a.Allocated + b.Allocated);
    }

    private static List<string> AddUsers(ScimTestServer server, int n) =>
        [.. Enumerable.Range(0, n).Select(i => server.AddUser($"bench-{Guid.NewGuid():N}@example.com"))];

    internal static IConnector Connect(ScimTestServer server, int concurrency, int? ratePerSecond)
    {
        var entries = new Dictionary<string, SettingsNode>(StringComparer.Ordinal)
        {
            ["base_url"] = Scalar("base_url", server.BaseUrl.ToString()),
            ["max_concurrency"] = Scalar("max_concurrency", concurrency.ToString(CultureInfo.InvariantCulture)),
            ["page_size"] = Scalar("page_size", "200"),
            ["auth"] = SettingsNode.MappingNode("settings.auth", new(StringComparer.Ordinal)
            {
                ["type"] = Scalar("auth.type", "bearer"),
                ["token"] = Scalar("auth.token", "env:BENCH_SCIM_TOKEN"),
            }),
        };
        if (ratePerSecond is { } r)
        {
            entries["rate_limit_per_second"] = Scalar("rate_limit_per_second", r.ToString(CultureInfo.InvariantCulture));
        }

        var system = new ConnectedSystem("bench-app", "Bench app", "scim", SystemRole.Application, RiskTier.Low, 0, 30);
        return new ScimConnectorFactory().Create(system, SettingsNode.MappingNode("settings", entries), new ConnectorContext(TimeProvider.System, Path.GetTempPath(), new BenchSecrets()));
    }

    private static SettingsNode Scalar(string path, string value) => SettingsNode.ScalarNode("settings." + path, value);

    private static HttpClient RawClient(ScimTestServer server, int concurrency)
    {
        var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency }) { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return http;
    }

    private static async Task<double> RawLoopAsync(HttpClient http, List<string> ids, int concurrency, CancellationToken ct)
    {
        var body = Encoding.UTF8.GetBytes("""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}""");
        return await RunAsync(ids, concurrency, async id =>
        {
            using var content = new ByteArrayContent(body);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/scim+json");
            using var response = await http.PatchAsync("Users/" + id, content, ct);
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsByteArrayAsync(ct);
        });
    }

    private static Task<double> DisableAllAsync(IConnector connector, List<string> ids, int concurrency, CancellationToken ct) =>
        RunAsync(ids, concurrency, id => connector.ExecuteAsync(Action(ActionKind.DisableAccount, id), ct));

    private static async Task<(double PerSecond, int Confirmed)> ReadBackAllAsync(IConnector connector, List<string> ids, int concurrency, CancellationToken ct)
    {
        var confirmed = 0;
        var perSecond = await RunAsync(ids, concurrency, async id =>
        {
            if ((await connector.ReadBackAsync(Action(ActionKind.DisableAccount, id), ct)).Confirmed)
            {
                Interlocked.Increment(ref confirmed);
            }
        });
        return (perSecond, confirmed);
    }

    private static ConnectorAction Action(ActionKind kind, string id) =>
        new($"bench-{id}", kind, "bench-app", id, null, null, null, null, new Dictionary<string, string>());

    /// <summary>Runs <paramref name="work"/> for every id with <paramref name="concurrency"/> workers; returns items per second.</summary>
    private static async Task<double> RunAsync(List<string> ids, int concurrency, Func<string, Task> work)
    {
        var next = -1;
        var sw = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < ids.Count)
            {
                await work(ids[i]);
            }
        })));
        return ids.Count / sw.Elapsed.TotalSeconds;
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) ? v : fallback;
    }

    private sealed class BenchSecrets : ISecretResolver
    {
        public string Resolve(string reference, string usedFor) => reference == "env:BENCH_SCIM_TOKEN" ? Token : throw new Deprov.Core.ValidationException($"{usedFor}: unknown secret {reference}");
    }
}
