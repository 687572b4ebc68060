using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Model;

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
/// <param name="DateFormats">Field → accepted formats, tried in order (an ISO 8601 timestamp with an offset is always accepted too).</param>
/// <param name="Status">How the status column's values map to what they mean.</param>
/// <param name="Encoding">The file's encoding when it has no byte order mark: null means UTF-8 (and a file that is not UTF-8 is refused).</param>
public sealed record RosterOptions(IReadOnlyDictionary<string, string> Columns, IReadOnlyDictionary<string, IReadOnlyList<string>> DateFormats, MissingPeople Missing, string DefaultTimeZone,
    HrStatusMapping Status, System.Text.Encoding? Encoding = null)
{
    public static readonly string[] Fields =
        ["id", "email", "name", "manager", "department", "title", "location", "worker_type", "time_zone", "start_date", "end_date", "termination_reason", "status"];

    /// <summary>The encodings <c>roster.encoding</c> accepts, for files without a byte order mark.</summary>
    public static readonly string[] Encodings = ["utf-8", "latin1", "windows-1252"];

    public static RosterOptions Default { get; } = new(
        Fields.ToDictionary(f => f, f => f, StringComparer.Ordinal),
        new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["start_date"] = ["yyyy-MM-dd"], ["end_date"] = ["yyyy-MM-dd"] },
        MissingPeople.Ignore,
        "UTC",
        HrStatusMapping.Default);

    internal static RosterOptions Bind(SettingsNode n, List<ValidationError> errors)
    {
        if (n.IsMissing)
        {
            return Default;
        }

        n.CheckKnownKeys(errors, "columns", "date_formats", "missing_people", "default_time_zone", "status", "encoding");
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
                if (HrDates.FindConflict(list) is { } conflict)
                {
                    errors.Add(df[field].Error(conflict, $"list only the format(s) the HR system writes under roster.date_formats.{field}; an ISO 8601 timestamp with an offset is always accepted."));
                }

                formats[field] = list;
            }
        }

        var tz = n.GetString("default_time_zone", errors) ?? "UTC";
        if (!TimeZoneInfo.TryFindSystemTimeZoneById(tz, out _))
        {
            errors.Add(n["default_time_zone"].Error($"'{tz}' is not a known time zone.", "use an IANA id such as Europe/Paris or America/New_York."));
        }

        System.Text.Encoding? encoding = null;
        if (n.GetString("encoding", errors) is { } enc)
        {
            encoding = enc.ToLowerInvariant() switch
            {
                "utf-8" or "utf8" => null,
                "latin1" or "latin-1" or "iso-8859-1" => System.Text.Encoding.Latin1,
                "windows-1252" or "cp1252" => System.Text.CodePagesEncodingProvider.Instance.GetEncoding(1252),
                _ => null,
            };
            if (encoding is null && enc.ToLowerInvariant() is not ("utf-8" or "utf8"))
            {
                errors.Add(n["encoding"].Error($"'{enc}' is not an encoding Deprov reads.", $"use one of: {string.Join(", ", Encodings)} (or re-save the file as UTF-8 and remove the setting)."));
            }
        }

        return new RosterOptions(columns, formats, n.GetEnum("missing_people", MissingPeople.Ignore, errors), tz, BindStatus(n["status"], errors), encoding);
    }

    // roster.status: { values: { "<HR value>": active | on_leave | terminated | contract_ended }, terminated_without_date: refuse | today | now }.
    // Values given replace the defaults, so a mapping lists exactly what the HR system writes. HR sources bind their
    // hr_sources[].status the same way, over their kind's defaults.
    internal static HrStatusMapping BindStatus(SettingsNode n, List<ValidationError> errors, HrStatusMapping? defaults = null)
    {
        defaults ??= HrStatusMapping.Default;
        if (n.IsMissing)
        {
            return defaults;
        }

        n.CheckKnownKeys(errors, "values", "terminated_without_date");
        var values = new Dictionary<string, HrStatusMeaning>(StringComparer.OrdinalIgnoreCase);
        foreach (var (raw, node) in n["values"].Entries)
        {
            if (node.IsScalar && Naming.TryParseEnum<HrStatusMeaning>(node.Scalar!, out var meaning) && !int.TryParse(node.Scalar, out _))
            {
                values[raw.Trim()] = meaning;
            }
            else
            {
                errors.Add(node.Error($"'{(node.IsScalar ? node.Scalar : "(not a value)")}' is not a status meaning.", $"use one of: {Naming.AllowedValues<HrStatusMeaning>()}."));
            }
        }

        return new HrStatusMapping(values.Count > 0 ? values : defaults.Values, n.GetEnum("terminated_without_date", defaults.WithoutDate, errors));
    }
}
