using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Reconciliation;
using Deprov.Core.Security;

namespace Deprov.Core.Store;

/// <summary>
/// Deprov's durable state. Every method is one transaction; a method that changes state also appends the audit
/// records describing the change in that same transaction, so state and evidence can never disagree.
/// </summary>
/// <remarks>
/// Error contract: throw <see cref="StoreException"/> (with <c>IsTransient</c> for busy/locked/lost connection).
/// Implementations: SQLite (embedded default) and PostgreSQL; both pass the same contract tests.
/// </remarks>
public interface IStore : IAsyncDisposable
{
    /// <summary>Creates or upgrades the schema to the latest version. Safe to call on every start.</summary>
    Task MigrateAsync(CancellationToken cancellationToken);

    Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken);

    // People and systems

    Task UpsertPeopleAsync(IReadOnlyList<Person> people, CancellationToken cancellationToken);

    Task<Person?> GetPersonAsync(string personId, CancellationToken cancellationToken);

    Task<IReadOnlyList<Person>> ListPeopleAsync(int limit, int offset, CancellationToken cancellationToken);

    Task<int> CountPeopleAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Persists HR statuses decided by <see cref="PersonLifecycle"/> (a leave, a contract end, a rehire), with an audit
    /// record per person whose status changed, in one transaction. Unknown people are ignored. HR field updates
    /// (<see cref="UpsertPeopleAsync"/>) never change a known person's status: only events do. The status a change
    /// replaces is kept with the event that replaced it (the same event written again keeps the first one), so a
    /// rejected held case can undo it (<see cref="DecideBrakedCasesAsync"/>).
    /// </summary>
    Task SetPersonStatusesAsync(IReadOnlyList<PersonStatusChange> changes, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>
    /// Turns every leaving person whose termination is effective at <paramref name="now"/> into left (see
    /// <see cref="PersonLifecycle.At"/>), with an audit record each, in one transaction. Returns how many changed and
    /// the next moment a leaving person's termination takes effect (null when nobody is leaving).
    /// </summary>
    Task<(int Changed, DateTimeOffset? Next)> ApplyDueLeavesAsync(DateTimeOffset now, CancellationToken cancellationToken);

    Task UpsertSystemsAsync(IReadOnlyList<ConnectedSystem> systems, CancellationToken cancellationToken);

    Task<IReadOnlyList<ConnectedSystem>> ListSystemsAsync(CancellationToken cancellationToken);

    // Inventory

    /// <summary>Replaces everything known about one system with a complete discovery snapshot, atomically.</summary>
    Task ReplaceInventoryAsync(string systemId, InventorySnapshot snapshot, CancellationToken cancellationToken);

    /// <summary>Everything linked to these people, one map per person found, in the order asked (unknown ids are left
    /// out). Called with a whole batch of people (the planner reads every map of a batch of events at once).</summary>
    Task<IReadOnlyList<AccessMap>> GetAccessMapsAsync(IReadOnlyList<string> personIds, CancellationToken cancellationToken);

    /// <summary>
    /// One person's profile in one consistent snapshot: the access map and the newest <paramref name="limit"/> cases,
    /// tasks (open and done) and audit records about the person; null when the person is unknown. The console and
    /// API read this per request, so it is the store's hottest read.
    /// </summary>
    Task<PersonProfile?> GetPersonProfileAsync(string personId, int limit, CancellationToken cancellationToken);

    // Reconciliation

    /// <summary>
    /// Applies a discovery to one system's inventory by difference, in one transaction: accounts and memberships that
    /// appeared, changed or vanished are written, each change closing or opening an interval of the access history at
    /// <see cref="DiscoveryState.CompletedAt"/>; the discovery state and <paramref name="audit"/> are written with it. A
    /// null <paramref name="snapshot"/> means "read, and nothing changed": only the state is recorded.
    /// </summary>
    Task ApplyDiscoveryAsync(string systemId, InventorySnapshot? snapshot, DiscoveryState state, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    Task<DiscoveryState?> GetDiscoveryStateAsync(string systemId, CancellationToken cancellationToken);

    // HR sources

    /// <summary>
    /// Records the end of one HR source run: replaces the source's state (cursor, last run, last error…) and appends
    /// <paramref name="audit"/> (what was read and what it implied), in one transaction.
    /// </summary>
    Task RecordHrSourceRunAsync(HrSources.HrSourceState state, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    /// <summary>The source's state as the last <see cref="RecordHrSourceRunAsync"/> left it; null before its first run.</summary>
    Task<HrSources.HrSourceState?> GetHrSourceStateAsync(string sourceId, CancellationToken cancellationToken);

    /// <summary>Verified account and membership revokes and restores on one system (the memory drift is checked against).</summary>
    Task<IReadOnlyList<Revocation>> GetRevocationsAsync(string systemId, CancellationToken cancellationToken);

    /// <summary>
    /// Stores one detection pass over a system: findings seen before keep their first-seen time and get a new last-seen;
    /// open findings of the system not seen again are resolved. Returns the findings seen for the first time.
    /// </summary>
    Task<FindingsUpdate> RecordFindingsAsync(string systemId, IReadOnlyList<DetectedFinding> detected, DateTimeOffset now, CancellationToken cancellationToken);

    Task<IReadOnlyList<Finding>> ListFindingsAsync(FindingQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Opens one finding outside a detection pass (a refused discovery has nothing to detect from), with
    /// <paramref name="audit"/>, in one transaction; the system's other findings are left as they are. An open finding with
    /// the same id gets a new last-seen and evidence. Returns the stored finding.
    /// </summary>
    Task<Finding> RaiseFindingAsync(DetectedFinding finding, DateTimeOffset now, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    /// <summary>Records what was done about findings (a task or a case id), with tasks to raise and audit records, in one transaction.</summary>
    Task RecordReactionsAsync(IReadOnlyList<(string FindingId, FindingReaction Reaction, string? Reference)> reactions, IReadOnlyList<TaskItem> tasks,
        IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    /// <summary>Adds or replaces a manual correlation link, with its audit record. Throws <see cref="ValidationException"/> for an unknown person.</summary>
    Task LinkAccountAsync(CorrelationLink link, AuditEntry audit, CancellationToken cancellationToken);

    Task<IReadOnlyList<CorrelationLink>> ListLinksAsync(string? systemId, CancellationToken cancellationToken);

    /// <summary>One discovered account by Deprov's key (<c>system/externalId</c>); null when no discovery has seen it.</summary>
    Task<Account?> GetAccountAsync(string accountId, CancellationToken cancellationToken);

    /// <summary>
    /// The person's access as recorded at <paramref name="at"/>: every account status and membership interval that
    /// contains that moment. Intervals come from discoveries and verified steps; before the first record nothing is known.
    /// </summary>
    Task<IReadOnlyList<AccessInterval>> GetAccessAtAsync(string personId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Seats per system: active accounts, seats freed by verified revokes, seats held by dormant accounts.</summary>
    Task<IReadOnlyList<LicenceUsage>> GetLicenceUsageAsync(CancellationToken cancellationToken);

    // Events

    /// <summary>
    /// Records events in one transaction. For each, returns false (and changes nothing) when an event with the same
    /// idempotency key exists. A non-null <see cref="EventRecord.ParkedReason"/> parks it: kept and listed, replayed when
    /// the person appears.
    /// </summary>
    Task<IReadOnlyList<bool>> RecordEventsAsync(IReadOnlyList<EventRecord> events, CancellationToken cancellationToken);

    Task<IReadOnlyList<ParkedEvent>> ListParkedEventsAsync(CancellationToken cancellationToken);

    /// <summary>The event recorded under an idempotency key; null when none is.</summary>
    Task<LifecycleEvent?> GetEventByKeyAsync(string idempotencyKey, CancellationToken cancellationToken);

    /// <summary>Marks a parked event as handled (replayed into a case, or discarded by an admin).</summary>
    Task ResolveParkedEventAsync(string eventId, string resolution, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>Marks an event handled (its case created, or its hold applied). Cases created with
    /// <see cref="CreateCasesAsync"/> mark their events handled in the same transaction.</summary>
    Task MarkEventHandledAsync(string eventId, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Events recorded but not handled (the process stopped in between) and not parked: handled again on start.</summary>
    Task<IReadOnlyList<LifecycleEvent>> ListUnhandledEventsAsync(CancellationToken cancellationToken);

    /// <summary>How many events are recorded but neither planned nor parked, and when the oldest of them was received
    /// (<c>deprov status</c>, the API's status and <c>/ready</c> show that accepted events wait for a worker).</summary>
    Task<UnplannedEvents> GetUnplannedEventsAsync(CancellationToken cancellationToken);

    // Cases and steps

    /// <summary>Persists plans (case, steps, dependencies, tasks, and the person status each plan's event sets, as
    /// <see cref="SetPersonStatusesAsync"/> does) with their audit records, in one transaction.</summary>
    /// <returns>
    /// The plans not persisted because their event already has a case (two planners raced on one event: the first plan
    /// is kept): planned case id → the id of the case recorded for that event. Empty when every plan was persisted.
    /// </returns>
    Task<IReadOnlyDictionary<string, string>> CreateCasesAsync(IReadOnlyList<Plan> plans, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken);

    /// <summary>
    /// <see cref="CreateCasesAsync"/> behind the safety brake, as one atomic decision across threads and processes: inside
    /// the one write transaction the store counts the leaver cases created within the brake's window and the people, asks <see cref="Policy.SafetyBrake.Decide"/>, and, when the brake trips, stores this call's leaver
    /// cases as awaiting approval with a <c>safety_brake_tripped</c> audit record.
    /// </summary>
    Task<BrakedCreation> CreateCasesBehindBrakeAsync(IReadOnlyList<Plan> plans, IReadOnlyList<AuditEntry> audit, SafetyBrakeCheck brake, CancellationToken cancellationToken);

    Task<Case?> GetCaseAsync(string caseId, CancellationToken cancellationToken);

    Task<IReadOnlyList<Case>> ListCasesAsync(CaseQuery query, CancellationToken cancellationToken);

    Task<IReadOnlyList<Step>> GetStepsAsync(string caseId, CancellationToken cancellationToken);

    Task<IReadOnlyList<StepDependency>> GetDependenciesAsync(string caseId, CancellationToken cancellationToken);

    /// <summary>
    /// Claims up to <paramref name="max"/> automated steps that are pending and due, marks them running and counts the
    /// attempt, in one transaction. A step is persisted as running before its connector call is made.
    /// </summary>
    Task<IReadOnlyList<ClaimedStep>> ClaimDueStepsAsync(DateTimeOffset now, int max, CancellationToken cancellationToken);

    /// <summary>
    /// Records each step's pre-read (<see cref="Step.PreRead"/>), the before-state read before its first attempt, in one
    /// transaction, before the engine changes anything. A step's first record is kept: a later one for the same step
    /// changes nothing. Also the step's <see cref="Step.Before"/> until the step finishes with its own.
    /// </summary>
    Task RecordPreReadsAsync(IReadOnlyList<PreReadRecord> records, CancellationToken cancellationToken);

    /// <summary>After a crash: steps left running go back to pending so they are re-run (steps are idempotent); each such
    /// claim is counted in <see cref="Step.RecoveredClaims"/>, not in <see cref="Step.Claims"/>.</summary>
    Task<int> RecoverRunningStepsAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>The earliest due time of a pending automated step, if any.</summary>
    Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Records step outcomes, their audit records and any tasks, releases dependants, and re-derives each affected case's
    /// status with <see cref="Execution.CaseProgress"/>, in one transaction.
    /// </summary>
    Task CompleteStepsAsync(IReadOnlyList<StepCompletion> completions, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Leaver cases created since <paramref name="since"/> (the safety brake counts them).</summary>
    Task<int> CountLeaverCasesSinceAsync(DateTimeOffset since, CancellationToken cancellationToken);

    /// <summary>
    /// Releases cases the safety brake holds (<paramref name="approve"/> true: their steps run) or cancels them, with an
    /// audit record per case naming <paramref name="actor"/>. Returns the cases changed. A rejected case's steps and open
    /// tasks are cancelled (nothing ran, nothing is done), and its person's status goes back to what it was before the
    /// case's event set it (<see cref="SetPersonStatusesAsync"/> keeps that), audited, unless a later event has set it since.
    /// </summary>
    Task<IReadOnlyList<string>> DecideBrakedCasesAsync(IReadOnlyList<string>? caseIds, bool approve, string actor, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Cancels the named cases' not-yet-finished steps and open tasks and marks the cases cancelled.</summary>
    Task CancelCasesAsync(IReadOnlyList<string> caseIds, string reason, AuditEntry audit, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Cancels every not-yet-finished step of the person's open cases and marks those cases cancelled.</summary>
    Task<IReadOnlyList<string>> CancelOpenCasesAsync(string personId, string reason, AuditEntry audit, DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Every step of all the person's cases, whatever its status (restore and history pick the finished ones).</summary>
    Task<IReadOnlyList<Step>> GetPersonStepsAsync(string personId, CancellationToken cancellationToken);

    // Tasks

    Task<IReadOnlyList<TaskItem>> ListTasksAsync(TaskQuery query, CancellationToken cancellationToken);

    /// <summary>
    /// Completes a task. A task tied to a step marks that step done manually and releases its dependants.
    /// Throws <see cref="ValidationException"/> when the task is unknown or already done.
    /// </summary>
    Task<TaskItem> CompleteTaskAsync(string taskId, string completedBy, string? note, DateTimeOffset now, CancellationToken cancellationToken);

    // Legal holds

    Task<LegalHold> SetLegalHoldAsync(LegalHold hold, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>Active (unreleased) holds, newest first.</summary>
    Task<IReadOnlyList<LegalHold>> ListLegalHoldsAsync(int limit, CancellationToken cancellationToken);

    /// <summary>Releases the person's holds (one system or all); held steps go back to pending.</summary>
    Task<int> ReleaseLegalHoldAsync(string personId, string? systemId, AuditEntry audit, DateTimeOffset now, CancellationToken cancellationToken);

    // Audit

    /// <summary>Appends records that are not tied to a state change made by another method (admin actions, rejected input).</summary>
    Task AppendAuditAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken);

    /// <summary>Streams the chain in sequence order from <paramref name="fromSeq"/>.</summary>
    IAsyncEnumerable<AuditRecord> ReadAuditAsync(long fromSeq, CancellationToken cancellationToken);

    /// <summary>
    /// Checks the whole chain: every record's hash, its link to the previous record and the sequence. Returns the first
    /// record that does not fit. Implementations may check ranges in parallel.
    /// </summary>
    Task<AuditVerification> VerifyAuditChainAsync(CancellationToken cancellationToken);

    /// <summary>Streams the records about one person, in sequence order.</summary>
    IAsyncEnumerable<AuditRecord> ReadPersonAuditAsync(string personId, CancellationToken cancellationToken);

    /// <summary>The newest audit records matching the query, newest first (paged by <see cref="AuditQuery.BeforeSeq"/>).</summary>
    Task<IReadOnlyList<AuditRecord>> SearchAuditAsync(AuditQuery query, CancellationToken cancellationToken);

    // Console users and API keys

    /// <summary>Creates a user with its audit record. Throws <see cref="ValidationException"/> when the name is taken.</summary>
    Task CreateUserAsync(UserAccount user, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>The user with this name (case-insensitive), or null.</summary>
    Task<UserAccount?> FindUserAsync(string name, CancellationToken cancellationToken);

    Task<IReadOnlyList<UserAccount>> ListUsersAsync(CancellationToken cancellationToken);

    Task<int> CountUsersAsync(CancellationToken cancellationToken);

    /// <summary>Stores a new API key (its hash) with its audit record. Throws <see cref="ValidationException"/> on a duplicate id.</summary>
    Task CreateApiKeyAsync(ApiKey key, AuditEntry audit, CancellationToken cancellationToken);

    /// <summary>The key whose SHA-256 is <paramref name="hash"/>, revoked or not, or null.</summary>
    Task<ApiKey?> FindApiKeyByHashAsync(byte[] hash, CancellationToken cancellationToken);

    /// <summary>Records that a key was used (not audited: it is a read, and frequent).</summary>
    Task TouchApiKeyAsync(string id, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>Revokes a key with its audit record. Returns false (and writes nothing) when it is unknown or already revoked.</summary>
    Task<bool> RevokeApiKeyAsync(string id, AuditEntry audit, DateTimeOffset at, CancellationToken cancellationToken);

    Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(CancellationToken cancellationToken);

    // Status

    Task<StoreStatistics> GetStatisticsAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Exposure windows (ms) of cases whose cut was verified, optionally since a moment.</summary>
    Task<IReadOnlyList<double>> GetExposureWindowsAsync(DateTimeOffset? since, CancellationToken cancellationToken);

    /// <summary>Exposure windows with the moment each cut was verified, oldest first (the console's chart).</summary>
    Task<IReadOnlyList<ExposurePoint>> GetExposureSeriesAsync(DateTimeOffset since, CancellationToken cancellationToken);
}

/// <summary>The brake question one <see cref="IStore.CreateCasesBehindBrakeAsync"/> call asks.</summary>
/// <param name="Pending">Leaver cases of the same batch still to be created by later calls (counted as if admitted now,
/// so a batch is judged whole); 0 for the last or only call.</param>
/// <param name="Force">The brake already tripped for an earlier part of the batch: hold these leavers too, without asking again.</param>
public sealed record SafetyBrakeCheck(Policy.SafetyBrake Brake, DateTimeOffset Now, int Pending = 0, string? Force = null);

/// <param name="Tripped">Why the brake held this call's leaver cases (null: admitted).</param>
public sealed record BrakedCreation(IReadOnlyDictionary<string, string> AlreadyPlanned, string? Tripped);

/// <param name="Since">When the oldest of them was received; null when there is none.</param>
public sealed record UnplannedEvents(int Count, DateTimeOffset? Since);

/// <summary>A complete picture of one system from discovery, already correlated to people.</summary>
public sealed record InventorySnapshot(
    IReadOnlyList<Account> Accounts,
    IReadOnlyList<Entitlement> Entitlements,
    IReadOnlyList<Assignment> Assignments,
    IReadOnlyList<Device> Devices,
    IReadOnlyList<Credential> Credentials);

/// <summary>An event to record, parked or not, with the audit record of its arrival.</summary>
public sealed record EventRecord(LifecycleEvent Event, string? ParkedReason, AuditEntry Audit);

public sealed record ParkedEvent(LifecycleEvent Event, string Reason, DateTimeOffset ParkedAt);

/// <param name="PersonIds">Cases of any of these people (one query for a batch; combine with a large enough <paramref name="Limit"/>).</param>
public sealed record CaseQuery(string? PersonId = null, IReadOnlyList<CaseStatus>? Statuses = null, int Limit = 100, IReadOnlyList<string>? PersonIds = null);

public sealed record TaskQuery(bool OpenOnly = true, Team? Team = null, string? PersonId = null, int Limit = 200);

/// <summary>A step claimed for execution, with what the connector needs to act.</summary>
public sealed record ClaimedStep(Step Step, string PersonId, string? AccountExternalId, string? AccountUserName,
    string? EntitlementExternalId, string? DeviceExternalId, string? CredentialExternalId);

/// <summary>A step's before-state as read before its first attempt.</summary>
/// <param name="Observed">What the read showed (JSON map).</param>
/// <param name="AlreadyDone">The read said the action's effect already held.</param>
public sealed record PreReadRecord(string StepId, string Observed, bool AlreadyDone);

/// <summary>The outcome of one step attempt.</summary>
/// <param name="NextAttemptAt">For a retry: when to run again (status goes back to pending).</param>
/// <param name="Task">A task to raise (retries exhausted, read-back failed).</param>
/// <param name="RateLimitWaits">Rate-limited answers waited out during this claim; added to <see cref="Step.RateLimitWaits"/>.</param>
/// <param name="RateLimited">For a retry: the system asked us to wait (a rate limit), so this claim is not counted in
/// <see cref="Step.Claims"/>.</param>
/// <param name="Calls">Calls that reached the connector during this claim; added to <see cref="Step.Attempts"/>.</param>
/// <param name="Applied">For a retry: the change was applied and only its read-back is left (<see cref="Step.Applied"/>).</param>
public sealed record StepCompletion(
    string StepId,
    StepStatus Status,
    DateTimeOffset At,
    string? Before,
    string? After,
    string? Error,
    DateTimeOffset? NextAttemptAt,
    TaskItem? Task,
    IReadOnlyList<AuditEntry> Audit,
    int RateLimitWaits = 0,
    bool RateLimited = false,
    int Calls = 0,
    bool Applied = false);

public sealed record StoreStatistics(
    IReadOnlyDictionary<CaseStatus, int> CasesByStatus,
    int ParkedEvents,
    int OpenTasks,
    int OverdueTasks,
    int FailedSteps,
    int PendingSteps,
    int HeldSteps,
    long AuditRecords);

/// <summary>An audit search: every filter is optional; results come newest first.</summary>
/// <summary>What <see cref="IStore.GetPersonProfileAsync"/> returns: cases newest first, tasks as <see cref="IStore.ListTasksAsync"/> orders them, history newest first.</summary>
public sealed record PersonProfile(AccessMap Access, IReadOnlyList<Case> Cases, IReadOnlyList<TaskItem> Tasks, IReadOnlyList<AuditRecord> History);

public sealed record AuditQuery(string? PersonId = null, string? CaseId = null, string? Actor = null, string? Action = null, long? BeforeSeq = null, int Limit = 100);

/// <summary>One verified cut: when, and how long access outlived its end.</summary>
public sealed record ExposurePoint(DateTimeOffset VerifiedAt, double WindowMs);
