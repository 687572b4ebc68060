using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Deprov.Connectors.Sandbox;
using Deprov.Core.Execution;
using Deprov.Core.Store;
using Deprov.Hosting.Hooks;
using Deprov.Server;
using Deprov.Server.Endpoints;
using Deprov.Testing;

namespace Deprov.Bench;

/// <summary>
/// <c>deprov bench hooks [--hooks 20000] [--concurrency 64] [--warmup 20000]</c>: the real server on loopback receives
/// signed generic webhooks (a leave each, for distinct people) from concurrent clients. After a warm-up flood (other
/// people, in rounds), prints the accepted (durable) hooks per second of the timed flood, the cold rate of the first
/// warm-up round, and the p99 time from a hook's acceptance to its case being planned.
/// </summary>
internal static class HooksBench
{
    private const string Secret = "bench-hook-secret";
    private const int WarmupRound = 5_000;

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var hooks = EngineBench.Arg(args, "--hooks", 20_000);
        var concurrency = EngineBench.Arg(args, "--concurrency", 64);
        var warmup = EngineBench.Arg(args, "--warmup", 20_000);
        var policy = "policy:\n  safety_brake: { enabled: false }\n"; // a benchmark of intake, not of the brake
        var yaml = "systems:\n  - { id: directory, kind: sandbox, role: directory, correlate: [attribute:employeeNumber], settings: { flavour: directory } }\n";
        // durability: full, the product's default: a 202 means the event was fsync'd.
        await using var env = await TestEnvironment.CreateAsync(yaml, policy, fullDurability: true);
        var people = Enumerable.Range(0, hooks).Select(i => Some.Person($"h{i:D6}")).ToList();
        var warmupPeople = Enumerable.Range(0, warmup).Select(i => Some.Person($"w{i:D6}")).ToList();
        await env.Engine.Store.UpsertPeopleAsync([.. people, .. warmupPeople], ct);
        var port = FreePort.Next();
        var app = await DeprovServer.BuildAsync(new ServerOptions
        {
            ConfigPath = env.ConfigPath,
            Urls = $"http://127.0.0.1:{port}",
            Factories = [new SandboxConnectorFactory()],
            Announce = _ => { },
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Warning,
            Hooks = new HookSecrets { Hr = [Secret] },
            RunWorker = !args.Contains("--no-worker"),
        }, ct);
        await using (app)
        {
            await app.StartAsync(ct);
            using var handler = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
            using var client = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var store = env.Engine.Store;

            // A server runs for weeks: the timed flood measures a warm one. A first flood of other people's webhooks (the
            // same requests) runs through the JIT's tiers; its rate is printed as the cold-process figure, and the number of
            // methods the JIT compiles during the timed flood shows how settled the process was.
            // The warm-up goes in rounds with a pause after each: the JIT promotes hot methods a tier at a time, each
            // promotion after a spell without new methods.
            for (var round = 0; round * WarmupRound < warmup; round++)
            {
                var batch = warmupPeople.Skip(round * WarmupRound).Take(WarmupRound).ToList();
                var coldWatch = Stopwatch.StartNew();
                var (coldAccepted, _) = await FloodAsync(port, concurrency, batch, ct);
                if (round == 0)
                {
                    Console.WriteLine($"hooks_cold/s: {(coldAccepted / coldWatch.Elapsed.TotalSeconds).ToString("0", CultureInfo.InvariantCulture)} (first {batch.Count} webhooks in a fresh process; diagnostic)");
                }

                await WaitForCasesAsync(store, batch, TimeSpan.FromMinutes(2), ct);
                await Task.Delay(TimeSpan.FromSeconds(0.5), ct);
            }

            Console.WriteLine($"warm-up done ({warmup} webhooks); timing the flood");
            var jitBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
            var cpuBefore = Environment.CpuUsage.TotalTime;
            var sw = Stopwatch.StartNew();
            var (accepted, refused) = await FloodAsync(port, concurrency, people, ct);
            var intake = sw.Elapsed;
            var cpuUsed = Environment.CpuUsage.TotalTime - cpuBefore;
            var jitted = System.Runtime.JitInfo.GetCompiledMethodCount() - jitBefore;

            var cases = await WaitForCasesAsync(store, people, TimeSpan.FromMinutes(2), ct);
            var floodLatencies = cases.Select(c => (c.CreatedAt - c.ReceivedAt).TotalMilliseconds).Order().ToList();
            Console.WriteLine($"flood: {hooks} signed webhooks, {concurrency} concurrent clients, {accepted} accepted (202), {refused} refused");
            Console.WriteLine($"hooks_intake_s: {intake.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}");
            // How busy the cores were during the flood (server, planner and load generator share them): below 100 % the
            // flood waits on something other than CPU (the writer, fsync).
            Console.WriteLine($"hooks_cpu_pct: {(100 * cpuUsed / (intake * Environment.ProcessorCount)).ToString("0", CultureInfo.InvariantCulture)}");
            Console.WriteLine($"hooks/s: {(accepted / intake.TotalSeconds).ToString("0", CultureInfo.InvariantCulture)}");
            Console.WriteLine($"hooks_jit_methods_compiled_while_timed: {jitted}");
            Console.WriteLine($"flood_cases_planned: {cases.Count}; flood hook-to-plan p99 {Percentiles.Of(floodLatencies, 99).ToString("0", CultureInfo.InvariantCulture)} ms (queueing behind the flood)");

            // Steady state: a paced stream (the rate HR systems really send), to measure hook-to-plan latency.
            var rate = EngineBench.Arg(args, "--paced-rate", 200);
            var pacedCount = EngineBench.Arg(args, "--paced", 2000);
            var paced = Enumerable.Range(0, pacedCount).Select(i => Some.Person($"q{i:D6}")).ToList();
            await store.UpsertPeopleAsync(paced, ct);
            var interval = TimeSpan.FromSeconds(1.0 / rate);
            var start = Stopwatch.GetTimestamp();
            var sends = new List<Task>();
            for (var i = 0; i < pacedCount; i++)
            {
                var due = TimeSpan.FromTicks(interval.Ticks * i) - Stopwatch.GetElapsedTime(start);
                if (due > TimeSpan.Zero)
                {
                    await Task.Delay(due, ct);
                }

                var body = Encoding.UTF8.GetBytes($"{{\"id\":\"paced-{i}\",\"type\":\"leave\",\"person\":\"{paced[i].Id}\"}}");
                var t = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
                var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/hr") { Content = new ByteArrayContent(body) };
                request.Headers.Add("Deprov-Signature", $"t={t},v1={WebhookSignature.Sign(Secret, t, body)}");
                sends.Add(client.SendAsync(request, ct).ContinueWith(r =>
                {
                    r.Result.Dispose();
                    request.Dispose();
                }, ct, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
            }

            await Task.WhenAll(sends);
            var pacedCases = await WaitForCasesAsync(store, paced, TimeSpan.FromMinutes(1), ct);
            var latencies = pacedCases.Select(c => (c.CreatedAt - c.ReceivedAt).TotalMilliseconds).Order().ToList();
            Console.WriteLine($"paced: {pacedCount} webhooks at {rate}/s, {pacedCases.Count} planned");
            Console.WriteLine($"hook_to_plan_p50_ms: {Percentiles.Of(latencies, 50).ToString("0.0", CultureInfo.InvariantCulture)}");
            Console.WriteLine($"hook_to_plan_p99_ms: {Percentiles.Of(latencies, 99).ToString("0.0", CultureInfo.InvariantCulture)}");
            await app.StopAsync(ct);
        }

        return 0;
    }

    /// <summary>Waits (bounded) until the worker has planned a case for each of <paramref name="people"/>, and returns those cases.</summary>
    private static async Task<IReadOnlyList<Core.Model.Case>> WaitForCasesAsync(IStore store, List<Core.Model.Person> people, TimeSpan limit, CancellationToken ct)
    {
        var query = new CaseQuery(Limit: people.Count + 10, PersonIds: people.Select(p => p.Id).ToList());
        var deadline = Stopwatch.StartNew();
        IReadOnlyList<Core.Model.Case> cases;
        while ((cases = await store.ListCasesAsync(query, ct)).Count < people.Count && deadline.Elapsed < limit)
        {
            await Task.Delay(100, ct);
        }

        return cases;
    }

    /// <summary>
    /// The flood: <paramref name="concurrency"/> clients, each on its own keep-alive HTTP/1.1 connection to the real server
    /// over loopback, send one signed webhook per person and wait for its response. Requests are written by hand (the
    /// same bytes HttpClient sends: request line, Host, Deprov-Signature, Content-Length, body) because HttpClient's
    /// layers cost ~12 % of the two cores the server shares with this generator (docs/performance.md, HR webhooks).
    /// </summary>
    private static async Task<(int Accepted, int Refused)> FloodAsync(int port, int concurrency, List<Core.Model.Person> people, CancellationToken ct)
    {
        var next = -1;
        var accepted = 0;
        var refused = 0;
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(IPAddress.Loopback, port, ct);
            var response = new byte[16 * 1024];
            int i;
            while ((i = Interlocked.Increment(ref next)) < people.Count)
            {
                var body = Encoding.UTF8.GetBytes($"{{\"id\":\"bench-{people[i].Id}\",\"type\":\"leave\",\"person\":\"{people[i].Id}\",\"reason\":\"involuntary\"}}");
                var t = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
                var head = Encoding.ASCII.GetBytes(
                    $"POST /hooks/hr HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nDeprov-Signature: t={t},v1={WebhookSignature.Sign(Secret, t, body)}\r\nContent-Length: {body.Length}\r\n\r\n");
                var request = new byte[head.Length + body.Length];
                head.CopyTo(request, 0);
                body.CopyTo(request, head.Length);
                await socket.SendAsync(request, ct);
                if (await ReadStatusAsync(socket, response, ct) == 202)
                {
                    Interlocked.Increment(ref accepted);
                }
                else
                {
                    Interlocked.Increment(ref refused);
                }
            }
        }));
        return (accepted, refused);
    }

    /// <summary>Reads one whole HTTP/1.1 response (Content-Length or chunked body) and returns its status code.</summary>
    private static async Task<int> ReadStatusAsync(Socket socket, byte[] buffer, CancellationToken ct)
    {
        var filled = 0;
        int headerEnd;
        while ((headerEnd = buffer.AsSpan(0, filled).IndexOf("\r\n\r\n"u8)) < 0)
        {
            filled += await ReceiveAsync(socket, buffer, filled, ct);
        }

        headerEnd += 4;
        var headers = Encoding.ASCII.GetString(buffer, 0, headerEnd);
        var status = int.Parse(headers.AsSpan(9, 3), CultureInfo.InvariantCulture); // "HTTP/1.1 202 Accepted"
        var lengthAt = headers.IndexOf("\r\nContent-Length:", StringComparison.OrdinalIgnoreCase);
        if (lengthAt >= 0)
        {
            var start = lengthAt + "\r\nContent-Length:".Length;
            var total = headerEnd + int.Parse(headers.AsSpan(start, headers.IndexOf('\r', start) - start).Trim(), CultureInfo.InvariantCulture);
            while (filled < total)
            {
                filled += await ReceiveAsync(socket, buffer, filled, ct);
            }

            return status;
        }

        // Chunked: size line, data, CRLF … until the zero-size chunk and the final CRLF.
        var pos = headerEnd;
        while (true)
        {
            int lineEnd;
            while ((lineEnd = buffer.AsSpan(pos, filled - pos).IndexOf("\r\n"u8)) < 0)
            {
                filled += await ReceiveAsync(socket, buffer, filled, ct);
            }

            var size = int.Parse(buffer.AsSpan(pos, lineEnd), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            pos += lineEnd + 2 + size + 2;
            while (filled < pos)
            {
                filled += await ReceiveAsync(socket, buffer, filled, ct);
            }

            if (size == 0)
            {
                return status;
            }
        }
    }

    private static async Task<int> ReceiveAsync(Socket socket, byte[] buffer, int offset, CancellationToken ct)
    {
        var n = await socket.ReceiveAsync(buffer.AsMemory(offset), ct);
        return n > 0 ? n : throw new IOException("The server closed the connection in the middle of a response.");
    }
}
