using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Deprov.Core.Security;
using Deprov.Core.Store;
using Deprov.Hosting.Hooks;
using Deprov.Testing;

namespace Deprov.Server.Tests.Endpoints;

/// <summary>Regressions for webhook and API input that was mishandled: each request here once got a 5xx, a silent drop or a harmful 2xx.</summary>
[Collection(ServerCollection.Name)]
public sealed class HookInputTests
{
    private readonly ServerFixture _server;

    public HookInputTests(ServerFixture server) => _server = server;

    private IStore Store => _server.Environment.Engine.Store;

    private static HttpRequestMessage Signed(string body, string? header = null)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var at = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/hr") { Content = new ByteArrayContent(bytes) };
        request.Headers.Add("Deprov-Signature", header ?? $"t={at},v1={WebhookSignature.Sign(ServerFixture.HookSecret, at, bytes)}");
        return request;
    }

    private static HttpRequestMessage Bamboo(byte[] body, string? timestamp = null)
    {
        var ts = timestamp ?? TimeProvider.System.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/bamboohr") { Content = new ByteArrayContent(body) };
        request.Headers.Add("X-BambooHR-Timestamp", ts);
        request.Headers.Add("X-BambooHR-Signature", WebhookSignature.SignBambooHr(ServerFixture.BambooKey, ts, body));
        return request;
    }

    private async Task<List<Core.Audit.AuditRecord>> AuditAsync()
    {
        var list = new List<Core.Audit.AuditRecord>();
        await foreach (var r in Store.ReadAuditAsync(1, CancellationToken.None))
        {
            list.Add(r);
        }

        return list;
    }

    private static async Task<JsonElement> ErrorsAsync(HttpResponseMessage response)
    {
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
    }

    [Fact]
    public async Task HooksBambooHr_EventBasedHook_ParkedAsNeedsALookup_NeverReplayedAsALeave()
    {
        var id = "bhr-" + Guid.NewGuid().ToString("N")[..8];
        var body = Encoding.UTF8.GetBytes($"{{\"type\":\"employee.updated\",\"data\":{{\"employeeId\":\"{id}\",\"changedFields\":[\"jobTitle\"]}}}}");
        using var client = _server.Client(null);
        using var response = await client.SendAsync(Bamboo(body));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement[0];
        Assert.Equal("parked", answer.GetProperty("outcome").GetString());
        Assert.StartsWith("needs a lookup", answer.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(await Store.ListParkedEventsAsync(CancellationToken.None), p => p.Event.PersonId == id && p.Reason.StartsWith("needs a lookup", StringComparison.Ordinal));

        // The person appears (a roster import does this, then replays parked events): the vague hook stays parked.
        await Store.UpsertPeopleAsync([Some.Person(id)], CancellationToken.None);
        await _server.Environment.Engine.ReplayParkedAsync("test", CancellationToken.None);
        Assert.Empty(await Store.ListCasesAsync(new CaseQuery(id), CancellationToken.None));
        Assert.Contains(await Store.ListParkedEventsAsync(CancellationToken.None), p => p.Event.PersonId == id);
    }

    [Fact]
    public async Task ReplayParked_UnknownPersonLeave_ReplaysAsItWas()
    {
        var id = "late-" + Guid.NewGuid().ToString("N")[..8];
        using var client = _server.Client(null);
        using var response = await client.SendAsync(Signed($"{{\"id\":\"{id}\",\"type\":\"leave\",\"person\":\"{id}\",\"effective\":\"2199-01-31\",\"reason\":\"voluntary\"}}"));
        Assert.Equal("parked", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("outcome").GetString());
        await Store.UpsertPeopleAsync([Some.Person(id)], CancellationToken.None);
        Assert.True(await _server.Environment.Engine.ReplayParkedAsync("test", CancellationToken.None) >= 1);
        var kase = Assert.Single(await Store.ListCasesAsync(new CaseQuery(id), CancellationToken.None));
        Assert.Equal(new DateOnly(2199, 2, 1), DateOnly.FromDateTime(kase.EffectiveAt.UtcDateTime));
    }

    [Theory]
    [InlineData("legal_hold_released")]
    [InlineData("legal_hold_set")]
    public async Task HooksHr_LegalHold_403AndAuditedNothingChanged(string type)
    {
        var person = _server.Company.People[33].Id;
        var key = "hold-" + Guid.NewGuid().ToString("N")[..8];
        var before = await Store.ListLegalHoldsAsync(500, CancellationToken.None);
        using var client = _server.Client(null);
        using var response = await client.SendAsync(Signed($"{{\"id\":\"{key}\",\"type\":\"{type}\",\"person\":\"{person}\"}}"));
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("operators and admins", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(before.Count, (await Store.ListLegalHoldsAsync(500, CancellationToken.None)).Count);
        Assert.Null(await Store.GetEventByKeyAsync("hook:" + key, CancellationToken.None));
        Assert.Contains(await AuditAsync(), r => r.Entry.Action == "legal_hold_refused" && r.Entry.Detail!.Contains(key, StringComparison.Ordinal));
    }

    [Fact]
    public async Task HooksHr_SameKeyOtherPerson_409NamesBothEvents_SameContent_Duplicate()
    {
        var key = "conflict-" + Guid.NewGuid().ToString("N")[..8];
        var (first, second) = (_server.Company.People[34].Id, _server.Company.People[35].Id);
        using var client = _server.Client(null);
        var body = $"{{\"id\":\"{key}\",\"type\":\"leave\",\"person\":\"{first}\",\"effective\":\"2199-06-30\"}}";
        using var one = await client.SendAsync(Signed(body));
        Assert.Equal(HttpStatusCode.Accepted, one.StatusCode);
        using var again = await client.SendAsync(Signed(body));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Contains("duplicate", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var other = await client.SendAsync(Signed($"{{\"id\":\"{key}\",\"type\":\"leave\",\"person\":\"{second}\",\"effective\":\"2199-06-30\"}}"));
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        var text = await other.Content.ReadAsStringAsync();
        Assert.Contains(first, text, StringComparison.Ordinal);
        Assert.Contains(second, text, StringComparison.Ordinal);
        Assert.Contains(await AuditAsync(), r => r.Entry.Action == "idempotency_conflict" && r.Entry.PersonId == second);
    }

    [Fact]
    public async Task ApiEvents_SameKeyOtherPerson_409()
    {
        var key = "api-conflict-" + Guid.NewGuid().ToString("N")[..8];
        using var hr = _server.Client(Role.Hr);
        using var one = await hr.PostAsJsonAsync("/api/events", new { kind = "leave", personId = _server.Company.People[36].Id, effectiveAt = "2199-06-30", idempotencyKey = key });
        Assert.Equal(HttpStatusCode.Accepted, one.StatusCode);
        using var other = await hr.PostAsJsonAsync("/api/events", new { kind = "leave", personId = _server.Company.People[37].Id, effectiveAt = "2199-06-30", idempotencyKey = key });
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Contains(_server.Company.People[36].Id, await other.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("t=99999999999999999")]
    [InlineData("t=-5")]
    [InlineData("t=9223372036854775807")]
    [InlineData("t=-9223372036854775808")]
    public async Task HooksHr_OverflowingOrNegativeTimestamp_401Audited(string t)
    {
        using var client = _server.Client(null);
        using var response = await client.SendAsync(Signed("{\"id\":\"x\",\"type\":\"leave\",\"person\":\"p\"}", $"{t},v1={new string('a', 64)}"));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("not a time", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Contains(await AuditAsync(), r => r.Entry.Action == "webhook_rejected" && r.Entry.Detail!.Contains(t, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("99999999999999999")]
    [InlineData("-1")]
    public async Task HooksBambooHr_OverflowingTimestamp_401(string ts)
    {
        using var client = _server.Client(null);
        using var response = await client.SendAsync(Bamboo("{\"employees\":[]}"u8.ToArray(), ts));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Theory]
    [InlineData("\"effective\":\"9999-12-31\"", "$.effective")]
    [InlineData("\"effective\":\"202-12-31\"", "$.effective")]
    [InlineData("\"effective\":\"2026-02-30\"", "$.effective")]
    [InlineData("\"reason\":\"INVOLUNTARY\"", "$.reason")]
    [InlineData("\"note\":5", "$.note")]
    [InlineData("\"person\":\"p\\u202Eevil\"", "$.person")]
    [InlineData("\"note\":\"\\uD800\"", "$.note")]
    [InlineData("\"note\":\"HR-1\\u0000\"", "$.note")]
    [InlineData("\"type\":\"leave\"", "$.type")]
    [InlineData("\"extra\":1", "$.extra")]
    [InlineData("\"system\":\"directory\"", "$.system")]
    public async Task HooksHr_InvalidField_400NamesIt(string extra, string path)
    {
        var person = _server.Company.People[38].Id;
        var fields = new List<string> { $"\"id\":\"bad-{Guid.NewGuid():N}\"", "\"type\":\"leave\"", $"\"person\":\"{person}\"" };
        if (extra.StartsWith("\"person\"", StringComparison.Ordinal))
        {
            fields.RemoveAt(2);
        }

        fields.Add(extra);
        using var client = _server.Client(null);
        using var response = await client.SendAsync(Signed("{" + string.Join(",", fields) + "}"));
        Assert.True((await ErrorsAsync(response)).TryGetProperty(path, out _), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task HooksHr_HoldOnSystemZero_400()
    {
        using var client = _server.Client(null);
        using var response = await client.SendAsync(Signed($"{{\"id\":\"z-{Guid.NewGuid():N}\",\"type\":\"legal_hold_set\",\"person\":\"p\",\"system\":0}}"));
        Assert.True((await ErrorsAsync(response)).TryGetProperty("$.system", out _));
    }

    [Fact]
    public async Task HooksHr_InvalidUtf8_400()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"id\":\"u\",\"type\":\"leave\",\"person\":\"pX\"}");
        bytes[bytes.Length - 3] = 0xFF;
        var at = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/hr") { Content = new ByteArrayContent(bytes) };
        request.Headers.Add("Deprov-Signature", $"t={at},v1={WebhookSignature.Sign(ServerFixture.HookSecret, at, bytes)}");
        using var client = _server.Client(null);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task HooksHr_LocalTime_ReadInThePersonsZone_AndTheAnswerSaysSo()
    {
        var id = "tz-" + Guid.NewGuid().ToString("N")[..8];
        await Store.UpsertPeopleAsync([Some.Person(id, timeZone: "Europe/Paris")], CancellationToken.None);
        using var client = _server.Client(null);
        using var response = await client.SendAsync(Signed($"{{\"id\":\"{id}\",\"type\":\"leave\",\"person\":\"{id}\",\"effective\":\"2199-07-01T17:00:00\"}}"));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Contains("Europe/Paris", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var stored = await Store.GetEventByKeyAsync("hook:" + id, CancellationToken.None);
        Assert.Equal(new DateTimeOffset(2199, 7, 1, 15, 0, 0, TimeSpan.Zero), stored!.EffectiveAt);
    }

    [Theory]
    [InlineData("[]")]
    [InlineData("{\"employees\":{}}")]
    [InlineData("{\"employees\":[1]}")]
    [InlineData("{\"employees\":[{\"id\":{\"a\":1}}]}")]
    [InlineData("{\"employees\":[{\"id\":\"1\",\"fields\":[]}]}")]
    [InlineData("{\"employees\":[{\"id\":\"1\",\"id\":\"2\"}]}")]
    [InlineData("{\"type\":\"employee.updated\",\"data\":\"x\"}")]
    [InlineData("\"x\"")]
    public async Task HooksBambooHr_OtherShapes_400WithAPath(string body)
    {
        using var client = _server.Client(null);
        using var response = await client.SendAsync(Bamboo(Encoding.UTF8.GetBytes(body)));
        var errors = await ErrorsAsync(response);
        Assert.All(errors.EnumerateObject(), e => Assert.StartsWith("$", e.Name, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("\"employmentStatus\":{\"value\":\"Terminated\"},\"terminationDate\":{\"value\":\"12/20/2026\"}", "terminationDate")]
    [InlineData("\"employmentStatus\":{\"value\":\"On Leave\"}", "On Leave")]
    public async Task HooksBambooHr_ValueDeprovCannotRead_ParkedForReview(string fields, string said)
    {
        var person = _server.Company.People[39].Id;
        var body = Encoding.UTF8.GetBytes($"{{\"employees\":[{{\"id\":\"{person}\",\"action\":\"Updated\",\"timestamp\":\"{Guid.NewGuid():N}\",\"fields\":{{{fields}}}}}]}}");
        using var client = _server.Client(null);
        using var response = await client.SendAsync(Bamboo(body));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement[0];
        Assert.Equal("parked", answer.GetProperty("outcome").GetString());
        Assert.Contains(said, answer.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Contains(await Store.ListParkedEventsAsync(CancellationToken.None), p => p.Event.PersonId == person && p.Reason.StartsWith("needs review", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ApiEvents_DocumentedFields_Strict()
    {
        using var hr = _server.Client(Role.Hr);
        using var content = new StringContent("{\"kind\":\"leave\",\"personId\":\"p\",\"personId\":\"q\"}", Encoding.UTF8, "application/json");
        using var dup = await hr.PostAsync("/api/events", content);
        Assert.True((await ErrorsAsync(dup)).TryGetProperty("$.personId", out _));
        using var unknown = await hr.PostAsJsonAsync("/api/events", new { kind = "leave", personId = "p", effective_at = "2026-12-31" });
        Assert.True((await ErrorsAsync(unknown)).TryGetProperty("$.effective_at", out _));
    }

    [Fact]
    public async Task Schemas_AreServed()
    {
        using var anonymous = _server.Client(null);
        foreach (var name in new[] { "hr-event.schema.json", "api-event.schema.json" })
        {
            var served = await anonymous.GetStringAsync("/schemas/" + name);
            Assert.Equal(await File.ReadAllTextAsync(Path.Combine(Testing.Fuzz.EventSchemaOracle.FindDocs(), name)), served);
        }
    }
}
