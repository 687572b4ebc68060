using System.Globalization;
using Deprov.Core.Model;

namespace Deprov.Core.HrSources;

/// <summary>How a pull is judged.</summary>
/// <param name="DefaultTimeZone">For a person whose zone neither the record nor the store knows.</param>
/// <param name="MaxShrink">A full listing with fewer records than the last accepted one by more than this share (0–1) is
/// refused as truncated; an empty full listing is always refused when the source listed anyone before or Deprov knows anyone.</param>
public sealed record HrSyncRules(HrStatusMapping Statuses, string DefaultTimeZone, double MaxShrink = 0.1);

/// <summary>What one pull implies. When <see cref="Refused"/> is set, nothing of it may be applied.</summary>
/// <param name="Problems">Records not used, each naming the HR id and why (reported, never dropped silently).</param>
public sealed record HrSyncDecision(
    IReadOnlyList<Person> Added,
    IReadOnlyList<Person> Updated,
    IReadOnlyList<LifecycleEvent> Events,
    IReadOnlyList<string> Problems,
    string? Refused)
{
    public static HrSyncDecision Refuse(string why) => new([], [], [], [], why);
}

/// <summary>
/// Turns what an HR source yielded into people and events. Pure: the runner reads the source and the store, this decides,
/// the store persists. Each record goes through <see cref="HrDiff"/> exactly as a roster row does, with the source's kind
/// as the event source, so the idempotency keys are derived from the record's content (kind, person, date): the same
/// termination seen by a pull and by a webhook from the same system is one event.
/// </summary>
/// <remarks>
/// A pull never implies that anyone left by their absence: people missing from a listing are not touched. A listing that
/// looks truncated (empty, or much shorter than the last one) is refused whole, since it says the source is broken rather
/// than that the company shrank.
/// </remarks>
public static class HrSync
{
    /// <param name="kind">The source's kind: the events' source and the prefix of their idempotency keys.</param>
    /// <param name="full">Whether <paramref name="records"/> is a full listing (checked for truncation).</param>
    /// <param name="lastFullCount">How many records the last accepted full listing had (null before the first).</param>
    /// <param name="knownPeople">How many people Deprov knows who have not left: an empty first listing is refused when there are any.</param>
    public static HrSyncDecision Decide(string kind, IReadOnlyList<HrSourceRecord> records, Func<string, Person?> known, bool full, int? lastFullCount, int knownPeople,
        HrSyncRules rules, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(known);
        ArgumentNullException.ThrowIfNull(rules);
        if (full && records.Count == 0 && (lastFullCount > 0 || knownPeople > 0))
        {
            return HrSyncDecision.Refuse($"the full listing was empty, where {(lastFullCount > 0 ? $"{lastFullCount} records were listed last time" : $"Deprov knows {knownPeople} people")}; " +
                "an empty answer never means everyone left. Nothing was changed: check the HR system's API user and its access to employee data.");
        }

        if (full && lastFullCount is > 0 and var last)
        {
            var floor = (int)Math.Ceiling(last * (1 - rules.MaxShrink));
            if (records.Count < floor)
            {
                return HrSyncDecision.Refuse(string.Create(CultureInfo.InvariantCulture,
                    $"the full listing had {records.Count} records, fewer than {floor} ({last} last time, less {rules.MaxShrink:P0}); it looks truncated. ") +
                    "Nothing was changed: check the HR system's API user and report filters, or raise max_shrink if the company really shrank.");
            }
        }

        var added = new List<Person>();
        var updated = new List<Person>();
        var events = new List<LifecycleEvent>();
        var problems = new List<string>();
        var seen = new Dictionary<string, HrSourceRecord>(StringComparer.Ordinal);
        foreach (var r in records)
        {
            if (seen.TryGetValue(r.Id, out var first))
            {
                if (first != r)
                {
                    problems.Add($"{r.Id}: listed twice with different values; the first was used.");
                }

                continue;
            }

            seen[r.Id] = r;
            if (r.Problem is not null || r.Record is null)
            {
                problems.Add($"{r.Id}: {r.Problem ?? "nothing could be read"}");
                continue;
            }

            var before = known(r.Id);
            var record = r.Record;
            if (r.LastDay is { } day)
            {
                var tz = (record.Mapped.Contains(HrField.TimeZone) ? record.TimeZone : null) ?? before?.TimeZone ?? rules.DefaultTimeZone;
                if (day.Year is < HrDates.MinYear or > HrDates.MaxYear)
                {
                    problems.Add($"{r.Id}: the termination date {day:yyyy-MM-dd} is outside {HrDates.MinYear}–{HrDates.MaxYear}; nothing of this record was used.");
                    continue;
                }

                record = record with { End = new HrMoment(HrDates.EndOfLastDay(day, tz), day, null) };
            }

            var change = HrDiff.Apply(before, record, rules.Statuses, rules.DefaultTimeZone, now, kind);
            if (change.Problem is not null)
            {
                // HrDiff names the roster's setting; a source's own is hr_sources[].status.
                problems.Add($"{r.Id}: {change.ProblemField?.ToString().ToLowerInvariant() ?? "record"} {change.Problem.Replace("roster.status.", "hr_sources[].status.", StringComparison.Ordinal)}");
                continue;
            }

            events.AddRange(change.Events);
            if (change.IsNew)
            {
                added.Add(change.Person);
            }
            else if (change.Changed)
            {
                updated.Add(change.Person);
            }
        }

        return new HrSyncDecision(added, updated, events, problems, null);
    }
}
