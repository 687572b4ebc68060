using System.Globalization;
using Deprov.Core.Model;
using Deprov.Core.Store;

namespace Deprov.Hosting.Hooks;

/// <summary>
/// Maps BambooHR changes to lifecycle events. The BambooHR employee id is the HR id Deprov knows the person by.
/// Fields read (BambooHR's field names): <c>employmentStatus</c> (Terminated → leave, or contract end for contractors
/// and vendors; Active after a termination → rehire), <c>terminationDate</c> (yyyy-MM-dd: the last day worked),
/// <c>terminationType</c> (contains "involuntary" → involuntary), <c>department</c>, <c>jobTitle</c> (→ move).
/// </summary>
public static class BambooHrMapper
{
    public static async Task<IReadOnlyList<(LifecycleEvent? Event, string? Parked)>> MapAsync(IReadOnlyList<BambooChange> changes, IStore store, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        var result = new List<(LifecycleEvent?, string?)>();
        foreach (var c in changes)
        {
            var stamp = c.Timestamp ?? now.ToString("O", CultureInfo.InvariantCulture);
            if (c.Unusable is not null)
            {
                result.Add((Event(EventKind.Leave, c.EmployeeId, now, ExitReason.None, $"bamboohr:unusable:{c.EmployeeId}:{stamp}"), c.Unusable));
                continue;
            }

            var person = await store.GetPersonAsync(c.EmployeeId, cancellationToken);
            var fields = c.Fields;
            var status = fields.GetValueOrDefault("employmentStatus") ?? fields.GetValueOrDefault("status");
            if (string.Equals(status, "Terminated", StringComparison.OrdinalIgnoreCase) || string.Equals(c.Action, "Deleted", StringComparison.OrdinalIgnoreCase) && status is null)
            {
                var dateText = fields.GetValueOrDefault("terminationDate");
                DateTimeOffset effective = now;
                if (dateText is not null && DateOnly.TryParseExact(dateText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
                {
                    effective = HrDates.EndOfLastDay(date, person?.TimeZone ?? "UTC");
                }
                else if (dateText is not null)
                {
                    result.Add((null, $"employee {c.EmployeeId}: terminationDate '{dateText}' is not yyyy-MM-dd"));
                    continue;
                }

                var kind = person?.WorkerType is WorkerType.Contractor or WorkerType.Vendor ? EventKind.ContractEnd : EventKind.Leave;
                var reason = fields.GetValueOrDefault("terminationType")?.Contains("involuntary", StringComparison.OrdinalIgnoreCase) == true ? ExitReason.Involuntary : ExitReason.Voluntary;
                result.Add((Event(kind, c.EmployeeId, effective, reason, $"bamboohr:{kind.Snake()}:{c.EmployeeId}:{dateText ?? stamp}"), null));
                continue;
            }

            if (string.Equals(status, "Active", StringComparison.OrdinalIgnoreCase) && person?.EndDate is not null)
            {
                result.Add((Event(EventKind.Rehire, c.EmployeeId, now, ExitReason.None, $"bamboohr:rehire:{c.EmployeeId}:{stamp}"), null));
                continue;
            }

            var department = fields.GetValueOrDefault("department");
            var title = fields.GetValueOrDefault("jobTitle");
            if ((department is not null && department != person?.Department) || (title is not null && title != person?.Title))
            {
                result.Add((Event(EventKind.Move, c.EmployeeId, now, ExitReason.None, $"bamboohr:move:{c.EmployeeId}:{department}:{title}") with
                {
                    NewDepartment = department ?? person?.Department,
                    NewTitle = title ?? person?.Title,
                }, null));
            }
        }

        return result;
    }

    private static LifecycleEvent Event(EventKind kind, string person, DateTimeOffset effective, ExitReason reason, string key) =>
        new(string.Empty, kind, person, effective, reason, "bamboohr", key, default);
}
