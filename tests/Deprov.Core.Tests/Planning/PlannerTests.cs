using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Policy;

namespace Deprov.Core.Tests.Planning;

public sealed class PlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static readonly Dictionary<string, ConnectedSystem> Systems = new(StringComparer.Ordinal)
    {
        ["dir"] = new("dir", "Directory", "sandbox", SystemRole.Directory, RiskTier.High, 0, 30),
        ["sso"] = new("sso", "SSO", "sandbox", SystemRole.IdentityProvider, RiskTier.Critical, 0, 30),
        ["app"] = new("app", "App", "sandbox", SystemRole.Application, RiskTier.Medium, 10, 90),
        ["mdm"] = new("mdm", "MDM", "sandbox", SystemRole.DeviceManager, RiskTier.Medium, 0, 30),
        ["vault"] = new("vault", "Vault", "sandbox", SystemRole.Vault, RiskTier.Critical, 0, 30),
        ["badge"] = new("badge", "Badges", "sandbox", SystemRole.Badge, RiskTier.Low, 0, 7),
    };

    private static readonly ActionKind[] All = Enum.GetValues<ActionKind>();

    private static PlanningContext Context(Dictionary<string, ActionKind[]>? limits = null) => new(Systems,
        Systems.Keys.ToDictionary(k => k, k => (IReadOnlySet<ActionKind>)(limits?.GetValueOrDefault(k) ?? All).ToHashSet(), StringComparer.Ordinal));

    private static readonly Person Alice = new("p1", "alice@example.com", "Alice", "p0", "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "Europe/Paris");

    private static AccessMap Map(IReadOnlyList<LegalHold>? holds = null, GrantSource source = GrantSource.Discovered, DateTimeOffset? expires = null) => new(
        Alice,
        [
            new Account("dir/alice", "dir", "alice", "alice", "alice@example.com", "p1", AccountKind.User, AccountStatus.Active, null, "email"),
            new Account("sso/00u1", "sso", "00u1", "alice@example.com", "alice@example.com", "p1", AccountKind.User, AccountStatus.Active, null, "email"),
            new Account("app/a1", "app", "a1", "alice@example.com", "alice@example.com", "p1", AccountKind.User, AccountStatus.Active, null, "email"),
            new Account("badge/b1", "badge", "b1", "alice@example.com", null, "p1", AccountKind.User, AccountStatus.Active, null, "email"),
        ],
        [
            new Entitlement("dir/eng", "dir", "eng", "eng", EntitlementKind.Group, false),
            new Entitlement("dir/vpn", "dir", "vpn", "vpn", EntitlementKind.Network, false),
            new Entitlement("app/seat", "app", "seat", "seat", EntitlementKind.Licence, false),
            new Entitlement("app/admins", "app", "admins", "admins", EntitlementKind.Group, true),
        ],
        [
            new Assignment("dir/alice", "dir/eng", source, expires),
            new Assignment("dir/alice", "dir/vpn", GrantSource.Discovered, null),
            new Assignment("app/a1", "app/seat", GrantSource.Discovered, null),
            new Assignment("app/a1", "app/admins", GrantSource.Discovered, null),
        ],
        [new Device("mdm/d1", "mdm", "d1", "SN1", "Laptop", "p1", DeviceStatus.Active)],
        [new Credential("vault/sec", "vault", "sec", "db root", CredentialKind.SharedSecret, null, ["p1", "p2"], CredentialStatus.Active, null)],
        [
            new Credential("vault/tok", "vault", "tok", "token", CredentialKind.ApiToken, "p1", [], CredentialStatus.Active, null),
            new Credential("vault/svc", "vault", "svc", "svc-ci", CredentialKind.ServiceAccount, "p1", [], CredentialStatus.Active, null),
        ],
        holds ?? []);

    private static readonly PolicyRule Immediate = new("r", RuleMatch.Any, DeprovPolicy.Immediate, DeviceAction.Lock);

    private static LifecycleEvent Leave(DateTimeOffset effective) => new("E1", EventKind.Leave, "p1", effective, ExitReason.Involuntary, "test", "k", Now);

    [Fact]
    public void PlanLeaver_Immediate_CutsSignInFirstThenEverythingElseThenLicences()
    {
        var plan = new Planner(DeprovPolicy.Default, Context()).PlanLeaver(Leave(Now), Map(), Immediate, "C1", Now);
        Step One(ActionKind a, string? system = null) => plan.Steps.Single(s => s.Action == a && (system is null || s.SystemId == system));

        Assert.Equal(0, One(ActionKind.DisableAccount, "dir").Phase);
        Assert.Equal(0, One(ActionKind.DisableAccount, "sso").Phase);
        Assert.Equal(0, One(ActionKind.RevokeSessions, "sso").Phase);
        Assert.Equal(0, One(ActionKind.ResetPassword, "dir").Phase);
        Assert.Equal(1, One(ActionKind.DisableAccount, "app").Phase);
        Assert.Equal(1, One(ActionKind.LockDevice).Phase);
        Assert.Equal(1, One(ActionKind.RotateCredential).Phase);
        Assert.Equal(1, One(ActionKind.RevokeToken).Phase);
        Assert.Equal(2, One(ActionKind.ReclaimLicence).Phase);
        Assert.Equal(StepCategory.Privileged, plan.Steps.Single(s => s.EntitlementId == "app/admins").Category);
        Assert.Equal(StepCategory.Physical, plan.Steps.Single(s => s.EntitlementId == "dir/vpn").Category);
        Assert.All(plan.Steps.Where(s => s.Phase > 0), s => Assert.Equal(StepStatus.Waiting, s.Status));
        Assert.All(plan.Steps.Where(s => s.Phase == 0 && s.Action != ActionKind.ResetPassword), s => Assert.Equal(StepStatus.Pending, s.Status));
        var reset = One(ActionKind.ResetPassword, "dir");
        Assert.Equal(StepStatus.Waiting, reset.Status); // after the lock: an OpenLDAP admin reset clears it
        Assert.Contains(plan.Dependencies, d => d.StepId == reset.Id && d.DependsOn == One(ActionKind.DisableAccount, "dir").Id && d.Hard);
        var edges = plan.AllDependencies();
        Assert.Contains(edges, d => d.StepId == One(ActionKind.DisableAccount, "app").Id && d.DependsOn == One(ActionKind.DisableAccount, "dir").Id && !d.Hard);
    }

    [Fact]
    public void PlanLeaver_ServiceAccountOwned_TransfersToManagerBeforeDelete()
    {
        var plan = new Planner(DeprovPolicy.Default, Context()).PlanLeaver(Leave(Now), Map(), Immediate, "C1", Now);
        var transfer = plan.Steps.Single(s => s.Action == ActionKind.TransferOwnership);
        Assert.Contains("\"newOwner\":\"p0\"", transfer.Parameters, StringComparison.Ordinal);
        Assert.All(plan.Steps.Where(s => s.Action == ActionKind.DeleteAccount),
            d => Assert.Contains(plan.Dependencies, x => x.StepId == d.Id && x.DependsOn == transfer.Id && x.Hard));
    }

    [Fact]
    public void PlanLeaver_Deletes_FollowEachSystemsRetentionAndRequireTheirOwnDisable()
    {
        var plan = new Planner(DeprovPolicy.Default, Context()).PlanLeaver(Leave(Now), Map(), Immediate, "C1", Now);
        var appDelete = plan.Steps.Single(s => s.Action == ActionKind.DeleteAccount && s.SystemId == "app");
        var badgeDelete = plan.Steps.Single(s => s.Action == ActionKind.DeleteAccount && s.SystemId == "badge");
        Assert.Equal(Now.AddDays(90), appDelete.DueAt);
        Assert.Equal(Now.AddDays(7), badgeDelete.DueAt);
        var appDisable = plan.Steps.Single(s => s.Action == ActionKind.DisableAccount && s.SystemId == "app");
        Assert.Contains(plan.Dependencies, d => d.StepId == appDelete.Id && d.DependsOn == appDisable.Id && d.Hard);
        Assert.DoesNotContain(plan.Dependencies, d => d.StepId == appDelete.Id && d.DependsOn == plan.Steps.Single(s => s.Action == ActionKind.DisableAccount && s.SystemId == "dir").Id);
    }

    [Fact]
    public void PlanLeaver_UnderLegalHold_DeletesAndLicenceRemovalAreHeldWithReason()
    {
        var hold = new LegalHold("H-1", "p1", null, "litigation", "admin:legal", Now);
        var plan = new Planner(DeprovPolicy.Default, Context()).PlanLeaver(Leave(Now), Map([hold]), Immediate, "C1", Now);
        Assert.All(plan.Steps.Where(s => s.Action is ActionKind.DeleteAccount or ActionKind.ReclaimLicence), s =>
        {
            Assert.Equal(StepStatus.Held, s.Status);
            Assert.Contains("H-1", s.WaitReason, StringComparison.Ordinal);
        });
        Assert.Equal(StepStatus.Pending, plan.Steps.Single(s => s.Action == ActionKind.DisableAccount && s.SystemId == "dir").Status);
    }

    [Fact]
    public void PlanLeaver_HoldOnOneSystem_HoldsOnlyThatSystem()
    {
        var hold = new LegalHold("H-2", "p1", "app", "e-discovery", "admin:legal", Now);
        var plan = new Planner(DeprovPolicy.Default, Context()).PlanLeaver(Leave(Now), Map([hold]), Immediate, "C1", Now);
        Assert.Equal(StepStatus.Held, plan.Steps.Single(s => s.Action == ActionKind.DeleteAccount && s.SystemId == "app").Status);
        Assert.NotEqual(StepStatus.Held, plan.Steps.Single(s => s.Action == ActionKind.DeleteAccount && s.SystemId == "dir").Status);
    }

    [Fact]
    public void PlanLeaver_FutureEffectiveDate_SchedulesForThatMoment()
    {
        var effective = Now.AddDays(14);
        var plan = new Planner(DeprovPolicy.Default, Context()).PlanLeaver(Leave(effective), Map(), Immediate, "C1", Now);
        Assert.All(plan.Steps.Where(s => s.Category != StepCategory.Delete && s.Action != ActionKind.Manual), s => Assert.Equal(effective, s.DueAt));
        Assert.Equal(CaseStatus.Scheduled, plan.Case.Status);
        Assert.Equal(effective, plan.Case.CutAt);
    }

    [Fact]
    public void PlanLeaver_PastEffectiveDate_IsDueNowAndExposureCountsFromReceipt()
    {
        var plan = new Planner(DeprovPolicy.Default, Context()).PlanLeaver(Leave(Now.AddDays(-3)), Map(), Immediate, "C1", Now);
        Assert.All(plan.Steps.Where(s => s.Category != StepCategory.Delete), s => Assert.True(s.DueAt <= Now));
        Assert.Equal(Now, plan.Case.CutAt);
        Assert.Equal(CaseStatus.Running, plan.Case.Status);
    }

    [Fact]
    public void PlanLeaver_StagedSchedule_PrivilegedAtNoticeRestOnLastDay()
    {
        var policy = DeprovPolicy.Default with
        {
            Schedules = new Dictionary<string, StagedSchedule>(StringComparer.Ordinal)
            {
                ["staged"] = new("staged", [new Stage("notice", StageAnchor.Notice, TimeSpan.Zero, new HashSet<StepCategory> { StepCategory.Privileged }), new Stage("last-day", StageAnchor.Effective, TimeSpan.Zero, null)]),
            },
        };
        var effective = Now.AddDays(14);
        var plan = new Planner(policy, Context()).PlanLeaver(Leave(effective), Map(), Immediate with { Plan = "staged" }, "C1", Now);
        var admin = plan.Steps.Single(s => s.EntitlementId == "app/admins");
        Assert.Equal("notice", admin.Stage);
        Assert.Equal(Now, admin.DueAt);
        Assert.Equal(0, admin.Phase);
        Assert.Equal(effective, plan.Steps.Single(s => s.Action == ActionKind.DisableAccount && s.SystemId == "dir").DueAt);
    }

    [Fact]
    public void PlanLeaver_ConnectorCannotDoAction_BecomesManualTaskNotSilentlySkipped()
    {
        var ctx = Context(new() { ["badge"] = [ActionKind.DeleteAccount] });
        var plan = new Planner(DeprovPolicy.Default, ctx).PlanLeaver(Leave(Now), Map(), Immediate, "C1", Now);
        var manual = plan.Steps.Single(s => s.Action == ActionKind.Manual && s.SystemId == "badge");
        Assert.Contains("connector cannot", manual.Target, StringComparison.Ordinal);
        var task = Assert.Single(plan.Tasks, t => t.StepId == manual.Id);
        Assert.Equal(Team.It, task.Team);
    }

    [Fact]
    public void PlanLeaver_ManualTaskRules_RouteToTeams()
    {
        var policy = DeprovPolicy.Default with
        {
            ManualTasks = [new ManualTaskRule("laptop-return", "Collect laptop", Team.It, RuleMatch.Any, "has_device", TimeSpan.FromDays(3))],
            TaskRoutes = [new TaskRoute(new HashSet<string>(), new HashSet<string> { "Paris" }, new HashSet<string>(), new HashSet<WorkerType>(), new HashSet<string> { "laptop-return" }, Team.Facilities)],
        };
        var plan = new Planner(policy, Context()).PlanLeaver(Leave(Now), Map(), Immediate, "C1", Now);
        var task = Assert.Single(plan.Tasks);
        Assert.Equal(Team.Facilities, task.Team);
        Assert.Equal(Now.AddDays(3), task.DueAt);
    }

    [Fact]
    public void PlanMover_RemovesOnlyWhatOldRoleGrantsAndNewDoesNot_KeepingLiveExceptions()
    {
        var policy = DeprovPolicy.Default with
        {
            Roles =
            [
                new RoleDefinition("eng", new HashSet<string> { "Engineering" }, [], new HashSet<string> { "dir:eng", "app:admins", "dir:vpn" }),
                new RoleDefinition("sales", new HashSet<string> { "Sales" }, [], new HashSet<string> { "dir:vpn" }),
            ],
        };
        var move = new LifecycleEvent("E2", EventKind.Move, "p1", Now, ExitReason.None, "test", "k2", Now, "Sales", "Account Executive");
        var plan = new Planner(policy, Context()).PlanMover(move, Map(), Immediate, "C2", Now);
        Assert.Equal(["app/admins", "dir/eng"], plan.Steps.Select(s => s.EntitlementId!).Order());
        Assert.All(plan.Steps, s => Assert.Equal(ActionKind.RemoveEntitlement, s.Action));

        var withException = new Planner(policy, Context()).PlanMover(move, Map(source: GrantSource.Exception, expires: Now.AddDays(10)), Immediate, "C3", Now);
        Assert.Equal(["app/admins"], withException.Steps.Select(s => s.EntitlementId!));
        Assert.Contains(withException.Notes, n => n.Contains("exception", StringComparison.Ordinal));

        var expired = new Planner(policy, Context()).PlanMover(move, Map(source: GrantSource.Exception, expires: Now.AddDays(-1)), Immediate, "C4", Now);
        Assert.Equal(2, expired.Steps.Count);
    }

    [Fact]
    public void PlanMover_GracePeriod_DelaysRemoval()
    {
        var policy = DeprovPolicy.Default with
        {
            Roles = [new RoleDefinition("eng", new HashSet<string> { "Engineering" }, [], new HashSet<string> { "dir:eng" })],
            Mover = new MoverPolicy(TimeSpan.FromDays(7)),
        };
        var move = new LifecycleEvent("E2", EventKind.Move, "p1", Now, ExitReason.None, "test", "k2", Now, "Sales", null);
        var plan = new Planner(policy, Context()).PlanMover(move, Map(), Immediate, "C2", Now);
        Assert.Equal(Now.AddDays(7), Assert.Single(plan.Steps).DueAt);
    }

    [Fact]
    public void PlanRestore_UndoesVerifiedCutsFromBeforeStateButNotDeletedAccounts()
    {
        var done = new List<Step>
        {
            new("C1.001", "C1", 1, ActionKind.DisableAccount, StepCategory.SignIn, "cut", "dir", "dir/alice", null, null, null, "alice", StepStatus.Verified, Now, 1, Now, Now, "{\"active\":\"true\"}", null, null, null, null, 0),
            new("C1.002", "C1", 2, ActionKind.RemoveEntitlement, StepCategory.AppAccess, "cut", "dir", "dir/alice", "dir/eng", null, null, "alice in eng", StepStatus.Verified, Now, 1, Now, Now, "{\"member\":\"true\"}", null, null, null, null, 1),
            new("C1.003", "C1", 3, ActionKind.ResetPassword, StepCategory.SignIn, "cut", "dir", "dir/alice", null, null, null, "alice", StepStatus.Verified, Now, 1, Now, Now, null, null, null, null, null, 0),
            new("C1.004", "C1", 4, ActionKind.DisableAccount, StepCategory.AppAccess, "cut", "app", "app/a1", null, null, null, "a1", StepStatus.Verified, Now, 1, Now, Now, null, null, null, null, null, 1),
            new("C1.005", "C1", 5, ActionKind.DeleteAccount, StepCategory.Delete, "retention", "app", "app/a1", null, null, null, "a1", StepStatus.Verified, Now, 1, Now, Now, null, null, null, null, null, -1),
        };
        var rehire = new LifecycleEvent("E3", EventKind.Rehire, "p1", Now, ExitReason.None, "test", "k3", Now);
        var plan = new Planner(DeprovPolicy.Default, Context()).PlanRestore(rehire, Map(), done, "C5", Now);
        Assert.Equal([ActionKind.EnableAccount, ActionKind.AddEntitlement], plan.Steps.Select(s => s.Action));
        Assert.Contains("\"before\"", plan.Steps[0].Parameters, StringComparison.Ordinal);
        Assert.Contains(plan.Notes, n => n.Contains("deleted", StringComparison.Ordinal));
        Assert.Equal(CaseKind.Restore, plan.Case.Kind);
        var task = Assert.Single(plan.Tasks); // the deleted account must be created again by hand
        Assert.Null(task.StepId);
        Assert.Contains("deleted after retention", task.Title, StringComparison.Ordinal);
        Assert.Equal(CaseStatus.Running, plan.Case.Status); // it has steps to run: open
    }

    [Fact]
    public void PlanRestore_EverythingWasDeleted_ClosesUnverifiedAtOnceNamingWhy()
    {
        var done = new List<Step>
        {
            new("C1.001", "C1", 1, ActionKind.DisableAccount, StepCategory.AppAccess, "cut", "app", "app/a1", null, null, null, "a1", StepStatus.Verified, Now, 1, Now, Now, null, null, null, null, null, 1),
            new("C1.002", "C1", 2, ActionKind.DeleteAccount, StepCategory.Delete, "retention", "app", "app/a1", null, null, null, "a1", StepStatus.Verified, Now, 1, Now, Now, null, null, null, null, null, -1),
        };
        var rehire = new LifecycleEvent("E3", EventKind.Rehire, "p1", Now, ExitReason.None, "test", "k3", Now);
        var plan = new Planner(DeprovPolicy.Default, Context()).PlanRestore(rehire, Map(), done, "C5", Now);
        Assert.Empty(plan.Steps);
        Assert.Equal(CaseStatus.Unverified, plan.Case.Status);
        Assert.Equal(Now, plan.Case.ClosedAt);
        Assert.Contains("cannot restore a1: the account was deleted after retention", plan.Case.StatusDetail, StringComparison.Ordinal);
        Assert.Contains(Assert.Single(plan.Tasks).Id, plan.Case.StatusDetail, StringComparison.Ordinal);
    }

    [Fact]
    public void PlanRestore_NothingWasCut_ClosesVerifiedAtOnce()
    {
        var rehire = new LifecycleEvent("E3", EventKind.Rehire, "p1", Now, ExitReason.None, "test", "k3", Now);
        var plan = new Planner(DeprovPolicy.Default, Context()).PlanRestore(rehire, Map(), [], "C5", Now);
        Assert.Empty(plan.Steps);
        Assert.Empty(plan.Tasks);
        Assert.Equal(CaseStatus.Verified, plan.Case.Status);
        Assert.Equal(Now, plan.Case.ClosedAt);
        Assert.StartsWith("nothing to restore", plan.Case.StatusDetail, StringComparison.Ordinal);
    }

    [Fact]
    public void PlanLeaver_OrderingRulesFormCycle_ThrowsWithFix()
    {
        var policy = DeprovPolicy.Default with { Requires = [new OrderingRule(ActionKind.DisableAccount, ActionKind.ReclaimLicence, "x")] };
        var ex = Assert.Throws<DeprovException>(() => new Planner(policy, Context()).PlanLeaver(Leave(Now), Map(), Immediate, "C1", Now));
        Assert.Contains("cycle", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Fix:", ex.Message, StringComparison.Ordinal);
    }
}
