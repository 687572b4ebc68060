using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Reconciliation;
using Deprov.Core.Store;
using Xunit;

namespace Deprov.Testing.StoreContract;

/// <summary>The reconciliation part of the <see cref="IStore"/> contract: inventory by difference, access history,
/// findings, manual links, revocations and licence usage. One sealed subclass per store.</summary>
public abstract class ReconciliationStoreContractTests<TFactory>
    where TFactory : IStoreFactory, new()
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly TFactory _factory = new();

    private static Account Acct(string ext, string? person, AccountStatus status = AccountStatus.Active, string sys = "app") =>
        new($"{sys}/{ext}", sys, ext, ext, $"{ext}@example.com", person, AccountKind.User, status, null, person is null ? null : "email");

    private static Entitlement Ent(string ext, string sys = "app") => new($"{sys}/{ext}", sys, ext, ext, EntitlementKind.Group, false);

    private static Assignment Member(string account, string ent, string sys = "app") => new($"{sys}/{account}", $"{sys}/{ent}", GrantSource.Discovered, null);

    private static InventorySnapshot Snapshot(IReadOnlyList<Account> accounts, IReadOnlyList<Assignment> assignments) =>
        new(accounts, [Ent("g1"), Ent("g2")], assignments, [], []);

    private static DiscoveryState State(DateTimeOffset at, string fingerprint = "f") => new("app", fingerprint, at, 0, 0);

    private async Task<IStore> StoreWithAsync(params string[] people)
    {
        var store = await _factory.CreateAsync();
        await store.UpsertPeopleAsync([.. people.Select(p => Some.Person(p))], CancellationToken.None);
        await store.UpsertSystemsAsync([new ConnectedSystem("app", "App", "sandbox", SystemRole.Application, RiskTier.Medium, 10m, 30)], CancellationToken.None);
        return store;
    }

    private async Task<(IStore Store, string Person)> StoreAsync()
    {
        var person = Some.Id("rc");
        return (await StoreWithAsync(person), person);
    }

    [Fact]
    public async Task ApplyDiscoveryAsync_MembershipsInterleavedAcrossAccounts_EachAccountKeepsItsOwn()
    {
        var (store, p) = await StoreAsync();
        await using var _ = store;
        var ct = CancellationToken.None;
        var other = Some.Id("rc");
        await store.UpsertPeopleAsync([Some.Person(other)], ct);
        await store.ApplyDiscoveryAsync("app", Snapshot([Acct("a1", p), Acct("a2", other)],
            [Member("a1", "g1"), Member("a2", "g1"), Member("a1", "g2"), Member("a1", "g1")]), State(T0), [], ct);

        var maps = await store.GetAccessMapsAsync([p, other], ct);
        Assert.Equal(["app/g1", "app/g2"], maps.Single(m => m.Person.Id == p).Assignments.Select(a => a.EntitlementId).Order(StringComparer.Ordinal));
        Assert.Equal(["app/g1"], maps.Single(m => m.Person.Id == other).Assignments.Select(a => a.EntitlementId));
    }

    [Fact]
    public async Task ApplyDiscoveryAsync_AccountColumnsAndIdArrays_WriteTheSameRowsAndHistoryAsObjects()
    {
        var ct = CancellationToken.None;
        var (p, other) = (Some.Id("rc"), Some.Id("rc"));
        Account[] first = [Acct("a1", p), Acct("a2", null), Acct("a3", other) with { LastSignInAt = T0.AddDays(-3) }];
        Assignment[] firstMembers = [Member("a1", "g1"), Member("a3", "g1"), Member("a1", "g2"), Member("a2", "g2")];
        Account[] second = [Acct("a1", p, AccountStatus.Disabled), Acct("a3", p), Acct("a4", p) with { Kind = AccountKind.Service }];
        Assignment[] secondMembers = [Member("a1", "g1"), Member("a3", "g1"), Member("a3", "g2"), Member("a4", "g2"), Member("zz", "g1")];

        // One store is handed the accounts as objects and the memberships interleaved; the other as columns (made
        // directly, as discovery does) and the memberships as id arrays grouped by account.
        await using var objects = await StoreWithAsync(p, other);
        await using var columns = await StoreWithAsync(p, other);
        await objects.ApplyDiscoveryAsync("app", Snapshot(first, firstMembers), State(T0), [], ct);
        await objects.ApplyDiscoveryAsync("app", Snapshot(second, secondMembers), State(T0.AddHours(2)), [], ct);
        await columns.ApplyDiscoveryAsync("app", Snapshot(Columns(first), Grouped(firstMembers)), State(T0), [], ct);
        await columns.ApplyDiscoveryAsync("app", Snapshot(Columns(second), Grouped(secondMembers)), State(T0.AddHours(2)), [], ct);

        foreach (var id in new[] { "app/a1", "app/a2", "app/a3", "app/a4", "app/zz" })
        {
            Assert.Equal(await objects.GetAccountAsync(id, ct), await columns.GetAccountAsync(id, ct));
        }

        Assert.Equal(AccountKind.Service, (await columns.GetAccountAsync("app/a4", ct))!.Kind);
        var (a, b) = (await objects.GetAccessMapsAsync([p, other], ct), await columns.GetAccessMapsAsync([p, other], ct));
        Assert.Equal(a.SelectMany(m => m.Accounts).OrderBy(x => x.Id, StringComparer.Ordinal), b.SelectMany(m => m.Accounts).OrderBy(x => x.Id, StringComparer.Ordinal));
        Assert.Equal(Memberships(a), Memberships(b));
        Assert.Equal(4, Memberships(b).Count); // zz is not listed: its membership is dropped
        foreach (var person in new[] { p, other })
        {
            foreach (var at in new[] { T0.AddHours(1), T0.AddHours(3) })
            {
                Assert.Equal(Intervals(await objects.GetAccessAtAsync(person, at, ct)), Intervals(await columns.GetAccessAtAsync(person, at, ct)));
            }
        }

        Assert.Contains(await columns.GetAccessAtAsync(p, T0.AddHours(1), ct), r => r.AccountId == "app/a1" && r.EntitlementId == "app/g2" && r.To == T0.AddHours(2));

        static AccountColumns Columns(Account[] list) => new("app", [.. list.Select(x => x.Id)], [.. list.Select(x => x.ExternalId)], [.. list.Select(x => x.UserName)],
            [.. list.Select(x => x.Email)], [.. list.Select(x => x.PersonId)], [.. list.Select(x => x.Kind)], [.. list.Select(x => x.Status)],
            [.. list.Select(x => x.LastSignInAt)], [.. list.Select(x => x.CorrelationRule)]);

        static DiscoveredAssignments Grouped(Assignment[] list)
        {
            var grouped = list.OrderBy(x => x.AccountId, StringComparer.Ordinal).ToList(); // a stable sort: the order read within an account
            return new DiscoveredAssignments([.. grouped.Select(x => x.AccountId)], [.. grouped.Select(x => x.EntitlementId)]);
        }

        static List<(string, string, GrantSource)> Memberships(IReadOnlyList<AccessMap> maps) =>
            [.. maps.SelectMany(m => m.Assignments).Select(x => (x.AccountId, x.EntitlementId, x.Source)).Order()];

        static List<string> Intervals(IReadOnlyList<AccessInterval> list) => [.. list.Select(r => r.ToString()).Order(StringComparer.Ordinal)];
    }

    [Fact]
    public async Task ApplyDiscoveryAsync_ColumnsOfAnotherSystem_Throws()
    {
        var (store, p) = await StoreAsync();
        await using var _ = store;
        var accounts = new AccountColumns("crm", ["app/a1"], ["a1"], ["a1"], [null], [p], [AccountKind.User], [AccountStatus.Active], [null], ["email"]);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => store.ApplyDiscoveryAsync("app", Snapshot(accounts, []), State(T0), [], CancellationToken.None));
        Assert.Contains("'crm'", ex.Message, StringComparison.Ordinal);
        Assert.Null(await store.GetAccountAsync("app/a1", CancellationToken.None));
    }

    [Fact]
    public async Task ApplyDiscoveryAsync_ChangesAcrossRuns_RecordsAccessHistory()
    {
        var (store, p) = await StoreAsync();
        await using var _ = store;
        var ct = CancellationToken.None;
        await store.ApplyDiscoveryAsync("app", Snapshot([Acct("a1", p)], [Member("a1", "g1"), Member("a1", "g2")]), State(T0), [], ct);
        await store.ApplyDiscoveryAsync("app", Snapshot([Acct("a1", p, AccountStatus.Disabled)], [Member("a1", "g1")]), State(T0.AddHours(2)), [], ct);

        var before = await store.GetAccessAtAsync(p, T0.AddHours(1), ct);
        Assert.Contains(before, r => r.EntitlementId is null && r.Status == AccountStatus.Active && r.From == T0 && r.To == T0.AddHours(2));
        Assert.Contains(before, r => r.EntitlementId == "app/g2" && r.To == T0.AddHours(2));
        Assert.Contains(before, r => r.EntitlementId == "app/g1" && r.To is null);

        var after = await store.GetAccessAtAsync(p, T0.AddHours(3), ct);
        Assert.Contains(after, r => r.EntitlementId is null && r.Status == AccountStatus.Disabled && r.From == T0.AddHours(2));
        Assert.DoesNotContain(after, r => r.EntitlementId == "app/g2");
        Assert.Empty(await store.GetAccessAtAsync(p, T0.AddHours(-1), ct));
    }

    [Fact]
    public async Task ApplyDiscoveryAsync_AccountVanishes_ClosesItsIntervalsAndRemovesIt()
    {
        var (store, p) = await StoreAsync();
        await using var _ = store;
        var ct = CancellationToken.None;
        await store.ApplyDiscoveryAsync("app", Snapshot([Acct("a1", p), Acct("a2", null)], [Member("a1", "g1")]), State(T0), [], ct);
        await store.ApplyDiscoveryAsync("app", Snapshot([Acct("a2", null)], []), State(T0.AddHours(1)), [], ct);

        Assert.Empty((await store.GetAccessMapsAsync([p], ct))[0].Accounts);
        Assert.Equal(2, (await store.GetAccessAtAsync(p, T0.AddMinutes(30), ct)).Count);
        Assert.Empty(await store.GetAccessAtAsync(p, T0.AddHours(2), ct));
    }

    [Fact]
    public async Task ApplyDiscoveryAsync_NullSnapshot_RecordsOnlyTheState()
    {
        var (store, p) = await StoreAsync();
        await using var _ = store;
        var ct = CancellationToken.None;
        await store.ApplyDiscoveryAsync("app", Snapshot([Acct("a1", p)], []), State(T0, "one"), [], ct);
        await store.ApplyDiscoveryAsync("app", null, State(T0.AddHours(1), "one"), [], ct);

        var state = await store.GetDiscoveryStateAsync("app", ct);
        Assert.Equal(T0.AddHours(1), state!.CompletedAt);
        Assert.Equal("one", state.Fingerprint);
        Assert.Single((await store.GetAccessMapsAsync([p], ct))[0].Accounts);
        Assert.Null(await store.GetDiscoveryStateAsync("other", ct));
    }

    [Fact]
    public async Task RecordFindingsAsync_SeenAgain_KeepsFirstSeen_NotSeen_Resolves_Recurrence_IsNew()
    {
        var (store, p) = await StoreAsync();
        await using var _ = store;
        var ct = CancellationToken.None;
        var orphan = new DetectedFinding(FindingKind.Orphan, "app", "app/x", "app/x", null, null, null, "no owner");
        var dormant = new DetectedFinding(FindingKind.Dormant, "app", "app/a1", "app/a1", null, null, p, "no sign-in");

        var first = await store.RecordFindingsAsync("app", [orphan, dormant], T0, ct);
        Assert.Equal(2, first.New.Count);
        var second = await store.RecordFindingsAsync("app", [orphan], T0.AddHours(1), ct);
        Assert.Empty(second.New);
        Assert.Equal(1, second.StillOpen);
        Assert.Equal(1, second.Resolved);

        var open = await store.ListFindingsAsync(new FindingQuery(SystemId: "app"), ct);
        var o = Assert.Single(open);
        Assert.Equal(T0, o.FirstSeenAt);
        Assert.Equal(T0.AddHours(1), o.LastSeenAt);
        Assert.Single(await store.ListFindingsAsync(new FindingQuery(FindingKind.Dormant, OpenOnly: false), ct), f => f.ResolvedAt == T0.AddHours(1));

        var third = await store.RecordFindingsAsync("app", [orphan, dormant], T0.AddHours(2), ct);
        Assert.Equal(dormant.Id, Assert.Single(third.New).Id);
    }

    [Fact]
    public async Task RaiseFindingAsync_LeavesOtherFindingsOpen_RaisedAgainKeepsFirstSeen_ResolvedByTheNextDetectionPass()
    {
        var (store, _) = await StoreAsync();
        await using var _ = store;
        var ct = CancellationToken.None;
        var orphan = new DetectedFinding(FindingKind.Orphan, "app", "app/x", "app/x", null, null, null, "no owner");
        var shrink = new DetectedFinding(FindingKind.InventoryShrink, "app", "app", null, null, null, null, "listed 0 of 10");
        await store.RecordFindingsAsync("app", [orphan], T0, ct);

        var raised = await store.RaiseFindingAsync(shrink, T0.AddHours(1), [new AuditEntry(T0.AddHours(1), "deprov", "alert", "app", "app", null, null, null, null, null, "alert", "x")], ct);
        Assert.Equal((shrink.Id, T0.AddHours(1), (DateTimeOffset?)null), (raised.Id, raised.FirstSeenAt, raised.ResolvedAt));
        var again = await store.RaiseFindingAsync(shrink with { Evidence = "listed 1 of 10" }, T0.AddHours(2), [], ct);
        Assert.Equal((T0.AddHours(1), T0.AddHours(2), "listed 1 of 10"), (again.FirstSeenAt, again.LastSeenAt, again.Evidence));
        Assert.Equal(2, (await store.ListFindingsAsync(new FindingQuery(SystemId: "app"), ct)).Count);

        var pass = await store.RecordFindingsAsync("app", [orphan], T0.AddHours(3), ct);
        Assert.Equal(1, pass.Resolved);
        Assert.Equal(orphan.Id, Assert.Single(await store.ListFindingsAsync(new FindingQuery(SystemId: "app"), ct)).Id);
    }

    [Fact]
    public async Task RecordReactionsAsync_WithTask_StoresReactionAndTask()
    {
        var (store, p) = await StoreAsync();
        await using var _ = store;
        var ct = CancellationToken.None;
        var f = new DetectedFinding(FindingKind.LeaverStillActive, "app", "app/a1", "app/a1", null, null, p, "left");
        await store.RecordFindingsAsync("app", [f], T0, ct);
        var task = new TaskItem("T-" + f.Id, null, null, p, Team.Security, "Review", "left", T0, T0.AddHours(4), Core.Model.TaskStatus.Open, null, null, null);
        await store.RecordReactionsAsync([(f.Id, FindingReaction.Task, task.Id)], [task], [new AuditEntry(T0, "deprov", "finding_task", null, null, p, null, null, null, null, "ok", null)], ct);

        var stored = Assert.Single(await store.ListFindingsAsync(new FindingQuery(), ct));
        Assert.Equal(FindingReaction.Task, stored.Reaction);
        Assert.Equal(task.Id, stored.ReactionRef);
        Assert.Contains(await store.ListTasksAsync(new TaskQuery(PersonId: p), ct), t => t.Id == task.Id);
    }

    [Fact]
    public async Task LinkAccountAsync_KnownPerson_TiesTheAccountNow_UnknownPerson_Throws()
    {
        var (store, p) = await StoreAsync();
        await using var _ = store;
        var ct = CancellationToken.None;
        await store.ApplyDiscoveryAsync("app", Snapshot([Acct("svc", null)], []), State(T0), [], ct);
        var audit = new AuditEntry(T0, "admin:test", "correlation_link", "app", "app/svc", p, null, null, null, null, "ok", null);

        await Assert.ThrowsAnyAsync<ValidationException>(() => store.LinkAccountAsync(new CorrelationLink("app", "svc", "nobody", "admin:test", T0), audit, ct));
        await store.LinkAccountAsync(new CorrelationLink("app", "svc", p, "admin:test", T0.AddHours(1)), audit, ct);

        var account = Assert.Single((await store.GetAccessMapsAsync([p], ct))[0].Accounts);
        Assert.Equal(CorrelationLink.RuleFor("admin:test"), account.CorrelationRule);
        Assert.Equal(p, Assert.Single(await store.ListLinksAsync("app", ct)).PersonId);
        Assert.Empty(await store.GetAccessAtAsync(p, T0.AddMinutes(30), ct));
        Assert.Single(await store.GetAccessAtAsync(p, T0.AddHours(2), ct));
    }

    [Fact]
    public async Task GetAccountAsync_DiscoveredAccount_IsFound_WithItsOwner_UnknownIsNull()
    {
        var (store, p) = await StoreAsync();
        await using var _ = store;
        var ct = CancellationToken.None;
        await store.ApplyDiscoveryAsync("app", Snapshot([Acct("svc", null), Acct("a1", p)], []), State(T0), [], ct);

        var orphan = await store.GetAccountAsync("app/svc", ct);
        Assert.NotNull(orphan);
        Assert.Equal(("app", "svc", (string?)null), (orphan.SystemId, orphan.ExternalId, orphan.PersonId));
        Assert.Equal(p, (await store.GetAccountAsync("app/a1", ct))?.PersonId);
        Assert.Null(await store.GetAccountAsync("app/nope", ct));
        Assert.Null(await store.GetAccountAsync("other/svc", ct));
    }

    [Fact]
    public async Task CompleteStepsAsync_VerifiedDisable_IsARevocation_ClosesHistory_CountsAFreedSeat()
    {
        var (store, p) = await StoreAsync();
        await using var _ = store;
        var ct = CancellationToken.None;
        await store.ApplyDiscoveryAsync("app", Snapshot([Acct("a1", p)], [Member("a1", "g1")]), State(T0), [], ct);
        var kase = new Case("C-rc-" + p, p, CaseKind.Leaver, "E", "r", "immediate", CaseStatus.Running, T0, T0, T0, T0, null, null, null);
        var step = new Step(kase.Id + ".001", kase.Id, 1, ActionKind.DisableAccount, StepCategory.AppAccess, "cut", "app", "app/a1", null, null, null, "a1",
            StepStatus.Pending, T0, 0, null, null, null, null, null, null, null, 0);
        await store.CreateCasesAsync([new Plan(kase, [step], [], [], [])], [], ct);
        var claimed = await store.ClaimDueStepsAsync(T0.AddHours(1), 10, ct);
        Assert.Single(claimed);
        await store.CompleteStepsAsync([new StepCompletion(step.Id, StepStatus.Verified, T0.AddHours(1), null, null, null, null, null, [])], T0.AddHours(1), ct);

        var revocation = Assert.Single(await store.GetRevocationsAsync("app", ct));
        Assert.Equal((ActionKind.DisableAccount, "app/a1", p), (revocation.Action, revocation.AccountId, revocation.PersonId));
        Assert.Contains(await store.GetAccessAtAsync(p, T0.AddMinutes(30), ct), r => r.EntitlementId is null && r.Status == AccountStatus.Active);
        Assert.Contains(await store.GetAccessAtAsync(p, T0.AddHours(2), ct), r => r.EntitlementId is null && r.Status == AccountStatus.Disabled);
        var usage = Assert.Single(await store.GetLicenceUsageAsync(ct));
        Assert.Equal((1, 0, 10m), (usage.RevokedSeats, usage.ActiveAccounts, usage.MonthlyFreed));
    }
}
