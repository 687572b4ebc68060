using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Model;
using Deprov.Core.Policy;

namespace Deprov.Hosting.Configuration;

/// <summary>Binds the <c>policy:</c> section of <c>deprov.yaml</c>.</summary>
internal static class PolicyBinder
{
    public static DeprovPolicy Bind(SettingsNode n, IReadOnlySet<string> systemIds, List<ValidationError> errors)
    {
        var d = DeprovPolicy.Default;
        if (n.IsMissing)
        {
            return d;
        }


        n.CheckKnownKeys(errors, "default_retention_days", "rules", "schedules", "ordering", "roles", "ownership", "mover", "execution", "tasks", "safety_brake", "hr_sources");
        var retention = n.GetInt("default_retention_days", 30, errors, 0, 3650);
        var schedules = BindSchedules(n["schedules"], errors);
        var rules = BindRules(n["rules"], schedules, errors);
        var (phases, requires) = BindOrdering(n["ordering"], errors);
        var roles = BindRoles(n["roles"], systemIds, errors);

        var own = n["ownership"];
        own.CheckKnownKeys(errors, "service_accounts");
        var ownership = new OwnershipPolicy(own.GetEnum("service_accounts", ServiceAccountHandover.TransferToManager, errors));

        var mover = n["mover"];
        mover.CheckKnownKeys(errors, "grace");
        var moverPolicy = new MoverPolicy(mover.GetDuration("grace", TimeSpan.Zero, errors));

        var ex = n["execution"];
        ex.CheckKnownKeys(errors, "max_attempts", "base_delay", "max_delay", "task_due", "max_rate_limit_waits", "retry_schedule", "retry_max_age");
        var execution = new ExecutionPolicy(
            ex.GetInt("max_attempts", ExecutionPolicy.Default.MaxAttempts, errors, 1, 100),
            ex.GetDuration("base_delay", ExecutionPolicy.Default.BaseDelay, errors),
            ex.GetDuration("max_delay", ExecutionPolicy.Default.MaxDelay, errors),
            ex.GetDuration("task_due", ExecutionPolicy.Default.TaskDue, errors),
            ex.GetInt("max_rate_limit_waits", ExecutionPolicy.Default.MaxRateLimitWaits, errors, 1, 100_000),
            BindRetrySchedule(ex, errors),
            BindRetryMaxAge(ex, errors));

        var tasks = n["tasks"];
        tasks.CheckKnownKeys(errors, "manual", "routes");
        var manual = BindManualTasks(tasks["manual"], errors);
        var routes = BindRoutes(tasks["routes"], errors);

        var brake = n["safety_brake"];
        brake.CheckKnownKeys(errors, "enabled", "window", "max_people", "max_share", "min_people");
        var share = brake.GetString("max_share", errors);
        var shareValue = SafetyBrake.Default.MaxShare;
        if (share is not null)
        {
            var text = share.TrimEnd('%');
            if (!double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) || v < 0 || v > 100)
            {
                errors.Add(brake["max_share"].Error($"is '{share}'.", "write a percentage such as 5%."));
            }
            else
            {
                shareValue = v / 100;
            }
        }

        var safety = new SafetyBrake(
            brake.GetBool("enabled", SafetyBrake.Default.Enabled, errors),
            brake.GetDuration("window", SafetyBrake.Default.Window, errors),
            brake.GetInt("max_people", SafetyBrake.Default.MaxPeople, errors, 1, 1_000_000),
            shareValue,
            brake.GetInt("min_people", SafetyBrake.Default.MinPeople, errors, 1, 1_000_000));

        var hr = n["hr_sources"];
        hr.CheckKnownKeys(errors, "may_set_legal_holds");
        var maySetHolds = hr.GetBool("may_set_legal_holds", false, errors);

        return new DeprovPolicy(rules.Count > 0 ? rules : d.Rules, schedules, retention, roles, ownership, phases, requires, manual, routes, execution, moverPolicy, safety,
            HrSourcesMaySetLegalHolds: maySetHolds);
    }

    /// <summary><c>retry_schedule</c>: a list of waits, each longer than zero and at most a week, at most 50 of them; an
    /// empty list turns durable retries off.</summary>
    private static List<TimeSpan>? BindRetrySchedule(SettingsNode ex, List<ValidationError> errors)
    {
        var node = ex["retry_schedule"];
        if (node.IsMissing)
        {
            return null;
        }

        if (!node.IsSequence)
        {
            errors.Add(node.Error("must be a list of waits.", "write e.g. '[5m, 15m, 30m, 1h, 2h, 4h, 8h]' (or '[]' for no durable retries)."));
            return null;
        }

        var waits = new List<TimeSpan>();
        foreach (var item in node.Items)
        {
            if (!item.IsScalar || !SettingsNode.TryParseDuration(item.Scalar!, out var wait) || wait <= TimeSpan.Zero || wait > TimeSpan.FromDays(7))
            {
                errors.Add(item.Error($"is '{item.Scalar ?? "(not a value)"}', which is not a wait between 1s and 7d.", "write a number with a unit: 30s, 15m, 4h or 1d."));
                continue;
            }

            waits.Add(wait);
        }

        if (waits.Count > 50)
        {
            errors.Add(node.Error($"has {waits.Count} waits.", "use at most 50."));
        }

        return waits;
    }

    private static TimeSpan? BindRetryMaxAge(SettingsNode ex, List<ValidationError> errors)
    {
        if (ex["retry_max_age"].IsMissing)
        {
            return null;
        }

        var age = ex.GetDuration("retry_max_age", ExecutionPolicy.DefaultRetryMaxAge, errors);
        if (age <= TimeSpan.Zero || age > TimeSpan.FromDays(90))
        {
            errors.Add(ex["retry_max_age"].Error($"is '{ex["retry_max_age"].Scalar}'.", "write a duration between 1m and 90d, e.g. 1d."));
            return null;
        }

        return age;
    }

    private static Dictionary<string, StagedSchedule> BindSchedules(SettingsNode n, List<ValidationError> errors)
    {
        var result = new Dictionary<string, StagedSchedule>(StringComparer.Ordinal) { [DeprovPolicy.Immediate] = DeprovPolicy.ImmediateSchedule };
        if (n.IsMissing)
        {
            return result;
        }

        if (!n.IsMapping)
        {
            errors.Add(n.Error("must map schedule names to lists of stages.", "write 'my-schedule:' followed by '- stage: ...' entries."));
            return result;
        }

        foreach (var (name, stagesNode) in n.Entries)
        {
            if (name == DeprovPolicy.Immediate)
            {
                errors.Add(stagesNode.Error("'immediate' is built in and cannot be redefined.", "choose another name."));
                continue;
            }

            if (!stagesNode.IsSequence || stagesNode.Items.Count == 0)
            {
                errors.Add(stagesNode.Error("must be a non-empty list of stages.", "add '- stage: notice' entries with 'at' and 'cut'."));
                continue;
            }

            var stages = new List<Stage>();
            var taken = new HashSet<StepCategory>();
            var restSeen = false;
            foreach (var st in stagesNode.Items)
            {
                st.CheckKnownKeys(errors, "stage", "at", "cut");
                var stageName = st.GetString("stage", errors, required: true) ?? "stage";
                var at = st.GetString("at", errors, required: true, fix: "write 'at: notice', 'at: effective' or 'at: effective+7d'.") ?? "effective";
                var (anchor, offset) = ParseAt(at, st["at"], errors);
                var cut = st.GetStringList("cut", errors);
                HashSet<StepCategory>? categories = null;
                if (cut.Count == 0 || cut.Contains("all", StringComparer.Ordinal))
                {
                    if (restSeen)
                    {
                        errors.Add(st["cut"].Error("'all' (everything not cut earlier) is used by two stages.", "use 'all' in one stage only."));
                    }

                    restSeen = true;
                }
                else
                {
                    categories = [];
                    foreach (var c in cut)
                    {
                        if (!Naming.TryParseEnum<StepCategory>(c, out var cat) || cat is StepCategory.Delete or StepCategory.Manual or StepCategory.Restore)
                        {
                            errors.Add(st["cut"].Error($"'{c}' is not a category a stage can cut.", "use: sign_in, app_access, privileged, tokens, shared_credentials, devices, physical, licences, or all. Deletion follows retention_days."));
                        }
                        else if (!taken.Add(cat))
                        {
                            errors.Add(st["cut"].Error($"'{c}' is already cut by an earlier stage.", "list each category in one stage only."));
                        }
                        else
                        {
                            categories.Add(cat);
                        }
                    }
                }

                stages.Add(new Stage(stageName, anchor, offset, categories));
            }

            if (!restSeen)
            {
                errors.Add(stagesNode.Error("has no stage that cuts 'all' (everything not listed elsewhere).", "add 'cut: [all]' to the last stage, so no access is left out."));
            }

            result[name] = new StagedSchedule(name, stages);
        }

        return result;
    }

    private static (StageAnchor, TimeSpan) ParseAt(string at, SettingsNode node, List<ValidationError> errors)
    {
        var parts = at.Split('+', 2);
        if (!Naming.TryParseEnum<StageAnchor>(parts[0].Trim(), out var anchor))
        {
            errors.Add(node.Error($"'{at}' does not start with 'notice' or 'effective'.", "write 'notice', 'effective' or 'effective+7d'."));
            return (StageAnchor.Effective, TimeSpan.Zero);
        }

        var offset = TimeSpan.Zero;
        if (parts.Length == 2 && !SettingsNode.TryParseDuration(parts[1], out offset))
        {
            errors.Add(node.Error($"'{parts[1]}' is not a duration.", "write e.g. 'effective+7d' or 'notice+12h'."));
        }

        return (anchor, offset);
    }

    private static List<PolicyRule> BindRules(SettingsNode n, Dictionary<string, StagedSchedule> schedules, List<ValidationError> errors)
    {
        var rules = new List<PolicyRule>();
        if (n.IsMissing)
        {
            return rules;
        }

        if (!n.IsSequence)
        {
            errors.Add(n.Error("must be a list of rules.", "write '- name: ...' entries; the first matching rule wins."));
            return rules;
        }

        foreach (var r in n.Items)
        {
            r.CheckKnownKeys(errors, "name", "when", "plan", "devices");
            var name = r.GetString("name", errors, required: true) ?? "rule";
            var plan = r.GetString("plan", errors) ?? DeprovPolicy.Immediate;
            if (!schedules.ContainsKey(plan))
            {
                errors.Add(r["plan"].Error($"refers to schedule '{plan}', which is not defined.", $"define it under 'policy.schedules' or use one of: {string.Join(", ", schedules.Keys)}."));
            }

            rules.Add(new PolicyRule(name, BindMatch(r["when"], errors), plan, r.GetEnum("devices", DeviceAction.Lock, errors)));
        }

        if (rules.Count > 0 && !IsCatchAll(rules[^1].When))
        {
            errors.Add(n.Error("has no catch-all last rule: an event no rule matches would only be parked.", "add a last rule without 'when' (e.g. '- name: default' with 'plan: immediate')."));
        }

        return rules;
    }

    private static bool IsCatchAll(RuleMatch m) => m.Events.Count == 0 && m.Reasons.Count == 0 && m.WorkerTypes.Count == 0 && m.Departments.Count == 0 && m.MinRisk is null;

    internal static RuleMatch BindMatch(SettingsNode n, List<ValidationError> errors)
    {
        if (n.IsMissing)
        {
            return RuleMatch.Any;
        }

        n.CheckKnownKeys(errors, "event", "reason", "worker_type", "department", "min_risk");
        var minRisk = n.Has("min_risk") ? n.GetEnum("min_risk", RiskTier.Low, errors) : (RiskTier?)null;
        return new RuleMatch(
            Enums<EventKind>(n, "event", errors),
            Enums<ExitReason>(n, "reason", errors),
            Enums<WorkerType>(n, "worker_type", errors),
            n.GetStringList("department", errors).ToHashSet(StringComparer.Ordinal),
            minRisk);
    }

    private static HashSet<T> Enums<T>(SettingsNode n, string key, List<ValidationError> errors)
        where T : struct, Enum
    {
        var set = new HashSet<T>();
        foreach (var v in n.GetStringList(key, errors))
        {
            if (Naming.TryParseEnum<T>(v, out var e))
            {
                set.Add(e);
            }
            else
            {
                errors.Add(n[key].Error($"'{v}' is not a known value.", $"use one of: {Naming.AllowedValues<T>()}."));
            }
        }

        return set;
    }

    private static (IReadOnlyList<IReadOnlySet<StepCategory>>, IReadOnlyList<OrderingRule>) BindOrdering(SettingsNode n, List<ValidationError> errors)
    {
        if (n.IsMissing)
        {
            return (DeprovPolicy.DefaultPhases, DeprovPolicy.DefaultRequires);
        }

        n.CheckKnownKeys(errors, "phases", "requires");
        IReadOnlyList<IReadOnlySet<StepCategory>> phases = DeprovPolicy.DefaultPhases;
        var phasesNode = n["phases"];
        if (!phasesNode.IsMissing)
        {
            var list = new List<IReadOnlySet<StepCategory>>();
            var seen = new HashSet<StepCategory>();
            foreach (var item in phasesNode.Items)
            {
                // A phase is one category, or a list of categories that run in parallel.
                var names = item.IsSequence ? item.Items.Select(i => i.Scalar ?? string.Empty).ToList() : [item.Scalar ?? string.Empty];
                var group = new HashSet<StepCategory>();
                foreach (var p in names)
                {
                    if (Naming.TryParseEnum<StepCategory>(p, out var c) && DeprovPolicy.PhaseCategories.Contains(c))
                    {
                        if (!seen.Add(c))
                        {
                            errors.Add(item.Error($"'{p}' appears in two phases.", "list each category once."));
                        }

                        group.Add(c);
                    }
                    else
                    {
                        errors.Add(item.Error($"'{p}' is not a phase.", "use: sign_in, app_access, privileged, tokens, shared_credentials, devices, physical, licences (a [list] runs in parallel)."));
                    }
                }

                list.Add(group);
            }

            var missing = DeprovPolicy.PhaseCategories.Except(seen).ToList();
            if (missing.Count > 0)
            {
                errors.Add(phasesNode.Error($"leaves out {string.Join(", ", missing.Select(m => m.Snake()))}; steps of those categories would never be ordered.", "list every category once."));
            }

            phases = list;
        }

        var requires = new List<OrderingRule>();
        if (n.Has("requires"))
        {
            foreach (var r in n["requires"].Items)
            {
                r.CheckKnownKeys(errors, "action", "requires", "why");
                var a = r.GetString("action", errors, required: true);
                var b = r.GetString("requires", errors, required: true);
                if (a is null || b is null)
                {
                    continue;
                }

                if (!ActionKinds.TryParse(a, out var ak))
                {
                    errors.Add(r["action"].Error($"'{a}' is not an action.", $"use one of: {string.Join(", ", ActionKinds.Names)}."));
                    continue;
                }

                if (!ActionKinds.TryParse(b, out var bk))
                {
                    errors.Add(r["requires"].Error($"'{b}' is not an action.", $"use one of: {string.Join(", ", ActionKinds.Names)}."));
                    continue;
                }

                requires.Add(new OrderingRule(ak, bk, r.GetString("why", errors) ?? $"{a} requires {b}"));
            }

            foreach (var rule in requires.Where(x => requires.Any(y => y.Action == x.Requires && y.Requires == x.Action)))
            {
                errors.Add(n["requires"].Error($"{rule.Action.ToSnake()} and {rule.Requires.ToSnake()} require each other: no plan could run.", "remove one of the two rules."));
                break;
            }
        }
        else
        {
            requires.AddRange(DeprovPolicy.DefaultRequires);
        }

        return (phases, requires);
    }

    private static List<RoleDefinition> BindRoles(SettingsNode n, IReadOnlySet<string> systemIds, List<ValidationError> errors)
    {
        var roles = new List<RoleDefinition>();
        foreach (var r in n.Items)
        {
            r.CheckKnownKeys(errors, "name", "departments", "titles", "entitlements");
            var name = r.GetString("name", errors, required: true) ?? "role";
            var ents = r.GetStringList("entitlements", errors);
            foreach (var e in ents)
            {
                var colon = e.IndexOf(':', StringComparison.Ordinal);
                if (colon <= 0 || colon == e.Length - 1)
                {
                    errors.Add(r["entitlements"].Error($"'{e}' is not 'system:entitlement'.", "write e.g. 'github:engineering'."));
                }
                else if (!systemIds.Contains(e[..colon]))
                {
                    errors.Add(r["entitlements"].Error($"'{e}' names system '{e[..colon]}', which is not configured.", $"use one of: {string.Join(", ", systemIds.Order(StringComparer.Ordinal))}."));
                }
            }

            roles.Add(new RoleDefinition(name, r.GetStringList("departments", errors).ToHashSet(StringComparer.Ordinal), r.GetStringList("titles", errors), ents.ToHashSet(StringComparer.Ordinal)));
        }

        return roles;
    }

    private static List<ManualTaskRule> BindManualTasks(SettingsNode n, List<ValidationError> errors)
    {
        var list = new List<ManualTaskRule>();
        foreach (var t in n.Items)
        {
            t.CheckKnownKeys(errors, "name", "title", "team", "when", "condition", "due");
            var condition = t.GetString("condition", errors);
            if (condition is not null and not ("has_device" or "has_badge"))
            {
                errors.Add(t["condition"].Error($"'{condition}' is not a known condition.", "use has_device or has_badge, or leave it out."));
            }

            list.Add(new ManualTaskRule(t.GetString("name", errors, required: true) ?? "task", t.GetString("title", errors, required: true) ?? "task",
                t.GetEnum("team", Team.It, errors), BindMatch(t["when"], errors), condition, t.GetDuration("due", TimeSpan.FromDays(3), errors)));
        }

        return list;
    }

    private static List<TaskRoute> BindRoutes(SettingsNode n, List<ValidationError> errors)
    {
        var list = new List<TaskRoute>();
        foreach (var r in n.Items)
        {
            r.CheckKnownKeys(errors, "departments", "locations", "systems", "worker_types", "tasks", "team");
            var workerTypes = new HashSet<WorkerType>();
            foreach (var w in r.GetStringList("worker_types", errors))
            {
                if (Naming.TryParseEnum<WorkerType>(w, out var wt))
                {
                    workerTypes.Add(wt);
                }
                else
                {
                    errors.Add(r["worker_types"].Error($"'{w}' is not a worker type.", $"use one of: {Naming.AllowedValues<WorkerType>()}."));
                }
            }

            list.Add(new TaskRoute(
                r.GetStringList("departments", errors).ToHashSet(StringComparer.Ordinal),
                r.GetStringList("locations", errors).ToHashSet(StringComparer.Ordinal),
                r.GetStringList("systems", errors).ToHashSet(StringComparer.Ordinal),
                workerTypes,
                r.GetStringList("tasks", errors).ToHashSet(StringComparer.Ordinal),
                r.GetEnum("team", Team.It, errors, required: true)));
        }

        return list;
    }
}
