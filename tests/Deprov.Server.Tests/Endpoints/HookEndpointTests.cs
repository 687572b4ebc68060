using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Deprov.Core.Store;
using Deprov.Hosting.Hooks;

namespace Deprov.Server.Tests.Endpoints;

[Collection(ServerCollection.Name)]
public sealed class HookEndpointTests
{
    private readonly ServerFixture _server;

    public HookEndpointTests(ServerFixture server) => _server = server;

    private static HttpRequestMessage Signed(string body, string secret, DateTimeOffset at)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/hr") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("Deprov-Signature", $"t={at.ToUnixTimeSeconds()},v1={WebhookSignature.Sign(secret, at.ToUnixTimeSeconds(), bytes)}");
        return request;
    }

    private async Task<List<Core.Audit.AuditRecord>> AuditAsync()
    {
        var list = new List<Core.Audit.AuditRecord>();
        await foreach (var r in _server.Environment.Engine.Store.ReadAuditAsync(1, CancellationToken.None))
        {
            list.Add(r);
        }

        return list;
    }

    [Fact]
    public async Task HooksHr_SignedLeave_AcceptedThenPlannedAndDuplicateOnReplay()
    {
        var person = _server.Company.People[30].Id;
        var body = $"{{\"id\":\"hris-{Guid.NewGuid():N}\",\"type\":\"leave\",\"person\":\"{person}\",\"reason\":\"involuntary\",\"note\":\"HR-1\"}}";
        using var client = _server.Client(null);
        using var first = await client.SendAsync(Signed(body, ServerFixture.HookSecret, TimeProvider.System.GetUtcNow()));
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode);
        Assert.Equal("accepted", JsonDocument.Parse(await first.Content.ReadAsStringAsync()).RootElement.GetProperty("outcome").GetString());

        using var replay = await client.SendAsync(Signed(body, ServerFixture.HookSecret, TimeProvider.System.GetUtcNow()));
        Assert.Equal(HttpStatusCode.OK, replay.StatusCode);
        Assert.Equal("duplicate", JsonDocument.Parse(await replay.Content.ReadAsStringAsync()).RootElement.GetProperty("outcome").GetString());

        // Planned by the server's worker right after the 202 (no sleep: yield until the case exists, bounded).
        var store = _server.Environment.Engine.Store;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        IReadOnlyList<Core.Model.Case> cases;
        while ((cases = await store.ListCasesAsync(new CaseQuery(person), timeout.Token)).Count == 0)
        {
            await Task.Yield();
        }

        var caseId = Assert.Single(cases).Id;
        using var auditor = _server.Client(Core.Security.Role.Auditor);
        Assert.Contains(await ApiTests.WaitCutVerifiedAsync(auditor, caseId), new[] { "scheduled", "verified" });
    }

    [Fact]
    public async Task HooksHr_WrongKeyOrStale_401AndAuditedNothingStored()
    {
        var id = $"forged-{Guid.NewGuid():N}";
        var body = $"{{\"id\":\"{id}\",\"type\":\"leave\",\"person\":\"{_server.Company.People[31].Id}\"}}";
        using var client = _server.Client(null);
        using var forged = await client.SendAsync(Signed(body, "guessed-secret", TimeProvider.System.GetUtcNow()));
        using var stale = await client.SendAsync(Signed(body, ServerFixture.HookSecret, TimeProvider.System.GetUtcNow().AddMinutes(-10)));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
        Assert.Contains("old", await stale.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        var audit = await AuditAsync();
        Assert.Contains(audit, r => r.Entry.Action == "webhook_rejected" && r.Entry.Detail!.StartsWith("signature does not match", StringComparison.Ordinal));
        Assert.DoesNotContain(audit, r => r.Entry.After?.Contains(id, StringComparison.Ordinal) == true || r.Entry.Detail?.Contains(id, StringComparison.Ordinal) == true);
        Assert.Empty(await _server.Environment.Engine.Store.ListCasesAsync(new CaseQuery(_server.Company.People[31].Id), CancellationToken.None));
    }

    [Fact]
    public async Task HooksHr_MalformedBody_400NamesTheJsonPaths()
    {
        using var client = _server.Client(null);
        using var response = await client.SendAsync(Signed("{\"id\":\"x1\",\"type\":\"quit\",\"person\":\"p0001\",\"effective\":\"someday\"}", ServerFixture.HookSecret, TimeProvider.System.GetUtcNow()));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var errors = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("errors");
        Assert.True(errors.TryGetProperty("$.type", out _));
        Assert.True(errors.TryGetProperty("$.effective", out _));
    }

    [Fact]
    public async Task HooksBambooHr_SignedFieldBasedPayload_Accepted()
    {
        var person = _server.Company.People[32];
        var body = Encoding.UTF8.GetBytes("{\"employees\":[{\"id\":\"" + person.Id + "\",\"action\":\"Updated\",\"fields\":{\"employmentStatus\":{\"value\":\"Terminated\"},\"terminationDate\":{\"value\":\"2027-01-31\"}}}]}");
        var ts = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/bamboohr") { Content = new ByteArrayContent(body) };
        request.Headers.Add("X-BambooHR-Timestamp", ts);
        request.Headers.Add("X-BambooHR-Signature", WebhookSignature.SignBambooHr(ServerFixture.BambooKey, ts, body));
        using var client = _server.Client(null);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var outcome = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement[0].GetProperty("outcome").GetString();
        Assert.Contains(outcome, new[] { "accepted", "duplicate" });
    }
}
