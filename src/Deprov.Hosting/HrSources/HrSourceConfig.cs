using System.Globalization;
using System.Text.RegularExpressions;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.HrSources;
using Deprov.Core.Model;

namespace Deprov.Hosting.HrSources;

/// <summary>One entry of <c>hr_sources:</c> in <c>deprov.yaml</c>: an HR system Deprov pulls from on a schedule.</summary>
/// <param name="Interval">How often changes are pulled (<c>interval</c>, default 5 minutes; <c>0</c> = only on demand).</param>
/// <param name="FullInterval">How often a full listing is pulled and compared (<c>full_interval</c>, default 24 hours).</param>
/// <param name="MaxShrink">A full listing shorter than the last one by more than this share is refused (<c>max_shrink</c>, default 10%).</param>
/// <param name="Status">The <c>status</c> block (values and terminated_without_date), bound over the kind's defaults when the source is created.</param>
/// <param name="Settings">The kind's own settings (validated by its <see cref="IHrSourceFactory"/>).</param>
public sealed record HrSourceConfig(string Id, string Kind, TimeSpan Interval, TimeSpan FullInterval, double MaxShrink, string DefaultTimeZone, SettingsNode Status,
    SettingsNode Settings)
{
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(5);

    public static readonly TimeSpan DefaultFullInterval = TimeSpan.FromHours(24);

    /// <summary>Binds <c>hr_sources:</c>; every problem is added to <paramref name="errors"/>.</summary>
    internal static IReadOnlyList<HrSourceConfig> Bind(SettingsNode n, List<ValidationError> errors)
    {
        if (n.IsMissing)
        {
            return [];
        }

        if (!n.IsSequence)
        {
            errors.Add(n.Error("must be a list of HR sources.", "write one '- id: ...' entry per source (see docs/hr-triggers.md)."));
            return [];
        }

        var list = new List<HrSourceConfig>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in n.Items)
        {
            s.CheckKnownKeys(errors, "id", "kind", "interval", "full_interval", "max_shrink", "default_time_zone", "status", "settings");
            var id = s.GetString("id", errors, required: true, fix: "add 'id: <short-name>' (lower-case letters, digits, '-'), e.g. 'id: bamboohr'.");
            if (id is not null && !Regex.IsMatch(id, "^[a-z0-9][a-z0-9-]*$"))
            {
                errors.Add(s["id"].Error($"'{id}' must be lower-case letters, digits and '-'.", "rename it, e.g. 'bamboohr'."));
            }

            if (id is not null && !ids.Add(id))
            {
                errors.Add(s["id"].Error($"'{id}' is used by another HR source.", "give every HR source a unique id."));
            }

            var kind = s.GetString("kind", errors, required: true, fix: "add 'kind: bamboohr'.");
            var interval = s.GetDuration("interval", DefaultInterval, errors);
            if (interval != TimeSpan.Zero && interval < TimeSpan.FromSeconds(30))
            {
                errors.Add(s["interval"].Error($"is {interval.TotalSeconds:0} s; pulling more often than every 30 s only spends the HR system's rate limit.",
                    "write 30s or more (5m is the default), or 0 to pull only on demand (deprov sources sync)."));
            }

            var full = s.GetDuration("full_interval", DefaultFullInterval, errors);
            if (full != TimeSpan.Zero && full < TimeSpan.FromMinutes(5))
            {
                errors.Add(s["full_interval"].Error($"is {full}; a full listing reads every employee and must be at least 5m apart.", "write 5m or more (24h is the default), or 0 for never."));
            }

            var shrink = 0.1;
            if (s.GetString("max_shrink", errors) is { } text)
            {
                if (text.Trim() == "off")
                {
                    shrink = 1.0;
                }
                else if (text.Trim().EndsWith('%') && double.TryParse(text.Trim()[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var percent) && percent <= 100)
                {
                    shrink = percent / 100;
                }
                else
                {
                    errors.Add(s["max_shrink"].Error($"is '{text}', not a percentage.", "write a percentage such as 10% (the default), or off."));
                }
            }

            var tz = s.GetString("default_time_zone", errors) ?? "UTC";
            if (!TimeZoneInfo.TryFindSystemTimeZoneById(tz, out _))
            {
                errors.Add(s["default_time_zone"].Error($"'{tz}' is not a known time zone.", "use an IANA id such as Europe/Paris or America/New_York."));
            }

            // The values' meanings are checked now; the kind's defaults apply when the source is created.
            _ = Roster.RosterOptions.BindStatus(s["status"], errors);
            var settings = s.Has("settings") ? s["settings"] : SettingsNode.Empty(s.Path + ".settings");
            if (id is not null && kind is not null)
            {
                list.Add(new HrSourceConfig(id, kind, interval, full, shrink, tz, s["status"], settings));
            }
        }

        return list;
    }

    /// <summary>The status mapping over <paramref name="defaults"/> (the kind's).</summary>
    internal HrStatusMapping Statuses(HrStatusMapping defaults)
    {
        var errors = new List<ValidationError>();
        var mapping = Roster.RosterOptions.BindStatus(Status, errors, defaults);
        return errors.Count > 0 ? throw new ValidationException(errors) : mapping;
    }
}
