using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Deprov.Core.Security;

namespace Deprov.Server.Tests.Endpoints;

[Collection(ServerCollection.Name)]
public sealed class ApiTests
{
    private readonly ServerFixture _server;

    public ApiTests(ServerFixture server) => _server = server;

    /// <summary>Reads the live feed until the cut is verified (event-driven: no polling sleeps); returns the case status then.</summary>
    internal static async Task<string> WaitCutVerifiedAsync(HttpClient client, string caseId)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        using var stream = await client.GetStreamAsync($"/live/cases/{caseId}", cts.Token);
        using var reader = new StreamReader(stream);
        var last = string.Empty;
        while (await reader.ReadLineAsync(cts.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                last = line[6..];
                var root = JsonDocument.Parse(last).RootElement;
                if (root.GetProperty("cutVerified").ValueKind == JsonValueKind.String)
                {
                    return root.GetProperty("status").GetString()!;
                }
            }
        }

        throw new InvalidOperationException($"The feed ended before the cut was verified; last: {last}");
    }

    [Fact]
    public async Task SubmitLeave_AsHr_CaseReachesVerified_AuditorExportsEvidence()
    {
        var person = _server.Company.People[1].Id;
        using var hr = _server.Client(Role.Hr);
        var response = await hr.PostAsJsonAsync("/api/events", new { kind = "leave", personId = person, reason = "involuntary", idempotencyKey = "api-test-" + person });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var caseId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("caseId").GetString()!;

        using var auditor = _server.Client(Role.Auditor);
        Assert.Contains(await WaitCutVerifiedAsync(auditor, caseId), new[] { "running", "scheduled", "verified" });
        var view = await auditor.GetFromJsonAsync<JsonElement>($"/api/cases/{caseId}");
        Assert.NotNull(view.GetProperty("case").GetProperty("cutVerifiedAt").GetString());

        var csv = await auditor.GetStringAsync($"/api/audit/export/{person}?format=csv");
        Assert.Contains(caseId, csv, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.PostAsJsonAsync("/api/events", new { kind = "leave", personId = person })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await hr.GetAsync($"/api/cases/{caseId}")).StatusCode);

        var metrics = await auditor.GetStringAsync("/metrics");
        Assert.Contains("deprov_exposure_window_seconds_bucket{le=\"+Inf\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("deprov_steps_total{outcome=\"verified\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("deprov_queue_depth", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LegalHold_AsHr_IsRefused()
    {
        using var hr = _server.Client(Role.Hr);
        var response = await hr.PostAsJsonAsync("/api/events", new { kind = "legal_hold_set", personId = _server.Company.People[2].Id });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
    }

    [Fact]
    public async Task OpenApi_AsAuditor_DescribesTheApi_Health_IsAnonymous()
    {
        using var auditor = _server.Client(Role.Auditor);
        var doc = await auditor.GetStringAsync("/openapi/v1.json");
        Assert.Contains("/api/events", doc, StringComparison.Ordinal);
        Assert.Contains("/api/cases/{id}", doc, StringComparison.Ordinal);
        var scalar = await auditor.GetStringAsync("/scalar/v1");
        Assert.DoesNotContain("cdn.jsdelivr", scalar, StringComparison.Ordinal);
        using var anonymous = _server.Client(null);
        Assert.Equal("ok", await anonymous.GetStringAsync("/health"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/stats")).StatusCode);
    }

    [Fact]
    public async Task FirstStart_PrintsAOneTimeSetupLink()
    {
        Assert.Contains("/setup?token=", _server.SetupAnnouncement, StringComparison.Ordinal);
        using var anonymous = _server.Client(null);
        Assert.Equal(HttpStatusCode.NotFound, (await anonymous.GetAsync("/setup?token=wrong")).StatusCode);
    }
}
