using System.Globalization;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Model;
using Deprov.Core.Reconciliation;

namespace Deprov.Hosting.Configuration;

/// <summary>
/// Binds the <c>reconciliation:</c> section of <c>deprov.yaml</c>. Every per-system map takes system ids and
/// <c>default</c>; unknown systems, kinds and values are reported with file, line, key and a fix.
/// </summary>
internal static class ReconciliationBinder
{
    public static ReconciliationPolicy Bind(SettingsNode n, IReadOnlySet<string> systemIds, List<ValidationError> errors)
    {
        var d = ReconciliationPolicy.Defaults;
        if (n.IsMissing)
        {
            return d;
        }

        n.CheckKnownKeys(errors, "schedule", "dormant_days", "reactions", "max_shrink");
        var schedules = PerSystem(n["schedule"], systemIds, errors, d.Schedules, node =>
        {
            var text = node.Scalar!.Trim();
            if (text is "off" or "manual")
            {
                return TimeSpan.Zero;
            }

            var body = text.StartsWith("every ", StringComparison.Ordinal) ? text[6..] : text;
            if (SettingsNode.TryParseDuration(body, out var every) && (every == TimeSpan.Zero || every >= TimeSpan.FromMinutes(1)))
            {
                return every;
            }

            errors.Add(node.Error($"is '{text}', which is not a discovery interval.", "write 'every 6h' (or just '6h', at least 1m), or 'off' for on-demand only."));
            return (TimeSpan?)null;
        });
        var dormant = PerSystem(n["dormant_days"], systemIds, errors, d.DormantDays, node =>
        {
            if (int.TryParse(node.Scalar, NumberStyles.None, CultureInfo.InvariantCulture, out var days) && days <= 3650)
            {
                return days;
            }

            errors.Add(node.Error($"is '{node.Scalar}', which is not a number of days.", "write a whole number from 0 (check off) to 3650."));
            return (int?)null;
        });

        var maxShrink = PerSystem(n["max_shrink"], systemIds, errors, d.MaxShrink, node =>
        {
            var text = node.Scalar!.Trim();
            if (text == "off")
            {
                return 1.0;
            }

            if (text.EndsWith('%') && double.TryParse(text[..^1].TrimEnd(), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var percent) && percent <= 100)
            {
                return percent / 100;
            }

            errors.Add(node.Error($"is '{text}', which is not a share of accounts.", "write a percentage from 0% to 100% (e.g. '20%'), or 'off' to accept any fall."));
            return (double?)null;
        });

        var reactions = new Dictionary<FindingKind, IReadOnlyDictionary<string, FindingReaction>>(d.Reactions);
        var rn = n["reactions"];
        if (!rn.IsMissing && !rn.IsMapping)
        {
            errors.Add(rn.Error("must map finding kinds to reactions.", $"write e.g. 'drift: remediate'; kinds: {Naming.AllowedValues<FindingKind>()}."));
        }

        foreach (var (name, value) in rn.Entries)
        {
            if (!Naming.TryParseEnum<FindingKind>(name, out var kind))
            {
                errors.Add(value.Error($"'{name}' is not a finding kind.", $"use one of: {Naming.AllowedValues<FindingKind>()}."));
                continue;
            }

            var byDefault = new Dictionary<string, FindingReaction>(StringComparer.Ordinal);
            if (value.IsScalar)
            {
                if (Reaction(value, errors) is { } r)
                {
                    byDefault[ReconciliationPolicy.Default] = r;
                }

                reactions[kind] = byDefault;
                continue;
            }

            reactions[kind] = PerSystem<FindingReaction>(value, systemIds, errors, byDefault, node => Reaction(node, errors));
        }

        return new ReconciliationPolicy(reactions, dormant, schedules) { MaxShrink = maxShrink };
    }

    private static FindingReaction? Reaction(SettingsNode node, List<ValidationError> errors)
    {
        if (Naming.TryParseEnum<FindingReaction>(node.Scalar ?? string.Empty, out var r))
        {
            return r;
        }

        errors.Add(node.Error($"is '{node.Scalar}', which is not a reaction.", "use report, task or remediate."));
        return null;
    }

    /// <summary>Reads a scalar (applies to every system) or a map of system id / <c>default</c> to values.</summary>
    private static Dictionary<string, T> PerSystem<T>(SettingsNode n, IReadOnlySet<string> systemIds, List<ValidationError> errors,
        IReadOnlyDictionary<string, T> defaults, Func<SettingsNode, T?> parse)
        where T : struct
    {
        var result = new Dictionary<string, T>(defaults, StringComparer.Ordinal);
        if (n.IsMissing)
        {
            return result;
        }

        if (n.IsScalar)
        {
            if (parse(n) is { } v)
            {
                result[ReconciliationPolicy.Default] = v;
            }

            return result;
        }

        if (!n.IsMapping)
        {
            errors.Add(n.Error("must be a value, or a map of system ids (and 'default') to values.", "write e.g. '{ default: ..., okta: ... }'."));
            return result;
        }

        foreach (var (key, value) in n.Entries)
        {
            if (key != ReconciliationPolicy.Default && !systemIds.Contains(key))
            {
                errors.Add(value.Error($"'{key}' is not a configured system.", $"use 'default' or one of: {string.Join(", ", systemIds.Order(StringComparer.Ordinal))}."));
                continue;
            }

            if (!value.IsScalar)
            {
                errors.Add(value.Error("must be a single value.", null));
                continue;
            }

            if (parse(value) is { } v)
            {
                result[key] = v;
            }
        }

        return result;
    }
}
