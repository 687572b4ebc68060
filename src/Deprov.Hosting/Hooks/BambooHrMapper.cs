using System.Globalization;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;

namespace Deprov.Hosting.Hooks;

/// <summary>What one BambooHR change becomes: an event (parked when <see cref="ParkReason"/> is set), or nothing, and why.</summary>
/// <param name="Message">Said in the answer: why nothing was done, or how a value was read.</param>
public sealed record BambooMapping(LifecycleEvent? Event, string? ParkReason, string? Message);

/// <summary>
/// Maps BambooHR changes to lifecycle events. The BambooHR employee id is the HR id Deprov knows the person by.
/// Fields read (BambooHR's field names): <c>employmentStatus</c> (Terminated → leave, or contract end for contractors
/// and vendors; Active after a termination → rehire), <c>terminationDate</c> (yyyy-MM-dd: the last day worked),
/// <c>terminationType</c> (contains "involuntary" → involuntary), <c>department</c>, <c>jobTitle</c> (→ move).
/// A change Deprov cannot read with certainty (an event-based hook, a date in another format, a status it does not map)
/// is parked with a "needs a lookup" or "needs review" reason: listed for an operator, never replayed as a guess.
/// </summary>
public static class BambooHrMapper
{
    public static async Task<IReadOnlyList<BambooMapping>> MapAsync(IReadOnlyList<BambooChange> changes, IStore store, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var result = new List<BambooMapping>();
        foreach (var c in changes)
        {
            var stamp = c.Timestamp ?? now.ToString("O", CultureInfo.InvariantCulture);
            if (c.Unusable is not null)
            {
                // The kind is a placeholder the store needs; the reason says no event is known, and such events are never replayed.
                result.Add(new BambooMapping(Event(EventKind.Leave, c.EmployeeId, now, ExitReason.None, $"bamboohr:lookup:{c.EmployeeId}:{c.Action}:{stamp}"), c.Unusable, null));
                continue;
            }

            var person = await store.GetPersonAsync(c.EmployeeId, cancellationToken);
            var fields = c.Fields;
            var status = fields.GetValueOrDefault("employmentStatus") ?? fields.GetValueOrDefault("status");
            if (string.Equals(status, "Terminated", StringComparison.OrdinalIgnoreCase) || string.Equals(c.Action, "Deleted", StringComparison.OrdinalIgnoreCase) && status is null)
            {
                var dateText = fields.GetValueOrDefault("terminationDate");
                DateTimeOffset effective = now;
                string? message = null;
                if (dateText is not null && DateOnly.TryParseExact(dateText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
                    && date.Year is >= HookPayloads.MinYear and <= HookPayloads.MaxYear)
                {
                    effective = HrDates.EndOfLastDay(date, person?.TimeZone ?? "UTC");
                    message = $"terminationDate {dateText} read as the last day worked: access ends at midnight after it in {person?.TimeZone ?? "UTC"}";
                }
                else if (dateText is not null)
                {
                    // The termination is certain, its date is not: keep it where an operator sees it rather than cut now or drop it.
                    var review = $"{DeprovEngine.NeedsReviewPrefix}employee {c.EmployeeId} is Terminated, but {c.Path}.fields.terminationDate '{dateText}' is not a date in " +
                        $"yyyy-MM-dd form (years {HookPayloads.MinYear}–{HookPayloads.MaxYear}), the form BambooHR's API uses; submit the leave with its date by hand, and check the webhook's date format.";
                    result.Add(new BambooMapping(Event(EventKind.Leave, c.EmployeeId, now, ExitReason.None, $"bamboohr:review:{c.EmployeeId}:{dateText}:{stamp}"), review, null));
                    continue;
                }

                var kind = person?.WorkerType is WorkerType.Contractor or WorkerType.Vendor ? EventKind.ContractEnd : EventKind.Leave;
                var reason = fields.GetValueOrDefault("terminationType")?.Contains("involuntary", StringComparison.OrdinalIgnoreCase) == true ? ExitReason.Involuntary : ExitReason.Voluntary;
                result.Add(new BambooMapping(Event(kind, c.EmployeeId, effective, reason, $"bamboohr:{kind.Snake()}:{c.EmployeeId}:{dateText ?? stamp}"), null, message));
                continue;
            }

            if (string.Equals(status, "Active", StringComparison.OrdinalIgnoreCase) && person?.EndDate is not null)
            {
                result.Add(new BambooMapping(Event(EventKind.Rehire, c.EmployeeId, now, ExitReason.None, $"bamboohr:rehire:{c.EmployeeId}:{stamp}"), null, null));
                continue;
            }

            var department = fields.GetValueOrDefault("department");
            var title = fields.GetValueOrDefault("jobTitle");
            if ((department is not null && department != person?.Department) || (title is not null && title != person?.Title))
            {
                result.Add(new BambooMapping(Event(EventKind.Move, c.EmployeeId, now, ExitReason.None, $"bamboohr:move:{c.EmployeeId}:{department}:{title}") with
                {
                    NewDepartment = department ?? person?.Department,
                    NewTitle = title ?? person?.Title,
                }, null, null));
                continue;
            }

            if (status is not null && !string.Equals(status, "Active", StringComparison.OrdinalIgnoreCase))
            {
                // A status Deprov has no rule for (On Leave, Suspended…): an operator decides what it means.
                var review = $"{DeprovEngine.NeedsReviewPrefix}employee {c.EmployeeId}: employmentStatus '{status}' is not a status Deprov acts on (Terminated → leave, Active → rehire); " +
                    "submit the event it implies by hand, or discard it.";
                result.Add(new BambooMapping(Event(EventKind.Leave, c.EmployeeId, now, ExitReason.None, $"bamboohr:review:{c.EmployeeId}:{status}:{stamp}"), review, null));
                continue;
            }

            result.Add(new BambooMapping(null, null, $"employee {c.EmployeeId} ({c.Path}): no field Deprov reads changed (employmentStatus, terminationDate, department, jobTitle); nothing to do"));
        }

        return result;
    }

    private static LifecycleEvent Event(EventKind kind, string person, DateTimeOffset effective, ExitReason reason, string key) =>
        new(string.Empty, kind, person, effective, reason, "bamboohr", key, default);
}
