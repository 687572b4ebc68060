using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using Xunit;
using TaskStatus = Deprov.Core.Model.TaskStatus;

namespace Deprov.Testing.StoreContract;

// The contract suites, one sealed subclass each per store: Core (StoreContractTests), Access, Recon(ciliation), Case and
// Records. Every IStore method, and the test that is about it (+ how many other tests call it):
//
// MigrateAsync                   Core.MigrateAsync_RunTwice_KeepsSchemaVersion
// GetSchemaVersionAsync          Core.MigrateAsync_RunTwice_KeepsSchemaVersion
// UpsertPeopleAsync              Core.UpsertPeopleAsync_ThenGet_RoundTripsEveryField (+54)
// GetPersonAsync                 Core.UpsertPeopleAsync_ThenGet_RoundTripsEveryField (+1)
// ListPeopleAsync                Records.ListPeopleAsync_PagesCoverEveryoneExactlyOnce_CountPeopleCountsThem
// CountPeopleAsync               Records.ListPeopleAsync_PagesCoverEveryoneExactlyOnce_CountPeopleCountsThem
// SetPersonStatusesAsync         Records.SetPersonStatusesAsync_AuditsOnlyPeopleWhoseStatusChanged (+1)
// ApplyDueLeavesAsync            Core.PersonStatuses_FollowEvents_UpsertKeepsThem_DueLeavesTurnLeft (+1)
// UpsertSystemsAsync             Records.UpsertSystemsAsync_ThenList_RoundTripsEveryField_AndReplaces (+12)
// ListSystemsAsync               Records.UpsertSystemsAsync_ThenList_RoundTripsEveryField_AndReplaces
// ReplaceInventoryAsync          Core.ReplaceInventoryAsync_TwoSystems_ReplacesOnlyTheNamedOne (+1)
// GetAccessMapsAsync             Core.GetAccessMapsAsync_SeveralPeople_EachGetsOnlyTheirOwnAccessInTheOrderAsked (+6)
// GetPersonProfileAsync          Case.GetPersonProfileAsync_Limit_KeepsTheNewestCasesAndHistory (+2)
// ApplyDiscoveryAsync            Recon.ApplyDiscoveryAsync_MembershipsInterleavedAcrossAccounts_EachAccountKeepsItsOwn (+8)
// GetDiscoveryStateAsync         Recon.ApplyDiscoveryAsync_NullSnapshot_RecordsOnlyTheState
// GetRevocationsAsync            Recon.CompleteStepsAsync_VerifiedDisable_IsARevocation_ClosesHistory_CountsAFreedSeat
// RecordFindingsAsync            Recon.RecordFindingsAsync_SeenAgain_KeepsFirstSeen_NotSeen_Resolves_Recurrence_IsNew (+2)
// ListFindingsAsync              Recon.RecordFindingsAsync_SeenAgain_KeepsFirstSeen_NotSeen_Resolves_Recurrence_IsNew (+2)
// RaiseFindingAsync              Recon.RaiseFindingAsync_LeavesOtherFindingsOpen_RaisedAgainKeepsFirstSeen_ResolvedByTheNextDetectionPass
// RecordReactionsAsync           Recon.RecordReactionsAsync_WithTask_StoresReactionAndTask
// LinkAccountAsync               Recon.LinkAccountAsync_KnownPerson_TiesTheAccountNow_UnknownPerson_Throws
// ListLinksAsync                 Recon.LinkAccountAsync_KnownPerson_TiesTheAccountNow_UnknownPerson_Throws
// GetAccountAsync                Recon.GetAccountAsync_DiscoveredAccount_IsFound_WithItsOwner_UnknownIsNull (+2)
// GetAccessAtAsync               Recon.ApplyDiscoveryAsync_AccountColumnsAndIdArrays_WriteTheSameRowsAndHistoryAsObjects (+4)
// GetLicenceUsageAsync           Recon.CompleteStepsAsync_VerifiedDisable_IsARevocation_ClosesHistory_CountsAFreedSeat
// RecordEventsAsync              Core.RecordEventsAsync_SameIdempotencyKeyTwice_RecordsOnce (+7)
// ListParkedEventsAsync          Core.RecordEventsAsync_Parked_IsListedUntilResolved (+1)
// GetEventByKeyAsync             Records.GetEventByKeyAsync_TheFirstEventRecordedUnderTheKey_EveryField_UnknownKeyIsNull (+2)
// ResolveParkedEventAsync        Records.ResolveParkedEventAsync_NoLongerParked_WithItsAuditRecord (+1)
// MarkEventHandledAsync          Records.MarkEventHandledAsync_TheEventIsNoLongerUnplanned_Twice_ChangesNothingMore
// ListUnhandledEventsAsync       Core.RecordEventsAsync_SameIdempotencyKeyTwice_RecordsOnce (+3)
// GetUnplannedEventsAsync        Core.GetUnplannedEventsAsync_CountsRecordedEventsUntilTheirCaseExists (+2)
// CreateCasesAsync               Case.CreateCasesAsync_OnePlanFails_NothingOfTheCallIsStored_NotEvenItsAudit (+30)
// CreateCasesBehindBrakeAsync    Case.CreateCasesBehindBrakeAsync_ConcurrentCallers_AdmitNoMoreLeaversThanTheThreshold (+2)
// GetCaseAsync                   Case.GetCaseAsync_UnknownIds_AreNullOrEmpty (+10)
// ListCasesAsync                 Case.ListCasesAsync_FiltersByPersonAndStatus_WithinTheLimit (+3)
// GetStepsAsync                  Case.CreateCasesAsync_OnePlanFails_NothingOfTheCallIsStored_NotEvenItsAudit (+12)
// GetDependenciesAsync           Case.GetDependenciesAsync_HardRequirementsAndPhaseOrder_AsPlanned (+1)
// ClaimDueStepsAsync             Case.ClaimDueStepsAsync_Max_ClaimsAtMostMaxPerCall_EveryDueStepExactlyOnce (+23)
// RecordPreReadsAsync            Core.RecordPreReadsAsync_FirstRecordKept_ShownAsBeforeUntilTheStepFinishesWithItsOwn
// RecoverRunningStepsAsync       Core.RecoverRunningStepsAsync_AfterCrash_RequeuesRunningSteps
// GetNextDueAsync                Case.GetCaseAsync_UnknownIds_AreNullOrEmpty (+2)
// CompleteStepsAsync             Core.CompleteStepsAsync_FailedStep_ReleasesNextPhaseAndRaisesTask (+12)
// CountLeaverCasesSinceAsync     Case.CountLeaverCasesSinceAsync_LeaverCasesCreatedFromThatMoment_NotOtherKinds_NotCancelled
// DecideBrakedCasesAsync         Case.DecideBrakedCasesAsync_ApproveNamedThenRejectTheRest_EachDecisionOnceAndAudited
// CancelCasesAsync               Case.CancelCasesAsync_NamedCase_CancelsUnfinishedStepsAndTasks_KeepsFinishedStepsAndOtherCases (+2)
// CancelOpenCasesAsync           Case.CancelOpenCasesAsync_LeavesFinishedCasesAndOtherPeopleAlone (+2)
// GetPersonStepsAsync            Case.GetPersonStepsAsync_FinishedStepsOfEveryCaseOfThePerson_NoOneElses (+1)
// ListTasksAsync                 Case.DecideBrakedCasesAsync_ApproveNamedThenRejectTheRest_EachDecisionOnceAndAudited (+4)
// CompleteTaskAsync              Core.CompleteStepsAsync_HardRequirementFails_BlocksDependantUntilTaskDone (+1)
// SetLegalHoldAsync              Case.ListLegalHoldsAsync_ActiveHoldsNewestFirst_WithinTheLimit_ReleasedOnesLeftOut (+3)
// ListLegalHoldsAsync            Case.ListLegalHoldsAsync_ActiveHoldsNewestFirst_WithinTheLimit_ReleasedOnesLeftOut
// ReleaseLegalHoldAsync          Case.ReleaseLegalHoldAsync_OneSystem_ReleasesOnlyThatSystemsHeldSteps (+2)
// AppendAuditAsync               Core.AppendAuditAsync_ManyWrites_FormOneVerifiableChain (+5)
// ReadAuditAsync                 Records.ReadAuditAsync_FromASequence_StartsThere_PersonRecordsInSequenceOrder (+3)
// VerifyAuditChainAsync          Core.VerifyAuditChainAsync_EmptyStore_IsOk (+5)
// ReadPersonAuditAsync           Core.CompleteStepsAsync_AllCutsVerified_CaseVerifiedWithExposureWindow (+3)
// SearchAuditAsync               Access.SearchAuditAsync_FiltersAndPages_NewestFirst (+13)
// CreateUserAsync                Access.CreateUserAsync_ThenFind_RoundTripsCaseInsensitively (+1)
// FindUserAsync                  Access.CreateUserAsync_ThenFind_RoundTripsCaseInsensitively (+1)
// ListUsersAsync                 Access.CreateUserAsync_ThenFind_RoundTripsCaseInsensitively
// CountUsersAsync                Access.CreateUserAsync_ThenFind_RoundTripsCaseInsensitively
// CreateApiKeyAsync              Access.CreateApiKeyAsync_FindByHash_ReturnsKeyAndAuditsCreation (+3)
// FindApiKeyByHashAsync          Access.CreateApiKeyAsync_FindByHash_ReturnsKeyAndAuditsCreation (+2)
// TouchApiKeyAsync               Access.TouchApiKeyAsync_RecordsLastUse_NeverGoesBack
// RevokeApiKeyAsync              Access.RevokeApiKeyAsync_Twice_RevokesOnceAndAuditsOnce
// ListApiKeysAsync               Access.CreateApiKeyAsync_DuplicateId_ThrowsAndKeepsTheFirstKeyWithoutAuditingTheSecond (+1)
// GetStatisticsAsync             Case.GetStatisticsAsync_CountsAtTheMomentGiven (+3)
// GetExposureWindowsAsync        Case.GetExposureSeriesAsync_VerifiedCutsOldestFirst_SinceLeavesOutEarlierOnes (+1)
// GetExposureSeriesAsync         Case.GetExposureSeriesAsync_VerifiedCutsOldestFirst_SinceLeavesOutEarlierOnes
//
// The promises of IStore's doc comments that no single method owns:
//   one transaction per call, nothing half-written   Case.CreateCasesAsync_OnePlanFails_…, Access.CreateUserAsync_NameTaken_…
//   audit written with the change (and only then)    Records.SetPersonStatusesAsync_…, Records.GetEventByKeyAsync_…,
//                                                    Access.CreateApiKeyAsync_DuplicateId_…, Case.DecideBrakedCasesAsync_…
//   limits and paging                                Records.ListPeopleAsync_…, Case.ClaimDueStepsAsync_Max_…, Case.ListCasesAsync_…,
//                                                    Case.ListLegalHoldsAsync_…, Case.GetPersonProfileAsync_Limit_…, Access.SearchAuditAsync_…
//   documented orders                                Case.GetExposureSeriesAsync_…, Case.ListLegalHoldsAsync_…, Records.ReadAuditAsync_…,
//                                                    Core.GetAccessMapsAsync_…_InTheOrderAsked
//   unknown ids                                      Case.GetCaseAsync_UnknownIds_…, Records.GetEventByKeyAsync_…, Recon.GetAccountAsync_…
//   idempotency, first record kept                   Core.CreateCasesAsync_SecondPlanForTheSameEvent_…, Core.RecordPreReadsAsync_…,
//                                                    Case.CreateCasesAsync_TwoPlansForOneEventInOneCall_…, Records.RecordEventsAsync_SameKeyTwice…,
//                                                    Records.MarkEventHandledAsync_…, Access.RevokeApiKeyAsync_Twice_…
//   one decision under concurrent callers            Case.CreateCasesBehindBrakeAsync_ConcurrentCallers_…,
//                                                    Case.ClaimDueStepsAsync_ConcurrentClaimers_…, Records.AppendAuditAsync_ConcurrentWriters_…
//   time is the `now` passed in                      Case.GetStatisticsAsync_CountsAtTheMomentGiven, Case.CountLeaverCasesSinceAsync_…
// No test relies on an order IStore does not promise, on case-sensitive text comparison, or on SQLite's type affinity.

/// <summary>Creates a fresh, migrated, empty store per test.</summary>
public interface IStoreFactory
{
    Task<IStore> CreateAsync();
}

/// <summary>
/// The behaviour every <see cref="IStore"/> must have. Written once; each store's test project derives a sealed class
/// that supplies the store.
/// </summary>
public abstract class StoreContractTests<TFactory>
    where TFactory : IStoreFactory, new()
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    private readonly TFactory _factory = new();

    private static AuditEntry Audit(string action, string? person = null, string? caseId = null) =>
        new(T0, "deprov", action, null, null, person, caseId, null, null, null, "ok", null);

    private static Step NewStep(string caseId, int seq, ActionKind action, StepStatus status, DateTimeOffset due, int phase = 0, string stage = "cut",
        string? account = null, string? system = "sys", StepCategory category = StepCategory.AppAccess) =>
        new($"{caseId}.{seq:D3}", caseId, seq, action, category, stage, system, account, null, null, null, $"target{seq}", status, due, 0, null, null, null, null, null, null, null, phase);

    private static Case NewCase(string id, string person, DateTimeOffset cutAt) =>
        new(id, person, CaseKind.Leaver, "E-" + id, "rule", "immediate", CaseStatus.Running, cutAt, cutAt, cutAt, cutAt, null, null, null);

    private static StepCompletion Done(string stepId, StepStatus status, DateTimeOffset at, TaskItem? task = null) =>
        new(stepId, status, at, "{\"active\":\"true\"}", "{\"active\":\"false\"}", status == StepStatus.Failed ? "refused" : null, null, task,
            [new AuditEntry(at, "deprov", "disable_account", "sys", stepId, null, null, stepId, null, null, status == StepStatus.Verified ? "ok" : "failed", null)]);

    private async Task<IStore> StoreWithPersonAsync(string personId)
    {
        var store = await _factory.CreateAsync();
        await store.UpsertPeopleAsync([Some.Person(personId)], CancellationToken.None);
        return store;
    }

    [Fact]
    public async Task MigrateAsync_RunTwice_KeepsSchemaVersion()
    {
        await using var store = await _factory.CreateAsync();
        var version = await store.GetSchemaVersionAsync(CancellationToken.None);
        await store.MigrateAsync(CancellationToken.None);
        Assert.True(version >= 1);
        Assert.Equal(version, await store.GetSchemaVersionAsync(CancellationToken.None));
    }

    [Fact]
    public async Task RecordHrSourceRunAsync_ThenGet_RoundTripsStateAndAppendsAudit()
    {
        await using var store = await _factory.CreateAsync();
        Assert.Null(await store.GetHrSourceStateAsync("bamboo", CancellationToken.None));
        var first = new Core.HrSources.HrSourceState("bamboo", "2026-11-22T08:55:00Z", T0, T0.AddSeconds(-3), T0.AddSeconds(-3), 812, null);
        await store.RecordHrSourceRunAsync(first, [Audit("hr_sync")], CancellationToken.None);
        var failed = first with { LastRunAt = T0.AddMinutes(5), LastError = "the full listing was empty" };
        await store.RecordHrSourceRunAsync(failed, [Audit("hr_sync")], CancellationToken.None);

        Assert.Equal(failed, await store.GetHrSourceStateAsync("bamboo", CancellationToken.None));
        Assert.Null(await store.GetHrSourceStateAsync("other", CancellationToken.None));
        Assert.Equal(2, (await store.SearchAuditAsync(new AuditQuery(Action: "hr_sync"), CancellationToken.None)).Count);
    }

    [Fact]
    public async Task UpsertPeopleAsync_ThenGet_RoundTripsEveryField()
    {
        await using var store = await _factory.CreateAsync();
        var p = Some.Person(worker: WorkerType.Contractor, manager: "p-boss", timeZone: "Europe/Paris") with { EndDate = new DateOnly(2026, 12, 31), StartDate = new DateOnly(2024, 1, 2) };
        await store.UpsertPeopleAsync([p], CancellationToken.None);
        Assert.Equal(p, await store.GetPersonAsync(p.Id, CancellationToken.None));
        await store.UpsertPeopleAsync([p with { Department = "Sales" }], CancellationToken.None);
        Assert.Equal("Sales", (await store.GetPersonAsync(p.Id, CancellationToken.None))!.Department);
        Assert.Null(await store.GetPersonAsync("nobody", CancellationToken.None));
    }

    [Fact]
    public async Task PersonStatuses_FollowEvents_UpsertKeepsThem_DueLeavesTurnLeft()
    {
        await using var store = await _factory.CreateAsync();
        var (p1, p2) = (Some.Id(), Some.Id());
        await store.UpsertPeopleAsync([Some.Person(p1), Some.Person(p2)], CancellationToken.None);
        await store.SetPersonStatusesAsync([
            new PersonStatusChange(p1, PersonStatus.Left, T0, "E1", "leave"),
            new PersonStatusChange(p2, PersonStatus.Leaving, T0.AddDays(2), "E2", "leave"),
            new PersonStatusChange("nobody", PersonStatus.Left, T0, "E3", "leave"),
        ], T0, CancellationToken.None);
        await store.UpsertPeopleAsync([Some.Person(p1) with { Title = "Other" }], CancellationToken.None);
        Assert.Equal(PersonStatus.Left, (await store.GetPersonAsync(p1, CancellationToken.None))!.Status);
        Assert.Equal((0, (DateTimeOffset?)T0.AddDays(2)), await store.ApplyDueLeavesAsync(T0.AddDays(1), CancellationToken.None));
        Assert.Equal(PersonStatus.Leaving, (await store.GetPersonAsync(p2, CancellationToken.None))!.Status);
        Assert.Equal((1, (DateTimeOffset?)null), await store.ApplyDueLeavesAsync(T0.AddDays(2), CancellationToken.None));
        Assert.Equal(PersonStatus.Left, (await store.GetPersonAsync(p2, CancellationToken.None))!.Status);
        Assert.Null(await store.GetPersonAsync("nobody", CancellationToken.None));
    }

    [Fact]
    public async Task DecideBrakedCasesAsync_Reject_PutsBackTheStatusBeforeTheCasesEvent_UnlessALaterEventSetIt()
    {
        await using var store = await _factory.CreateAsync();
        var (p1, p2) = (Some.Id(), Some.Id());
        await store.UpsertPeopleAsync([Some.Person(p1), Some.Person(p2)], CancellationToken.None);
        // p1 was already leaving (an earlier event, effective in 5 days); the held case's event makes them left now.
        await store.SetPersonStatusesAsync([new PersonStatusChange(p1, PersonStatus.Leaving, T0.AddDays(5), "E-0", "leave")], T0, CancellationToken.None);
        Plan Held(string caseId, string person) => new(NewCase(caseId, person, T0), [NewStep(caseId, 1, ActionKind.DisableAccount, StepStatus.Pending, T0)], [], [], [])
        {
            PersonStatus = new PersonStatusChange(person, PersonStatus.Left, T0, "E-" + caseId, "leave"),
        };
        await store.CreateCasesBehindBrakeAsync([Held("C-1", p1), Held("C-2", p2)], [], new SafetyBrakeCheck(Core.Policy.SafetyBrake.Default, T0, Force: "held"), CancellationToken.None);
        Assert.Equal(PersonStatus.Left, (await store.GetPersonAsync(p1, CancellationToken.None))!.Status);
        // The same event written again (a re-run after a crash) keeps what its first write replaced.
        await store.SetPersonStatusesAsync([new PersonStatusChange(p1, PersonStatus.Left, T0, "E-C-1", "leave")], T0, CancellationToken.None);
        // p2 is rehired by a later event before an admin decides.
        await store.SetPersonStatusesAsync([new PersonStatusChange(p2, PersonStatus.Active, null, "E-9", "rehire")], T0, CancellationToken.None);

        Assert.Equal(["C-1", "C-2"], await store.DecideBrakedCasesAsync(null, approve: false, "admin:ops", T0.AddMinutes(1), CancellationToken.None));

        Assert.Equal(PersonStatus.Leaving, (await store.GetPersonAsync(p1, CancellationToken.None))!.Status);
        Assert.Equal(PersonStatus.Active, (await store.GetPersonAsync(p2, CancellationToken.None))!.Status);
        Assert.Equal((1, (DateTimeOffset?)null), await store.ApplyDueLeavesAsync(T0.AddDays(5), CancellationToken.None)); // the earlier date applies again
        Assert.Equal(PersonStatus.Left, (await store.GetPersonAsync(p1, CancellationToken.None))!.Status);
        var audit = new List<AuditEntry>();
        await foreach (var r in store.ReadPersonAuditAsync(p1, CancellationToken.None))
        {
            audit.Add(r.Entry);
        }

        Assert.Contains(audit, a => a is { Action: "person_status_changed", Actor: "admin:ops", Before: "left", After: "leaving" });
        Assert.Contains(audit, a => a.Action == "case_rejected" && a.Detail!.Contains("goes back to leaving", StringComparison.Ordinal));
    }

    [Fact]
    public async Task CreateCasesBehindBrakeAsync_CountsWithinTheTransaction_HoldsLeaversOverTheThreshold()
    {
        await using var store = await _factory.CreateAsync();
        var people = Enumerable.Range(0, 4).Select(_ => Some.Id()).ToList();
        await store.UpsertPeopleAsync([.. people.Select(p => Some.Person(p))], CancellationToken.None);
        var brake = new Core.Policy.SafetyBrake(true, TimeSpan.FromHours(1), 2, 1, 2);
        Plan PlanFor(string person) => new(NewCase("C-" + person, person, T0), [NewStep("C-" + person, 1, ActionKind.DisableAccount, StepStatus.Pending, T0)], [], [], []);

        var first = await store.CreateCasesBehindBrakeAsync([PlanFor(people[0]), PlanFor(people[1])], [], new SafetyBrakeCheck(brake, T0), CancellationToken.None);
        var second = await store.CreateCasesBehindBrakeAsync([PlanFor(people[2])], [], new SafetyBrakeCheck(brake, T0), CancellationToken.None);
        var forced = await store.CreateCasesBehindBrakeAsync([PlanFor(people[3])], [], new SafetyBrakeCheck(Core.Policy.SafetyBrake.Default, T0, Force: "held with its batch"),
            CancellationToken.None);

        Assert.Null(first.Tripped);
        Assert.Contains("3 leavers", second.Tripped, StringComparison.Ordinal);
        Assert.Equal("held with its batch", forced.Tripped);
        Assert.Equal(CaseStatus.Running, (await store.GetCaseAsync("C-" + people[1], CancellationToken.None))!.Status);
        Assert.Equal(CaseStatus.AwaitingApproval, (await store.GetCaseAsync("C-" + people[2], CancellationToken.None))!.Status);
        Assert.Equal(CaseStatus.AwaitingApproval, (await store.GetCaseAsync("C-" + people[3], CancellationToken.None))!.Status);
        var claimed = await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None);
        Assert.Equal(2, claimed.Count);
        Assert.DoesNotContain(claimed, c => c.PersonId == people[2] || c.PersonId == people[3]);
    }

    [Fact]
    public async Task GetUnplannedEventsAsync_CountsRecordedEventsUntilTheirCaseExists()
    {
        await using var store = await _factory.CreateAsync();
        var person = Some.Id();
        await store.UpsertPeopleAsync([Some.Person(person)], CancellationToken.None);
        Assert.Equal(new UnplannedEvents(0, null), await store.GetUnplannedEventsAsync(CancellationToken.None));
        var e = new LifecycleEvent("E-" + person, EventKind.Leave, person, T0, ExitReason.Voluntary, "test", "k-" + person, T0);
        var parked = e with { Id = "E-parked", IdempotencyKey = "k-parked", PersonId = "nobody", ReceivedAt = T0.AddMinutes(-5) };
        await store.RecordEventsAsync([new EventRecord(e, null, Audit("event_received", person)), new EventRecord(parked, "unknown person", Audit("event_parked"))], CancellationToken.None);
        Assert.Equal(new UnplannedEvents(1, T0), await store.GetUnplannedEventsAsync(CancellationToken.None));
        await store.CreateCasesAsync([new Plan(NewCase("C-" + person, person, T0) with { EventId = e.Id }, [], [], [], [])], [], CancellationToken.None);
        Assert.Equal(new UnplannedEvents(0, null), await store.GetUnplannedEventsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ReplaceInventoryAsync_TwoSystems_ReplacesOnlyTheNamedOne()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        InventorySnapshot Snap(string sys, string acct) => new(
            [new Account($"{sys}/{acct}", sys, acct, acct, null, pid, AccountKind.User, AccountStatus.Active, T0, "email")],
            [new Entitlement($"{sys}/g1", sys, "g1", "admins", EntitlementKind.Group, true)],
            [new Assignment($"{sys}/{acct}", $"{sys}/g1", GrantSource.Discovered, null)],
            [new Device($"{sys}/d1", sys, "d1", "SN1", "Laptop", pid, DeviceStatus.Active)],
            [new Credential($"{sys}/c1", sys, "c1", "root pw", CredentialKind.SharedSecret, null, [pid], CredentialStatus.Active, null)]);
        await store.ReplaceInventoryAsync("a", Snap("a", "u1"), CancellationToken.None);
        await store.ReplaceInventoryAsync("b", Snap("b", "u2"), CancellationToken.None);
        await store.ReplaceInventoryAsync("a", Snap("a", "u3"), CancellationToken.None);

        var map = (await store.GetAccessMapsAsync([pid], CancellationToken.None)).Single();
        Assert.Equal(["a/u3", "b/u2"], map.Accounts.Select(a => a.Id).Order());
        Assert.Equal(2, map.Assignments.Count);
        Assert.All(map.Entitlements, e => Assert.True(e.Privileged));
        Assert.Equal(2, map.Devices.Count);
        Assert.Equal(2, map.CredentialsKnown.Count);
        Assert.Empty(map.CredentialsOwned);
    }

    [Fact]
    public async Task GetAccessMapsAsync_SeveralPeople_EachGetsOnlyTheirOwnAccessInTheOrderAsked()
    {
        var (p1, p2, p3) = (Some.Id(), Some.Id(), Some.Id());
        await using var store = await _factory.CreateAsync();
        await store.UpsertPeopleAsync([Some.Person(p1), Some.Person(p2), Some.Person(p3)], CancellationToken.None);
        await store.ReplaceInventoryAsync("a", new InventorySnapshot(
            [
                new Account("a/u2", "a", "u2", "u2", null, p2, AccountKind.User, AccountStatus.Active, T0, "email"),
                new Account("a/u1", "a", "u1", "u1", null, p1, AccountKind.User, AccountStatus.Active, T0, "email"),
                new Account("a/u1b", "a", "u1b", "u1b", null, p1, AccountKind.Service, AccountStatus.Disabled, null, null),
            ],
            [new Entitlement("a/g1", "a", "g1", "admins", EntitlementKind.Group, true), new Entitlement("a/g2", "a", "g2", "staff", EntitlementKind.Group, false)],
            [
                new Assignment("a/u1", "a/g1", GrantSource.Discovered, null), new Assignment("a/u1b", "a/g1", GrantSource.Discovered, null),
                new Assignment("a/u2", "a/g2", GrantSource.Discovered, null),
            ],
            [new Device("a/d1", "a", "d1", "SN1", "Laptop", p1, DeviceStatus.Active), new Device("a/d2", "a", "d2", "SN2", "Phone", p2, DeviceStatus.Active)],
            [
                new Credential("a/c1", "a", "c1", "root pw", CredentialKind.SharedSecret, null, [p1, p2], CredentialStatus.Active, null),
                new Credential("a/c2", "a", "c2", "ci token", CredentialKind.ApiToken, p2, [], CredentialStatus.Active, null),
            ]), CancellationToken.None);
        await store.SetLegalHoldAsync(new LegalHold("H-2", p2, "a", "litigation", "admin:legal", T0), Audit("legal_hold_set", p2), CancellationToken.None);

        var maps = await store.GetAccessMapsAsync([p3, "nobody", p2, p1], CancellationToken.None);

        Assert.Equal([p3, p2, p1], maps.Select(m => m.Person.Id));
        var (m3, m2, m1) = (maps[0], maps[1], maps[2]);
        Assert.Empty(m3.Accounts);
        Assert.Empty(m3.Assignments);
        Assert.Empty(m3.Devices);
        Assert.Empty(m3.CredentialsKnown);
        Assert.Empty(m3.Holds);
        Assert.Equal(["a/u1", "a/u1b"], m1.Accounts.Select(a => a.Id).Order());
        Assert.All(m1.Accounts, a => Assert.Equal(p1, a.PersonId));
        Assert.Equal(["a/u1", "a/u1b"], m1.Assignments.Select(a => a.AccountId).Order());
        Assert.Equal(["a/g1"], m1.Entitlements.Select(e => e.Id)); // held twice, listed once
        Assert.Equal(["a/d1"], m1.Devices.Select(d => d.Id));
        Assert.Equal(["a/c1"], m1.CredentialsKnown.Select(c => c.Id));
        Assert.Equal([p1, p2], m1.CredentialsKnown[0].KnownBy.Order());
        Assert.Empty(m1.CredentialsOwned);
        Assert.Empty(m1.Holds);
        Assert.Equal(["a/u2"], m2.Accounts.Select(a => a.Id));
        Assert.Equal(["a/g2"], m2.Entitlements.Select(e => e.Id));
        Assert.Equal(["a/d2"], m2.Devices.Select(d => d.Id));
        Assert.Equal(["a/c1"], m2.CredentialsKnown.Select(c => c.Id));
        Assert.Equal(["a/c2"], m2.CredentialsOwned.Select(c => c.Id));
        Assert.Equal(["H-2"], m2.Holds.Select(h => h.Id));
    }

    [Fact]
    public async Task GetPersonProfileAsync_TwoPeople_ReturnsOnlyThatPersonsCasesTasksAndHistory()
    {
        var (p1, p2) = (Some.Id(), Some.Id());
        await using var store = await _factory.CreateAsync();
        Assert.Null(await store.GetPersonProfileAsync(p1, 50, CancellationToken.None));
        await store.UpsertPeopleAsync([Some.Person(p1), Some.Person(p2)], CancellationToken.None);
        TaskItem Task(string id, string person) => new(id, null, null, person, Team.It, "collect laptop", "", T0, T0.AddDays(1), TaskStatus.Open, null, null, null);
        await store.CreateCasesAsync(
            [new Plan(NewCase("C-p1", p1, T0), [], [], [Task("T-p1", p1)], []), new Plan(NewCase("C-p2", p2, T0), [], [], [Task("T-p2", p2)], [])],
            [Audit("case_planned", p1, "C-p1"), Audit("case_planned", p2, "C-p2")], CancellationToken.None);

        var profile = await store.GetPersonProfileAsync(p1, 50, CancellationToken.None);
        Assert.NotNull(profile);
        Assert.Equal(p1, profile.Access.Person.Id);
        Assert.Equal(["C-p1"], profile.Cases.Select(c => c.Id));
        Assert.Equal(["T-p1"], profile.Tasks.Select(t => t.Id));
        Assert.Equal(["case_planned"], profile.History.Select(h => h.Entry.Action));

        // A second read sees what was written since (a reused reader keeps no stale snapshot), newest first, within the limit.
        await store.AppendAuditAsync([Audit("hold_set", p1), Audit("hold_released", p1)], CancellationToken.None);
        var again = await store.GetPersonProfileAsync(p1, 2, CancellationToken.None);
        Assert.Equal(["hold_released", "hold_set"], again!.History.Select(h => h.Entry.Action));
    }

    [Fact]
    public async Task CreateCasesAsync_SecondPlanForTheSameEvent_KeepsTheFirstAndNamesIt()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        var first = NewCase("C-first", pid, T0);
        var created = await store.CreateCasesAsync([new Plan(first, [], [], [], [])], [Audit("case_planned", pid, "C-first")], CancellationToken.None);

        // Another planner planned the same event at the same moment, with its own case id.
        var raced = await store.CreateCasesAsync([new Plan(first with { Id = "C-second" }, [], [], [], []), new Plan(NewCase("C-other", pid, T0), [], [], [], [])],
            [Audit("case_planned", pid, "C-second"), Audit("case_planned", pid, "C-other")], CancellationToken.None);

        Assert.Empty(created);
        Assert.Equal(new Dictionary<string, string> { ["C-second"] = "C-first" }, raced);
        Assert.Null(await store.GetCaseAsync("C-second", CancellationToken.None));
        Assert.NotNull(await store.GetCaseAsync("C-other", CancellationToken.None));
        var history = (await store.GetPersonProfileAsync(pid, 50, CancellationToken.None))!.History.Select(h => h.Entry.CaseId).ToList();
        Assert.DoesNotContain("C-second", history);
        Assert.Contains("C-first", history);
    }

    [Fact]
    public async Task ListCasesAsync_PersonIds_ReturnsOnlyThosePeoplesCases()
    {
        var (p1, p2, p3) = (Some.Id(), Some.Id(), Some.Id());
        await using var store = await _factory.CreateAsync();
        await store.UpsertPeopleAsync([Some.Person(p1), Some.Person(p2), Some.Person(p3)], CancellationToken.None);
        await store.CreateCasesAsync([new Plan(NewCase("C-a", p1, T0), [], [], [], []), new Plan(NewCase("C-b", p2, T0), [], [], [], []), new Plan(NewCase("C-c", p3, T0), [], [], [], [])],
            [], CancellationToken.None);
        var found = await store.ListCasesAsync(new CaseQuery(Limit: int.MaxValue, PersonIds: [p1, p3, "nobody"]), CancellationToken.None);
        Assert.Equal(["C-a", "C-c"], found.Select(c => c.Id).Order());
    }

    [Fact]
    public async Task RecordEventsAsync_SameIdempotencyKeyTwice_RecordsOnce()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        var e = Some.Leave(pid, T0, key: "k-1") with { Id = "E-1", ReceivedAt = T0 };
        var first = await store.RecordEventsAsync([new EventRecord(e, null, Audit("event_received", pid))], CancellationToken.None);
        var second = await store.RecordEventsAsync([new EventRecord(e with { Id = "E-2" }, null, Audit("event_received", pid))], CancellationToken.None);
        Assert.Equal([true], first);
        Assert.Equal([false], second);
        Assert.Equal(["E-1"], (await store.ListUnhandledEventsAsync(CancellationToken.None)).Select(x => x.Id));
    }

    [Fact]
    public async Task RecordEventsAsync_Parked_IsListedUntilResolved()
    {
        await using var store = await _factory.CreateAsync();
        var e = Some.Leave("ghost", T0, key: "k-ghost") with { Id = "E-g", ReceivedAt = T0 };
        await store.RecordEventsAsync([new EventRecord(e, "unknown person", Audit("event_parked", "ghost"))], CancellationToken.None);
        var parked = Assert.Single(await store.ListParkedEventsAsync(CancellationToken.None));
        Assert.Equal("E-g", parked.Event.Id);
        Assert.Empty(await store.ListUnhandledEventsAsync(CancellationToken.None));
        await store.ResolveParkedEventAsync("E-g", "discarded by admin", Audit("event_discarded", "ghost"), CancellationToken.None);
        Assert.Empty(await store.ListParkedEventsAsync(CancellationToken.None));
    }

    [Fact]
    public async Task ClaimDueStepsAsync_PhasesAndDueTimes_ClaimsOnlyReadyDueSteps()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        var k = NewCase("C-1", pid, T0);
        var steps = new[]
        {
            NewStep("C-1", 1, ActionKind.DisableAccount, StepStatus.Pending, T0, phase: 0),
            NewStep("C-1", 2, ActionKind.DisableAccount, StepStatus.Waiting, T0, phase: 1),
            NewStep("C-1", 3, ActionKind.DisableAccount, StepStatus.Pending, T0.AddDays(14), phase: 0, stage: "last-day"),
            NewStep("C-1", 4, ActionKind.Manual, StepStatus.Pending, T0, phase: -1, system: null),
        };
        await store.CreateCasesAsync([new Plan(k, steps, [], [], [])], [Audit("case_planned", pid, "C-1")], CancellationToken.None);

        var claimed = await store.ClaimDueStepsAsync(T0.AddSeconds(1), 100, CancellationToken.None);
        var only = Assert.Single(claimed);
        Assert.Equal("C-1.001", only.Step.Id);
        Assert.Equal(StepStatus.Running, only.Step.Status);
        Assert.Equal(1, only.Step.Claims);
        Assert.Equal(pid, only.PersonId);
        Assert.Empty(await store.ClaimDueStepsAsync(T0.AddSeconds(1), 100, CancellationToken.None));

        await store.CompleteStepsAsync([Done("C-1.001", StepStatus.Verified, T0.AddSeconds(2))], T0.AddSeconds(2), CancellationToken.None);
        Assert.Equal(["C-1.002"], (await store.ClaimDueStepsAsync(T0.AddSeconds(2), 100, CancellationToken.None)).Select(c => c.Step.Id));
        Assert.Equal(T0.AddDays(14), await store.GetNextDueAsync(CancellationToken.None));
        Assert.Equal(["C-1.003"], (await store.ClaimDueStepsAsync(T0.AddDays(15), 100, CancellationToken.None)).Select(c => c.Step.Id));
    }

    [Fact]
    public async Task CompleteStepsAsync_FailedStep_ReleasesNextPhaseAndRaisesTask()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        await store.CreateCasesAsync([new Plan(NewCase("C-2", pid, T0),
            [NewStep("C-2", 1, ActionKind.DisableAccount, StepStatus.Pending, T0, 0), NewStep("C-2", 2, ActionKind.DisableAccount, StepStatus.Waiting, T0, 1)], [], [], [])], [], CancellationToken.None);
        await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None);
        var task = new TaskItem("T-C-2.001", "C-2", "C-2.001", pid, Team.It, "Do by hand", "refused", T0, T0.AddHours(4), TaskStatus.Open, null, null, null);
        await store.CompleteStepsAsync([Done("C-2.001", StepStatus.Failed, T0, task)], T0, CancellationToken.None);

        Assert.Equal(["C-2.002"], (await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None)).Select(c => c.Step.Id));
        Assert.Equal("T-C-2.001", Assert.Single(await store.ListTasksAsync(new TaskQuery(), CancellationToken.None)).Id);
        Assert.Equal(1, (await store.GetStatisticsAsync(T0, CancellationToken.None)).FailedSteps);
    }

    [Fact]
    public async Task CompleteStepsAsync_HardRequirementFails_BlocksDependantUntilTaskDone()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        var steps = new[]
        {
            NewStep("C-3", 1, ActionKind.DisableAccount, StepStatus.Pending, T0, 0, account: "a1"),
            NewStep("C-3", 2, ActionKind.DeleteAccount, StepStatus.Waiting, T0, -1, stage: "retention", account: "a1", category: StepCategory.Delete),
        };
        await store.CreateCasesAsync([new Plan(NewCase("C-3", pid, T0), steps, [new StepDependency("C-3.002", "C-3.001", Hard: true)], [], [])], [], CancellationToken.None);
        await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None);
        var task = new TaskItem("T-C-3.001", "C-3", "C-3.001", pid, Team.It, "Do by hand", "refused", T0, T0.AddHours(4), TaskStatus.Open, null, null, null);
        await store.CompleteStepsAsync([Done("C-3.001", StepStatus.Failed, T0, task)], T0, CancellationToken.None);

        var blocked = (await store.GetStepsAsync("C-3", CancellationToken.None)).Single(s => s.Seq == 2);
        Assert.Equal(StepStatus.Blocked, blocked.Status);
        Assert.Contains("C-3.001", blocked.WaitReason, StringComparison.Ordinal);
        Assert.Equal(CaseStatus.Unverified, (await store.GetCaseAsync("C-3", CancellationToken.None))!.Status);

        var done = await store.CompleteTaskAsync("T-C-3.001", "admin:alice", "disabled in the console", T0.AddHours(1), CancellationToken.None);
        Assert.Equal("admin:alice", done.CompletedBy);
        var steps2 = await store.GetStepsAsync("C-3", CancellationToken.None);
        Assert.Equal(StepStatus.DoneManually, steps2.Single(s => s.Seq == 1).Status);
        Assert.Equal(StepStatus.Pending, steps2.Single(s => s.Seq == 2).Status);
        await Assert.ThrowsAsync<ValidationException>(() => store.CompleteTaskAsync("T-C-3.001", "admin:bob", null, T0, CancellationToken.None));
        await Assert.ThrowsAnyAsync<ValidationException>(() => store.CompleteTaskAsync("T-nope", "admin:bob", null, T0, CancellationToken.None));
    }

    [Fact]
    public async Task CompleteStepsAsync_PhaseOpensOnlyWhenItsLastStepFinishes_ABlockedStepDoesNotHoldItBack()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        var steps = new[]
        {
            NewStep("C-9", 1, ActionKind.DisableAccount, StepStatus.Pending, T0, 0, account: "a1", category: StepCategory.SignIn),
            NewStep("C-9", 2, ActionKind.ResetPassword, StepStatus.Waiting, T0, 0, account: "a1", category: StepCategory.SignIn),
            NewStep("C-9", 3, ActionKind.RevokeSessions, StepStatus.Pending, T0, 0, account: "a2", category: StepCategory.SignIn),
            NewStep("C-9", 4, ActionKind.RemoveEntitlement, StepStatus.Waiting, T0, 1, account: "a1"),
            NewStep("C-9", 5, ActionKind.ReclaimLicence, StepStatus.Waiting, T0, 2, account: "a1", category: StepCategory.Licences),
        };
        await store.CreateCasesAsync([new Plan(NewCase("C-9", pid, T0), steps, [new StepDependency("C-9.002", "C-9.001", Hard: true)], [], [])], [], CancellationToken.None);
        Assert.Equal(["C-9.001", "C-9.003"], (await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None)).Select(c => c.Step.Id).Order());

        // One of the phase's steps finished: the next phase still waits for the other two.
        await store.CompleteStepsAsync([Done("C-9.003", StepStatus.Verified, T0)], T0, CancellationToken.None);
        Assert.Empty(await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None));

        // The disable fails, so the reset that requires it is blocked: both are outcomes, and the next phase opens.
        var task = new TaskItem("T-C-9.001", "C-9", "C-9.001", pid, Team.It, "Do by hand", "refused", T0, T0.AddHours(4), TaskStatus.Open, null, null, null);
        await store.CompleteStepsAsync([Done("C-9.001", StepStatus.Failed, T0, task)], T0, CancellationToken.None);
        Assert.Equal(StepStatus.Blocked, (await store.GetStepsAsync("C-9", CancellationToken.None)).Single(s => s.Seq == 2).Status);
        Assert.Equal(["C-9.004"], (await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None)).Select(c => c.Step.Id));

        // Done by hand: the reset runs after all; phase 1 finishing opens phase 2 once.
        await store.CompleteTaskAsync("T-C-9.001", "admin:alice", "disabled by hand", T0.AddMinutes(1), CancellationToken.None);
        Assert.Equal(["C-9.002"], (await store.ClaimDueStepsAsync(T0.AddMinutes(1), 10, CancellationToken.None)).Select(c => c.Step.Id));
        await store.CompleteStepsAsync([Done("C-9.004", StepStatus.Verified, T0.AddMinutes(1))], T0.AddMinutes(1), CancellationToken.None);
        Assert.Equal(["C-9.005"], (await store.ClaimDueStepsAsync(T0.AddMinutes(1), 10, CancellationToken.None)).Select(c => c.Step.Id));
        await store.CompleteStepsAsync([Done("C-9.002", StepStatus.Verified, T0.AddMinutes(1)), Done("C-9.005", StepStatus.Verified, T0.AddMinutes(1))], T0.AddMinutes(1), CancellationToken.None);
        Assert.All(await store.GetStepsAsync("C-9", CancellationToken.None), s => Assert.True(s.Status.IsTerminal(), $"{s.Id} is {s.Status}"));
    }

    [Fact]
    public async Task CompleteStepsAsync_Retry_ReturnsStepToQueueAfterDelay()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        await store.CreateCasesAsync([new Plan(NewCase("C-4", pid, T0), [NewStep("C-4", 1, ActionKind.DisableAccount, StepStatus.Pending, T0)], [], [], [])], [], CancellationToken.None);
        await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None);
        await store.CompleteStepsAsync([new StepCompletion("C-4.001", StepStatus.Pending, T0, null, null, "429", T0.AddSeconds(30), null, [])], T0, CancellationToken.None);
        Assert.Empty(await store.ClaimDueStepsAsync(T0.AddSeconds(29), 10, CancellationToken.None));
        var again = Assert.Single(await store.ClaimDueStepsAsync(T0.AddSeconds(30), 10, CancellationToken.None));
        Assert.Equal(2, again.Step.Claims);
    }

    [Fact]
    public async Task CompleteStepsAsync_RateLimitedRetry_GivesTheClaimBackAndCountsTheWaits()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        await store.CreateCasesAsync([new Plan(NewCase("C-6", pid, T0), [NewStep("C-6", 1, ActionKind.DisableAccount, StepStatus.Pending, T0)], [], [], [])], [], CancellationToken.None);
        await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None);
        await store.CompleteStepsAsync([new StepCompletion("C-6.001", StepStatus.Pending, T0, null, null, "429", T0.AddMinutes(1), null, [], RateLimitWaits: 3, RateLimited: true)], T0, CancellationToken.None);
        var again = Assert.Single(await store.ClaimDueStepsAsync(T0.AddMinutes(1), 10, CancellationToken.None));
        Assert.Equal(1, again.Step.Claims);
        Assert.Equal(3, again.Step.RateLimitWaits);

        await store.CompleteStepsAsync([new StepCompletion("C-6.001", StepStatus.Verified, T0.AddMinutes(1), null, null, null, null, null, [], RateLimitWaits: 2)], T0.AddMinutes(1), CancellationToken.None);
        var step = Assert.Single(await store.GetStepsAsync("C-6", CancellationToken.None));
        Assert.Equal(StepStatus.Verified, step.Status);
        Assert.Equal(1, step.Claims);
        Assert.Equal(5, step.RateLimitWaits);
    }

    [Fact]
    public async Task RecoverRunningStepsAsync_AfterCrash_RequeuesRunningSteps()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        await store.CreateCasesAsync([new Plan(NewCase("C-5", pid, T0), [NewStep("C-5", 1, ActionKind.DisableAccount, StepStatus.Pending, T0)], [], [], [])], [], CancellationToken.None);
        await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None);
        Assert.Equal(1, await store.RecoverRunningStepsAsync(T0.AddMinutes(1), CancellationToken.None));
        var again = Assert.Single(await store.ClaimDueStepsAsync(T0.AddMinutes(1), 10, CancellationToken.None));
        Assert.Equal((1, 1), (again.Step.Claims, again.Step.RecoveredClaims)); // the interrupted claim is counted apart
    }

    [Fact]
    public async Task RecordPreReadsAsync_FirstRecordKept_ShownAsBeforeUntilTheStepFinishesWithItsOwn()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        await store.CreateCasesAsync([new Plan(NewCase("C-7", pid, T0),
            [NewStep("C-7", 1, ActionKind.DisableAccount, StepStatus.Pending, T0), NewStep("C-7", 2, ActionKind.RemoveEntitlement, StepStatus.Pending, T0)], [], [], [])], [], CancellationToken.None);
        await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None);
        await store.RecordPreReadsAsync([new PreReadRecord("C-7.001", "{\"active\":\"true\"}", false), new PreReadRecord("C-7.002", "{\"member\":\"false\"}", true)], CancellationToken.None);
        await store.RecordPreReadsAsync([new PreReadRecord("C-7.001", "{\"active\":\"false\"}", true)], CancellationToken.None); // a re-run's read: ignored

        var steps = await store.GetStepsAsync("C-7", CancellationToken.None);
        var (first, second) = (steps.Single(s => s.Seq == 1), steps.Single(s => s.Seq == 2));
        Assert.Equal(("{\"active\":\"true\"}", false, "{\"active\":\"true\"}"), (first.PreRead, first.PreReadDone, first.Before));
        Assert.Equal(("{\"member\":\"false\"}", true), (second.PreRead, second.PreReadDone));

        // A retry that applied the change keeps that and its calls; the finish adds its calls and its own Before.
        await store.CompleteStepsAsync([new StepCompletion("C-7.001", StepStatus.Pending, T0, "{\"active\":\"true\",\"sessions\":\"1\"}", null, "read timed out", T0.AddMinutes(5), null, [], Calls: 2, Applied: true)],
            T0, CancellationToken.None);
        var again = Assert.Single(await store.ClaimDueStepsAsync(T0.AddMinutes(5), 10, CancellationToken.None));
        Assert.True(again.Step.Applied);
        Assert.Equal((2, 2), (again.Step.Attempts, again.Step.Claims));
        await store.CompleteStepsAsync([new StepCompletion("C-7.001", StepStatus.Verified, T0.AddMinutes(5), null, "{\"active\":\"false\"}", null, null, null, [], Calls: 1)],
            T0.AddMinutes(5), CancellationToken.None);
        var done = (await store.GetStepsAsync("C-7", CancellationToken.None)).Single(s => s.Seq == 1);
        Assert.Equal((3, "{\"active\":\"true\",\"sessions\":\"1\"}", "{\"active\":\"true\"}"), (done.Attempts, done.Before, done.PreRead));
    }

    [Fact]
    public async Task ClaimDueStepsAsync_DeleteUnderLegalHold_IsHeldUntilReleased()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        await store.CreateCasesAsync([new Plan(NewCase("C-6", pid, T0),
            [NewStep("C-6", 1, ActionKind.DeleteAccount, StepStatus.Pending, T0, -1, "retention", category: StepCategory.Delete)], [], [], [])], [], CancellationToken.None);
        await store.SetLegalHoldAsync(new LegalHold("H-1", pid, null, "litigation 2026-17", "admin:legal", T0), Audit("legal_hold_set", pid), CancellationToken.None);

        Assert.Empty(await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None));
        var held = Assert.Single(await store.GetStepsAsync("C-6", CancellationToken.None));
        Assert.Equal(StepStatus.Held, held.Status);
        Assert.Contains("litigation 2026-17", held.WaitReason, StringComparison.Ordinal);

        Assert.Equal(1, await store.ReleaseLegalHoldAsync(pid, null, Audit("legal_hold_released", pid), T0.AddDays(1), CancellationToken.None));
        Assert.Single(await store.ClaimDueStepsAsync(T0.AddDays(1), 10, CancellationToken.None));
    }

    [Fact]
    public async Task CompleteStepsAsync_AllCutsVerified_CaseVerifiedWithExposureWindow()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        await store.CreateCasesAsync([new Plan(NewCase("C-7", pid, T0),
            [NewStep("C-7", 1, ActionKind.DisableAccount, StepStatus.Pending, T0, 0), NewStep("C-7", 2, ActionKind.RemoveEntitlement, StepStatus.Waiting, T0, 1)], [], [], [])], [], CancellationToken.None);
        await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None);
        await store.CompleteStepsAsync([Done("C-7.001", StepStatus.Verified, T0.AddMilliseconds(100))], T0.AddMilliseconds(100), CancellationToken.None);
        Assert.Equal(CaseStatus.Running, (await store.GetCaseAsync("C-7", CancellationToken.None))!.Status);
        await store.ClaimDueStepsAsync(T0.AddMilliseconds(100), 10, CancellationToken.None);
        await store.CompleteStepsAsync([Done("C-7.002", StepStatus.Verified, T0.AddMilliseconds(250))], T0.AddMilliseconds(250), CancellationToken.None);

        var kase = (await store.GetCaseAsync("C-7", CancellationToken.None))!;
        Assert.Equal(CaseStatus.Verified, kase.Status);
        Assert.Equal(TimeSpan.FromMilliseconds(250), kase.ExposureWindow);
        Assert.Equal([250.0], await store.GetExposureWindowsAsync(null, CancellationToken.None));
        var actions = new List<string>();
        await foreach (var r in store.ReadPersonAuditAsync(pid, CancellationToken.None))
        {
            actions.Add(r.Entry.Action);
        }

        Assert.Contains("access_cut_verified", actions);
        Assert.Contains("case_verified", actions);
    }

    [Fact]
    public async Task CancelOpenCasesAsync_PendingSteps_AreCancelledWithTheirTasks()
    {
        var pid = Some.Id();
        await using var store = await StoreWithPersonAsync(pid);
        var task = new TaskItem("T-C-8.002", "C-8", "C-8.002", pid, Team.Facilities, "Collect badge", "", T0, T0.AddDays(1), TaskStatus.Open, null, null, null);
        await store.CreateCasesAsync([new Plan(NewCase("C-8", pid, T0.AddDays(14)),
            [NewStep("C-8", 1, ActionKind.DisableAccount, StepStatus.Pending, T0.AddDays(14)), NewStep("C-8", 2, ActionKind.Manual, StepStatus.Pending, T0, -1, system: null)], [], [task], [])], [], CancellationToken.None);
        var cancelled = await store.CancelOpenCasesAsync(pid, "rehire", Audit("cancel_open_cases", pid), T0, CancellationToken.None);
        Assert.Equal(["C-8"], cancelled);
        Assert.All(await store.GetStepsAsync("C-8", CancellationToken.None), s => Assert.Equal(StepStatus.Cancelled, s.Status));
        Assert.Empty(await store.ListTasksAsync(new TaskQuery(), CancellationToken.None));
        Assert.Equal(CaseStatus.Cancelled, (await store.GetCaseAsync("C-8", CancellationToken.None))!.Status);
        Assert.Empty(await store.ClaimDueStepsAsync(T0.AddDays(20), 10, CancellationToken.None));
    }

    [Fact]
    public async Task AppendAuditAsync_ManyWrites_FormOneVerifiableChain()
    {
        await using var store = await _factory.CreateAsync();
        for (var i = 0; i < 5; i++)
        {
            await store.AppendAuditAsync([Audit("a" + i, "p1"), Audit("b" + i, "p2")], CancellationToken.None);
        }

        var v = await store.VerifyAuditChainAsync(CancellationToken.None);
        Assert.True(v.Ok, v.Problem);
        Assert.Equal(10, v.Records);
        var seqs = new List<long>();
        await foreach (var r in store.ReadAuditAsync(1, CancellationToken.None))
        {
            seqs.Add(r.Seq);
            Assert.True(AuditChain.Verify(r));
        }

        Assert.Equal(Enumerable.Range(1, 10).Select(i => (long)i), seqs);
        var p1 = 0;
        await foreach (var r in store.ReadPersonAuditAsync("p1", CancellationToken.None))
        {
            Assert.Equal("p1", r.Entry.PersonId);
            p1++;
        }

        Assert.Equal(5, p1);
    }

    [Fact]
    public async Task VerifyAuditChainAsync_EmptyStore_IsOk()
    {
        await using var store = await _factory.CreateAsync();
        var v = await store.VerifyAuditChainAsync(CancellationToken.None);
        Assert.True(v.Ok);
        Assert.Equal(0, v.Records);
    }
}
