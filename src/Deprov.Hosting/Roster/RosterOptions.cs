using Deprov.Core;
using Deprov.Core.Configuration;

namespace Deprov.Hosting.Roster;

/// <summary>What to do with people the store knows who are absent from a full roster.</summary>
public enum MissingPeople
{
    /// <summary>Report them; do nothing.</summary>
    Ignore,
    /// <summary>Report them; with <c>--confirm-missing</c>, offboard them.</summary>
    LeaveAfterConfirmation,
}

/// <summary>The <c>roster:</c> section of <c>deprov.yaml</c>: how an HR roster CSV maps to people.</summary>
/// <param name="Columns">Field → CSV header.</param>
/// <param name="DateFormats">Field → accepted formats, tried in order.</param>
public sealed record RosterOptions(IReadOnlyDictionary<string, string> Columns, IReadOnlyDictionary<string, IReadOnlyList<string>> DateFormats, MissingPeople Missing, string DefaultTimeZone)
{
    public static readonly string[] Fields =
        ["id", "email", "name", "manager", "department", "title", "location", "worker_type", "time_zone", "start_date", "end_date", "termination_reason"];

    public static RosterOptions Default { get; } = new(
        Fields.ToDictionary(f => f, f => f, StringComparer.Ordinal),
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["start_date"] = ["yyyy-MM-dd"], ["end_date"] = ["yyyy-MM-dd"] },
        MissingPeople.Ignore,
        "UTC");

    internal static RosterOptions Bind(SettingsNode n, List<ValidationError> errors)
    {
        if (n.IsMissing)
        {
            return Default;
        }

        n.CheckKnownKeys(errors, "columns", "date_formats", "missing_people", "default_time_zone");
        var columns = new Dictionary<string, string>(Default.Columns, StringComparer.Ordinal);
        var cols = n["columns"];
        cols.CheckKnownKeys(errors, Fields);
        foreach (var (field, node) in cols.Entries)
        {
            if (node.IsScalar && Fields.Contains(field, StringComparer.Ordinal))
            {
                columns[field] = node.Scalar!;
            }
        }

        var formats = new Dictionary<string, IReadOnlyList<string>>(Default.DateFormats, StringComparer.Ordinal);
        var df = n["date_formats"];
        df.CheckKnownKeys(errors, "start_date", "end_date");
        foreach (var field in new[] { "start_date", "end_date" })
        {
            var list = df.GetStringList(field, errors);
            if (list.Count > 0)
            {
                formats[field] = list;
            }
        }

        var tz = n.GetString("default_time_zone", errors) ?? "UTC";
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(tz, out _))
        {
            errors.Add(n["default_time_zone"].Error($"'{tz}' is not a known time zone.", "use an IANA id such as Europe/Paris or America/New_York."));
        }

        return new RosterOptions(columns, formats, n.GetEnum("missing_people", MissingPeople.Ignore, errors), tz);
    }
}
