using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Hosting.Execution;
using Deprov.Hosting.HrSources;

namespace Deprov.Hosting.Hooks;

/// <summary>What became of one employee of a BambooHR webhook: <c>accepted</c>, <c>planned</c>, <c>parked</c>, <c>duplicate</c>,
/// <c>conflict</c>, <c>ignored</c> or <c>refused</c>, with why.</summary>
public sealed record BambooIntakeOutcome(string EventId, string Outcome, string Message);

/// <summary>
/// Takes a verified BambooHR webhook's changes. With a BambooHR source configured (<c>hr_sources</c>, <c>kind: bamboohr</c>),
/// each named employee is read through the API and applied as a pull of that one record: the webhook says who changed, the
/// record says what is true now, and the events carry the same idempotency keys a scheduled pull derives, so a webhook
/// and a pull for the same change make one case. An event-based webhook (ids and field names only) is resolved so, into
/// whatever the record now says, or nothing. Without a source, or when the API cannot be read, the webhook's own values
/// are mapped (<see cref="BambooHrMapper"/>) and an event-based delivery is parked as needing a lookup (the scheduled pull
/// catches up).
/// </summary>
public static class BambooHrIntake
{
    public static async Task<IReadOnlyList<BambooIntakeOutcome>> HandleAsync(DeprovEngine engine, IReadOnlyList<BambooChange> changes, string path, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(changes);
        var outcomes = new List<BambooIntakeOutcome>();
        var ignored = new List<string>();
        var unresolved = new List<BambooChange>();
        var runner = new HrSourceRunner(engine);
        foreach (var c in changes)
        {
            HrSyncReport? report;
            try
            {
                report = await runner.ResolveAsync("bamboohr", c.EmployeeId, "hook:bamboohr", cancellationToken);
            }
            catch (ConnectorException ex)
            {
                // The API is down or refused: fall back to what the webhook carries, and say so.
                unresolved.Add(c.Unusable is null ? c : c with { Unusable = $"{c.Unusable} (the BambooHR API lookup failed: {ex.Message})" });
                continue;
            }

            if (report is null)
            {
                unresolved.Add(c);
                continue;
            }

            if (report.Results.Count == 0)
            {
                var why = report.Problems.Count > 0
                    ? $"employee {c.EmployeeId} read through the BambooHR API was not used: {string.Join("; ", report.Problems)}"
                    : report.Notes.Count > 0 ? string.Join("; ", report.Notes)
                    : $"employee {c.EmployeeId} read through the BambooHR API: the record implies nothing new";
                ignored.Add(why);
                outcomes.Add(new BambooIntakeOutcome(string.Empty, "ignored", why));
                continue;
            }

            foreach (var r in report.Results)
            {
                outcomes.Add(new BambooIntakeOutcome(r.Event.Id, r.Outcome.ToString().ToLowerInvariant(), $"{r.Message}; read through the BambooHR API"));
            }
        }

        foreach (var m in await BambooHrMapper.MapAsync(unresolved, engine.Store, engine.Time.GetUtcNow(), cancellationToken))
        {
            if (m.Event is null)
            {
                var why = m.Message ?? "nothing Deprov acts on";
                ignored.Add(why);
                outcomes.Add(new BambooIntakeOutcome(string.Empty, "ignored", why));
                continue;
            }

            try
            {
                var result = await engine.AcceptAsync(m.Event, "hook:bamboohr", cancellationToken, m.ParkReason);
                outcomes.Add(new BambooIntakeOutcome(result.Event.Id, result.Outcome.ToString().ToLowerInvariant(), m.Message is null ? result.Message : $"{result.Message}; {m.Message}"));
            }
            catch (ValidationException ex)
            {
                outcomes.Add(new BambooIntakeOutcome(string.Empty, "refused", ex.Message));
                ignored.Add(ex.Message);
            }
        }

        if (ignored.Count > 0)
        {
            // Not silent: what was received and not acted on is in the audit trail (and the answer).
            await engine.Store.AppendAuditAsync([new AuditEntry(engine.Time.GetUtcNow(), "hook:bamboohr", "webhook_ignored", null, path, null, null, null, null, null,
                "ignored", string.Join("; ", ignored))], cancellationToken);
        }

        return outcomes;
    }
}
