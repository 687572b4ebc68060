using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Deprov.Testing.Scim;
using Microsoft.Extensions.Http.Resilience;
using Polly;

namespace Deprov.Bench;

/// <summary>Experiment: which client feature costs CPU per PATCH (not part of the reported bench).</summary>
internal static class ScimVariants
{
    public static async Task RunAsync(int users, int concurrency, string? only, CancellationToken ct)
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.Bearer, Token = "bench-token", RecordRequests = false }, ct);
        var body = Encoding.UTF8.GetBytes("""{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}""");
        HttpClient Make(bool decompress, bool resilience, bool retry = true, bool timeout = true, bool noop = false)
        {
            HttpMessageHandler h = new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, AutomaticDecompression = decompress ? DecompressionMethods.All : DecompressionMethods.None };
            if (resilience)
            {
                var b = new ResiliencePipelineBuilder<HttpResponseMessage>();
                if (retry)
                {
                    b.AddRetry(new HttpRetryStrategyOptions { MaxRetryAttempts = 3, ShouldRetryAfterHeader = true });
                }

                if (timeout)
                {
                    b.AddTimeout(TimeSpan.FromSeconds(30));
                }

                h = new ResilienceHandler(b.Build()) { InnerHandler = h };
            }

            if (noop)
            {
                h = new Noop { InnerHandler = h };
            }

            var http = new HttpClient(h) { BaseAddress = server.BaseUrl };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "bench-token");
            return http;
        }

        var variants = new (string Name, HttpClient Http, bool IfMatch, bool Headers)[]
        {
            ("raw", Make(false, false), false, false),
            ("dh-noop", Make(false, false, noop: true), false, false),
            ("rh-empty", Make(false, true, false, false), false, false),
            ("decompress", Make(true, false), false, false),
            ("rh-both", Make(false, true), false, false),
            ("deprov", Make(false, false), false, false),
            ("raw2", Make(false, false), false, false),
        };
        if (only is not null)
        {
            // One variant alone, e.g. to sample it with a profiler.
            variants = [.. variants.Where(v => v.Name == only)];
        }

        var rounds = new[] { 500, users, users };
        var pools = rounds.Select(n => variants.Select(_ => Enumerable.Range(0, n).Select(i => server.AddUser($"v-{Guid.NewGuid():N}@example.com")).ToList()).ToList()).ToList();
        var connector = ScimBench.Connect(server, concurrency, null);
        await foreach (var _ in connector.DiscoverAsync(new Deprov.Core.Connectors.DiscoveryRequest(null), ct))
        {
        }

        for (var r = 0; r < rounds.Length; r++)
        {
            var round = rounds[r];
            for (var vi = 0; vi < variants.Length; vi++)
            {
                var v = variants[vi];
                var ids = pools[r][vi];
                GC.Collect();
                using var p = Process.GetCurrentProcess();
                var cpu = p.TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                var next = -1;
                await Task.WhenAll(Enumerable.Range(0, concurrency).Select(_ => Task.Run(async () =>
                {
                    int i;
                    while ((i = Interlocked.Increment(ref next)) < ids.Count)
                    {
                        if (v.Name == "deprov")
                        {
                            await connector.ExecuteAsync(new(ids[i], Deprov.Core.Model.ActionKind.DisableAccount, "bench-app", ids[i], null, null, null, null, new Dictionary<string, string>()), ct);
                            continue;
                        }

                        using var req = new HttpRequestMessage(HttpMethod.Patch, "Users/" + ids[i]) { Content = new ByteArrayContent(body) };
                        req.Content.Headers.ContentType = new MediaTypeHeaderValue("application/scim+json");
                        if (v.IfMatch)
                        {
                            req.Headers.TryAddWithoutValidation("If-Match", "*");
                        }

                        if (v.Headers)
                        {
                            req.Headers.TryAddWithoutValidation("Accept", "application/scim+json, application/json");
                            req.Headers.TryAddWithoutValidation("User-Agent", "Deprov/1.0");
                        }

                        using var resp = await v.Http.SendAsync(req, ct);
                        resp.EnsureSuccessStatusCode();
                        await resp.Content.ReadAsByteArrayAsync(ct);
                    }
                })));
                p.Refresh();
                if (r > 0)
                {
                    Console.WriteLine($"variant {v.Name,-12} {ids.Count / sw.Elapsed.TotalSeconds,8:F0}/s  cpu_us_per_req {(p.TotalProcessorTime - cpu).TotalMicroseconds / ids.Count,6:F0}");
                }
            }
        }
    }

    private sealed class Noop : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            await base.SendAsync(request, cancellationToken);
    }
}
