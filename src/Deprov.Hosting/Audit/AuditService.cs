using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Csv;

namespace Deprov.Hosting.Audit;

public enum EvidenceFormat
{
    Csv,
    Json,
    Html,
}

/// <summary>Checks the audit chain and exports evidence.</summary>
public sealed class AuditService
{
    private static readonly JsonSerializerOptions Indented = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private readonly IStore _store;
    private readonly TimeProvider _time;

    public AuditService(IStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
    }

    /// <summary>Verifies the whole chain and names the first record that does not fit.</summary>
    public Task<AuditVerification> VerifyAsync(CancellationToken cancellationToken) => _store.VerifyAuditChainAsync(cancellationToken);

    /// <summary>Writes every audit record about a person, with a summary of when each access ended and by whom.</summary>
    public async Task ExportPersonAsync(string personId, EvidenceFormat format, TextWriter output, CancellationToken cancellationToken)
    {
        var person = await _store.GetPersonAsync(personId, cancellationToken);
        var records = new List<AuditRecord>();
        await foreach (var r in _store.ReadPersonAuditAsync(personId, cancellationToken))
        {
            records.Add(r);
        }

        var ended = AccessEnded(records);
        var verification = await VerifyAsync(cancellationToken);
        switch (format)
        {
            case EvidenceFormat.Csv:
                await WriteCsvAsync(records, output, cancellationToken);
                break;
            case EvidenceFormat.Json:
                await WriteJsonAsync(person, personId, records, ended, verification, output);
                break;
            case EvidenceFormat.Html:
                await WriteHtmlAsync(person, personId, records, ended, verification, output);
                break;
        }
    }

    /// <summary>For each target whose access was cut and verified: the first verified cut, when and by whom.</summary>
    public static IReadOnlyList<AccessEnd> AccessEnded(IReadOnlyList<AuditRecord> records) =>
        records
            .Where(r => r.Entry.StepId is not null && r.Entry.Outcome is "ok" or "ok_already_in_state" or "done_manually"
                && Enum.GetValues<ActionKind>().Any(k => k.ToSnake() == r.Entry.Action && k.CutsAccess()))
            .GroupBy(r => (r.Entry.SystemId, r.Entry.Target, r.Entry.Action))
            .Select(g => g.First())
            .Select(r => new AccessEnd(r.Entry.SystemId ?? "-", r.Entry.Target ?? "-", r.Entry.Action, r.Entry.At, r.Entry.Actor, r.Seq, r.Entry.CaseId))
            .OrderBy(a => a.At)
            .ToList();

    private static Task WriteCsvAsync(List<AuditRecord> records, TextWriter output, CancellationToken cancellationToken) =>
        CsvExport.WriteAsync(output, ["seq", "at", "actor", "action", "system", "target", "person", "case", "step", "before", "after", "outcome", "detail", "hash"],
            records.Select(r => (IReadOnlyList<string?>)[
                r.Seq.ToString(CultureInfo.InvariantCulture), r.Entry.At.ToString("O", CultureInfo.InvariantCulture), r.Entry.Actor, r.Entry.Action, r.Entry.SystemId, r.Entry.Target,
                r.Entry.PersonId, r.Entry.CaseId, r.Entry.StepId, r.Entry.Before, r.Entry.After, r.Entry.Outcome, r.Entry.Detail, Convert.ToHexStringLower(r.Hash)]),
            cancellationToken);

    private async Task WriteJsonAsync(Person? person, string personId, List<AuditRecord> records, IReadOnlyList<AccessEnd> ended, AuditVerification v, TextWriter output)
    {
        var doc = new
        {
            generatedAt = _time.GetUtcNow(),
            person = person is null ? null : new { person.Id, person.DisplayName, person.Email, person.Department, person.Title },
            personId,
            chain = new { ok = v.Ok, records = v.Records, firstBadSeq = v.FirstBadSeq, problem = v.Problem, head = v.HeadHash is null ? null : Convert.ToHexStringLower(v.HeadHash) },
            accessEnded = ended,
            records = records.Select(r => new
            {
                r.Seq,
                r.Entry.At,
                r.Entry.Actor,
                r.Entry.Action,
                system = r.Entry.SystemId,
                r.Entry.Target,
                caseId = r.Entry.CaseId,
                stepId = r.Entry.StepId,
                r.Entry.Before,
                r.Entry.After,
                r.Entry.Outcome,
                r.Entry.Detail,
                hash = Convert.ToHexStringLower(r.Hash),
            }),
        };
        await output.WriteAsync(JsonSerializer.Serialize(doc, Indented));
        await output.WriteLineAsync();
    }

    private async Task WriteHtmlAsync(Person? person, string personId, List<AuditRecord> records, IReadOnlyList<AccessEnd> ended, AuditVerification v, TextWriter output)
    {
        static string H(string? s) => WebUtility.HtmlEncode(s ?? string.Empty);
        var sb = new StringBuilder();
        sb.Append("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Access evidence — ").Append(H(personId)).Append("</title>")
          .Append("<style>body{font:14px system-ui,sans-serif;margin:2rem;color:#1a1a1a}table{border-collapse:collapse;width:100%;margin:1rem 0}")
          .Append("th,td{border:1px solid #ccc;padding:4px 6px;text-align:left;vertical-align:top}th{background:#f0f0f0}.ok{color:#176b2c}.bad{color:#b00020}")
          .Append("code{font-size:12px;word-break:break-all}</style></head><body>");
        sb.Append("<h1>Access evidence for ").Append(H(person?.DisplayName ?? personId)).Append("</h1>");
        if (person is not null)
        {
            sb.Append("<p>").Append(H(person.Id)).Append(" · ").Append(H(person.Email)).Append(" · ").Append(H(person.Department)).Append(" · ").Append(H(person.Title)).Append("</p>");
        }

        sb.Append("<p>Generated ").Append(H(_time.GetUtcNow().ToString("u", CultureInfo.InvariantCulture))).Append(". Audit chain: ")
          .Append(v.Ok ? $"<span class=\"ok\">intact</span> ({v.Records} records, head <code>{Convert.ToHexStringLower(v.HeadHash ?? [])}</code>)" : $"<span class=\"bad\">BROKEN at record {v.FirstBadSeq}: {H(v.Problem)}</span>")
          .Append("</p><h2>When each access ended</h2><table><tr><th>System</th><th>Target</th><th>Action</th><th>Ended at (UTC)</th><th>By</th><th>Case</th><th>Record</th></tr>");
        foreach (var a in ended)
        {
            sb.Append("<tr><td>").Append(H(a.System)).Append("</td><td>").Append(H(a.Target)).Append("</td><td>").Append(H(a.Action)).Append("</td><td>")
              .Append(H(a.At.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture))).Append("</td><td>").Append(H(a.Actor)).Append("</td><td>")
              .Append(H(a.CaseId)).Append("</td><td>#").Append(a.Seq).Append("</td></tr>");
        }

        sb.Append("</table><h2>Every record</h2><table><tr><th>#</th><th>At (UTC)</th><th>Actor</th><th>Action</th><th>System</th><th>Target</th><th>Before</th><th>After</th><th>Outcome</th><th>Detail</th></tr>");
        foreach (var r in records)
        {
            var e = r.Entry;
            sb.Append("<tr><td>").Append(r.Seq).Append("</td><td>").Append(H(e.At.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture))).Append("</td><td>")
              .Append(H(e.Actor)).Append("</td><td>").Append(H(e.Action)).Append("</td><td>").Append(H(e.SystemId)).Append("</td><td>").Append(H(e.Target))
              .Append("</td><td><code>").Append(H(e.Before)).Append("</code></td><td><code>").Append(H(e.After)).Append("</code></td><td>").Append(H(e.Outcome))
              .Append("</td><td>").Append(H(e.Detail)).Append("</td></tr>");
        }

        sb.Append("</table></body></html>");
        await output.WriteAsync(sb.ToString());
    }
}

/// <summary>When one access ended: the first verified cut of that target.</summary>
public sealed record AccessEnd(string System, string Target, string Action, DateTimeOffset At, string Actor, long Seq, string? CaseId);
