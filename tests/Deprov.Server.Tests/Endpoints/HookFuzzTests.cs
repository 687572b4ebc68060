using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Deprov.Core.Security;
using Deprov.Testing;
using Deprov.Testing.Fuzz;

namespace Deprov.Server.Tests.Endpoints;

/// <summary>
/// Property tests through the real server: 10,000 generated and mutated requests (generic hook, API, BambooHR; signed,
/// unsigned and badly signed). For each: never a 5xx or a dropped connection; a 400 names the JSON path of every error;
/// a 401 exactly when the signature is bad; an accepted generic or API body is valid for its published schema, and a
/// schema-valid one is accepted; whatever is accepted is in the store.
/// </summary>
[Collection(FuzzServerCollection.Name)]
public sealed class HookFuzzTests
{
    private const int Requests = 10_000;
    private readonly FuzzServerFixture _server;

    public HookFuzzTests(FuzzServerFixture server) => _server = server;

    [Fact]
    public async Task Webhooks_TenThousandMutatedRequests_NoServerErrorNothingInvalidAcceptedNothingLost()
    {
        var people = Enumerable.Range(0, 50).Select(i => $"fz{Guid.NewGuid():N}"[..12] + i).ToList();
        await _server.Environment.Engine.Store.UpsertPeopleAsync(people.Select(p => Some.Person(p)).ToList(), CancellationToken.None);
        var systems = _server.Environment.Engine.Config.Systems.Select(s => s.System.Id).ToList();
        var fuzzer = new WebhookFuzzer(20261207, people, systems, ServerFixture.HookSecret, ServerFixture.BambooKey);
        var oracle = new EventSchemaOracle(EventSchemaOracle.FindDocs());
        var cases = Enumerable.Range(0, Requests).Select(_ => fuzzer.Next(TimeProvider.System.GetUtcNow())).ToList();
        var failures = new ConcurrentQueue<string>();
        var accepted = new ConcurrentQueue<(FuzzCase Case, string Body)>();
        using var anonymous = _server.Client(null);
        using var hr = _server.Client(Role.Hr);
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (c, ct) =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, c.Path) { Content = new ByteArrayContent(c.Body) };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            foreach (var (name, value) in c.Headers)
            {
                request.Headers.TryAddWithoutValidation(name, value);
            }

            HttpResponseMessage response;
            try
            {
                response = await (c.Target == FuzzTarget.Api ? hr : anonymous).SendAsync(request, ct);
            }
            catch (HttpRequestException ex)
            {
                failures.Enqueue($"{c.Path}: connection failed ({ex.Message}) for {Show(c)}");
                return;
            }

            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(ct);
                var status = (int)response.StatusCode;
                if (status >= 500)
                {
                    failures.Enqueue($"{c.Path}: {status} for {Show(c)}: {text}");
                    return;
                }

                if (c.Target != FuzzTarget.Api && (status == 401) != !c.SignatureValid)
                {
                    failures.Enqueue($"{c.Path}: {status} with a signature that is {(c.SignatureValid ? "valid" : "bad")}: {Show(c)}: {text}");
                    return;
                }

                if (status == 400)
                {
                    var errors = JsonDocument.Parse(text).RootElement.TryGetProperty("errors", out var e) ? e : default;
                    if (errors.ValueKind != JsonValueKind.Object || !errors.EnumerateObject().Any() || errors.EnumerateObject().Any(x => !x.Name.StartsWith('$')))
                    {
                        failures.Enqueue($"{c.Path}: 400 without a JSON path for every error: {text}");
                    }
                }

                if (c.Target is FuzzTarget.Hook or FuzzTarget.Api && c.SignatureValid)
                {
                    var valid = oracle.IsValid(c.Target, c.Body, out var why);
                    var hold = text.Contains("legal hold", StringComparison.OrdinalIgnoreCase) && status == 403;
                    if (status is 200 or 202 && !valid)
                    {
                        failures.Enqueue($"{c.Path}: accepted ({status}) a body the schema refuses ({why}): {Show(c)}");
                    }
                    else if (valid && status is not (200 or 202 or 409) && !hold)
                    {
                        failures.Enqueue($"{c.Path}: refused ({status}) a schema-valid body: {Show(c)}: {text}");
                    }
                }

                if (status is 200 or 202)
                {
                    accepted.Enqueue((c, text));
                }
            }
        });

        // Nothing accepted is lost: every accepted event is in the store (planned, waiting or parked).
        var store = _server.Environment.Engine.Store;
        foreach (var (c, text) in accepted)
        {
            var root = JsonDocument.Parse(text).RootElement;
            if (c.Target == FuzzTarget.BambooHr)
            {
                foreach (var answer in root.EnumerateArray())
                {
                    var outcome = answer.GetProperty("outcome").GetString();
                    if (outcome is "accepted" or "parked" && answer.GetProperty("eventId").GetString() is not { Length: > 0 })
                    {
                        failures.Enqueue($"{c.Path}: {outcome} without an event id: {text}");
                    }
                    else if (outcome is not ("accepted" or "parked" or "duplicate" or "ignored") || answer.GetProperty("message").GetString() is not { Length: > 0 })
                    {
                        failures.Enqueue($"{c.Path}: answer without an outcome and a reason: {text}");
                    }
                }

                continue;
            }

            using var sent = JsonDocument.Parse(c.Body);
            var named = sent.RootElement.TryGetProperty(c.Target == FuzzTarget.Api ? "idempotencyKey" : "id", out var k) ? k.GetString() : null;
            var key = named is null ? root.GetProperty("eventId").GetString()! : c.Target == FuzzTarget.Hook ? "hook:" + named : named;
            if (await store.GetEventByKeyAsync(key, CancellationToken.None) is null)
            {
                failures.Enqueue($"{c.Path}: accepted and not stored (key {key}): {Show(c)}");
            }
        }

        Assert.True(failures.IsEmpty, $"{failures.Count} of {Requests} requests mishandled:\n" + string.Join("\n", failures.Take(15)));
        Assert.True(accepted.Count > Requests / 10, $"only {accepted.Count} requests were accepted: the generator no longer exercises the accepting path");
    }

    private static string Encoding(FuzzCase c) => System.Text.Encoding.UTF8.GetString(c.Body);

    private static string Show(FuzzCase c)
    {
        var body = Encoding(c);
        return $"{string.Join(" ", c.Headers.Select(h => h.Key + ": " + h.Value[..Math.Min(40, h.Value.Length)]))} {body[..Math.Min(300, body.Length)]}";
    }
}
