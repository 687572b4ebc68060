using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using Xunit;
using static Deprov.Testing.StoreContract.ContractData;

namespace Deprov.Testing.StoreContract;

/// <summary>
/// Cases, steps and the safety brake beyond the first suite: brake decisions, cancellation, dependencies, limits, legal
/// hold listing, exposure, statistics, and the promises that only show with several callers at once (one transaction per
/// call, one brake decision, one claim per step). One sealed subclass per store.
/// </summary>
public abstract class CaseStoreContractTests<TFactory>
    where TFactory : IStoreFactory, new()
{
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly TFactory _factory = new();

    private async Task<(IStore Store, string[] People)> StoreWithPeopleAsync(int count)
    {
        var store = await _factory.CreateAsync();
        var people = Enumerable.Range(0, count).Select(_ => Some.Id()).ToArray();
        await store.UpsertPeopleAsync([.. people.Select(p => Some.Person(p))], None);
        return (store, people);
    }

    [Fact]
    public async Task CreateCasesAsync_OnePlanFails_NothingOfTheCallIsStored_NotEvenItsAudit()
    {
        var (store, p) = await StoreWithPeopleAsync(1);
        await using var _ = store;
        var good = OneStep("C-good", p[0], T0);
        // The second plan reuses the first plan's step id: the store must refuse it, and with it the whole call.
        var bad = new Plan(NewCase("C-bad", p[0], T0), [good.Steps[0] with { CaseId = "C-bad" }], [], [], []);
        await store.AppendAuditAsync([Audit("before", p[0])], None);

        await Assert.ThrowsAnyAsync<DeprovException>(() => store.CreateCasesAsync([good, bad], [Audit("case_planned", p[0], "C-good"), Audit("case_planned", p[0], "C-bad")], None));

        Assert.Null(await store.GetCaseAsync("C-good", None));
        Assert.Null(await store.GetCaseAsync("C-bad", None));
        Assert.Empty(await store.GetStepsAsync("C-good", None));
        Assert.Empty(await store.ClaimDueStepsAsync(T0, 10, None));
        Assert.Equal(0, await CountAuditAsync(store, "case_planned"));

        // The refused call leaves no gap in the chain: the next record follows the last one kept.
        await store.AppendAuditAsync([Audit("after", p[0])], None);
        var chain = await ReadAllAsync(store.ReadAuditAsync(1, None));
        Assert.Equal([(1L, "before"), (2L, "after")], chain.Select(r => (r.Seq, r.Entry.Action)));
        var v = await store.VerifyAuditChainAsync(None);
        Assert.True(v.Ok, v.Problem);
    }

    [Fact]
    public async Task CreateCasesAsync_TwoPlansForOneEventInOneCall_KeepsTheFirstAndNamesIt()
    {
        var (store, p) = await StoreWithPeopleAsync(1);
        await using var _ = store;
        var first = OneStep("C-first", p[0], T0);
        var second = OneStep("C-second", p[0], T0) with { Case = NewCase("C-second", p[0], T0) with { EventId = first.Case.EventId } };

        var skipped = await store.CreateCasesAsync([first, second], [Audit("case_planned", p[0], "C-first"), Audit("case_planned", p[0], "C-second")], None);

        Assert.Equal(new Dictionary<string, string> { ["C-second"] = "C-first" }, skipped);
        Assert.Null(await store.GetCaseAsync("C-second", None));
        Assert.Empty(await store.GetStepsAsync("C-second", None));
        Assert.Equal(["C-first.001"], (await store.ClaimDueStepsAsync(T0, 10, None)).Select(c => c.Step.Id));
        Assert.Equal(["C-first"], (await store.SearchAuditAsync(new AuditQuery(Action: "case_planned"), None)).Select(r => r.Entry.CaseId));
    }

    [Fact]
    public async Task GetCaseAsync_UnknownIds_AreNullOrEmpty()
    {
        await using var store = await _factory.CreateAsync();
        Assert.Null(await store.GetCaseAsync("C-nope", None));
        Assert.Empty(await store.GetStepsAsync("C-nope", None));
        Assert.Empty(await store.GetDependenciesAsync("C-nope", None));
        Assert.Empty(await store.GetPersonStepsAsync("nobody", None));
        Assert.Empty(await store.ListCasesAsync(new CaseQuery(PersonId: "nobody"), None));
        Assert.Empty(await store.CancelOpenCasesAsync("nobody", "rehire", Audit("cancel_open_cases", "nobody"), T0, None));
        Assert.Null(await store.GetNextDueAsync(None));
    }

    [Fact]
    public async Task GetDependenciesAsync_HardRequirementsAndPhaseOrder_AsPlanned()
    {
        var (store, p) = await StoreWithPeopleAsync(1);
        await using var _ = store;
        var plan = new Plan(NewCase("C-d", p[0], T0),
        [
            NewStep("C-d", 1, StepStatus.Pending, T0, 0), NewStep("C-d", 2, StepStatus.Pending, T0, 0),
            NewStep("C-d", 3, StepStatus.Waiting, T0, 1, ActionKind.RemoveEntitlement),
            NewStep("C-d", 4, StepStatus.Waiting, T0, -1, ActionKind.DeleteAccount, "retention", category: StepCategory.Delete),
        ], [new StepDependency("C-d.004", "C-d.001", Hard: true)], [], []);
        await store.CreateCasesAsync([plan, OneStep("C-other", p[0], T0)], [], None);

        var stored = await store.GetDependenciesAsync("C-d", None);

        Assert.Equal(plan.AllDependencies().Order(EdgeOrder.Instance), stored.Order(EdgeOrder.Instance));
        Assert.Equal(3, stored.Count); // two soft phase edges, one hard requirement
        Assert.Empty(await store.GetDependenciesAsync("C-other", None));
    }

    [Fact]
    public async Task ListCasesAsync_FiltersByPersonAndStatus_WithinTheLimit()
    {
        var (store, p) = await StoreWithPeopleAsync(2);
        await using var _ = store;
        await store.CreateCasesAsync([OneStep("C-1", p[0], T0), OneStep("C-2", p[0], T0.AddMinutes(1)), OneStep("C-3", p[0], T0.AddMinutes(2)),
            OneStep("C-4", p[1], T0)], [], None);
        await store.CancelCasesAsync(["C-2"], "superseded", Audit("cancel_cases", p[0], "C-2"), T0.AddMinutes(3), None);

        Assert.Equal(["C-1", "C-2", "C-3"], (await store.ListCasesAsync(new CaseQuery(PersonId: p[0]), None)).Select(c => c.Id).Order(StringComparer.Ordinal));
        Assert.Equal(2, (await store.ListCasesAsync(new CaseQuery(PersonId: p[0], Limit: 2), None)).Count);
        Assert.Equal(["C-2"], (await store.ListCasesAsync(new CaseQuery(PersonId: p[0], Statuses: [CaseStatus.Cancelled]), None)).Select(c => c.Id));
        Assert.Equal(["C-1", "C-3", "C-4"], (await store.ListCasesAsync(new CaseQuery(Statuses: [CaseStatus.Running, CaseStatus.Verified]), None))
            .Select(c => c.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task ClaimDueStepsAsync_Max_ClaimsAtMostMaxPerCall_EveryDueStepExactlyOnce()
    {
        var (store, p) = await StoreWithPeopleAsync(1);
        await using var _ = store;
        var steps = Enumerable.Range(1, 5).Select(i => NewStep("C-m", i, StepStatus.Pending, T0.AddMinutes(-i))).Append(NewStep("C-m", 6, StepStatus.Pending, T0.AddHours(1))).ToList();
        await store.CreateCasesAsync([new Plan(NewCase("C-m", p[0], T0), steps, [], [], [])], [], None);

        var calls = new List<IReadOnlyList<ClaimedStep>>();
        for (var i = 0; i < 4; i++)
        {
            calls.Add(await store.ClaimDueStepsAsync(T0, 2, None));
        }

        Assert.Equal([2, 2, 1, 0], calls.Select(c => c.Count));
        Assert.Equal(steps.Take(5).Select(s => s.Id).Order(StringComparer.Ordinal), calls.SelectMany(c => c).Select(c => c.Step.Id).Order(StringComparer.Ordinal));
        Assert.Equal(T0.AddHours(1), await store.GetNextDueAsync(None));
    }

    [Fact]
    public async Task ClaimDueStepsAsync_ConcurrentClaimers_NeverClaimTheSameStepTwice()
    {
        var (store, p) = await StoreWithPeopleAsync(4);
        await using var _ = store;
        var plans = p.Select((person, k) => new Plan(NewCase($"C-{k}", person, T0),
            [.. Enumerable.Range(1, 10).Select(i => NewStep($"C-{k}", i, StepStatus.Pending, T0))], [], [], [])).ToList();
        await store.CreateCasesAsync(plans, [], None);

        // Four workers claim until nothing is left; nothing goes back to pending, so an empty claim means all are taken.
        var workers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
        {
            var mine = new List<string>();
            while (await store.ClaimDueStepsAsync(T0, 3, None) is { Count: > 0 } batch)
            {
                mine.AddRange(batch.Select(c => c.Step.Id));
            }

            return mine;
        })).ToList();
        var claimed = (await Task.WhenAll(workers)).SelectMany(x => x).ToList();

        Assert.Equal(40, claimed.Count);
        Assert.Equal(40, claimed.Distinct(StringComparer.Ordinal).Count());
        foreach (var plan in plans)
        {
            Assert.All(await store.GetStepsAsync(plan.Case.Id, None), s => Assert.Equal((StepStatus.Running, 1), (s.Status, s.Claims)));
        }
    }

    [Fact]
    public async Task CreateCasesBehindBrakeAsync_ConcurrentCallers_AdmitNoMoreLeaversThanTheThreshold()
    {
        var (store, p) = await StoreWithPeopleAsync(6);
        await using var _ = store;
        var brake = new Core.Policy.SafetyBrake(true, TimeSpan.FromHours(1), MaxPeople: 2, MaxShare: 1.0, MinPeople: 2);

        // Six submitters at once, one leaver each: whatever the interleaving, the count and the insert are one decision.
        var calls = p.Select(person => Task.Run(() =>
            store.CreateCasesBehindBrakeAsync([OneStep("C-" + person, person, T0)], [], new SafetyBrakeCheck(brake, T0), None))).ToList();
        var results = await Task.WhenAll(calls);

        Assert.Equal(2, results.Count(r => r.Tripped is null));
        var cases = await store.ListCasesAsync(new CaseQuery(Limit: 100), None);
        Assert.Equal(2, cases.Count(c => c.Status == CaseStatus.Running));
        Assert.Equal(4, cases.Count(c => c.Status == CaseStatus.AwaitingApproval));
        Assert.Equal(2, (await store.ClaimDueStepsAsync(T0, 100, None)).Count);
        Assert.Equal(4, await CountAuditAsync(store, "safety_brake_tripped"));
    }

    [Fact]
    public async Task CountLeaverCasesSinceAsync_LeaverCasesCreatedFromThatMoment_NotOtherKinds_NotCancelled()
    {
        var (store, p) = await StoreWithPeopleAsync(4);
        await using var _ = store;
        await store.CreateCasesAsync([
            OneStep("C-early", p[0], T0), OneStep("C-late", p[1], T0.AddHours(1)), OneStep("C-mover", p[2], T0.AddHours(1), CaseKind.Mover),
            OneStep("C-cancelled", p[3], T0.AddHours(2)),
        ], [], None);
        await store.CancelCasesAsync(["C-cancelled"], "termination cancelled", Audit("cancel_cases", p[3], "C-cancelled"), T0.AddHours(2), None);

        Assert.Equal(2, await store.CountLeaverCasesSinceAsync(T0, None));
        Assert.Equal(1, await store.CountLeaverCasesSinceAsync(T0.AddHours(1), None)); // the moment itself is inside
        Assert.Equal(0, await store.CountLeaverCasesSinceAsync(T0.AddHours(1).AddTicks(10), None));
    }

    [Fact]
    public async Task DecideBrakedCasesAsync_ApproveNamedThenRejectTheRest_EachDecisionOnceAndAudited()
    {
        var (store, p) = await StoreWithPeopleAsync(4);
        await using var _ = store;
        var held = new SafetyBrakeCheck(Core.Policy.SafetyBrake.Default, T0, Force: "held for the test");
        var plans = p.Take(3).Select(person => OneStep("C-" + person, person, T0) with
        {
            Tasks = [OpenTask("T-" + person, "C-" + person, person, T0.AddDays(1))],
        }).ToList();
        await store.CreateCasesBehindBrakeAsync(plans, [], held, None);
        await store.CreateCasesAsync([OneStep("C-free", p[3], T0)], [], None);
        Assert.Equal(["C-free"], (await store.ClaimDueStepsAsync(T0, 10, None)).Select(c => c.Step.CaseId));

        var approved = await store.DecideBrakedCasesAsync(["C-" + p[0], "C-free", "C-nope"], approve: true, "admin:alice", T0.AddMinutes(1), None);

        Assert.Equal(["C-" + p[0]], approved);
        Assert.Equal(CaseStatus.Running, (await store.GetCaseAsync("C-" + p[0], None))!.Status);
        Assert.Equal(["C-" + p[0]], (await store.ClaimDueStepsAsync(T0.AddMinutes(1), 10, None)).Select(c => c.Step.CaseId));
        Assert.Empty(await store.DecideBrakedCasesAsync(["C-" + p[0]], approve: true, "admin:alice", T0.AddMinutes(2), None));

        var rejected = await store.DecideBrakedCasesAsync(null, approve: false, "admin:bob", T0.AddMinutes(3), None);

        Assert.Equal(["C-" + p[1], "C-" + p[2]], rejected.Order(StringComparer.Ordinal));
        foreach (var id in rejected)
        {
            Assert.Equal(CaseStatus.Cancelled, (await store.GetCaseAsync(id, None))!.Status);
            Assert.All(await store.GetStepsAsync(id, None), s => Assert.Equal(StepStatus.Cancelled, s.Status));
        }

        Assert.Empty(await store.ClaimDueStepsAsync(T0.AddDays(1), 10, None));
        Assert.Equal(["T-" + p[0]], (await store.ListTasksAsync(new TaskQuery(), None)).Select(t => t.Id));
        Assert.Empty(await store.DecideBrakedCasesAsync(null, approve: true, "admin:alice", T0.AddMinutes(4), None));
        Assert.Equal(CaseStatus.Running, (await store.GetCaseAsync("C-free", None))!.Status);

        // One audit record per case decided, naming who decided.
        var audit = await store.SearchAuditAsync(new AuditQuery(Limit: 1000), None);
        Assert.Equal(["admin:alice"], audit.Where(r => r.Entry.CaseId == "C-" + p[0] && r.Entry.Actor.StartsWith("admin:", StringComparison.Ordinal)).Select(r => r.Entry.Actor));
        Assert.All(rejected, id => Assert.Single(audit, r => r.Entry.CaseId == id && r.Entry.Actor == "admin:bob"));
        Assert.DoesNotContain(audit, r => r.Entry.CaseId == "C-free" && r.Entry.Actor.StartsWith("admin:", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CancelCasesAsync_NamedCase_CancelsUnfinishedStepsAndTasks_KeepsFinishedStepsAndOtherCases()
    {
        var (store, p) = await StoreWithPeopleAsync(1);
        await using var _ = store;
        await store.CreateCasesAsync([
            new Plan(NewCase("C-a", p[0], T0), [NewStep("C-a", 1, StepStatus.Pending, T0, 0), NewStep("C-a", 2, StepStatus.Waiting, T0, 1)], [],
                [OpenTask("T-a", "C-a", p[0], T0.AddDays(1))], []),
            new Plan(NewCase("C-b", p[0], T0), [NewStep("C-b", 1, StepStatus.Pending, T0.AddDays(1))], [], [OpenTask("T-b", "C-b", p[0], T0.AddDays(1))], []),
        ], [], None);
        Assert.Equal(["C-a.001"], (await store.ClaimDueStepsAsync(T0, 10, None)).Select(c => c.Step.Id));
        await store.CompleteStepsAsync([Finished("C-a.001", StepStatus.Verified, T0)], T0, None);

        await store.CancelCasesAsync(["C-a"], "superseded by a newer move", Audit("cancel_cases", p[0], "C-a", "admin:alice"), T0.AddMinutes(5), None);

        var a = await store.GetCaseAsync("C-a", None);
        Assert.Equal(CaseStatus.Cancelled, a!.Status);
        var steps = await store.GetStepsAsync("C-a", None);
        Assert.Equal(StepStatus.Verified, steps.Single(s => s.Seq == 1).Status);
        Assert.Equal(StepStatus.Cancelled, steps.Single(s => s.Seq == 2).Status);
        Assert.Equal(["T-b"], (await store.ListTasksAsync(new TaskQuery(PersonId: p[0]), None)).Select(t => t.Id));
        Assert.Equal(CaseStatus.Running, (await store.GetCaseAsync("C-b", None))!.Status);
        Assert.Equal(["C-b.001"], (await store.ClaimDueStepsAsync(T0.AddDays(1), 10, None)).Select(c => c.Step.Id));
        Assert.Equal(1, await CountAuditAsync(store, "cancel_cases"));
    }

    [Fact]
    public async Task CancelOpenCasesAsync_LeavesFinishedCasesAndOtherPeopleAlone()
    {
        var (store, p) = await StoreWithPeopleAsync(2);
        await using var _ = store;
        await store.CreateCasesAsync([OneStep("C-done", p[0], T0), OneStep("C-open", p[0], T0.AddDays(3)), OneStep("C-theirs", p[1], T0.AddDays(3))], [], None);
        await store.ClaimDueStepsAsync(T0, 10, None);
        await store.CompleteStepsAsync([Finished("C-done.001", StepStatus.Verified, T0)], T0, None);
        Assert.Equal(CaseStatus.Verified, (await store.GetCaseAsync("C-done", None))!.Status);

        var cancelled = await store.CancelOpenCasesAsync(p[0], "rehire", Audit("cancel_open_cases", p[0]), T0.AddMinutes(1), None);

        Assert.Equal(["C-open"], cancelled);
        Assert.Equal(CaseStatus.Verified, (await store.GetCaseAsync("C-done", None))!.Status);
        Assert.Equal(CaseStatus.Running, (await store.GetCaseAsync("C-theirs", None))!.Status);
        Assert.Empty(await store.CancelOpenCasesAsync(p[0], "rehire again", Audit("cancel_open_cases", p[0]), T0.AddMinutes(2), None));
    }

    [Fact]
    public async Task GetPersonStepsAsync_FinishedStepsOfEveryCaseOfThePerson_NoOneElses()
    {
        var (store, p) = await StoreWithPeopleAsync(2);
        await using var _ = store;
        await store.CreateCasesAsync([
            new Plan(NewCase("C-1", p[0], T0), [NewStep("C-1", 1, StepStatus.Pending, T0, -1), NewStep("C-1", 2, StepStatus.Pending, T0, -1)], [], [], []),
            OneStep("C-2", p[0], T0), OneStep("C-3", p[1], T0),
        ], [], None);
        await store.ClaimDueStepsAsync(T0, 10, None);
        await store.CompleteStepsAsync([
            Finished("C-1.001", StepStatus.Verified, T0), Finished("C-2.001", StepStatus.Failed, T0), Finished("C-3.001", StepStatus.Verified, T0),
        ], T0, None);

        var steps = await store.GetPersonStepsAsync(p[0], None);

        Assert.Contains(steps, s => s.Id == "C-1.001" && s.Status == StepStatus.Verified && s.Before == "{\"active\":\"true\"}");
        Assert.Contains(steps, s => s.Id == "C-2.001" && s.Status == StepStatus.Failed);
        Assert.DoesNotContain(steps, s => s.CaseId == "C-3");
    }

    [Fact]
    public async Task ListLegalHoldsAsync_ActiveHoldsNewestFirst_WithinTheLimit_ReleasedOnesLeftOut()
    {
        var (store, p) = await StoreWithPeopleAsync(2);
        await using var _ = store;
        LegalHold[] holds =
        [
            new("H-1", p[0], null, "litigation 1", "admin:legal", T0),
            new("H-2", p[1], null, "litigation 2", "admin:legal", T0.AddHours(1)),
            new("H-3", p[0], "a", "audit 3", "admin:audit", T0.AddHours(2)),
        ];
        foreach (var h in holds)
        {
            Assert.Equal(h, await store.SetLegalHoldAsync(h, Audit("legal_hold_set", h.PersonId), None));
        }

        Assert.Equal([holds[2], holds[1], holds[0]], await store.ListLegalHoldsAsync(10, None));
        Assert.Equal([holds[2], holds[1]], await store.ListLegalHoldsAsync(2, None));

        Assert.Equal(1, await store.ReleaseLegalHoldAsync(p[0], "a", Audit("legal_hold_released", p[0]), T0.AddHours(3), None));
        Assert.Equal([holds[1], holds[0]], await store.ListLegalHoldsAsync(10, None));
        Assert.Equal(1, await store.ReleaseLegalHoldAsync(p[0], null, Audit("legal_hold_released", p[0]), T0.AddHours(3), None));
        Assert.Equal(0, await store.ReleaseLegalHoldAsync(p[0], null, Audit("legal_hold_released", p[0]), T0.AddHours(4), None));
        Assert.Equal([holds[1]], await store.ListLegalHoldsAsync(10, None));
        Assert.Equal(3, await CountAuditAsync(store, "legal_hold_set"));
    }

    [Fact]
    public async Task ReleaseLegalHoldAsync_OneSystem_ReleasesOnlyThatSystemsHeldSteps()
    {
        var (store, p) = await StoreWithPeopleAsync(1);
        await using var _ = store;
        await store.CreateCasesAsync([new Plan(NewCase("C-h", p[0], T0), [
            NewStep("C-h", 1, StepStatus.Pending, T0, -1, ActionKind.DeleteAccount, "retention", "a", StepCategory.Delete),
            NewStep("C-h", 2, StepStatus.Pending, T0, -1, ActionKind.DeleteAccount, "retention", "b", StepCategory.Delete),
        ], [], [], [])], [], None);
        await store.SetLegalHoldAsync(new LegalHold("H-a", p[0], "a", "litigation", "admin:legal", T0), Audit("legal_hold_set", p[0]), None);
        await store.SetLegalHoldAsync(new LegalHold("H-b", p[0], "b", "litigation", "admin:legal", T0), Audit("legal_hold_set", p[0]), None);
        Assert.Empty(await store.ClaimDueStepsAsync(T0, 10, None));
        Assert.Equal(2, (await store.GetStatisticsAsync(T0, None)).HeldSteps);

        Assert.Equal(1, await store.ReleaseLegalHoldAsync(p[0], "a", Audit("legal_hold_released", p[0]), T0.AddHours(1), None));

        var steps = await store.GetStepsAsync("C-h", None);
        Assert.Equal((StepStatus.Pending, StepStatus.Held), (steps.Single(s => s.Seq == 1).Status, steps.Single(s => s.Seq == 2).Status));
        Assert.Equal(["C-h.001"], (await store.ClaimDueStepsAsync(T0.AddHours(1), 10, None)).Select(c => c.Step.Id));
        Assert.Equal(StepStatus.Held, (await store.GetStepsAsync("C-h", None)).Single(s => s.Seq == 2).Status);
    }

    [Fact]
    public async Task GetExposureSeriesAsync_VerifiedCutsOldestFirst_SinceLeavesOutEarlierOnes()
    {
        var (store, p) = await StoreWithPeopleAsync(2);
        await using var _ = store;
        var (t1, t2) = (T0, T0.AddHours(1));
        await store.CreateCasesAsync([OneStep("C-1", p[0], t1), OneStep("C-2", p[1], t2)], [], None);
        await store.ClaimDueStepsAsync(t2, 10, None);
        // Finished in the other order than created: the series follows the moment each cut was verified.
        await store.CompleteStepsAsync([Finished("C-2.001", StepStatus.Verified, t2.AddMilliseconds(100))], t2.AddMilliseconds(100), None);
        await store.CompleteStepsAsync([Finished("C-1.001", StepStatus.Verified, t1.AddMilliseconds(300))], t1.AddMilliseconds(300), None);

        Assert.Equal([new ExposurePoint(t1.AddMilliseconds(300), 300), new ExposurePoint(t2.AddMilliseconds(100), 100)], await store.GetExposureSeriesAsync(t1, None));
        Assert.Equal([new ExposurePoint(t2.AddMilliseconds(100), 100)], await store.GetExposureSeriesAsync(t1.AddMinutes(1), None));
        Assert.Empty(await store.GetExposureSeriesAsync(t2.AddMinutes(1), None));
        Assert.Equal([100.0, 300.0], (await store.GetExposureWindowsAsync(null, None)).Order());
        Assert.Equal([100.0], await store.GetExposureWindowsAsync(t1.AddMinutes(1), None));
    }

    [Fact]
    public async Task GetStatisticsAsync_CountsAtTheMomentGiven()
    {
        var (store, p) = await StoreWithPeopleAsync(2);
        await using var _ = store;
        await store.CreateCasesAsync([
            new Plan(NewCase("C-1", p[0], T0), [NewStep("C-1", 1, StepStatus.Pending, T0, 0), NewStep("C-1", 2, StepStatus.Waiting, T0, 1)], [],
                [OpenTask("T-1", "C-1", p[0], T0.AddDays(1))], []),
            OneStep("C-2", p[1], T0.AddDays(2)),
        ], [], None);
        await store.RecordEventsAsync([new EventRecord(Some.Leave("ghost", T0, key: "k-ghost") with { Id = "E-ghost", ReceivedAt = T0 }, "unknown person",
            Audit("event_parked", "ghost"))], None);

        var now = await store.GetStatisticsAsync(T0, None);
        Assert.Equal(2, now.CasesByStatus[CaseStatus.Running]);
        Assert.Equal((1, 1, 0, 0, 3, 0), (now.ParkedEvents, now.OpenTasks, now.OverdueTasks, now.FailedSteps, now.PendingSteps, now.HeldSteps));
        Assert.Equal((await store.VerifyAuditChainAsync(None)).Records, now.AuditRecords);

        // The same data seen two days later: the task is overdue. Nothing in the store moved.
        Assert.Equal(1, (await store.GetStatisticsAsync(T0.AddDays(2), None)).OverdueTasks);
    }

    [Fact]
    public async Task GetPersonProfileAsync_Limit_KeepsTheNewestCasesAndHistory()
    {
        var (store, p) = await StoreWithPeopleAsync(1);
        await using var _ = store;
        await store.CreateCasesAsync([OneStep("C-1", p[0], T0), OneStep("C-2", p[0], T0.AddMinutes(1)), OneStep("C-3", p[0], T0.AddMinutes(2))],
            [Audit("a1", p[0], "C-1"), Audit("a2", p[0], "C-2"), Audit("a3", p[0], "C-3")], None);

        var profile = await store.GetPersonProfileAsync(p[0], 2, None);

        Assert.Equal(["C-3", "C-2"], profile!.Cases.Select(c => c.Id));
        Assert.Equal(["a3", "a2"], profile.History.Select(h => h.Entry.Action));
    }

    private sealed class EdgeOrder : IComparer<StepDependency>
    {
        public static readonly EdgeOrder Instance = new();

        public int Compare(StepDependency? x, StepDependency? y) =>
            string.CompareOrdinal($"{x?.StepId}>{x?.DependsOn}>{x?.Hard}", $"{y?.StepId}>{y?.DependsOn}>{y?.Hard}");
    }
}
