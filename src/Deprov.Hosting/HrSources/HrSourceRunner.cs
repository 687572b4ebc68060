using System.Globalization;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.HrSources;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Hosting.Execution;

namespace Deprov.Hosting.HrSources;

/// <summary>One configured HR source, ready to pull: its configuration, the source and the rules its pulls are judged by.</summary>
public sealed class HrSourceRuntime(HrSourceConfig config, IHrSource source, HrSyncRules rules)
{
    public HrSourceConfig Config { get; } = config;

    public IHrSource Source { get; } = source;

    public HrSyncRules Rules { get; } = rules;

    /// <summary>One pull at a time per source (the schedule, <c>deprov sources sync</c> and webhook lookups share it).</summary>
    internal SemaphoreSlim Gate { get; } = new(1, 1);
}

/// <summary>What one pull read and did.</summary>
/// <param name="Full">A full listing (else the changes since the cursor).</param>
/// <param name="Refused">Why the listing was refused as a whole (empty, truncated); nothing was changed.</param>
/// <param name="Error">Why the pull failed (the HR system's error); nothing was changed.</param>
public sealed record HrSyncReport(
    string SourceId,
    bool Full,
    int Read,
    int Calls,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Updated,
    IReadOnlyList<SubmitResult> Results,
    IReadOnlyList<string> Problems,
    IReadOnlyList<string> Notes,
    string? Cursor,
    string? Refused,
    string? Error)
{
    public bool Succeeded => Refused is null && Error is null;
}

/// <summary>
/// Pulls HR sources: on their schedule inside the worker (the changes since the cursor every <c>interval</c>, a full listing
/// every <c>full_interval</c> and when there is no cursor yet), on demand (<c>deprov sources sync</c>), and for one record
/// when a webhook names an employee without values. What is read goes through <see cref="HrSync"/> (the roster import's
/// comparison) and the engine's event intake, so a termination is one case however it arrives, and the safety brake holds
/// a pull that would end too many people at once. Every pull is audited (<c>hr_sync</c>: what was read, what it implied)
/// and its state (cursor, last run, lag, last error) is stored with that record.
/// </summary>
public sealed class HrSourceRunner
{
    private const int MaxListedInAudit = 50;
    private readonly DeprovEngine _engine;
    /// <summary>When the schedule tries each source next, so a pull whose failure could not be stored is not retried at once.</summary>
    private readonly Dictionary<string, DateTimeOffset> _retryAt = new(StringComparer.Ordinal);

    public HrSourceRunner(DeprovEngine engine)
    {
        _engine = engine;
    }

    /// <summary>Pulls one source now. <paramref name="full"/> null lets the schedule decide (full when due or without a cursor).</summary>
    /// <exception cref="NotFoundException">No HR source has this id.</exception>
    public async Task<HrSyncReport> SyncAsync(string sourceId, bool? full, string actor, CancellationToken cancellationToken)
    {
        var runtime = Find(sourceId);
        await runtime.Gate.WaitAsync(cancellationToken);
        try
        {
            return await PullAsync(runtime, full, actor, cancellationToken);
        }
        finally
        {
            runtime.Gate.Release();
        }
    }

    /// <summary>Pulls every source that is due; returns when the next one is (null when no source has a schedule).</summary>
    public async Task<DateTimeOffset?> RunDueAsync(CancellationToken cancellationToken)
    {
        DateTimeOffset? next = null;
        foreach (var runtime in _engine.HrSources.Values)
        {
            var every = runtime.Config.Interval;
            if (every <= TimeSpan.Zero)
            {
                continue;
            }

            var state = await _engine.Store.GetHrSourceStateAsync(runtime.Config.Id, cancellationToken);
            var now = _engine.Time.GetUtcNow();
            var at = state?.LastRunAt is { } last ? last + every : now;
            if (_retryAt.TryGetValue(runtime.Config.Id, out var retry) && retry > at)
            {
                at = retry;
            }

            if (at <= now)
            {
                try
                {
                    await SyncAsync(runtime.Config.Id, null, "deprov:scheduler", cancellationToken);
                }
                catch (DeprovException ex)
                {
                    // One source's failure that could not be recorded (an event the intake refused, a busy store) must not
                    // stop the others; it is logged here once and tried again after an interval.
                    Log.HrSyncFailed(_engine.Logger, runtime.Config.Id, ex.Message);
                }

                at = _engine.Time.GetUtcNow() + every;
                _retryAt[runtime.Config.Id] = at;
            }

            next = next is null || at < next ? at : next;
        }

        return next;
    }

    /// <summary>Runs until cancelled (returns at once when no source has a schedule).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var next = await RunDueAsync(cancellationToken);
            if (next is null)
            {
                return;
            }

            var wait = next.Value - _engine.Time.GetUtcNow();
            await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1), _engine.Time, cancellationToken);
        }
    }

    /// <summary>
    /// Reads one record of a source of <paramref name="kind"/> and applies what it says now, as a pull of that one record
    /// (a webhook that names an employee and changed fields but no values). Returns null when no source of that kind is
    /// configured; a report with no results when the record implies nothing (or the HR system does not know the id).
    /// </summary>
    /// <exception cref="ConnectorException">The HR system could not be read; the caller keeps the webhook parked.</exception>
    public async Task<HrSyncReport?> ResolveAsync(string kind, string hrId, string actor, CancellationToken cancellationToken)
    {
        var runtime = _engine.HrSources.Values.FirstOrDefault(r => string.Equals(r.Source.Kind, kind, StringComparison.Ordinal));
        if (runtime is null)
        {
            return null;
        }

        var record = await runtime.Source.ReadAsync(hrId, cancellationToken);
        var now = _engine.Time.GetUtcNow();
        if (record is null)
        {
            var report = new HrSyncReport(runtime.Config.Id, false, 0, 1, [], [], [], [], [$"{hrId}: not found in {runtime.Config.Id}; nothing implied"], null, null, null);
            await _engine.Store.AppendAuditAsync([Audit(report, actor, now, "lookup", [])], cancellationToken);
            return report;
        }

        var person = await _engine.Store.GetPersonAsync(hrId, cancellationToken);
        var decision = HrSync.Decide(runtime.Source.Kind, [record], id => id == person?.Id ? person : null, full: false, lastFullCount: null, knownPeople: 0, runtime.Rules, now);
        var results = await ApplyAsync(decision, actor, cancellationToken);
        var done = new HrSyncReport(runtime.Config.Id, false, 1, 1, decision.Added.Select(p => p.Id).ToList(), decision.Updated.Select(p => p.Id).ToList(), results,
            decision.Problems, [], null, null, null);
        await _engine.Store.AppendAuditAsync([Audit(done, actor, now, "lookup", decision.Events)], cancellationToken);
        return done;
    }

    private HrSourceRuntime Find(string sourceId) =>
        _engine.HrSources.TryGetValue(sourceId, out var runtime)
            ? runtime
            : throw new NotFoundException(_engine.HrSources.Count == 0
                ? $"No HR source '{sourceId}': deprov.yaml has no hr_sources (see docs/hr-triggers.md)."
                : $"No HR source '{sourceId}'; configured: {string.Join(", ", _engine.HrSources.Keys.Order(StringComparer.Ordinal))}.");

    private async Task<HrSyncReport> PullAsync(HrSourceRuntime runtime, bool? full, string actor, CancellationToken cancellationToken)
    {
        var id = runtime.Config.Id;
        var started = _engine.Time.GetUtcNow();
        var state = await _engine.Store.GetHrSourceStateAsync(id, cancellationToken) ?? new HrSourceState(id, null, null, null, null, null, null);
        var fullDue = runtime.Config.FullInterval > TimeSpan.Zero && (state.LastFullAt is not { } lastFull || lastFull + runtime.Config.FullInterval <= started);
        var isFull = full ?? (state.Cursor is null || fullDue);
        if (!isFull && state.Cursor is null)
        {
            isFull = true;
        }

        HrSourceListing listing;
        try
        {
            listing = isFull ? await runtime.Source.ListAllAsync(cancellationToken) : await runtime.Source.ListChangedAsync(state.Cursor!, cancellationToken);
        }
        catch (ConnectorException ex)
        {
            return await FailAsync(runtime, state, isFull, actor, ex.Message, refused: false, cancellationToken);
        }

        var now = _engine.Time.GetUtcNow();
        var known = await KnownAsync(listing.Records, isFull, cancellationToken);
        var knownPeople = isFull ? known.Values.Count(p => p.Status != PersonStatus.Left) : 0;
        var decision = HrSync.Decide(runtime.Source.Kind, listing.Records, hrId => known.GetValueOrDefault(hrId), isFull, state.LastFullCount, knownPeople, runtime.Rules, now);
        if (decision.Refused is not null)
        {
            return await FailAsync(runtime, state, isFull, actor, decision.Refused, refused: true, cancellationToken, listing);
        }

        var results = await ApplyAsync(decision, actor, cancellationToken);
        var report = new HrSyncReport(id, isFull, listing.Records.Count, listing.Calls, decision.Added.Select(p => p.Id).ToList(), decision.Updated.Select(p => p.Id).ToList(),
            results, decision.Problems, listing.Notes, listing.Cursor ?? state.Cursor, null, null);
        var newState = state with
        {
            Cursor = listing.Cursor ?? state.Cursor,
            LastRunAt = _engine.Time.GetUtcNow(),
            LastSuccessAt = started,
            LastFullAt = isFull ? started : state.LastFullAt,
            LastFullCount = isFull ? listing.Records.Count : state.LastFullCount,
            LastError = null,
        };
        await _engine.Store.RecordHrSourceRunAsync(newState, [Audit(report, actor, now, isFull ? "full" : "changed", decision.Events)], cancellationToken);
        Log.HrSynced(_engine.Logger, id, report.Read, isFull ? "full listing" : "changes", decision.Events.Count, decision.Problems.Count);
        return report;
    }

    /// <summary>New people first (their events need them), their parked events replayed; then the events (a move is planned
    /// against the old role); then the updated HR fields: the roster import's order.</summary>
    private async Task<IReadOnlyList<SubmitResult>> ApplyAsync(HrSyncDecision decision, string actor, CancellationToken cancellationToken)
    {
        if (decision.Added.Count > 0)
        {
            await _engine.Store.UpsertPeopleAsync(decision.Added, cancellationToken);
            await _engine.ReplayParkedAsync(actor, cancellationToken);
        }

        var results = decision.Events.Count > 0 ? await _engine.SubmitManyAsync(decision.Events, actor, cancellationToken) : [];
        if (decision.Updated.Count > 0)
        {
            await _engine.Store.UpsertPeopleAsync(decision.Updated, cancellationToken);
        }

        return results;
    }

    private async Task<Dictionary<string, Person>> KnownAsync(IReadOnlyList<HrSourceRecord> records, bool full, CancellationToken cancellationToken)
    {
        var known = new Dictionary<string, Person>(StringComparer.Ordinal);
        if (full)
        {
            for (var offset = 0; ; offset += 10_000)
            {
                var page = await _engine.Store.ListPeopleAsync(10_000, offset, cancellationToken);
                foreach (var p in page)
                {
                    known[p.Id] = p;
                }

                if (page.Count < 10_000)
                {
                    return known;
                }
            }
        }

        foreach (var r in records.DistinctBy(r => r.Id))
        {
            if (await _engine.Store.GetPersonAsync(r.Id, cancellationToken) is { } p)
            {
                known[p.Id] = p;
            }
        }

        return known;
    }

    private async Task<HrSyncReport> FailAsync(HrSourceRuntime runtime, HrSourceState state, bool full, string actor, string why, bool refused,
        CancellationToken cancellationToken, HrSourceListing? listing = null)
    {
        var now = _engine.Time.GetUtcNow();
        var report = new HrSyncReport(runtime.Config.Id, full, listing?.Records.Count ?? 0, listing?.Calls ?? 0, [], [], [], [], listing?.Notes ?? [], state.Cursor,
            refused ? why : null, refused ? null : why);
        // The cursor stays where it was: the next pull reads the same changes again.
        await _engine.Store.RecordHrSourceRunAsync(state with { LastRunAt = now, LastError = why }, [Audit(report, actor, now, full ? "full" : "changed", [])], cancellationToken);
        Log.HrSyncFailed(_engine.Logger, runtime.Config.Id, why);
        return report;
    }

    private static AuditEntry Audit(HrSyncReport r, string actor, DateTimeOffset at, string listing, IReadOnlyList<LifecycleEvent> events)
    {
        var implied = events.Take(MaxListedInAudit).Select(e => string.Create(CultureInfo.InvariantCulture, $"{e.Kind.Snake()} {e.PersonId} at {e.EffectiveAt:O}")).ToList();
        var after = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["listing"] = listing,
            ["read"] = r.Read,
            ["calls"] = r.Calls,
            ["cursor"] = r.Cursor,
            ["events"] = events.Count,
            ["implied"] = implied,
            ["added"] = r.Added.Count,
            ["updated"] = r.Updated.Count,
            ["problems"] = r.Problems.Take(MaxListedInAudit).ToList(),
            ["notes"] = r.Notes.Take(MaxListedInAudit).ToList(),
        }, CoreJson.Options);
        var outcome = r.Refused is not null ? "refused" : r.Error is not null ? "failed" : "ok";
        var detail = r.Refused ?? r.Error ?? string.Create(CultureInfo.InvariantCulture,
            $"{listing} listing: read {r.Read} record(s) in {r.Calls} call(s); {events.Count} event(s), {r.Added.Count} added, {r.Updated.Count} updated, {r.Problems.Count} not used");
        return new AuditEntry(at, actor, "hr_sync", null, r.SourceId, null, null, null, null, after, outcome, detail);
    }
}
