using Deprov.Core.Audit;
using Deprov.Core.Store;
using Deprov.Hosting.Audit;
using Deprov.Server.Console;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>Audit search, chain verification and evidence export (read-only: auditors may use all of it).</summary>
public static class AuditEndpoints
{
    public static IEndpointRouteBuilder MapAuditEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/audit").RequireAuthorization(Policies.Read).WithTags("Audit");
        api.MapGet("/", async (IStore store, string? person, string? caseId, string? actor, string? action, long? before, int? limit, CancellationToken ct) =>
            TypedResults.Ok((await store.SearchAuditAsync(new AuditQuery(Empty(person), Empty(caseId), Empty(actor), Empty(action), before, limit ?? 100), ct)).Select(r => new AuditRow(r.Seq, r.Entry))));
        api.MapGet("/verify", async (AuditService audit, CancellationToken ct) => TypedResults.Ok(await audit.VerifyAsync(ct)));
        api.MapGet("/export/{personId}", ExportAsync);
        app.MapGet("/audit", PageAsync).RequireAuthorization(Policies.Read).ExcludeFromDescription();
        return app;
    }

    public sealed record AuditRow(long Seq, AuditEntry Entry);

    private static string? Empty(string? s) => string.IsNullOrWhiteSpace(s) ? null : s.Trim();

    private static async Task<Results<FileContentHttpResult, NotFound<string>, ProblemHttpResult>> ExportAsync(string personId, string? format, IStore store, AuditService audit, CancellationToken ct)
    {
        var fmt = (format ?? "csv").ToLowerInvariant();
        if (fmt is not ("csv" or "json"))
        {
            return TypedResults.Problem(statusCode: 400, title: $"'{format}' is not an export format; use csv or json.");
        }

        if (await store.GetPersonAsync(personId, ct) is null)
        {
            return TypedResults.NotFound($"There is no person '{personId}'.");
        }

        await using var writer = new StringWriter(System.Globalization.CultureInfo.InvariantCulture);
        await audit.ExportPersonAsync(personId, fmt == "csv" ? EvidenceFormat.Csv : EvidenceFormat.Json, writer, ct);
        return TypedResults.File(System.Text.Encoding.UTF8.GetBytes(writer.ToString()), fmt == "csv" ? "text/csv; charset=utf-8" : "application/json",
            $"evidence-{personId}.{fmt}");
    }

    private static async Task<ContentHttpResult> PageAsync(HttpContext ctx, IStore store, string? person, string? caseId, string? actor, string? action, long? before, CancellationToken ct)
    {
        var records = await store.SearchAuditAsync(new AuditQuery(Empty(person), Empty(caseId), Empty(actor), Empty(action), before, 100), ct);
        return Page.Render(ctx, "Audit trail", h =>
        {
            h.Add($"<form method=\"get\" action=\"/audit\"><label for=\"person\">Person</label><input id=\"person\" name=\"person\" value=\"{person}\">");
            h.Add($"<label for=\"caseId\">Case</label><input id=\"caseId\" name=\"caseId\" value=\"{caseId}\"><label for=\"actor\">Actor</label><input id=\"actor\" name=\"actor\" value=\"{actor}\">");
            h.Add($"<label for=\"action\">Action</label><input id=\"action\" name=\"action\" value=\"{action}\"> <button type=\"submit\">Search</button></form>");
            if (Empty(person) is { } p)
            {
                h.Add($"<p>Evidence for {p}: <a id=\"export-csv\" href=\"/api/audit/export/{Uri.EscapeDataString(p)}?format=csv\" download>CSV</a> · <a id=\"export-json\" href=\"/api/audit/export/{Uri.EscapeDataString(p)}?format=json\" download>JSON</a></p>");
            }

            h.Add($"<p><a href=\"/api/audit/verify\">Verify the hash chain</a></p>");
            AuditTable(h, records);
            if (records.Count == 100)
            {
                h.Add($"<p><a href=\"/audit?person={Uri.EscapeDataString(person ?? string.Empty)}&amp;caseId={Uri.EscapeDataString(caseId ?? string.Empty)}&amp;actor={Uri.EscapeDataString(actor ?? string.Empty)}&amp;action={Uri.EscapeDataString(action ?? string.Empty)}&amp;before={records[^1].Seq}\">Older</a></p>");
            }
        });
    }

    public static void AuditTable(Html h, IReadOnlyList<AuditRecord> records)
    {
        h.Add($"<table><thead><tr><th>#</th><th>When</th><th>Actor</th><th>Action</th><th>System</th><th>Target</th><th>Person</th><th>Case</th><th>Outcome</th><th>Detail</th></tr></thead><tbody>");
        foreach (var r in records)
        {
            var e = r.Entry;
            h.Add($"<tr><td>{r.Seq}</td><td>{Page.When(e.At)}</td><td>{e.Actor}</td><td>{e.Action}</td><td>{e.SystemId}</td><td>{e.Target}</td><td>{e.PersonId}</td><td>{e.CaseId}</td><td>{e.Outcome}</td><td>{e.Detail}</td></tr>");
        }

        h.Add($"</tbody></table>");
    }
}
