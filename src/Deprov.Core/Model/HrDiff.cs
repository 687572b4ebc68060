namespace Deprov.Core.Model;

/// <summary>The HR fields a source can carry.</summary>
public enum HrField
{
    Email,
    Name,
    Manager,
    Department,
    Title,
    Location,
    WorkerType,
    TimeZone,
    StartDate,
    EndDate,
    Status,
    TerminationReason,
}

/// <summary>
/// One HR source's view of one person. Only the fields in <see cref="Mapped"/> are known: a field the source does not
/// carry (a column absent from the file, or not mapped) says nothing, and <see cref="HrDiff"/> leaves the stored value.
/// A mapped field whose value is null is known to be empty.
/// </summary>
public sealed record HrRecord(string Id, IReadOnlySet<HrField> Mapped)
{
    public string? Email { get; init; }
    public string? Name { get; init; }
    public string? Manager { get; init; }
    public string? Department { get; init; }
    public string? Title { get; init; }
    public string? Location { get; init; }
    public WorkerType? WorkerType { get; init; }
    public string? TimeZone { get; init; }
    public DateOnly? StartDate { get; init; }
    /// <summary>The end date or moment, read in the person's time zone (see <see cref="HrDates.TryParse"/>).</summary>
    public HrMoment? End { get; init; }

    /// <summary>The mapped status, or null when the source has no status (or the value is empty).</summary>
    public HrStatusMeaning? Status { get; init; }

    public ExitReason Reason { get; init; } = ExitReason.Voluntary;
}

/// <summary>What one HR record means for one person.</summary>
/// <param name="Person">The person as stored after the change (their <see cref="Person.Status"/> is kept as it was).</param>
/// <param name="Changed">Whether <paramref name="Person"/> differs from what was stored (always true for a new person).</param>
/// <param name="ProblemField">Set when the record cannot be applied; nothing of it is then used.</param>
public sealed record HrChange(Person Person, bool IsNew, bool Changed, IReadOnlyList<LifecycleEvent> Events, HrField? ProblemField = null, string? Problem = null);

/// <summary>
/// Compares an HR record with the stored person and decides the events it implies. Pure: the roster import and HR-system
/// pulls call it, the store persists what it returns.
/// <list type="bullet">
/// <item>A field the source does not carry never changes the stored value.</item>
/// <item>An end date (or a terminated / contract-ended status, with <see cref="HrStatusMapping.WithoutDate"/> deciding when
/// it has no date) that differs from the stored one is a leave or contract end.</item>
/// <item>Cancel and restore happen only on an explicit word: a mapped status that says active (termination cancelled, or
/// rehire for a person who has left), or a mapped end-date column left empty for a termination that is still in the future.
/// An absent column, an unmapped status or an on-leave status never cancels anything.</item>
/// <item>A changed department or title, when the source carries it, is a move.</item>
/// </list>
/// </summary>
public static class HrDiff
{
    public static HrChange Apply(Person? before, HrRecord r, HrStatusMapping mapping, string defaultTimeZone, DateTimeOffset now, string source)
    {
        bool Has(HrField f) => r.Mapped.Contains(f);
        var tz = (Has(HrField.TimeZone) ? r.TimeZone : null) ?? before?.TimeZone ?? defaultTimeZone;
        var email = (Has(HrField.Email) ? r.Email : null) ?? before?.Email ?? string.Empty;
        var after = new Person(
            r.Id,
            email,
            Has(HrField.Name) ? r.Name ?? email : before?.DisplayName ?? email,
            Has(HrField.Manager) ? r.Manager : before?.ManagerId,
            Has(HrField.Department) ? r.Department ?? string.Empty : before?.Department ?? string.Empty,
            Has(HrField.Title) ? r.Title ?? string.Empty : before?.Title ?? string.Empty,
            Has(HrField.Location) ? r.Location ?? string.Empty : before?.Location ?? string.Empty,
            (Has(HrField.WorkerType) ? r.WorkerType : null) ?? before?.WorkerType ?? WorkerType.Employee,
            before?.Status ?? PersonStatus.Active,
            Has(HrField.StartDate) ? r.StartDate : before?.StartDate,
            before?.EndDate,
            tz);

        var events = new List<LifecycleEvent>();
        var terminationKnown = before is not null && (before.EndDate is not null || before.Status == PersonStatus.Left);
        var end = r.End;
        if (end is null && r.Status is HrStatusMeaning.Terminated or HrStatusMeaning.ContractEnded && !terminationKnown)
        {
            switch (mapping.WithoutDate)
            {
                case TerminatedWithoutDate.Refuse:
                    return new HrChange(after, before is null, false, [], HrField.Status,
                        $"says {r.Status.Value.Snake()} but has no end date; fill in the end date, or set roster.status.terminated_without_date to today or now.");
                case TerminatedWithoutDate.Today:
                    var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, Zone(tz)).DateTime);
                    end = new HrMoment(HrDates.EndOfLastDay(today, tz), today, "no end date: the last day is today");
                    break;
                case TerminatedWithoutDate.Now:
                    end = new HrMoment(now, DateOnly.FromDateTime(TimeZoneInfo.ConvertTime(now, Zone(tz)).DateTime), "no end date: access ends now");
                    break;
            }
        }

        if (end is not null)
        {
            if (before is null || end.LocalDate != before.EndDate)
            {
                events.Add(Ending(after, end, r, now, source));
            }

            after = after with { EndDate = end.LocalDate };
        }
        else if (before is { EndDate: var stored } && terminationKnown)
        {
            var explicitActive = r.Status == HrStatusMeaning.Active;
            var withdrawn = r.Status is null && Has(HrField.EndDate) && before.Status != PersonStatus.Left
                && stored is { } d && HrDates.EndOfLastDay(d, tz) > now;
            if (explicitActive || withdrawn)
            {
                var (kind, what) = before.Status == PersonStatus.Left ? (EventKind.Rehire, "rehired") : (EventKind.TerminationCancelled, "withdrawn");
                var why = explicitActive ? "the status says active" : "the end date is empty";
                events.Add(new LifecycleEvent(string.Empty, kind, r.Id, now, ExitReason.None, source,
                    $"{source}:{(kind == EventKind.Rehire ? "rehire" : "withdrawn")}:{r.Id}:{stored:yyyy-MM-dd}", now,
                    Note: stored is null ? $"{what}: {why}" : $"end date {stored:yyyy-MM-dd} {what}: {why}"));
                after = after with { EndDate = null };
            }
        }

        if (before is not null && (after.Department != before.Department || after.Title != before.Title))
        {
            events.Insert(0, new LifecycleEvent(string.Empty, EventKind.Move, r.Id, now, ExitReason.None, source, $"{source}:move:{r.Id}:{after.Department}:{after.Title}", now,
                after.Department, after.Title));
        }

        return new HrChange(after, before is null, after != before, events);
    }

    private static LifecycleEvent Ending(Person p, HrMoment end, HrRecord r, DateTimeOffset now, string source)
    {
        var kind = r.Status switch
        {
            HrStatusMeaning.ContractEnded => EventKind.ContractEnd,
            HrStatusMeaning.Terminated => EventKind.Leave,
            _ => p.WorkerType is WorkerType.Contractor or WorkerType.Vendor ? EventKind.ContractEnd : EventKind.Leave,
        };
        var reason = kind == EventKind.Leave || r.Mapped.Contains(HrField.TerminationReason) ? r.Reason : ExitReason.None;
        var note = $"{source} end date {end.LocalDate:yyyy-MM-dd}" + (end.ReadAs is null ? string.Empty : $" ({end.ReadAs})");
        return new LifecycleEvent(string.Empty, kind, p.Id, end.At, reason, source, $"{source}:{kind.Snake()}:{p.Id}:{end.LocalDate:yyyy-MM-dd}", now, Note: note);
    }

    private static TimeZoneInfo Zone(string timeZone) => TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out var found) ? found : TimeZoneInfo.Utc;
}
