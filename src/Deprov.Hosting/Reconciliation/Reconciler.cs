using System.Globalization;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Reconciliation;
using Deprov.Hosting.Discovery;
using Deprov.Hosting.Execution;
using TaskStatus = Deprov.Core.Model.TaskStatus;

namespace Deprov.Hosting.Reconciliation;

/// <summary>Where a reconciliation run is (for the CLI's progress display).</summary>
public sealed record ReconcileProgress(string SystemId, string Phase, int Objects);

/// <summary>What reconciling one system did.</summary>
/// <param name="Unchanged">Nothing read differed from the last run (and nothing it depends on): nothing was rewritten.</param>
/// <param name="Error">Why the system could not be reconciled (its inventory is left as it was).</param>
/// <param name="Shrink">Set when the shrink guard refused the listing (then <paramref name="Error"/> says so too).</param>
public sealed record SystemReconciliation(
    string SystemId,
    DiscoveryReport? Discovery,
    bool Unchanged,
    int NewFindings,
    int OpenFindings,
    int Resolved,
    int Remediations,
    int Tasks,
    string? Error,
    RefusedShrink? Shrink = null);

/// <summary>A listing the shrink guard refused, and the <c>inventory_shrink</c> finding raised for it.</summary>
/// <param name="Stored">Accounts the kept inventory holds.</param>
/// <param name="Listed">Accounts the refused listing held.</param>
/// <param name="MaxShare">The share (0–1) the system's <c>reconciliation.max_shrink</c> allows.</param>
public sealed record RefusedShrink(int Stored, int Listed, double MaxShare, string FindingId);

/// <summary>
/// Discovery, correlation, findings and reactions for a set of systems, one system at a time. A system that fails is
/// reported and left as it was; the others go on. Remediations are planned as cases; the engine's run loop executes them.
/// </summary>
public sealed class Reconciler
{
    private readonly DeprovEngine _engine;

    public Reconciler(DeprovEngine engine)
    {
        _engine = engine;
    }

    /// <param name="systemIds">Systems to reconcile; null or empty = every configured system.</param>
    /// <param name="force">Rewrite and re-detect even when nothing changed.</param>
    public Task<IReadOnlyList<SystemReconciliation>> ReconcileAsync(IReadOnlyList<string>? systemIds, string actor, bool force, IProgress<ReconcileProgress>? progress,
        CancellationToken cancellationToken) =>
        ReconcileAsync(systemIds, actor, force, acceptShrink: false, progress, cancellationToken);

    /// <param name="systemIds">Systems to reconcile; null or empty = every configured system.</param>
    /// <param name="force">Rewrite and re-detect even when nothing changed.</param>
    /// <param name="acceptShrink">Lift the shrink guard (<c>reconciliation.max_shrink</c>) for this run: a listing with far
    /// fewer accounts than the inventory is written. Without it such a system is refused, keeps its inventory, and gets an
    /// <see cref="FindingKind.InventoryShrink"/> finding and an alert.</param>
    public async Task<IReadOnlyList<SystemReconciliation>> ReconcileAsync(IReadOnlyList<string>? systemIds, string actor, bool force, bool acceptShrink,
        IProgress<ReconcileProgress>? progress, CancellationToken cancellationToken)
    {
        var ids = systemIds is { Count: > 0 } ? systemIds : [.. _engine.Config.Systems.Select(s => s.System.Id)];
        foreach (var id in ids)
        {
            if (!_engine.Systems.ContainsKey(id))
            {
                throw new NotFoundException($"There is no system '{id}'. Configured: {string.Join(", ", _engine.Systems.Keys.Order(StringComparer.Ordinal))}.");
            }
        }

        // A termination that took effect since the worker last looked makes its person left before findings are detected.
        await _engine.ApplyDueLeavesAsync(cancellationToken);
        var people = await PeopleSnapshot.LoadAsync(_engine.Store, cancellationToken);
        var results = new List<SystemReconciliation>();

        // A pipeline of two: the next system is read and correlated (CPU, the connector) while this one is written,
        // detected and reacted to (the store's single writer).
        Task<SystemRead>? next = ReadAsync(_engine.Systems[ids[0]], people, force, acceptShrink, actor, progress, cancellationToken);
        try
        {
            for (var i = 0; i < ids.Count; i++)
            {
                var read = await next!;
                var following = i + 1 < ids.Count ? _engine.Systems[ids[i + 1]] : null;
                next = following is null ? null : Task.Run(() => ReadAsync(following, people, force, acceptShrink, actor, progress, cancellationToken), cancellationToken);
                results.Add(read.Failed ?? await FinishAsync(read, actor, progress, cancellationToken));
            }
        }
        finally
        {
            if (next is not null)
            {
                await ((Task)next).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing); // a failure ended the loop: never leave a read running
            }
        }

        return results;
    }

    /// <summary>One system read (or failed), with its findings as detected from what was read (null when unchanged).</summary>
    private sealed record SystemRead(SystemRuntime System, PreparedDiscovery? Prepared, IReadOnlyList<DetectedFinding>? Detected, DateTimeOffset Now,
        SystemReconciliation? Failed);

    /// <summary>
    /// Accepts the listing an <see cref="FindingKind.InventoryShrink"/> finding was raised for: reconciles its system again
    /// with the guard lifted (what the system lists now is written, and the finding resolves), audited as
    /// <c>inventory_shrink_accepted</c> by <paramref name="actor"/>.
    /// </summary>
    /// <exception cref="NotFoundException">No open inventory_shrink finding has that id.</exception>
    public async Task<SystemReconciliation> AcceptShrinkAsync(string findingId, string actor, CancellationToken cancellationToken)
    {
        var open = await _engine.Store.ListFindingsAsync(new FindingQuery(FindingKind.InventoryShrink, Limit: int.MaxValue), cancellationToken);
        var finding = open.FirstOrDefault(f => string.Equals(f.Id, findingId, StringComparison.Ordinal))
            ?? throw new NotFoundException($"There is no open inventory_shrink finding '{findingId}'. 'deprov findings --kind inventory_shrink' lists them" +
                (open.Count == 0 ? " (there are none)." : $": {string.Join(", ", open.Select(f => f.Id))}."));
        if (!_engine.Systems.ContainsKey(finding.SystemId))
        {
            throw new NotFoundException($"Finding '{findingId}' is about system '{finding.SystemId}', which is no longer configured.");
        }

        await _engine.Store.AppendAuditAsync([new AuditEntry(_engine.Time.GetUtcNow(), actor, "inventory_shrink_accepted", finding.SystemId, finding.SystemId, null, null, null, null,
            $"{{\"finding\":\"{finding.Id}\"}}", "ok", finding.Evidence)], cancellationToken);
        return (await ReconcileAsync([finding.SystemId], actor, force: true, acceptShrink: true, null, cancellationToken))[0];
    }

    private async Task<SystemRead> ReadAsync(SystemRuntime rt, PeopleSnapshot people, bool force, bool acceptShrink, string actor, IProgress<ReconcileProgress>? progress,
        CancellationToken cancellationToken)
    {
        var store = _engine.Store;
        var id = rt.Config.System.Id;
        var policy = _engine.Config.Reconciliation;
        var now = _engine.Time.GetUtcNow();
        var revocations = await store.GetRevocationsAsync(id, cancellationToken);
        var links = await DiscoveryService.LoadLinksAsync(store, id, cancellationToken);

        // Everything detection depends on besides the system and people: when none of it changed either, the findings
        // cannot have changed. The day is included because dormancy is counted in days.
        var salt = string.Join('|', revocations.Count.ToString(CultureInfo.InvariantCulture), revocations.Count > 0 ? revocations[^1].StepId : "-",
            policy.DormantDaysFor(id).ToString(CultureInfo.InvariantCulture), now.UtcDateTime.ToString("yyyyMMdd", CultureInfo.InvariantCulture),
            string.Join(',', _engine.Config.Policy.Roles.SelectMany(r => r.Entitlements.Select(e => $"{r.Name}:{e}"))));
        // An open shrink finding is settled only by a detection pass (it resolves when not raised again), so the system
        // is re-detected even if its listing is back to what the inventory holds.
        var shrinkOpen = (await store.ListFindingsAsync(new FindingQuery(FindingKind.InventoryShrink, id, OpenOnly: true, Limit: 1), cancellationToken)).Count > 0;
        PreparedDiscovery prepared;
        try
        {
            var objects = new Progress<int>(n => progress?.Report(new ReconcileProgress(id, "discovering", n)));
            prepared = await new DiscoveryService(store, _engine.Time).ReadAsync(rt,
                new DiscoveryContext(people, links, salt, SkipIfUnchanged: !force && !shrinkOpen, acceptShrink ? null : policy.MaxShrinkFor(id)), objects, cancellationToken);
        }
        catch (InventoryShrinkException shrink)
        {
            // Refused: nothing was written. An alert and a finding an operator accepts (or the system's fix resolves).
            var finding = new DetectedFinding(FindingKind.InventoryShrink, id, id, null, null, null, null, shrink.Message);
            var data = string.Create(CultureInfo.InvariantCulture,
                $"{{\"finding\":\"{finding.Id}\",\"kind\":\"inventory_shrink\",\"stored\":{shrink.Stored},\"listed\":{shrink.Listed},\"max_shrink\":{shrink.MaxShare}}}");
            await store.RaiseFindingAsync(finding, now,
            [
                new AuditEntry(now, actor, "discovery_refused", id, id, null, null, null, null, data, "refused", shrink.Message),
                new AuditEntry(now, "deprov", "alert", id, id, null, null, null, null, data, "alert", shrink.Message),
            ], cancellationToken);
            progress?.Report(new ReconcileProgress(id, "refused", shrink.Listed));
            return new SystemRead(rt, null, null, now, new SystemReconciliation(id, null, false, 0, 0, 0, 0, 0, shrink.Message,
                new RefusedShrink(shrink.Stored, shrink.Listed, shrink.MaxShare, finding.Id)));
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The boundary of one system's run: its failure is recorded as data and the other systems go on. Nothing was
            // written for it (discovery reads everything before it writes).
            await store.AppendAuditAsync([new AuditEntry(now, "deprov", "discovery_failed", id, id, null, null, null, null, null, "failed", ex.Message)], cancellationToken);
            progress?.Report(new ReconcileProgress(id, "failed", 0));
            return new SystemRead(rt, null, null, now, new SystemReconciliation(id, null, false, 0, 0, 0, 0, 0, ex.Message));
        }

        // Detection reads only what was just read (not the store), so it runs here, beside the previous system's write,
        // instead of on the writer's path.
        if (prepared.Result.Snapshot is not { } snapshot)
        {
            return new SystemRead(rt, prepared, null, now, null);
        }

        var inventory = new SystemInventory(id, snapshot.Accounts, snapshot.Entitlements, snapshot.Assignments, snapshot.Credentials, people.ById, revocations,
            policy.DormantDaysFor(id), rt.Descriptor.ReportsSignIns);
        return new SystemRead(rt, prepared, FindingRules.Detect(inventory, _engine.Config.Policy, now), now, null);
    }

    private async Task<SystemReconciliation> FinishAsync(SystemRead read, string actor, IProgress<ReconcileProgress>? progress, CancellationToken cancellationToken)
    {
        var store = _engine.Store;
        var (id, now) = (read.System.Config.System.Id, read.Now);
        var discovery = await new DiscoveryService(store, _engine.Time).CommitAsync(read.Prepared!, cancellationToken);
        if (discovery.Unchanged)
        {
            progress?.Report(new ReconcileProgress(id, "unchanged", discovery.Report.Accounts));
            var open = await store.ListFindingsAsync(new FindingQuery(SystemId: id, Limit: int.MaxValue), cancellationToken);
            return new SystemReconciliation(id, discovery.Report, true, 0, open.Count, 0, 0, 0, null);
        }

        progress?.Report(new ReconcileProgress(id, "detecting", discovery.Report.Accounts));
        var update = await store.RecordFindingsAsync(id, read.Detected!, now, cancellationToken);

        progress?.Report(new ReconcileProgress(id, "reacting", update.New.Count));
        var (cases, tasks) = await ReactAsync(update.New, actor, now, cancellationToken);
        return new SystemReconciliation(id, discovery.Report, false, update.New.Count, update.New.Count + update.StillOpen, update.Resolved, cases, tasks, null);
    }

    private async Task<(int Cases, int Tasks)> ReactAsync(IReadOnlyList<Finding> fresh, string actor, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (fresh.Count == 0)
        {
            return (0, 0);
        }

        var policy = _engine.Config.Reconciliation;
        var reactions = new List<(string, FindingReaction, string?)>();
        var tasks = new List<TaskItem>();
        var remediate = new List<Finding>();
        foreach (var f in fresh)
        {
            switch (policy.ReactionFor(f.Kind, f.SystemId))
            {
                case FindingReaction.Remediate:
                    remediate.Add(f);
                    break;
                case FindingReaction.Task:
                    var team = f.Kind is FindingKind.Dormant or FindingKind.MoverLeftover ? Team.It : Team.Security;
                    var task = new TaskItem($"T-{f.Id}-{now:yyMMddHHmmss}", null, null, f.PersonId, team,
                        $"Review {f.Kind.Snake().Replace('_', ' ')} in {f.SystemId}: {f.Target}", f.Evidence, now, now + _engine.Config.Policy.Execution.TaskDue,
                        TaskStatus.Open, null, null, null);
                    tasks.Add(task);
                    reactions.Add((f.Id, FindingReaction.Task, task.Id));
                    break;
                default:
                    reactions.Add((f.Id, FindingReaction.Report, null));
                    break;
            }
        }

        var audit = tasks.Select(t => new AuditEntry(now, actor, "finding_task", null, t.Title, t.PersonId, null, null, null, null, "ok", t.Id)).ToList();
        await _engine.Store.RecordReactionsAsync(reactions, tasks, audit, cancellationToken);
        var cases = remediate.Count == 0 ? 0 : (await _engine.RemediateAsync(remediate, actor, cancellationToken)).Select(r => r.CaseId).Distinct(StringComparer.Ordinal).Count();
        return (cases, tasks.Count);
    }
}
