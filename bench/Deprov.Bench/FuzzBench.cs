using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Security;
using Deprov.Hosting.Roster;
using Deprov.Server;
using Deprov.Server.Endpoints;
using Deprov.Testing;
using Deprov.Testing.Fuzz;

namespace Deprov.Bench;

/// <summary>
/// <c>deprov bench fuzz [--inputs 20000] [--rosters 200] [--seed 1]</c>: the webhook/API generators of the property
/// tests (<see cref="WebhookFuzzer"/>) against a live server on loopback, then mutated CSV rosters against
/// <see cref="RosterImporter"/>. Prints the inputs tried, server errors (5xx), crashes (a dropped connection, or an
/// importer exception other than a validation error) and invalid input accepted (a 2xx for a body its published schema
/// refuses; a roster row whose id carries control or bidi characters stored as a person).
/// </summary>
internal static class FuzzBench
{
    private const string HookSecret = "bench-fuzz-hook-secret";
    private const string BambooKey = "bench-fuzz-bamboo-key";

    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var inputs = EngineBench.Arg(args, "--inputs", 20_000);
        var rosters = EngineBench.Arg(args, "--rosters", 200);
        var seed = EngineBench.Arg(args, "--seed", 1);
        var policy = "policy:\n  safety_brake: { enabled: false }\n"; // thousands of fuzzed leaves would trip it; the brake is not what is measured
        await using var env = await TestEnvironment.CreateAsync(policy: policy);
        var people = Enumerable.Range(0, 200).Select(i => $"fz{i:D4}").ToList();
        await env.Engine.Store.UpsertPeopleAsync(people.Select(p => Some.Person(p)).ToList(), ct);
        var port = FreePort.Next();
        var app = await DeprovServer.BuildAsync(new ServerOptions
        {
            ConfigPath = env.ConfigPath,
            Urls = $"http://127.0.0.1:{port}",
            Factories = [new SandboxConnectorFactory()],
            Announce = _ => { },
            LogLevel = Microsoft.Extensions.Logging.LogLevel.Critical,
            Hooks = new HookSecrets { Hr = [HookSecret], BambooHr = [BambooKey] },
        }, ct);

        long tried = 0, serverErrors = 0, crashes = 0, acceptedInvalid = 0;
        var samples = new System.Collections.Concurrent.ConcurrentQueue<string>();
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await using (app)
        {
            await app.StartAsync(ct);
            var (_, key) = await AdminActions.CreateApiKeyAsync(env.Engine.Store, TimeProvider.System, "bench fuzz", Role.Hr, "bench", ct);
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            var fuzzer = new WebhookFuzzer(seed, people, env.Engine.Config.Systems.Select(s => s.System.Id).ToList(), HookSecret, BambooKey);
            var oracle = new EventSchemaOracle(EventSchemaOracle.FindDocs());
            var cases = Enumerable.Range(0, inputs).Select(_ => fuzzer.Next(TimeProvider.System.GetUtcNow())).ToList();
            await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct }, async (c, token) =>
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, c.Path) { Content = new ByteArrayContent(c.Body) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                foreach (var (name, value) in c.Headers)
                {
                    request.Headers.TryAddWithoutValidation(name, value);
                }

                if (c.Target == FuzzTarget.Api)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                }

                Interlocked.Increment(ref tried);
                try
                {
                    using var response = await client.SendAsync(request, token);
                    var status = (int)response.StatusCode;
                    if (status >= 500)
                    {
                        Interlocked.Increment(ref serverErrors);
                        samples.Enqueue($"{status} {c.Path} {Encoding.UTF8.GetString(c.Body)}");
                    }
                    else if (status is 200 or 202 && c.Target != FuzzTarget.BambooHr && !oracle.IsValid(c.Target, c.Body, out var why))
                    {
                        Interlocked.Increment(ref acceptedInvalid);
                        samples.Enqueue($"accepted ({why}) {c.Path} {Encoding.UTF8.GetString(c.Body)}");
                    }
                }
                catch (HttpRequestException ex)
                {
                    Interlocked.Increment(ref crashes);
                    samples.Enqueue($"connection failed ({ex.Message}) {c.Path}");
                }
            });
        }

        var hookSeconds = watch.Elapsed.TotalSeconds;
        Console.WriteLine($"webhook_server_errors: {serverErrors}; webhook_crashes: {crashes}; webhook_accepted_invalid: {acceptedInvalid}");
        var (rows, rosterCrashes, rosterInvalid) = await FuzzRostersAsync(env, rosters, seed, samples, ct);
        Console.WriteLine($"roster_crashes: {rosterCrashes}; roster_accepted_invalid: {rosterInvalid} (rows whose id holds control or bidi characters, stored)");
        foreach (var sample in samples.Take(8))
        {
            await Console.Error.WriteLineAsync("sample: " + sample[..Math.Min(300, sample.Length)]);
        }

        tried += rows;
        crashes += rosterCrashes;
        acceptedInvalid += rosterInvalid;
        Console.WriteLine($"fuzz_webhooks: {inputs} in {hookSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s; fuzz_roster_rows: {rows} in {rosters} files");
        Console.WriteLine($"fuzz_inputs: {tried}");
        Console.WriteLine($"server_errors: {serverErrors}");
        Console.WriteLine($"crashes: {crashes}");
        Console.WriteLine($"accepted_invalid: {acceptedInvalid}");
        return serverErrors + crashes + acceptedInvalid == 0 ? 0 : 1;
    }

    /// <summary>Mutated CSV rosters through the importer as it is: bad quotes, ragged rows, control and bidi characters, odd dates and encodings.</summary>
    private static async Task<(int Rows, int Crashes, int AcceptedInvalid)> FuzzRostersAsync(TestEnvironment env, int files, int seed, System.Collections.Concurrent.ConcurrentQueue<string> samples,
        CancellationToken ct)
    {
        var rng = new Random(seed);
        var importer = new RosterImporter(env.Engine);
        string[] header = ["id", "email", "name", "manager", "department", "title", "location", "worker_type", "time_zone", "start_date", "end_date", "termination_reason"];
        string[] junk = ["\"", "\"\"", "a,b", "\u202Eevil", "\u0007", "=SUM(1)", "@x", "+1", "<script>", "a@", "a@b@c", "12/20/2026", "9999-12-31", "202-01-01", "2026-02-30", "\uFFFD", "", " "];
        var rows = 0;
        var crashes = 0;
        var invalid = 0;
        for (var f = 0; f < files; f++)
        {
            var sb = new StringBuilder(string.Join(",", header)).Append('\n');
            var n = rng.Next(5, 20);
            for (var r = 0; r < n; r++)
            {
                var id = $"rf{f:D4}x{r:D2}";
                var cells = new List<string> { id, $"{id}@example.com", $"Person {id}", "", "Engineering", "Engineer", "Paris", "employee", "UTC", "2020-01-01", rng.Next(4) == 0 ? "2027-01-31" : "", "" };
                for (var m = rng.Next(0, 3); m > 0; m--)
                {
                    switch (rng.Next(3))
                    {
                        case 0:
                            cells[rng.Next(cells.Count)] = junk[rng.Next(junk.Length)];
                            break;
                        case 1:
                            cells.RemoveRange(rng.Next(cells.Count), 1);
                            break;
                        default:
                            cells.Add(junk[rng.Next(junk.Length)]);
                            break;
                    }
                }

                sb.Append(string.Join(",", cells)).Append('\n');
                rows++;
            }

            var bytes = rng.Next(10) switch
            {
                0 => Encoding.Unicode.GetPreamble().Concat(Encoding.Unicode.GetBytes(sb.ToString())).ToArray(),
                1 => Encoding.Latin1.GetBytes(sb.ToString().Replace("Paris", "Zürich", StringComparison.Ordinal)),
                _ => Encoding.UTF8.GetBytes(sb.ToString()),
            };
            try
            {
                using var stream = new MemoryStream(bytes);
                var report = await importer.ImportAsync(stream, new ImportOptions(), "bench:fuzz", ct);
                var bad = report.Added.Concat(report.Updated).Where(id => id.Any(ch => char.IsControl(ch) || ch is '\u202E' or '\uFFFD')).ToList();
                invalid += bad.Count;
                foreach (var id in bad)
                {
                    samples.Enqueue($"roster stored id {System.Text.Json.JsonSerializer.Serialize(id)}");
                }
            }
            catch (ValidationException)
            {
                // a refused file, with its message: the behaviour wanted
            }
#pragma warning disable CA1031 // Counting crashes is the point of this benchmark: any other exception is one.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                crashes++;
                samples.Enqueue($"roster import threw {ex.GetType().Name}: {ex.Message}");
            }
        }

        return (rows, crashes, invalid);
    }
}
