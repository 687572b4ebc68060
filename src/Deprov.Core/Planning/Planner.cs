using System.Globalization;
using System.Text.Json;
using Deprov.Core.Model;
using Deprov.Core.Policy;

namespace Deprov.Core.Planning;

/// <summary>
/// Turns an event and a person's access map into an ordered plan. Pure: no I/O, no clock, no randomness;
/// the caller passes the case id and the current time.
/// </summary>
public sealed class Planner
{
    private readonly DeprovPolicy _policy;
    private readonly PlanningContext _context;

    /// <summary>Each category's position in the policy's phase list (a category named twice takes its last phase).</summary>
    private readonly Dictionary<StepCategory, int> _phaseOf = [];

    public Planner(DeprovPolicy policy, PlanningContext context)
    {
        _policy = policy;
        _context = context;
        for (var i = 0; i < policy.Phases.Count; i++)
        {
            foreach (var category in policy.Phases[i])
            {
                _phaseOf[category] = i;
            }
        }

    }

    /// <summary>Plans a leaver (leave or contract end): every access the person has is cut, then deleted after retention.</summary>
    public Plan PlanLeaver(LifecycleEvent e, AccessMap map, PolicyRule rule, string caseId, DateTimeOffset now)
    {
        var notes = new List<string> { $"rule '{rule.Name}' matched: plan '{rule.Plan}'" };
        var schedule = ScheduleFor(rule.Plan);
        var cutAt = Max(e.EffectiveAt, e.ReceivedAt);
        var drafts = new List<Draft>();
        var person = map.Person;

        foreach (var account in map.Accounts.Where(a => a.Status != AccountStatus.Deleted))
        {
            var system = _context.System(account.SystemId);
            var accountCategory = system.Role switch
            {
                SystemRole.Directory or SystemRole.IdentityProvider => StepCategory.SignIn,
                SystemRole.Badge => StepCategory.Physical,
                _ => StepCategory.AppAccess,
            };

            if (account.Status == AccountStatus.Active)
            {
                drafts.Add(Draft.ForAccount(ActionKind.DisableAccount, accountCategory, account));
                if (_context.Supports(system.Id, ActionKind.RevokeSessions))
                {
                    drafts.Add(Draft.ForAccount(ActionKind.RevokeSessions, accountCategory, account));
                }

                if (system.Role is SystemRole.Directory or SystemRole.IdentityProvider && _context.Supports(system.Id, ActionKind.ResetPassword))
                {
                    drafts.Add(Draft.ForAccount(ActionKind.ResetPassword, accountCategory, account));
                }
            }
            else
            {
                notes.Add($"{account.SystemId}:{account.UserName} is already disabled; only its memberships are removed");
            }

            foreach (var assignment in map.Assignments.Where(x => x.AccountId == account.Id))
            {
                var ent = map.FindEntitlement(assignment.EntitlementId);
                if (ent is null)
                {
                    continue;
                }

                drafts.Add(EntitlementDraft(account, ent));
            }

            drafts.Add(Draft.ForAccount(ActionKind.DeleteAccount, StepCategory.Delete, account));
        }

        foreach (var device in map.Devices.Where(d => d.Status == DeviceStatus.Active))
        {
            var kind = rule.Devices switch
            {
                DeviceAction.Wipe => ActionKind.WipeDevice,
                DeviceAction.Lock => ActionKind.LockDevice,
                _ => (ActionKind?)null,
            };
            if (kind is { } k)
            {
                drafts.Add(new Draft(k, StepCategory.Devices, device.SystemId, null, null, device.Id, null, $"{device.Model} {device.SerialNumber}", null));
            }
        }

        foreach (var cred in map.CredentialsOwned.Where(c => c.Status == CredentialStatus.Active))
        {
            switch (cred.Kind)
            {
                case CredentialKind.ApiToken:
                    drafts.Add(new Draft(ActionKind.RevokeToken, StepCategory.Tokens, cred.SystemId, null, null, null, cred.Id, cred.Name, null));
                    break;
                case CredentialKind.ServiceAccount when _policy.Ownership.ServiceAccounts == ServiceAccountHandover.TransferToManager && person.ManagerId is not null:
                    drafts.Add(new Draft(ActionKind.TransferOwnership, StepCategory.Tokens, cred.SystemId, null, null, null, cred.Id, $"{cred.Name} → {person.ManagerId}",
                        new Dictionary<string, string> { ["newOwner"] = person.ManagerId }));
                    break;
                case CredentialKind.ServiceAccount:
                    drafts.Add(new Draft(ActionKind.DisableServiceAccount, StepCategory.Tokens, cred.SystemId, null, null, null, cred.Id, cred.Name, null));
                    break;
                case CredentialKind.SharedSecret:
                    break;
            }
        }

        foreach (var cred in map.CredentialsKnown.Where(c => c.Kind == CredentialKind.SharedSecret && c.Status == CredentialStatus.Active))
        {
            drafts.Add(new Draft(ActionKind.RotateCredential, StepCategory.SharedCredentials, cred.SystemId, null, null, null, cred.Id, cred.Name, null));
        }

        var tasks = new List<TaskItem>();
        foreach (var taskRule in _policy.ManualTasks.Where(t => t.When.Matches(e, person, map.RiskTier(_context.Systems))))
        {
            if (taskRule.Condition == "has_device" && map.Devices.All(d => d.Status == DeviceStatus.Wiped))
            {
                continue;
            }

            if (taskRule.Condition == "has_badge" && !map.Accounts.Any(a => _context.Systems.TryGetValue(a.SystemId, out var s) && s.Role == SystemRole.Badge))
            {
                continue;
            }

            drafts.Add(new Draft(ActionKind.Manual, StepCategory.Manual, null, null, null, null, null, taskRule.Title,
                new Dictionary<string, string> { ["task"] = taskRule.Name, ["team"] = taskRule.Team.Snake(), ["dueAfter"] = taskRule.DueAfter.ToString("c", CultureInfo.InvariantCulture) }));
        }

        var kase = NewCase(caseId, e, rule, CaseKind.Leaver, cutAt, now);
        return Build(kase, drafts, schedule, e, map, cutAt, now, notes, tasks);
    }

    /// <summary>Plans a mover: removes what the old role granted and the new role does not, keeping live exceptions.</summary>
    public Plan PlanMover(LifecycleEvent e, AccessMap map, PolicyRule rule, string caseId, DateTimeOffset now)
    {
        var person = map.Person;
        var notes = new List<string> { $"rule '{rule.Name}' matched: mover" };
        var oldRole = _policy.RoleFor(person.Department, person.Title);
        var newRole = _policy.RoleFor(e.NewDepartment ?? person.Department, e.NewTitle ?? person.Title);
        notes.Add($"old role: {oldRole?.Name ?? "(none)"}; new role: {newRole?.Name ?? "(none)"}");
        var oldSet = oldRole?.Entitlements ?? new HashSet<string>();
        var newSet = newRole?.Entitlements ?? new HashSet<string>();
        var drafts = new List<Draft>();
        foreach (var assignment in map.Assignments)
        {
            var ent = map.FindEntitlement(assignment.EntitlementId);
            var account = map.Accounts.FirstOrDefault(a => a.Id == assignment.AccountId);
            if (ent is null || account is null || account.Status == AccountStatus.Deleted)
            {
                continue;
            }

            var key = $"{ent.SystemId}:{ent.Name}";
            if (!oldSet.Contains(key) || newSet.Contains(key))
            {
                continue;
            }

            if (assignment.Source == GrantSource.Exception && (assignment.ExpiresAt is null || assignment.ExpiresAt > now))
            {
                notes.Add($"kept {key}: explicit exception" + (assignment.ExpiresAt is { } x ? $" until {x:u}" : string.Empty));
                continue;
            }

            drafts.Add(EntitlementDraft(account, ent));
        }

        var effective = Max(e.EffectiveAt, e.ReceivedAt) + _policy.Mover.Grace;
        var schedule = new StagedSchedule("mover", [new Stage("role-change", StageAnchor.Effective, _policy.Mover.Grace, null)]);
        var kase = NewCase(caseId, e, rule, CaseKind.Mover, effective, now);
        return Build(kase, drafts, schedule, e, map, effective, now, notes, []);
    }

    /// <summary>
    /// Plans a restore after a rehire or a cancelled termination: every access Deprov cut and recorded is given back,
    /// from the step's recorded before-state, while the account still exists.
    /// </summary>
    public Plan PlanRestore(LifecycleEvent e, AccessMap map, IReadOnlyList<Step> doneSteps, string caseId, DateTimeOffset now)
    {
        var notes = new List<string>();
        var drafts = new List<Draft>();
        var tasks = new List<TaskItem>();
        var deletes = doneSteps.Where(s => s.Action == ActionKind.DeleteAccount && s.Status.IsSuccess() && s.AccountId is not null)
            .GroupBy(s => s.AccountId!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var step in doneSteps.Where(s => s.Status is StepStatus.Verified or StepStatus.Unconfirmed))
        {
            if (step.Action.Inverse() is not { } inverse)
            {
                continue;
            }

            if (step.AccountId is not null && deletes.TryGetValue(step.AccountId, out var delete))
            {
                notes.Add($"cannot restore {step.Target}: {DeletedWhy(delete)}");
                continue;
            }

            var parameters = new Dictionary<string, string>(StringComparer.Ordinal) { ["restores"] = step.Id };
            if (step.Before is not null)
            {
                parameters["before"] = step.Before;
            }

            drafts.Add(new Draft(inverse, step.Category, step.SystemId, step.AccountId, step.EntitlementId, step.DeviceId, step.CredentialId, step.Target, parameters));
        }

        // A deleted account cannot be re-enabled: it must be created again by hand, with the access the person had.
        foreach (var (accountId, delete) in deletes.OrderBy(d => d.Key, StringComparer.Ordinal))
        {
            var lost = doneSteps.Where(s => s.AccountId == accountId && s.Action.Inverse() is not null && s.Status is StepStatus.Verified or StepStatus.Unconfirmed)
                .Select(s => s.Target).Distinct(StringComparer.Ordinal).ToList();
            var system = delete.SystemId is null ? null : _context.Systems.GetValueOrDefault(delete.SystemId);
            if (lost.Count == 0)
            {
                notes.Add($"cannot restore {delete.Target}: {DeletedWhy(delete)}");
            }

            var team = RouteTeam(map.Person, delete.SystemId, "restore-deleted-account", Team.It);
            tasks.Add(new TaskItem($"T-{caseId}.r{tasks.Count + 1:D2}", caseId, null, e.PersonId, team,
                $"Create {delete.Target} again in {system?.DisplayName ?? delete.SystemId ?? "its system"}: {DeletedWhy(delete)}",
                $"{map.Person.DisplayName} ({map.Person.Id}), {map.Person.Department}, {map.Person.Location}; {e.Kind.Snake()} {e.Id}"
                    + (lost.Count > 0 ? $"; access to grant again: {string.Join(", ", lost)}" : string.Empty),
                now, now + TimeSpan.FromHours(4), Model.TaskStatus.Open, null, null, null));
        }

        var rule = new PolicyRule("restore", RuleMatch.Any, DeprovPolicy.Immediate, DeviceAction.None);
        var kase = NewCase(caseId, e, rule, CaseKind.Restore, now, now);
        return Build(kase, drafts, DeprovPolicy.ImmediateSchedule, e, map, now, now, notes, tasks);
    }

    private static string DeletedWhy(Step delete) =>
        delete.Stage == "retention" ? "the account was deleted after retention" : "the account was deleted";

    /// <summary>
    /// Plans a targeted remediation found by reconciliation: each target is cut now (a disable also ends the account's
    /// sessions where the system can). <paramref name="e"/> is the synthetic event naming the findings; the map gives the
    /// person (a placeholder for unowned accounts) and their legal holds, which still apply.
    /// </summary>
    public Plan PlanRemediation(LifecycleEvent e, AccessMap map, IReadOnlyList<RemediationTarget> targets, string caseId, DateTimeOffset now)
    {
        var notes = new List<string>();
        var drafts = new List<Draft>();
        foreach (var t in targets)
        {
            notes.Add($"{t.Action.ToSnake()} {t.SystemId}:{t.Target} for finding {t.FindingId}");
            drafts.Add(new Draft(t.Action, t.Category, t.SystemId, t.AccountId, t.EntitlementId, null, t.CredentialId, t.Target, t.Parameters));
            if (t.Action == ActionKind.DisableAccount && _context.Supports(t.SystemId, ActionKind.RevokeSessions))
            {
                drafts.Add(new Draft(ActionKind.RevokeSessions, t.Category, t.SystemId, t.AccountId, null, null, null, t.Target, null));
            }
        }

        var rule = new PolicyRule("reconciliation", RuleMatch.Any, DeprovPolicy.Immediate, DeviceAction.None);
        var kase = NewCase(caseId, e, rule, CaseKind.Remediation, now, now) with { EffectiveAt = now };
        return Build(kase, drafts, DeprovPolicy.ImmediateSchedule, e with { EffectiveAt = now, ReceivedAt = now }, map, now, now, notes, []);
    }

    private static Draft EntitlementDraft(Account account, Entitlement ent)
    {
        var (kind, category) = ent.Kind switch
        {
            EntitlementKind.Licence => (ActionKind.ReclaimLicence, StepCategory.Licences),
            EntitlementKind.Network => (ActionKind.RemoveEntitlement, StepCategory.Physical),
            _ when ent.Privileged => (ActionKind.RemoveEntitlement, StepCategory.Privileged),
            _ => (ActionKind.RemoveEntitlement, StepCategory.AppAccess),
        };
        return new Draft(kind, category, account.SystemId, account.Id, ent.Id, null, null, $"{account.UserName} in {ent.Name}", null);
    }

    private StagedSchedule ScheduleFor(string plan) =>
        _policy.Schedules.TryGetValue(plan, out var s) ? s
        : plan == DeprovPolicy.Immediate ? DeprovPolicy.ImmediateSchedule
        : throw new DeprovException($"Policy rule refers to plan '{plan}', which is not defined under 'schedules'.");

    private static Case NewCase(string caseId, LifecycleEvent e, PolicyRule rule, CaseKind kind, DateTimeOffset cutAt, DateTimeOffset now) =>
        new(caseId, e.PersonId, kind, e.Id, rule.Name, rule.Plan, CaseStatus.Running, e.EffectiveAt, e.ReceivedAt, now, cutAt, null, null, null);

    private Plan Build(Case kase, List<Draft> drafts, StagedSchedule schedule, LifecycleEvent e, AccessMap map, DateTimeOffset cutAt,
        DateTimeOffset now, List<string> notes, List<TaskItem> tasks)
    {
        var steps = new List<Step>(drafts.Count);
        var seq = 0;
        foreach (var d in drafts)
        {
            var draft = d;
            var system = draft.SystemId is null ? null : _context.System(draft.SystemId);
            string stageName;
            DateTimeOffset due;
            if (draft.Category == StepCategory.Delete)
            {
                var retention = system?.RetentionDays ?? _policy.DefaultRetentionDays;
                stageName = "retention";
                due = cutAt + TimeSpan.FromDays(retention);
            }
            else
            {
                var stage = schedule.StageFor(draft.Category);
                stageName = stage.Name;
                var anchor = stage.Anchor == StageAnchor.Notice ? e.ReceivedAt : e.EffectiveAt;
                due = anchor + stage.Offset;
                if (kase.Kind == CaseKind.Restore)
                {
                    due = now;
                }
            }

            // An action the connector cannot perform becomes manual work: never silently skipped.
            if (draft.Kind != ActionKind.Manual && draft.SystemId is not null && !_context.Supports(draft.SystemId, draft.Kind))
            {
                if (draft.Kind is ActionKind.DeleteAccount or ActionKind.RevokeSessions)
                {
                    notes.Add($"{draft.SystemId} cannot {draft.Kind.ToSnake()}; left to its own retention");
                    continue;
                }

                draft = draft with
                {
                    Kind = ActionKind.Manual,
                    Target = $"{draft.Kind.ToSnake().Replace('_', ' ')} {draft.Target} in {system!.DisplayName} (connector cannot)",
                    Parameters = new Dictionary<string, string> { ["task"] = $"manual-{draft.Kind.ToSnake()}", ["team"] = Team.It.Snake(), ["dueAfter"] = "04:00:00", ["originalAction"] = draft.Kind.ToSnake() },
                };
            }

            var status = StepStatus.Pending;
            string? waitReason = null;
            if (draft.Kind.BlockedByLegalHold() && map.IsHeld(draft.SystemId))
            {
                var hold = map.Holds.First(h => h.SystemId is null || h.SystemId == draft.SystemId);
                status = StepStatus.Held;
                waitReason = $"legal hold {hold.Id} ({hold.Reason}) set by {hold.SetBy}";
                notes.Add($"{draft.Kind.ToSnake()} {draft.Target} waits: {waitReason}");
            }

            seq++;
            var id = $"{kase.Id}.{seq:D3}";
            var parameters = draft.Parameters is null ? null : JsonSerializer.Serialize(draft.Parameters, CoreJson.Options);
            steps.Add(new Step(id, kase.Id, seq, draft.Kind, draft.Category, stageName, draft.SystemId, draft.AccountId, draft.EntitlementId,
                draft.DeviceId, draft.CredentialId, draft.Target, status, due, 0, null, null, null, null, null, parameters, waitReason));

            if (draft.Kind == ActionKind.Manual)
            {
                var p = draft.Parameters!;
                var taskName = p["task"];
                _ = Naming.TryParseEnum<Team>(p["team"], out var team);
                team = RouteTeam(map.Person, draft.SystemId, taskName, team);
                var dueAfter = TimeSpan.Parse(p["dueAfter"], CultureInfo.InvariantCulture);
                tasks.Add(new TaskItem($"T-{id}", kase.Id, id, kase.PersonId, team, draft.Target,
                    $"{map.Person.DisplayName} ({map.Person.Id}), {map.Person.Department}, {map.Person.Location}", now, Max(due, now) + dueAfter,
                    Model.TaskStatus.Open, null, null, null));
            }
        }

        AssignPhases(steps);
        var deps = Dependencies(steps);
        CheckAcyclic(steps, deps);
        var waitingIds = deps.Select(d => d.StepId).ToHashSet(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            if (steps[i].Status == StepStatus.Pending && (steps[i].Phase > 0 || waitingIds.Contains(steps[i].Id)))
            {
                steps[i] = steps[i] with { Status = StepStatus.Waiting };
            }
        }

        if (steps.Count == 0)
        {
            return new Plan(CloseEmpty(kase, notes, tasks, now), steps, deps, tasks, notes);
        }

        var initial = steps.Any(s => s.DueAt <= now && s.Status is StepStatus.Pending or StepStatus.Waiting)
            ? CaseStatus.Running
            : CaseStatus.Scheduled;
        return new Plan(kase with { Status = initial }, steps, deps, tasks, notes);
    }

    /// <summary>
    /// A case without steps has nothing left to run, so nothing would ever move its status: it closes as it is planned,
    /// saying why. Verified when there was nothing to do; unverified when something could not be done (its tasks say what).
    /// </summary>
    private static Case CloseEmpty(Case kase, List<string> notes, List<TaskItem> tasks, DateTimeOffset now)
    {
        var (nothing, none) = kase.Kind switch
        {
            CaseKind.Restore => ("nothing to restore", "no verified cut of this person is recorded"),
            CaseKind.Mover => ("nothing to change", "no access of the old role is recorded"),
            _ => ("nothing to cut", "no access of this person is recorded"),
        };
        var cannot = notes.Where(n => n.StartsWith("cannot ", StringComparison.Ordinal)).ToList();
        var why = $"{nothing}: {(cannot.Count > 0 ? string.Join("; ", cannot) : none)}";
        return tasks.Count > 0
            ? kase with { Status = CaseStatus.Unverified, ClosedAt = now, StatusDetail = $"{why}; see task(s) {string.Join(", ", tasks.Select(t => t.Id))}" }
            : kase with { Status = CaseStatus.Verified, ClosedAt = now, CutVerifiedAt = kase.Kind == CaseKind.Restore ? null : now, StatusDetail = why };
    }

    /// <summary>Routes a task to a team with the policy's routes; the task's own team is the fallback.</summary>
    public Team RouteTeam(Person? person, string? systemId, string taskName, Team fallback) =>
        _policy.TaskRoutes.FirstOrDefault(r => r.Matches(person, systemId, taskName))?.Team ?? fallback;

    /// <summary>Numbers each step's phase inside its stage (empty phases skipped, so phase p waits for p - 1).</summary>
    private void AssignPhases(List<Step> steps)
    {
        var policyPhase = new int[steps.Count];
        var present = new Dictionary<string, SortedSet<int>>(StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            var s = steps[i];
            policyPhase[i] = s.Action != ActionKind.Manual && s.Category != StepCategory.Delete && _phaseOf.TryGetValue(s.Category, out var p) ? p : -1;
            if (policyPhase[i] >= 0)
            {
                if (!present.TryGetValue(s.Stage, out var set))
                {
                    present[s.Stage] = set = [];
                }

                set.Add(policyPhase[i]);
            }
        }

        var dense = present.ToDictionary(kv => kv.Key, kv => kv.Value.Select((phase, index) => (phase, index)).ToDictionary(x => x.phase, x => x.index), StringComparer.Ordinal);
        for (var i = 0; i < steps.Count; i++)
        {
            if (policyPhase[i] >= 0)
            {
                steps[i] = steps[i] with { Phase = dense[steps[i].Stage][policyPhase[i]] };
            }
        }
    }

    private List<StepDependency> Dependencies(List<Step> steps)
    {
        var deps = new List<StepDependency>();
        var seen = new HashSet<(string, string)>();
        var byAction = steps.ToLookup(s => s.Action);

        // Ordering rules: hard requirements; scoped to the same account when both steps name one.
        foreach (var rule in _policy.Requires)
        {
            if (!byAction.Contains(rule.Action) || !byAction.Contains(rule.Requires))
            {
                continue;
            }

            var required = byAction[rule.Requires].ToList();
            var requiredByAccount = required.Where(r => r.AccountId is not null).ToLookup(r => r.AccountId!, StringComparer.Ordinal);
            var requiredUnscoped = required.Where(r => r.AccountId is null).ToList();
            foreach (var s in byAction[rule.Action])
            {
                // Same account, or either side names no account.
                IEnumerable<Step> candidates = s.AccountId is null ? required : requiredByAccount[s.AccountId].Concat(requiredUnscoped).OrderBy(r => r.Seq);
                foreach (var r in candidates)
                {
                    if (seen.Add((s.Id, r.Id)))
                    {
                        deps.Add(new StepDependency(s.Id, r.Id, Hard: true));
                    }
                }
            }
        }

        return deps;
    }

    /// <summary>
    /// Checks that the hard requirements and the phase order leave no cycle. Phases enter the graph through one barrier
    /// node per stage and phase (every step of phase p, then the barrier, then every step of phase p + 1): the same order
    /// as an edge between every pair, with edges linear in the number of steps.
    /// </summary>
    private static void CheckAcyclic(List<Step> steps, List<StepDependency> deps)
    {
        var incoming = new Dictionary<string, int>(StringComparer.Ordinal);
        var outgoing = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        void Edge(string from, string to)
        {
            if (!outgoing.TryGetValue(from, out var list))
            {
                outgoing[from] = list = [];
            }

            list.Add(to);
            incoming[to] = incoming.GetValueOrDefault(to) + 1;
        }

        foreach (var s in steps)
        {
            incoming.TryAdd(s.Id, 0);
            if (s.Phase >= 0)
            {
                var barrier = $"\0{s.Stage}\0{s.Phase}";
                incoming.TryAdd(barrier, 0);
                Edge(s.Id, barrier);
                if (s.Phase > 0)
                {
                    Edge($"\0{s.Stage}\0{s.Phase - 1}", s.Id);
                }
            }
        }

        foreach (var d in deps)
        {
            Edge(d.DependsOn, d.StepId);
        }

        var queue = new Queue<string>(incoming.Where(kv => kv.Value == 0).Select(kv => kv.Key));
        var visited = 0;
        while (queue.TryDequeue(out var id))
        {
            visited++;
            if (outgoing.TryGetValue(id, out var next))
            {
                foreach (var n in next)
                {
                    if (--incoming[n] == 0)
                    {
                        queue.Enqueue(n);
                    }
                }
            }
        }

        if (visited != incoming.Count)
        {
            var stuck = steps.Where(s => incoming[s.Id] > 0).Select(s => s.Action.ToSnake()).Distinct();
            throw new DeprovException($"The policy's ordering rules form a cycle between: {string.Join(", ", stuck)}. Fix: remove one of the 'ordering.requires' rules or change 'ordering.phases'.");
        }
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private sealed record Draft(
        ActionKind Kind,
        StepCategory Category,
        string? SystemId,
        string? AccountId,
        string? EntitlementId,
        string? DeviceId,
        string? CredentialId,
        string Target,
        IReadOnlyDictionary<string, string>? Parameters)
    {
        public static Draft ForAccount(ActionKind kind, StepCategory category, Account a) =>
            new(kind, category, a.SystemId, a.Id, null, null, null, a.UserName, null);
    }
}

/// <summary>One thing a remediation cuts.</summary>
/// <param name="FindingId">The finding that asked for it (kept in the plan notes and the audit trail).</param>
public sealed record RemediationTarget(
    ActionKind Action,
    StepCategory Category,
    string SystemId,
    string? AccountId,
    string? EntitlementId,
    string? CredentialId,
    string Target,
    string FindingId,
    IReadOnlyDictionary<string, string>? Parameters = null);

/// <summary>JSON settings shared by Core for step parameters and states.</summary>
public static class CoreJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web) { WriteIndented = false };

    public static string Serialize(IReadOnlyDictionary<string, string> map) => JsonSerializer.Serialize(map, Options);

    public static Dictionary<string, string> ParseMap(string? json) =>
        string.IsNullOrEmpty(json) ? new Dictionary<string, string>(StringComparer.Ordinal)
        : JsonSerializer.Deserialize<Dictionary<string, string>>(json, Options) ?? new Dictionary<string, string>(StringComparer.Ordinal);
}
