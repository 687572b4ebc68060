using System.Text.RegularExpressions;
using Deprov.Core.Model;

namespace Deprov.Core.Policy;

/// <summary>The behaviour half of <c>deprov.yaml</c>: which plan each event gets and how plans are built.</summary>
/// <param name="Rules">Evaluated in order; the first match wins. The last rule should match everything.</param>
/// <param name="Schedules">Named plans. <c>immediate</c> always exists.</param>
/// <param name="Phases">Order in which step categories run inside one stage: each phase (a group of categories that run in
/// parallel) waits for the previous one.</param>
/// <param name="Requires">Hard ordering rules: a step of one action waits for, and requires success of, another.</param>
/// <param name="HrSourcesMaySetLegalHolds">Whether an HR webhook may set a legal hold (<c>hr_sources.may_set_legal_holds</c>,
/// default false). No HR source may ever release one: holds are released by operators and admins only.</param>
public sealed record DeprovPolicy(
    IReadOnlyList<PolicyRule> Rules,
    IReadOnlyDictionary<string, StagedSchedule> Schedules,
    int DefaultRetentionDays,
    IReadOnlyList<RoleDefinition> Roles,
    OwnershipPolicy Ownership,
    IReadOnlyList<IReadOnlySet<StepCategory>> Phases,
    IReadOnlyList<OrderingRule> Requires,
    IReadOnlyList<ManualTaskRule> ManualTasks,
    IReadOnlyList<TaskRoute> TaskRoutes,
    ExecutionPolicy Execution,
    MoverPolicy Mover,
    SafetyBrake? Brake = null,
    bool HrSourcesMaySetLegalHolds = false)
{
    /// <summary>The safety brake (on by default).</summary>
    public SafetyBrake SafetyBrake => Brake ?? SafetyBrake.Default;

    public const string Immediate = "immediate";

    /// <summary>Every category a phase can hold.</summary>
    public static readonly IReadOnlyList<StepCategory> PhaseCategories =
    [
        StepCategory.SignIn, StepCategory.AppAccess, StepCategory.Privileged, StepCategory.Tokens,
        StepCategory.SharedCredentials, StepCategory.Devices, StepCategory.Physical, StepCategory.Licences,
    ];

    /// <summary>The default order: sign-in cut at the sources of truth first; then every other cut in parallel; licences last.</summary>
    public static readonly IReadOnlyList<IReadOnlySet<StepCategory>> DefaultPhases =
    [
        new HashSet<StepCategory> { StepCategory.SignIn },
        new HashSet<StepCategory> { StepCategory.AppAccess, StepCategory.Privileged, StepCategory.Tokens, StepCategory.SharedCredentials, StepCategory.Devices, StepCategory.Physical },
        new HashSet<StepCategory> { StepCategory.Licences },
    ];

    /// <summary>The default hard ordering rules.</summary>
    public static readonly IReadOnlyList<OrderingRule> DefaultRequires =
    [
        new(ActionKind.DeleteAccount, ActionKind.TransferOwnership, "transfer ownership before the account is deleted"),
        new(ActionKind.DeleteAccount, ActionKind.WipeDevice, "wipe devices before the mailbox and accounts are deleted"),
        new(ActionKind.DeleteAccount, ActionKind.DisableAccount, "an account is disabled (and kept) before it is deleted"),
        new(ActionKind.ResetPassword, ActionKind.DisableAccount, "reset the password after the lock: on OpenLDAP an admin reset clears the ppolicy lock"),
    ];

    public static StagedSchedule ImmediateSchedule { get; } = new(Immediate,
        [new Stage("cut", StageAnchor.Effective, TimeSpan.Zero, null)]);

    /// <summary>A complete, safe policy used when no <c>deprov.yaml</c> says otherwise.</summary>
    public static DeprovPolicy Default { get; } = new(
        [new PolicyRule("default", RuleMatch.Any, Immediate, DeviceAction.Lock)],
        new Dictionary<string, StagedSchedule>(StringComparer.Ordinal) { [Immediate] = ImmediateSchedule },
        30,
        [],
        new OwnershipPolicy(ServiceAccountHandover.TransferToManager),
        DefaultPhases,
        DefaultRequires,
        [],
        [],
        ExecutionPolicy.Default,
        new MoverPolicy(TimeSpan.Zero));

    /// <summary>Finds the rule for an event; null when no rule matches (the event is then parked).</summary>
    public PolicyRule? Match(LifecycleEvent e, Person person, RiskTier personRisk) =>
        Rules.FirstOrDefault(r => r.When.Matches(e, person, personRisk));

    /// <summary>The role a person holds by department and title; null when none matches.</summary>
    public RoleDefinition? RoleFor(string department, string title) =>
        Roles.FirstOrDefault(r => r.Matches(department, title));
}

public enum DeviceAction
{
    Lock,
    Wipe,
    None,
}

/// <param name="Plan">The schedule name (<c>immediate</c> or a key of <see cref="DeprovPolicy.Schedules"/>).</param>
public sealed record PolicyRule(string Name, RuleMatch When, string Plan, DeviceAction Devices);

/// <summary>Conditions of a rule; an empty set means "any".</summary>
public sealed record RuleMatch(
    IReadOnlySet<EventKind> Events,
    IReadOnlySet<ExitReason> Reasons,
    IReadOnlySet<WorkerType> WorkerTypes,
    IReadOnlySet<string> Departments,
    RiskTier? MinRisk)
{
    public static RuleMatch Any { get; } = new(new HashSet<EventKind>(), new HashSet<ExitReason>(), new HashSet<WorkerType>(), new HashSet<string>(), null);

    public bool Matches(LifecycleEvent e, Person person, RiskTier personRisk) =>
        (Events.Count == 0 || Events.Contains(e.Kind))
        && (Reasons.Count == 0 || Reasons.Contains(e.Reason))
        && (WorkerTypes.Count == 0 || WorkerTypes.Contains(person.WorkerType))
        && (Departments.Count == 0 || Departments.Contains(person.Department))
        && (MinRisk is null || personRisk >= MinRisk);
}

public enum StageAnchor
{
    /// <summary>When the event was received (the notice is given).</summary>
    Notice,
    /// <summary>The HR effective moment (the last day).</summary>
    Effective,
}

/// <summary>One stage of a schedule.</summary>
/// <param name="Categories">Categories cut at this stage; null means every category not taken by another stage.</param>
public sealed record Stage(string Name, StageAnchor Anchor, TimeSpan Offset, IReadOnlySet<StepCategory>? Categories);

public sealed record StagedSchedule(string Name, IReadOnlyList<Stage> Stages)
{
    /// <summary>The stage that cuts a category.</summary>
    public Stage StageFor(StepCategory category) =>
        Stages.FirstOrDefault(s => s.Categories is not null && s.Categories.Contains(category))
        ?? Stages.FirstOrDefault(s => s.Categories is null)
        ?? Stages[^1];
}

/// <summary>A birthright role: who has it, and what it grants.</summary>
/// <param name="Entitlements">Grants as <c>system:entitlement-name</c>.</param>
public sealed record RoleDefinition(string Name, IReadOnlySet<string> Departments, IReadOnlyList<string> TitlePatterns, IReadOnlySet<string> Entitlements)
{
    public bool Matches(string department, string title) =>
        (Departments.Count == 0 || Departments.Contains(department))
        && (TitlePatterns.Count == 0 || TitlePatterns.Any(p => Wildcard.IsMatch(title, p)));
}

public enum ServiceAccountHandover
{
    TransferToManager,
    Disable,
}

public sealed record OwnershipPolicy(ServiceAccountHandover ServiceAccounts);

/// <summary>A step of <see cref="Action"/> waits for every step of <see cref="Requires"/> in the same case and needs them to succeed.</summary>
public sealed record OrderingRule(ActionKind Action, ActionKind Requires, string Why);

/// <summary>Manual work added to a leaver's plan.</summary>
/// <param name="When">Which people get it.</param>
/// <param name="Condition">Extra condition: <c>has_device</c>, <c>has_badge</c> or null.</param>
public sealed record ManualTaskRule(string Name, string Title, Team Team, RuleMatch When, string? Condition, TimeSpan DueAfter);

/// <summary>Routes tasks to a team by person and system attributes; the first matching route wins.</summary>
public sealed record TaskRoute(
    IReadOnlySet<string> Departments,
    IReadOnlySet<string> Locations,
    IReadOnlySet<string> Systems,
    IReadOnlySet<WorkerType> WorkerTypes,
    IReadOnlySet<string> Tasks,
    Team Team)
{
    public bool Matches(Person? person, string? systemId, string taskName) =>
        (Departments.Count == 0 || (person is not null && Departments.Contains(person.Department)))
        && (Locations.Count == 0 || (person is not null && Locations.Contains(person.Location)))
        && (Systems.Count == 0 || (systemId is not null && Systems.Contains(systemId)))
        && (WorkerTypes.Count == 0 || (person is not null && WorkerTypes.Contains(person.WorkerType)))
        && (Tasks.Count == 0 || Tasks.Contains(taskName));
}

/// <summary>How steps are retried.</summary>
/// <param name="MaxAttempts">Attempts per step before it becomes a manual task. A rate-limited answer (the system asked
/// us to wait: <see cref="ConnectorException.IsRateLimited"/>) is not a failed attempt and does not count.</param>
/// <param name="TaskDue">How long a team has to finish a task raised by a failed step.</param>
/// <param name="MaxRateLimitWaits">Rate-limited answers a step waits out (each for the system's <c>Retry-After</c>)
/// before it becomes a manual task, counted over the step's whole life, apart from <paramref name="MaxAttempts"/>:
/// a system that never stops answering 429 is still surfaced.</param>
/// <param name="RetrySchedule">Durable retries after a claim's inline retries are spent on a transient failure: the
/// i-th entry is the wait (plus up to 20 % jitter) after the i-th claim. A step gets at most <c>count + 1</c> claims;
/// empty means a transient failure becomes a task at once. Null means <see cref="DefaultRetrySchedule"/>.</param>
/// <param name="RetryMaxAge">A step is not retried beyond this long after it fell due; it becomes a task.</param>
public sealed record ExecutionPolicy(int MaxAttempts, TimeSpan BaseDelay, TimeSpan MaxDelay, TimeSpan TaskDue, int MaxRateLimitWaits = 100,
    IReadOnlyList<TimeSpan>? RetrySchedule = null, TimeSpan? RetryMaxAge = null)
{
    /// <summary>Minutes, then hours: 5m, 15m, 30m, 1h, 2h, 4h, 8h (eight tries in all, about 16 hours). The first wait is
    /// longer than a CLI run's idle horizon, so a command does not sit waiting for a system to come back.</summary>
    public static IReadOnlyList<TimeSpan> DefaultRetrySchedule { get; } =
        [TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15), TimeSpan.FromMinutes(30), TimeSpan.FromHours(1), TimeSpan.FromHours(2), TimeSpan.FromHours(4), TimeSpan.FromHours(8)];

    /// <summary>One day.</summary>
    public static TimeSpan DefaultRetryMaxAge { get; } = TimeSpan.FromDays(1);

    public static ExecutionPolicy Default { get; } = new(5, TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(30), TimeSpan.FromHours(4), 100);

    /// <summary>The durable retry schedule in force.</summary>
    public IReadOnlyList<TimeSpan> Retries => RetrySchedule ?? DefaultRetrySchedule;

    /// <summary>The maximum age in force.</summary>
    public TimeSpan MaxAge => RetryMaxAge ?? DefaultRetryMaxAge;
}

/// <summary>
/// Stops bad HR data from locking out the company: when the leavers planned within <see cref="Window"/> would exceed the
/// threshold, new leaver cases wait for an operator's approval instead of running.
/// </summary>
/// <param name="MaxShare">Share of active people (0..1).</param>
/// <param name="MinPeople">The threshold never goes below this (small companies).</param>
public sealed record SafetyBrake(bool Enabled, TimeSpan Window, int MaxPeople, double MaxShare, int MinPeople)
{
    public static SafetyBrake Default { get; } = new(true, TimeSpan.FromHours(1), 50, 0.05, 10);

    /// <summary>How many leavers within the window are allowed before the brake trips.</summary>
    public int Threshold(int activePeople) => Math.Max(MinPeople, Math.Min(MaxPeople, (int)Math.Ceiling(MaxShare * activePeople)));

    /// <summary>
    /// The brake's decision for <paramref name="batch"/> new leaver cases when <paramref name="recent"/> were created within
    /// the window: null to admit them, or why they wait for approval. Stores call it inside the transaction that counts
    /// and creates, so two submitters can never both pass on the same count.
    /// </summary>
    public string? Decide(int recent, int batch, int activePeople)
    {
        var threshold = Threshold(activePeople);
        return !Enabled || batch == 0 || recent + batch <= threshold
            ? null
            : $"safety brake: {recent + batch} leavers within {Window.TotalMinutes:0} min exceeds {threshold}; waiting for approval (deprov approve)";
    }
}

/// <param name="Grace">Time the old role's access is kept after a move.</param>
public sealed record MoverPolicy(TimeSpan Grace);

public static class Wildcard
{
    /// <summary>A compiled, case-insensitive whole-name match: <c>*</c> stands for any run of characters, <c>?</c> for one
    /// (connectors' <c>privileged_groups</c> patterns, checked for every discovered group).</summary>
    public static Regex ToRegex(string pattern) => new(
        "^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal).Replace("\\?", ".", StringComparison.Ordinal) + "$",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>Case-insensitive match with <c>*</c> standing for any run of characters.</summary>
    public static bool IsMatch(string text, string pattern)
    {
        if (pattern == "*")
        {
            return true;
        }

        var parts = pattern.Split('*');
        if (parts.Length == 1)
        {
            return string.Equals(text, pattern, StringComparison.OrdinalIgnoreCase);
        }

        var pos = 0;
        for (var i = 0; i < parts.Length; i++)
        {
            var part = parts[i];
            if (part.Length == 0)
            {
                continue;
            }

            var idx = text.IndexOf(part, pos, StringComparison.OrdinalIgnoreCase);
            if (idx < 0 || (i == 0 && idx != 0))
            {
                return false;
            }

            pos = idx + part.Length;
        }

        return parts[^1].Length == 0 || text.EndsWith(parts[^1], StringComparison.OrdinalIgnoreCase);
    }
}
