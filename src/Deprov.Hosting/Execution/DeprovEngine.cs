using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Policy;
using Deprov.Core.Store;
using Deprov.Hosting.Configuration;
using Microsoft.Extensions.Logging;
using Polly;

namespace Deprov.Hosting.Execution;

public enum SubmitOutcome
{
    /// <summary>A case was planned (it runs now or when due).</summary>
    Planned,
    /// <summary>The same idempotency key was seen before; nothing was done.</summary>
    Duplicate,
    /// <summary>The person is unknown: the event is kept and listed, and replayed when the person appears.</summary>
    Parked,
    /// <summary>The event changed state directly (legal hold set or released).</summary>
    Applied,
    /// <summary>Recorded durably; the worker plans it right away.</summary>
    Accepted,
    /// <summary>The idempotency key was seen before with a different event: nothing was done, and the sender must be told.</summary>
    Conflict,
}

public sealed record SubmitResult(LifecycleEvent Event, SubmitOutcome Outcome, Plan? Plan, string Message);

/// <summary>What the engine reports while it works (progress display, live console).</summary>
public sealed record StepProgress(Step Step, string PersonId, StepStatus Status, string? Detail);

/// <summary>
/// The deprovisioning engine: accepts lifecycle events, plans cases, and executes their steps durably. Every step is
/// persisted as running before its connector call; results are group-committed (one transaction, one fsync, for a batch
/// of step results) together with their audit records.
/// </summary>
public sealed partial class DeprovEngine : IAsyncDisposable
{
    private readonly IStore _store;
    private readonly DeprovConfig _config;
    private readonly IReadOnlyDictionary<string, SystemRuntime> _systems;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly EngineOptions _options;
    private readonly Planner _planner;
    /// <summary>Events a <see cref="SubmitManyAsync"/> call is recording and planning right now.</summary>
    private readonly ConcurrentDictionary<string, byte> _planning = new(StringComparer.Ordinal);
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public DeprovEngine(DeprovConfig config, IStore store, IReadOnlyDictionary<string, SystemRuntime> systems, TimeProvider time, ILogger logger, EngineOptions? options = null)
    {
        _config = config;
        _store = store;
        _systems = systems;
        _time = time;
        _logger = logger;
        _options = options ?? new EngineOptions();
        _planner = new Planner(config.Policy, PlanningContext);
    }

    public IStore Store => _store;

    public DeprovConfig Config => _config;

    public IReadOnlyDictionary<string, SystemRuntime> Systems => _systems;

    public TimeProvider Time => _time;

    /// <summary>The HR sources Deprov pulls from (<c>hr_sources:</c>), by id; created and disposed with the engine.</summary>
    public IReadOnlyDictionary<string, HrSources.HrSourceRuntime> HrSources { get; init; } = new Dictionary<string, HrSources.HrSourceRuntime>(StringComparer.Ordinal);

    internal ILogger Logger => _logger;

    /// <summary>Called for every step that starts or finishes. Must be quick; runs on the engine's threads.</summary>
    public Action<StepProgress>? OnProgress { get; set; }

    public PlanningContext PlanningContext => new(
        _config.SystemsById,
        _systems.ToDictionary(kv => kv.Key, kv => kv.Value.Descriptor.Supported, StringComparer.Ordinal));

    // ----- events -----

    /// <summary>Records an event and plans what it implies. Idempotent on <see cref="LifecycleEvent.IdempotencyKey"/>.</summary>
    public async Task<SubmitResult> SubmitAsync(LifecycleEvent e, string actor, CancellationToken cancellationToken) =>
        (await SubmitManyAsync([e], actor, cancellationToken))[0];

    /// <summary>Submits a batch (an import, a layoff): plans are persisted together.</summary>
    public async Task<IReadOnlyList<SubmitResult>> SubmitManyAsync(IReadOnlyList<LifecycleEvent> events, string actor, CancellationToken cancellationToken)
    {
        var results = new SubmitResult?[events.Count];
        var validated = events.Select(Validate).ToList();
        // The loop that plans recorded events (RunAsync) leaves these to this call; planning one event twice would be
        // wasted work, and only one of the two plans can be kept.
        foreach (var e in validated)
        {
            _planning.TryAdd(e.Id, 0);
        }

        try
        {
            var maps = (await _store.GetAccessMapsAsync(validated.Select(e => e.PersonId).Distinct(StringComparer.Ordinal).ToList(), cancellationToken))
                .ToDictionary(m => m.Person.Id, StringComparer.Ordinal);
            var records = validated.Select(e => maps.ContainsKey(e.PersonId)
                ? new EventRecord(e, null, Audit(e, actor, "event_received", "ok", e.Note))
                : new EventRecord(e, UnknownPerson(e), Audit(e, actor, "event_parked", "parked", UnknownPerson(e)))).ToList();
            var recorded = await _store.RecordEventsAsync(records, cancellationToken);
            var toPlan = new List<(int Index, LifecycleEvent Event)>();
            for (var i = 0; i < records.Count; i++)
            {
                var e = records[i].Event;
                if (!recorded[i])
                {
                    results[i] = await DuplicateOrConflictAsync(e, actor, cancellationToken);
                }
                else if (records[i].ParkedReason is { } reason)
                {
                    results[i] = new SubmitResult(e, SubmitOutcome.Parked, null, reason);
                }
                else
                {
                    toPlan.Add((i, e));
                }
            }

            foreach (var (index, result) in await HandleAsync(toPlan, actor, cancellationToken, maps))
            {
                results[index] = result;
            }

            Wake();
            return results!;
        }
        finally
        {
            foreach (var e in validated)
            {
                _planning.TryRemove(e.Id, out _);
            }
        }
    }

    /// <summary>Handles events that were recorded but not handled: the process stopped in between, or another process
    /// (the API server) recorded them. Events a <see cref="SubmitManyAsync"/> call of this engine is planning are left to it.</summary>
    public async Task<int> HandleUnhandledEventsAsync(CancellationToken cancellationToken)
    {
        var pending = (await _store.ListUnhandledEventsAsync(cancellationToken)).Where(e => !_planning.ContainsKey(e.Id)).ToList();
        foreach (var chunk in pending.Chunk(1000))
        {
            await HandleAsync(chunk.Select((e, i) => (i, e)).ToList(), "deprov", cancellationToken);
        }

        return pending.Count;
    }

    /// <summary>
    /// Replays parked events whose person now exists, each exactly as it was received. Only events parked because their
    /// person was unknown are replayed: an event parked for what it lacks (a BambooHR hook that needs a lookup, a value
    /// Deprov does not map) stays parked for an operator, since replaying it would act on a guess.
    /// </summary>
    public async Task<int> ReplayParkedAsync(string actor, CancellationToken cancellationToken)
    {
        var parked = await _store.ListParkedEventsAsync(cancellationToken);
        var ready = new List<(int, LifecycleEvent)>();
        foreach (var p in parked)
        {
            if (p.Reason == UnknownPerson(p.Event) && await _store.GetPersonAsync(p.Event.PersonId, cancellationToken) is not null)
            {
                ready.Add((ready.Count, p.Event));
            }
        }

        await HandleAsync(ready, actor, cancellationToken);
        Wake();
        return ready.Count;
    }

    /// <param name="maps">Access maps the caller has just read for these people (read here when null).</param>
    private async Task<List<(int, SubmitResult)>> HandleAsync(List<(int Index, LifecycleEvent Event)> events, string actor, CancellationToken cancellationToken,
        Dictionary<string, AccessMap>? maps = null)
    {
        var results = new List<(int, SubmitResult)>();
        var plans = new List<(int Index, LifecycleEvent Event, Plan Plan)>();
        maps ??= (await _store.GetAccessMapsAsync(events.Select(e => e.Event.PersonId).Distinct(StringComparer.Ordinal).ToList(), cancellationToken))
            .ToDictionary(m => m.Person.Id, StringComparer.Ordinal);
        var now = _time.GetUtcNow();
        // The open leaver cases a new termination date may supersede: one query for the whole batch, not one per event.
        var leavers = events.Where(e => e.Event.Kind is EventKind.Leave or EventKind.ContractEnd).Select(e => e.Event.PersonId).Distinct(StringComparer.Ordinal).ToList();
        IReadOnlyList<Case> open = leavers.Count == 0 ? []
            : await _store.ListCasesAsync(new CaseQuery(Statuses: [CaseStatus.Scheduled, CaseStatus.AwaitingApproval], Limit: int.MaxValue, PersonIds: leavers), cancellationToken);
        var openByPerson = open.ToLookup(c => c.PersonId, StringComparer.Ordinal);
        var supersededIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (index, e) in events)
        {
            if (!maps.TryGetValue(e.PersonId, out var map))
            {
                continue;
            }

            switch (e.Kind)
            {
                case EventKind.Leave or EventKind.ContractEnd or EventKind.Move:
                {
                    if (e.Kind != EventKind.Move)
                    {
                        // A new termination date supersedes a leaver case whose cut has not happened yet (the date moved).
                        var superseded = openByPerson[e.PersonId].Where(c => c.Kind == CaseKind.Leaver && c.EventId != e.Id && c.CutAt > now && c.CutVerifiedAt is null && !supersededIds.Contains(c.Id))
                            .Select(c => c.Id).ToList();
                        if (superseded.Count > 0)
                        {
                            supersededIds.UnionWith(superseded);
                            await _store.CancelCasesAsync(superseded, $"superseded by event {e.Id} (effective {e.EffectiveAt:u})", Audit(e, actor, "supersede_cases", "ok", string.Join(", ", superseded)), now, cancellationToken);
                        }
                    }

                    var rule = _config.Policy.Match(e, map.Person, map.RiskTier(_config.SystemsById))
                        ?? new PolicyRule("default", RuleMatch.Any, DeprovPolicy.Immediate, DeviceAction.Lock);
                    var caseId = NewId("C");
                    var plan = e.Kind == EventKind.Move
                        ? _planner.PlanMover(e, map, rule, caseId, now)
                        : _planner.PlanLeaver(e, map, rule, caseId, now);
                    plans.Add((index, e, plan));
                    break;
                }

                case EventKind.Rehire or EventKind.TerminationCancelled:
                {
                    var cancelled = await _store.CancelOpenCasesAsync(e.PersonId, $"{e.Kind.Snake()} ({e.Id})",
                        Audit(e, actor, "cancel_open_cases", "ok", null), now, cancellationToken);
                    var done = await _store.GetPersonStepsAsync(e.PersonId, cancellationToken);
                    var plan = _planner.PlanRestore(e, map, done, NewId("C"), now);
                    var restoreNote = cancelled.Count > 0 ? $"cancelled {string.Join(", ", cancelled)}" : "no open case";
                    plans.Add((index, e, plan with { Notes = [restoreNote, .. plan.Notes] }));
                    break;
                }

                case EventKind.LegalHoldSet:
                {
                    var hold = new LegalHold(NewId("H"), e.PersonId, e.HoldSystemId, e.Note ?? "legal hold", actor, now);
                    await _store.SetLegalHoldAsync(hold, Audit(e, actor, "legal_hold_set", "ok", hold.Reason), cancellationToken);
                    await _store.MarkEventHandledAsync(e.Id, now, cancellationToken);
                    results.Add((index, new SubmitResult(e, SubmitOutcome.Applied, null, $"legal hold {hold.Id} set on {e.PersonId}" + (e.HoldSystemId is null ? string.Empty : $" for {e.HoldSystemId}"))));
                    break;
                }

                case EventKind.LegalHoldReleased:
                {
                    var n = await _store.ReleaseLegalHoldAsync(e.PersonId, e.HoldSystemId, Audit(e, actor, "legal_hold_released", "ok", e.Note), now, cancellationToken);
                    await _store.MarkEventHandledAsync(e.Id, now, cancellationToken);
                    results.Add((index, new SubmitResult(e, SubmitOutcome.Applied, null, $"{n} legal hold(s) released on {e.PersonId}")));
                    break;
                }
            }
        }

        // A leave or contract end makes the person leaving or left, a rehire or cancelled termination active again
        // (PersonLifecycle decides; only events whose person is known; the last event of a person in the batch decides).
        // Each status is stored with the case of the event that decided it, in the same transaction: a separate
        // transaction per batch cost a commit (an fsync) that webhook intake waited behind. An event without a plan
        // (none today) would have its status stored on its own.
        var statuses = PersonLifecycle.After(events.Where(e => maps.ContainsKey(e.Event.PersonId)).Select(e => e.Event), now).ToDictionary(s => s.EventId, StringComparer.Ordinal);
        for (var i = 0; i < plans.Count; i++)
        {
            if (statuses.Remove(plans[i].Event.Id, out var status))
            {
                plans[i] = plans[i] with { Plan = plans[i].Plan with { PersonStatus = status } };
            }
        }

        await _store.SetPersonStatusesAsync([.. statuses.Values], now, cancellationToken);

        // Persist in chunks: one transaction (one fsync) for many plans. The safety brake decides inside each chunk's
        // transaction (counting what every other submitter has committed); the later chunks of a batch are counted as
        // pending, so the batch is judged whole, and once it trips they are held too.
        var brake = _config.Policy.SafetyBrake;
        var pendingLeavers = plans.Count(p => IsBrakeable(p.Plan));
        string? tripped = null;
        foreach (var chunk in plans.Chunk(200))
        {
            var audit = chunk.Select(p => new AuditEntry(now, "deprov", "case_planned", null, p.Plan.Case.Id, p.Event.PersonId, p.Plan.Case.Id, null, null,
                CoreJson.Serialize(new Dictionary<string, string>
                {
                    ["steps"] = p.Plan.Steps.Count.ToString(CultureInfo.InvariantCulture),
                    ["rule"] = p.Plan.Case.PolicyRule,
                    ["plan"] = p.Plan.Case.Plan,
                }), "ok", string.Join("; ", p.Plan.Notes))).Concat(chunk.Where(p => p.Plan.Case.ClosedAt is not null).Select(p => Closed(p.Plan.Case, now))).ToList();
            pendingLeavers -= chunk.Count(p => IsBrakeable(p.Plan));
            IReadOnlyDictionary<string, string> alreadyPlanned;
            if (brake.Enabled)
            {
                var created = await _store.CreateCasesBehindBrakeAsync(chunk.Select(p => p.Plan).ToList(), audit, new SafetyBrakeCheck(brake, now, pendingLeavers, tripped), cancellationToken);
                alreadyPlanned = created.AlreadyPlanned;
                if (created.Tripped is { } why && tripped is null)
                {
                    tripped = why;
                    Log.BrakeTripped(_logger, why);
                }
            }
            else
            {
                alreadyPlanned = await _store.CreateCasesAsync(chunk.Select(p => p.Plan).ToList(), audit, cancellationToken);
            }

            foreach (var (index, e, planned) in chunk)
            {
                var plan = tripped is not null && IsBrakeable(planned)
                    ? planned with { Case = planned.Case with { Status = CaseStatus.AwaitingApproval, StatusDetail = tripped } }
                    : planned;
                results.Add((index, alreadyPlanned.TryGetValue(plan.Case.Id, out var recorded)
                    ? await RecordedPlanAsync(e, recorded, cancellationToken)
                    : new SubmitResult(e, SubmitOutcome.Planned, plan, $"case {plan.Case.Id}: {plan.Steps.Count} step(s), rule '{plan.Case.PolicyRule}'"
                        + (plan.Case.ClosedAt is not null ? $"; closed at once: {plan.Case.StatusDetail}" : string.Empty))));
            }
        }

        if (events.Any(e => e.Event.Kind is EventKind.Leave or EventKind.ContractEnd))
        {
            _nextLeaveCheck = DateTimeOffset.MinValue; // a future leave may now be the next one due
        }

        return results;
    }

    /// <summary>A leaver case the safety brake can hold: one that still has something to do (a case closed at planning changes nothing).</summary>
    private static bool IsBrakeable(Plan plan) => plan.Case.Kind == CaseKind.Leaver && plan.Case.ClosedAt is null;

    /// <summary>The audit record of a case the planner closed at once (nothing to do, or nothing it could do).</summary>
    private static AuditEntry Closed(Case kase, DateTimeOffset now) =>
        new(now, "deprov", kase.Status == CaseStatus.Verified ? "case_verified" : "case_unverified", null, kase.PersonId, kase.PersonId, kase.Id, null,
            CaseStatus.Running.Snake(), kase.Status.Snake(), kase.Status == CaseStatus.Verified ? "ok" : "failed", kase.StatusDetail);

    /// <summary>
    /// The answer for an event another planner (the worker's loop, another process) planned at the same moment: its plan
    /// was kept and this one dropped, so the caller is given the recorded case, never the id of a case that does not exist.
    /// </summary>
    private async Task<SubmitResult> RecordedPlanAsync(LifecycleEvent e, string caseId, CancellationToken cancellationToken)
    {
        var recorded = await _store.GetCaseAsync(caseId, cancellationToken)
            ?? throw new InvalidOperationException($"Case {caseId}, recorded for event {e.Id}, cannot be read.");
        var steps = await _store.GetStepsAsync(caseId, cancellationToken);
        return new SubmitResult(e, SubmitOutcome.Planned, new Plan(recorded, steps, [], [], ["planned at the same moment by another planner; this is the recorded case"]),
            $"case {caseId}: {steps.Count} step(s), rule '{recorded.PolicyRule}' (planned at the same moment by another planner)");
    }

    /// <summary>Builds the plan an event would get, without recording or executing anything (dry run).</summary>
    public async Task<Plan> PreviewAsync(LifecycleEvent e, CancellationToken cancellationToken)
    {
        var maps = await _store.GetAccessMapsAsync([e.PersonId], cancellationToken);
        var map = (maps.Count > 0 ? maps[0] : null)
            ?? throw new NotFoundException($"There is no person '{e.PersonId}'. Check the id with 'deprov person <id>' or import the HR roster first.");
        var now = _time.GetUtcNow();
        var rule = _config.Policy.Match(e, map.Person, map.RiskTier(_config.SystemsById)) ?? _config.Policy.Rules[^1];
        return e.Kind switch
        {
            EventKind.Move => _planner.PlanMover(e, map, rule, "C-preview", now),
            EventKind.Rehire or EventKind.TerminationCancelled => _planner.PlanRestore(e, map, await _store.GetPersonStepsAsync(e.PersonId, cancellationToken), "C-preview", now),
            _ => _planner.PlanLeaver(e, map, rule, "C-preview", now),
        };
    }

    private LifecycleEvent Validate(LifecycleEvent e)
    {
        var errors = new List<ValidationError>();
        if (string.IsNullOrWhiteSpace(e.PersonId))
        {
            errors.Add(new ValidationError(null, null, "personId", "is empty.", "give the HR id of the person."));
        }

        if (e.Kind == EventKind.Move && e.NewDepartment is null && e.NewTitle is null)
        {
            errors.Add(new ValidationError(null, null, "newDepartment", "a move needs a new department or a new title.", "pass --department and/or --title."));
        }

        if (errors.Count > 0)
        {
            throw new ValidationException(errors);
        }

        var now = _time.GetUtcNow();
        var key = string.IsNullOrWhiteSpace(e.IdempotencyKey)
            ? Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes($"{e.Kind}|{e.PersonId}|{e.EffectiveAt.UtcTicks}|{e.Reason}|{e.Source}|{e.NewDepartment}|{e.NewTitle}|{e.HoldSystemId}")))[..32]
            : e.IdempotencyKey;
        return e with
        {
            Id = string.IsNullOrWhiteSpace(e.Id) ? NewId("E") : e.Id,
            IdempotencyKey = key,
            ReceivedAt = e.ReceivedAt == default ? now : e.ReceivedAt,
        };
    }

    private static string UnknownPerson(LifecycleEvent e) => $"unknown person '{e.PersonId}': kept until the person appears in the HR data";

    /// <summary>Starts the reason of an event parked because its values must be read from the HR system first.</summary>
    public const string NeedsLookupPrefix = "needs a lookup: ";

    /// <summary>Starts the reason of an event parked because it says something Deprov does not act on by itself.</summary>
    public const string NeedsReviewPrefix = "needs review: ";

    /// <summary>Whether a parked event's kind is what the source said; for one that needs a lookup or review it is a placeholder.</summary>
    public static bool IsKnownEvent(ParkedEvent p) =>
        !p.Reason.StartsWith(NeedsLookupPrefix, StringComparison.Ordinal) && !p.Reason.StartsWith(NeedsReviewPrefix, StringComparison.Ordinal);

    private static string DuplicateMessage(LifecycleEvent e) => $"already received (idempotency key {e.IdempotencyKey}); nothing done";

    /// <summary>
    /// The answer for an event whose idempotency key is already recorded: the same event again is a harmless duplicate;
    /// a different event under the same key is a conflict, audited, since treating it as a duplicate would drop it.
    /// </summary>
    private async Task<SubmitResult> DuplicateOrConflictAsync(LifecycleEvent e, string actor, CancellationToken cancellationToken)
    {
        var stored = await _store.GetEventByKeyAsync(e.IdempotencyKey, cancellationToken);
        if (stored is null || SameContent(stored, e))
        {
            return new SubmitResult(e, SubmitOutcome.Duplicate, null, DuplicateMessage(e));
        }

        var message = $"idempotency key '{e.IdempotencyKey}' already names event {stored.Id} ({Describe(stored)}); this request is a different event ({Describe(e)}). " +
            "Nothing was done: send the new event with its own key.";
        await _store.AppendAuditAsync([Audit(e, actor, "idempotency_conflict", "refused", message)], cancellationToken);
        return new SubmitResult(e, SubmitOutcome.Conflict, null, message);
    }

    private static string Describe(LifecycleEvent e) =>
        $"{e.Kind.Snake()} for {e.PersonId}, effective {e.EffectiveAt.ToString("u", CultureInfo.InvariantCulture)}" + (e.Reason == ExitReason.None ? string.Empty : ", " + e.Reason.Snake())
        + (e.NewDepartment is null ? string.Empty : $", department {e.NewDepartment}") + (e.NewTitle is null ? string.Empty : $", title {e.NewTitle}")
        + (e.HoldSystemId is null ? string.Empty : $", system {e.HoldSystemId}");

    /// <summary>
    /// Whether two events under one key say the same thing. An effective moment defaulted to "now" differs on every retry,
    /// so two events that each took (about) their receipt time as effective count as the same; the note and source are free text.
    /// </summary>
    private static bool SameContent(LifecycleEvent a, LifecycleEvent b) =>
        a.Kind == b.Kind && string.Equals(a.PersonId, b.PersonId, StringComparison.Ordinal) && a.Reason == b.Reason
        && string.Equals(a.NewDepartment, b.NewDepartment, StringComparison.Ordinal) && string.Equals(a.NewTitle, b.NewTitle, StringComparison.Ordinal)
        && string.Equals(a.HoldSystemId, b.HoldSystemId, StringComparison.Ordinal)
        && (a.EffectiveAt == b.EffectiveAt || (Now(a) && Now(b)));

    private static bool Now(LifecycleEvent e) => (e.EffectiveAt - e.ReceivedAt).Duration() < TimeSpan.FromSeconds(5);

    private static AuditEntry Audit(LifecycleEvent e, string actor, string action, string outcome, string? detail) =>
        new(e.ReceivedAt, actor, action, null, e.Kind.Snake(), e.PersonId, null, null, null,
            CoreJson.Serialize(new Dictionary<string, string>
            {
                ["event"] = e.Id,
                ["kind"] = e.Kind.Snake(),
                ["effectiveAt"] = e.EffectiveAt.ToString("O", CultureInfo.InvariantCulture),
                ["reason"] = e.Reason.Snake(),
                ["source"] = e.Source,
            }),
            outcome, detail);

    [ThreadStatic]
    private static byte[]? _idRandom;

    [ThreadStatic]
    private static int _idRandomUsed;

    /// <summary>A short, unique, time-ordered id: <c>C-261122-8F3K2M9QX1</c>.</summary>
    public string NewId(string prefix)
    {
        const string alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        // Random bytes are drawn 4 KiB at a time per thread: one call to the system's generator per id was ~2 % of the
        // CPU of a webhook flood (an id per case and per step).
        var pool = _idRandom ??= new byte[4096];
        if (_idRandomUsed == 0 || _idRandomUsed + 10 > pool.Length)
        {
            RandomNumberGenerator.Fill(pool);
            _idRandomUsed = 0;
        }

        var bytes = pool.AsSpan(_idRandomUsed, 10);
        _idRandomUsed += 10;
        Span<char> chars = stackalloc char[10];
        for (var i = 0; i < 10; i++)
        {
            chars[i] = alphabet[bytes[i] & 31];
        }

        return $"{prefix}-{_time.GetUtcNow():yyMMdd}-{chars}";
    }

    /// <summary>Tells the run loop to look for work now.</summary>
    public void Wake() => _wake.Writer.TryWrite(true);

    public async ValueTask DisposeAsync()
    {
        _inbox.Writer.TryComplete();
        if (_inboxWriter is not null)
        {
            await _inboxWriter;
        }

        foreach (var s in _systems.Values)
        {
            await s.DisposeAsync();
        }

        foreach (var h in HrSources.Values)
        {
            await h.Source.DisposeAsync();
        }

        await _store.DisposeAsync();
    }
}

/// <summary>Tuning of the run loop.</summary>
/// <param name="MaxInFlight">Steps executing at once across all systems.</param>
/// <param name="CommitBatch">Step results committed in one transaction at most.</param>
/// <param name="CallTimeout">Timeout of one connector call.</param>
public sealed record EngineOptions(int MaxInFlight = 512, int CommitBatch = 1024, TimeSpan? CallTimeout = null)
{
    /// <summary>In <see cref="RunMode.UntilIdle"/>, steps due within this long (retries) are waited for. Default 2 minutes.</summary>
    public TimeSpan IdleHorizon { get; init; } = TimeSpan.FromMinutes(2);
}
