using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Execution;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using System.Data.Common;
using TaskStatus = Deprov.Core.Model.TaskStatus;

namespace Deprov.Store.Relational;

public abstract partial class RelationalStore
{
    private const string EventColumns = "id, kind, person_id, effective_at, reason, source, idempotency_key, received_at, new_department, new_title, hold_system_id, note";
    private const string CaseColumns = "id, person_id, kind, event_id, policy_rule, plan, status, effective_at, received_at, created_at, cut_at, cut_verified_at, closed_at, status_detail";
    private const string StepColumns = "s.id, s.case_id, s.seq, s.action, s.category, s.stage, s.system_id, s.account_id, s.entitlement_id, s.device_id, s.credential_id, s.target, s.status, s.due_at, s.attempts, s.started_at, s.finished_at, s.before, s.after, s.error, s.parameters, s.wait_reason, s.phase, s.rate_limit_waits, s.claims, s.recovered_claims, s.pre_read, s.pre_read_done, s.applied";

    public Task<IReadOnlyList<bool>> RecordEventsAsync(IReadOnlyList<EventRecord> events, CancellationToken cancellationToken) =>
        WriteAsync<IReadOnlyList<bool>>((c, tx) =>
        {
            var insert = Statement(c, tx, $"INSERT INTO events({EventColumns}, parked_reason, parked_at) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14) ON CONFLICT DO NOTHING");
            var results = new bool[events.Count];
            var audit = new List<AuditEntry>(events.Count);
            for (var i = 0; i < events.Count; i++)
            {
                var (e, parkedReason, entry) = events[i];
                results[i] = insert.Run(e.Id, (int)e.Kind, e.PersonId, T(e.EffectiveAt), (int)e.Reason, e.Source, e.IdempotencyKey, T(e.ReceivedAt), e.NewDepartment, e.NewTitle,
                    e.HoldSystemId, e.Note, parkedReason, parkedReason is null ? null : T(e.ReceivedAt)) == 1;
                if (results[i])
                {
                    audit.Add(entry);
                }
            }

            AppendAudit(c, tx, audit);
            return results;
        }, cancellationToken);

    public Task<IReadOnlyList<ParkedEvent>> ListParkedEventsAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<ParkedEvent>>(c =>
        {
            using var cmd = Command(c, null, $"SELECT {EventColumns}, parked_reason, parked_at FROM events WHERE parked_reason IS NOT NULL AND resolution IS NULL ORDER BY parked_at");
            using var r = cmd.ExecuteReader();
            var list = new List<ParkedEvent>();
            while (r.Read())
            {
                list.Add(new ParkedEvent(ReadEvent(r), r.GetString(12), D(r.GetInt64(13))));
            }

            return list;
        }, cancellationToken);

    public Task<LifecycleEvent?> GetEventByKeyAsync(string idempotencyKey, CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            using var cmd = Command(c, null, $"SELECT {EventColumns} FROM events WHERE idempotency_key = @k", ("@k", idempotencyKey));
            using var r = cmd.ExecuteReader();
            return r.Read() ? ReadEvent(r) : null;
        }, cancellationToken);

    public Task ResolveParkedEventAsync(string eventId, string resolution, AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            Exec(c, tx, "UPDATE events SET resolution = @r WHERE id = @id", ("@r", resolution), ("@id", eventId));
            AppendAudit(c, tx, [audit]);
            return 0;
        }, cancellationToken);

    public Task MarkEventHandledAsync(string eventId, DateTimeOffset at, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            Exec(c, tx, "UPDATE events SET handled_at = @at WHERE id = @id AND handled_at IS NULL", ("@at", T(at)), ("@id", eventId));
            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<LifecycleEvent>> ListUnhandledEventsAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<LifecycleEvent>>(c =>
        {
            using var cmd = Command(c, null, $"SELECT {EventColumns} FROM events WHERE handled_at IS NULL AND parked_reason IS NULL ORDER BY received_at");
            using var r = cmd.ExecuteReader();
            var list = new List<LifecycleEvent>();
            while (r.Read())
            {
                list.Add(ReadEvent(r));
            }

            return list;
        }, cancellationToken);

    public Task<UnplannedEvents> GetUnplannedEventsAsync(CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            using var cmd = Command(c, null, "SELECT COUNT(*), MIN(received_at) FROM events WHERE handled_at IS NULL AND parked_reason IS NULL");
            using var r = cmd.ExecuteReader();
            r.Read();
            return new UnplannedEvents(r.GetInt32(0), DN(r, 1));
        }, cancellationToken);

    private static LifecycleEvent ReadEvent(DbDataReader r) => new(
        r.GetString(0), (EventKind)r.GetInt32(1), r.GetString(2), D(r.GetInt64(3)), (ExitReason)r.GetInt32(4), r.GetString(5), r.GetString(6),
        D(r.GetInt64(7)), SN(r, 8), SN(r, 9), SN(r, 10), SN(r, 11));

    public Task<IReadOnlyDictionary<string, string>> CreateCasesAsync(IReadOnlyList<Plan> plans, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken) =>
        WriteAsync<IReadOnlyDictionary<string, string>>((c, tx) => InsertPlans(c, tx, plans, audit), cancellationToken);

    public Task<BrakedCreation> CreateCasesBehindBrakeAsync(IReadOnlyList<Plan> plans, IReadOnlyList<AuditEntry> audit, SafetyBrakeCheck brake, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            // The write transaction is serialised against every writer from its first statement (SQLite: BEGIN IMMEDIATE;
            // PostgreSQL: the advisory write lock), so no other connection (thread, process or node) can create cases
            // between this count and this insert.
            var leavers = plans.Count(p => p.Case.Kind == CaseKind.Leaver && p.Case.ClosedAt is null);
            var why = brake.Force;
            if (why is null && leavers > 0)
            {
                var recent = Convert.ToInt32(Scalar(c, tx, $"SELECT COUNT(*) FROM cases WHERE kind = {(int)CaseKind.Leaver} AND created_at >= @s AND status != {(int)CaseStatus.Cancelled}",
                    ("@s", T(brake.Now - brake.Brake.Window))), System.Globalization.CultureInfo.InvariantCulture);
                // Everyone HR lists, as before statuses followed events: the batch being judged has already made its own
                // leavers 'left', and must not lower its own threshold by doing so.
                var active = Convert.ToInt32(Scalar(c, tx, "SELECT COUNT(*) FROM people"), System.Globalization.CultureInfo.InvariantCulture);
                why = brake.Brake.Decide(recent, leavers + brake.Pending, active);
                if (why is not null)
                {
                    AppendAudit(c, tx, [new AuditEntry(brake.Now, "deprov", "safety_brake_tripped", null, null, null, null, null, null,
                        $"{{\"recent\":{recent},\"batch\":{leavers + brake.Pending},\"threshold\":{brake.Brake.Threshold(active)}}}", "paused", why)]);
                }
            }

            if (why is not null && leavers > 0)
            {
                plans = plans.Select(p => p.Case.Kind == CaseKind.Leaver && p.Case.ClosedAt is null
                    ? p with { Case = p.Case with { Status = CaseStatus.AwaitingApproval, StatusDetail = why } }
                    : p).ToList();
            }

            return new BrakedCreation(InsertPlans(c, tx, plans, audit), leavers > 0 ? why : null);
        }, cancellationToken);

    private Dictionary<string, string> InsertPlans(DbConnection c, DbTransaction tx, IReadOnlyList<Plan> plans, IReadOnlyList<AuditEntry> audit)
    {
        // One case per event: planning the same event twice (two processes racing) keeps the first plan only.
        var insertCase = Statement(c, tx, $"INSERT INTO cases({CaseColumns}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14) ON CONFLICT DO NOTHING");
        var insertStep = Statement(c, tx,
            "INSERT INTO steps(id, case_id, seq, action, category, stage, system_id, account_id, entitlement_id, device_id, credential_id, target, status, due_at, ready_at, attempts, parameters, wait_reason, blockers, manual, phase, dependents) " +
            "VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,0,?16,?17,?18,?19,?20,?21)");
        var insertDep = Statement(c, tx, "INSERT INTO step_deps(depends_on, step_id, hard) VALUES (?1,?2,?3)");
        var insertGate = Statement(c, tx, "INSERT INTO phase_gates(case_id, stage, phase, open, released) VALUES (?1,?2,?3,?4,0)");
        using var insertTask = PrepareTaskInsert(c, tx);
        var handled = Statement(c, tx, "UPDATE events SET handled_at = ?1, resolution = CASE WHEN parked_reason IS NULL THEN resolution ELSE 'replayed' END WHERE id = ?2");
        var skipped = new Dictionary<string, string>(StringComparer.Ordinal);
        // The statuses the plans' events set, in the cases' transaction: one commit (one fsync) for both, and a case
        // never exists without its person's status. A plan another planner stored first writes the same status again.
        var statusAudit = new List<AuditEntry>();
        foreach (var plan in plans)
        {
            if (plan.PersonStatus is { } status)
            {
                WritePersonStatuses(c, tx, [status], plan.Case.CreatedAt, statusAudit);
            }
        }

        foreach (var plan in plans)
        {
            var k = plan.Case;
            handled.Run(T(k.CreatedAt), k.EventId);
            if (insertCase.Run(k.Id, k.PersonId, (int)k.Kind, k.EventId, k.PolicyRule, k.Plan, (int)k.Status, T(k.EffectiveAt), T(k.ReceivedAt), T(k.CreatedAt),
                T(k.CutAt), T(k.CutVerifiedAt), T(k.ClosedAt), k.StatusDetail) == 0)
            {
                skipped[k.Id] = Scalar(c, tx, "SELECT id FROM cases WHERE event_id = @e", ("@e", k.EventId)) as string
                    ?? throw new InvalidOperationException($"Case {k.Id} was not stored, and no case is recorded for its event {k.EventId}.");
                continue;
            }

            // A step waits for its hard requirements and for the gate of the previous phase of its stage (one blocker,
            // lifted when every step of that phase has finished).
            var blockers = plan.Dependencies.GroupBy(d => d.StepId).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var dependents = plan.Dependencies.GroupBy(d => d.DependsOn).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            foreach (var g in plan.Steps.Where(s => s.Phase >= 0).GroupBy(s => (s.Stage, s.Phase)))
            {
                insertGate.Run(k.Id, g.Key.Stage, g.Key.Phase, g.Count());
            }

            foreach (var s in plan.Steps)
            {
                var waitsFor = blockers.GetValueOrDefault(s.Id) + (s.Phase > 0 ? 1 : 0);
                var readyAt = k.Status == CaseStatus.AwaitingApproval ? Parked : T(s.DueAt); // braked: nothing runs before approval
                insertStep.Run(s.Id, s.CaseId, s.Seq, (int)s.Action, (int)s.Category, s.Stage, s.SystemId, s.AccountId, s.EntitlementId, s.DeviceId, s.CredentialId,
                    s.Target, (int)s.Status, T(s.DueAt), readyAt, s.Parameters, s.WaitReason, waitsFor, s.Action == ActionKind.Manual ? 1 : 0, s.Phase, dependents.GetValueOrDefault(s.Id));
            }

            foreach (var d in plan.Dependencies)
            {
                insertDep.Run(d.DependsOn, d.StepId, d.Hard ? 1 : 0);
            }

            foreach (var t in plan.Tasks)
            {
                InsertTask(insertTask, t);
            }
        }

        AppendAudit(c, tx, statusAudit.Concat(audit.Where(a => a.CaseId is null || !skipped.ContainsKey(a.CaseId))));
        return skipped;
    }

    public Task<Case?> GetCaseAsync(string caseId, CancellationToken cancellationToken) =>
        ReadAsync(c => GetCase(c, null, caseId), cancellationToken);

    private static Case? GetCase(DbConnection c, DbTransaction? tx, string caseId)
    {
        using var cmd = Command(c, tx, $"SELECT {CaseColumns} FROM cases WHERE id = @id", ("@id", caseId));
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadCase(r) : null;
    }

    public Task<IReadOnlyList<Case>> ListCasesAsync(CaseQuery query, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Case>>(c =>
        {
            var where = new List<string>();
            var args = new List<(string, object?)> { ("@l", query.Limit) };
            if (query.PersonId is not null)
            {
                where.Add("person_id = @p");
                args.Add(("@p", query.PersonId));
            }

            if (query.PersonIds is { } personIds)
            {
                where.Add($"person_id IN {Sql.IdList("@ps")}");
                args.Add(("@ps", System.Text.Json.JsonSerializer.Serialize(personIds)));
            }

            if (query.Statuses is { Count: > 0 } statuses)
            {
                where.Add($"status IN ({string.Join(',', statuses.Select(s => (int)s))})");
            }

            var sql = $"SELECT {CaseColumns} FROM cases {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : string.Empty)} ORDER BY created_at DESC, id DESC LIMIT @l";
            using var cmd = Command(c, null, sql, [.. args]);
            using var r = cmd.ExecuteReader();
            var list = new List<Case>();
            while (r.Read())
            {
                list.Add(ReadCase(r));
            }

            return list;
        }, cancellationToken);

    private static Case ReadCase(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), (CaseKind)r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5), (CaseStatus)r.GetInt32(6),
        D(r.GetInt64(7)), D(r.GetInt64(8)), D(r.GetInt64(9)), D(r.GetInt64(10)), DN(r, 11), DN(r, 12), SN(r, 13));

    public Task<IReadOnlyList<Step>> GetStepsAsync(string caseId, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Step>>(c => ReadSteps(c, null, "s.case_id = @p", caseId), cancellationToken);

    public Task<IReadOnlyList<Step>> GetPersonStepsAsync(string personId, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Step>>(c => ReadSteps(c, null, "s.case_id IN (SELECT id FROM cases WHERE person_id = @p)", personId), cancellationToken);

    private static List<Step> ReadSteps(DbConnection c, DbTransaction? tx, string where, string arg)
    {
        using var cmd = Command(c, tx, $"SELECT {StepColumns} FROM steps s WHERE {where} ORDER BY s.case_id, s.seq", ("@p", arg));
        using var r = cmd.ExecuteReader();
        var list = new List<Step>();
        while (r.Read())
        {
            list.Add(ReadStep(r));
        }

        return list;
    }

    private static Step ReadStep(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetInt32(2), (ActionKind)r.GetInt32(3), (StepCategory)r.GetInt32(4), r.GetString(5),
        SN(r, 6), SN(r, 7), SN(r, 8), SN(r, 9), SN(r, 10), r.GetString(11), (StepStatus)r.GetInt32(12), D(r.GetInt64(13)), r.GetInt32(14),
        DN(r, 15), DN(r, 16), SN(r, 17), SN(r, 18), SN(r, 19), SN(r, 20), SN(r, 21), r.GetInt32(22), r.GetInt32(23),
        r.GetInt32(24), r.GetInt32(25), SN(r, 26), r.GetInt32(27) != 0, r.GetInt32(28) != 0);

    public async Task<IReadOnlyList<StepDependency>> GetDependenciesAsync(string caseId, CancellationToken cancellationToken)
    {
        var steps = await GetStepsAsync(caseId, cancellationToken);
        var hard = await GetHardDependenciesAsync(caseId, cancellationToken);
        return [.. Plan.PhaseEdges(steps), .. hard];
    }

    private Task<IReadOnlyList<StepDependency>> GetHardDependenciesAsync(string caseId, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<StepDependency>>(c =>
        {
            using var cmd = Command(c, null, "SELECT d.step_id, d.depends_on, d.hard FROM step_deps d JOIN steps s ON s.id = d.step_id WHERE s.case_id = @c ORDER BY d.step_id, d.depends_on", ("@c", caseId));
            using var r = cmd.ExecuteReader();
            var list = new List<StepDependency>();
            while (r.Read())
            {
                list.Add(new StepDependency(r.GetString(0), r.GetString(1), r.GetInt32(2) == 1));
            }

            return list;
        }, cancellationToken);

    /// <summary>The ready time of steps of a case held by the safety brake: never, until approved.</summary>
    private static readonly long Parked = DateTimeOffset.MaxValue.UtcTicks;

    public Task<int> CountLeaverCasesSinceAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
        ReadAsync(c => Convert.ToInt32(Scalar(c, null, $"SELECT COUNT(*) FROM cases WHERE kind = {(int)CaseKind.Leaver} AND created_at >= @s AND status != {(int)CaseStatus.Cancelled}", ("@s", T(since))),
            System.Globalization.CultureInfo.InvariantCulture), cancellationToken);

    public Task<IReadOnlyList<string>> DecideBrakedCasesAsync(IReadOnlyList<string>? caseIds, bool approve, string actor, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync<IReadOnlyList<string>>((c, tx) =>
        {
            var held = new List<(string Id, string Person, string Event)>();
            using (var cmd = Command(c, tx, $"SELECT id, person_id, event_id FROM cases WHERE status = {(int)CaseStatus.AwaitingApproval} ORDER BY created_at"))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    if (caseIds is null || caseIds.Contains(r.GetString(0), StringComparer.Ordinal))
                    {
                        held.Add((r.GetString(0), r.GetString(1), r.GetString(2)));
                    }
                }
            }

            var audit = new List<AuditEntry>();
            foreach (var (id, person, eventId) in held)
            {
                var detail = "safety brake decision";
                if (approve)
                {
                    Exec(c, tx, $"UPDATE cases SET status = {(int)CaseStatus.Running}, status_detail = @d WHERE id = @id", ("@d", $"approved by {actor}"), ("@id", id));
                    Exec(c, tx, "UPDATE steps SET ready_at = due_at WHERE case_id = @id AND ready_at = @parked", ("@id", id), ("@parked", Parked));
                }
                else
                {
                    // Nothing of a held case ran: its steps and tasks are cancelled, not done, and the person's status goes
                    // back to what it was before the event (unless a later event has set it since).
                    var why = $"rejected by {actor} (safety brake)";
                    Exec(c, tx, $"UPDATE steps SET status = {(int)StepStatus.Cancelled}, finished_at = @now, wait_reason = @r WHERE case_id = @id AND status IN ({(int)StepStatus.Waiting}, {(int)StepStatus.Pending}, {(int)StepStatus.Held})",
                        ("@now", T(now)), ("@r", why), ("@id", id));
                    Exec(c, tx, $"UPDATE tasks SET status = {(int)TaskStatus.Cancelled}, completed_at = @now, note = @n WHERE case_id = @id AND status = {(int)TaskStatus.Open}",
                        ("@now", T(now)), ("@n", $"case {id} {why}: nothing was done"), ("@id", id));
                    Exec(c, tx, $"UPDATE cases SET status = {(int)CaseStatus.Cancelled}, closed_at = @now, status_detail = @d WHERE id = @id", ("@now", T(now)), ("@d", why), ("@id", id));
                    var restored = UndoPersonStatus(c, tx, person, eventId, actor, $"case {id} {why}: the status event {eventId} set is undone", now);
                    detail += restored is null
                        ? $"; the person's status was not set by event {eventId} (a later event decides it) and stays"
                        : $"; the person's status goes back to {restored.After}";
                    audit.Add(new AuditEntry(now, actor, "case_rejected", null, id, person, id, null, CaseStatus.AwaitingApproval.Snake(), CaseStatus.Cancelled.Snake(), "ok", detail));
                    if (restored is not null)
                    {
                        audit.Add(restored with { CaseId = id });
                    }

                    continue;
                }

                audit.Add(new AuditEntry(now, actor, "case_approved", null, id, person, id, null, CaseStatus.AwaitingApproval.Snake(), CaseStatus.Running.Snake(), "ok", detail));
            }

            AppendAudit(c, tx, audit);
            return held.Select(i => i.Id).ToList();
        }, cancellationToken);

    public Task<IReadOnlyList<string>> CancelOpenCasesAsync(string personId, string reason, AuditEntry audit, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync<IReadOnlyList<string>>((c, tx) =>
        {
            var open = new List<string>();
            using (var cmd = Command(c, tx, $"SELECT id FROM cases WHERE person_id = @p AND status NOT IN ({(int)CaseStatus.Cancelled}, {(int)CaseStatus.Verified})", ("@p", personId)))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    open.Add(r.GetString(0));
                }
            }

            CancelCases(c, tx, open, personId, reason, audit, now);
            return open;
        }, cancellationToken);

    public Task CancelCasesAsync(IReadOnlyList<string> caseIds, string reason, AuditEntry audit, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            CancelCases(c, tx, caseIds, audit.PersonId, reason, audit, now);
            return 0;
        }, cancellationToken);

    private void CancelCases(DbConnection c, DbTransaction tx, IReadOnlyList<string> caseIds, string? personId, string reason, AuditEntry audit, DateTimeOffset now)
    {
        var cancellable = $"{(int)StepStatus.Waiting}, {(int)StepStatus.Pending}, {(int)StepStatus.Held}, {(int)StepStatus.Blocked}";
        var entries = new List<AuditEntry> { audit };
        foreach (var id in caseIds)
        {
            Exec(c, tx, $"UPDATE steps SET status = {(int)StepStatus.Cancelled}, finished_at = @now, wait_reason = @r WHERE case_id = @c AND status IN ({cancellable})",
                ("@now", T(now)), ("@r", reason), ("@c", id));
            Exec(c, tx, $"UPDATE tasks SET status = {(int)TaskStatus.Done}, completed_by = 'deprov', completed_at = @now, note = @r WHERE case_id = @c AND status = {(int)TaskStatus.Open}",
                ("@now", T(now)), ("@r", "case cancelled: " + reason), ("@c", id));
            Exec(c, tx, $"UPDATE cases SET status = {(int)CaseStatus.Cancelled}, closed_at = @now, status_detail = @r WHERE id = @c", ("@now", T(now)), ("@r", reason), ("@c", id));
            entries.Add(new AuditEntry(now, audit.Actor, "case_cancelled", null, id, personId, id, null, null, null, "ok", reason));
        }

        AppendAudit(c, tx, entries);
    }

    // ----- execution -----

    public Task<IReadOnlyList<ClaimedStep>> ClaimDueStepsAsync(DateTimeOffset now, int max, CancellationToken cancellationToken) =>
        WriteAsync<IReadOnlyList<ClaimedStep>>((c, tx) =>
        {
            var claimed = new List<ClaimedStep>();
            using (var cmd = Command(c, tx,
                $"SELECT {StepColumns}, k.person_id, a.external_id, a.user_name, e.external_id, d.external_id, cr.external_id " +
                "FROM steps s JOIN cases k ON k.id = s.case_id " +
                "LEFT JOIN accounts a ON a.id = s.account_id LEFT JOIN entitlements e ON e.id = s.entitlement_id " +
                "LEFT JOIN devices d ON d.id = s.device_id LEFT JOIN credentials cr ON cr.id = s.credential_id " +
                $"WHERE s.status = 1 AND s.manual = 0 AND s.ready_at <= @now ORDER BY s.ready_at LIMIT @max{Sql.ClaimLock("s")}",
                ("@now", T(now)), ("@max", max)))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    claimed.Add(new ClaimedStep(ReadStep(r), r.GetString(29), SN(r, 30), SN(r, 31), SN(r, 32), SN(r, 33), SN(r, 34)));
                }
            }

            if (claimed.Count == 0)
            {
                return claimed;
            }

            var result = new List<ClaimedStep>(claimed.Count);
            var held = new List<AuditEntry>();
            using var run = Prepared(c, tx, $"UPDATE steps SET status = {(int)StepStatus.Running}, claims = claims + 1, started_at = @p1 WHERE id = @p2", "@p1", "@p2");
            using var hold = Prepared(c, tx, $"UPDATE steps SET status = {(int)StepStatus.Held}, wait_reason = @p1 WHERE id = @p2", "@p1", "@p2");
            foreach (var cs in claimed)
            {
                if (cs.Step.Action.BlockedByLegalHold() && ActiveHold(c, tx, cs.PersonId, cs.Step.SystemId) is { } h)
                {
                    var why = $"legal hold {h.Id} ({h.Reason}) set by {h.SetBy}";
                    Run(hold, why, cs.Step.Id);
                    held.Add(new AuditEntry(now, "deprov", cs.Step.Action.ToSnake(), cs.Step.SystemId, cs.Step.Target, cs.PersonId, cs.Step.CaseId, cs.Step.Id, null, null, "held", why));
                    continue;
                }

                Run(run, T(now), cs.Step.Id);
                result.Add(cs with { Step = cs.Step with { Status = StepStatus.Running, Claims = cs.Step.Claims + 1, StartedAt = now } });
            }

            AppendAudit(c, tx, held);
            return result;
        }, cancellationToken);

    private static LegalHold? ActiveHold(DbConnection c, DbTransaction tx, string personId, string? systemId)
    {
        using var cmd = Command(c, tx, "SELECT id, person_id, system_id, reason, set_by, set_at FROM legal_holds WHERE person_id = @p AND released_at IS NULL AND (system_id IS NULL OR system_id = @s) LIMIT 1",
            ("@p", personId), ("@s", systemId));
        using var r = cmd.ExecuteReader();
        return r.Read() ? new LegalHold(r.GetString(0), r.GetString(1), SN(r, 2), r.GetString(3), r.GetString(4), D(r.GetInt64(5))) : null;
    }

    public Task<int> RecoverRunningStepsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            // The interrupted claim is given back to the retry schedule and counted apart: a crash loop is not the system failing.
            using var cmd = Command(c, tx, $"UPDATE steps SET status = {(int)StepStatus.Pending}, ready_at = @now, claims = {Sql.Greatest("claims - 1", "0")}, recovered_claims = recovered_claims + 1 WHERE status = {(int)StepStatus.Running}", ("@now", T(now)));
            var n = cmd.ExecuteNonQuery();
            if (n > 0)
            {
                AppendAudit(c, tx, [new AuditEntry(now, "deprov", "recover_steps", null, null, null, null, null, null, null, "ok",
                    $"{n} step(s) were running when the previous process stopped; they run again (steps are idempotent)")]);
            }

            return n;
        }, cancellationToken);

    public Task RecordPreReadsAsync(IReadOnlyList<PreReadRecord> records, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            // The first record wins: a pre-read from a later claim would show the after-state of an earlier one.
            using var cmd = Prepared(c, tx, "UPDATE steps SET pre_read = @p1, pre_read_done = @p2, before = COALESCE(before, @p1) WHERE id = @p3 AND pre_read IS NULL", "@p1", "@p2", "@p3");
            foreach (var p in records)
            {
                Run(cmd, p.Observed, p.AlreadyDone ? 1 : 0, p.StepId);
            }

            return 0;
        }, cancellationToken);

    public Task<DateTimeOffset?> GetNextDueAsync(CancellationToken cancellationToken) =>
        ReadAsync(c => Scalar(c, null, "SELECT MIN(ready_at) FROM steps WHERE status = 1 AND manual = 0") is long t ? D(t) : (DateTimeOffset?)null, cancellationToken);

    public Task CompleteStepsAsync(IReadOnlyList<StepCompletion> completions, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            var cases = new HashSet<string>(StringComparer.Ordinal);
            var audit = new List<AuditEntry>(completions.Count * 2);
            using var ops = new StepOps(Sql, c, tx);
            foreach (var done in completions)
            {
                var row = ops.Load(done.StepId) ?? throw new StoreException($"Step '{done.StepId}' does not exist.", isTransient: false);
                cases.Add(row.CaseId);
                if (done.NextAttemptAt is { } next)
                {
                    Run(ops.Retry, (int)StepStatus.Pending, T(next), done.Error, done.StepId, done.RateLimited ? 1 : 0, done.RateLimitWaits, done.Calls, done.Applied ? 1 : 0, done.Before);
                }
                else
                {
                    Run(ops.Finish, (int)done.Status, T(done.At), done.Before, done.After, done.Error, done.StepId, done.RateLimitWaits, done.Calls);
                    ops.AfterFinish(row, done.Status, done.At);
                }

                if (done.Task is not null)
                {
                    InsertTask(ops.InsertTask, done.Task);
                }

                audit.AddRange(done.Audit);
            }

            using var refresher = new CaseRefresher(c, tx);
            foreach (var caseId in cases)
            {
                refresher.Refresh(caseId, now, audit);
            }

            AppendAudit(c, tx, audit);
            return 0;
        }, cancellationToken);

    private static readonly string CutActions = string.Join(",", Enum.GetValues<ActionKind>().Where(a => a.CutsAccess()).Select(a => (int)a));

    private static readonly string CaseTallySql =
        "SELECT " +
        $"COALESCE(SUM(CASE WHEN status IN ({(int)StepStatus.Failed},{(int)StepStatus.Unconfirmed},{(int)StepStatus.Blocked}) THEN 1 ELSE 0 END), 0), " +
        $"COALESCE(SUM(CASE WHEN manual = 0 AND (status = {(int)StepStatus.Running} OR (status = {(int)StepStatus.Pending} AND due_at <= @now)) THEN 1 ELSE 0 END), 0), " +
        $"COALESCE(SUM(CASE WHEN manual = 0 AND (status = {(int)StepStatus.Waiting} OR (status = {(int)StepStatus.Pending} AND due_at > @now)) THEN 1 ELSE 0 END), 0), " +
        $"MIN(CASE WHEN manual = 0 AND status IN ({(int)StepStatus.Pending},{(int)StepStatus.Waiting}) THEN due_at END), " +
        $"COALESCE(SUM(CASE WHEN status = {(int)StepStatus.Held} THEN 1 ELSE 0 END), 0), " +
        $"COALESCE(SUM(CASE WHEN manual = 1 AND status NOT IN ({Terminal}) THEN 1 ELSE 0 END), 0), " +
        $"COALESCE(SUM(CASE WHEN @restore = 0 AND action IN ({CutActions}) AND due_at <= @cut THEN 1 ELSE 0 END), 0), " +
        $"COALESCE(SUM(CASE WHEN @restore = 0 AND action IN ({CutActions}) AND due_at <= @cut AND status IN ({Success}) THEN 1 ELSE 0 END), 0), " +
        $"MAX(CASE WHEN @restore = 0 AND action IN ({CutActions}) AND due_at <= @cut AND status IN ({Success}) THEN finished_at END), " +
        $"COALESCE(SUM(CASE WHEN manual = 0 AND status NOT IN ({Terminal}) THEN 1 ELSE 0 END), 0) " +
        "FROM steps WHERE case_id = @c";

    private static string Terminal => string.Join(",", Enum.GetValues<StepStatus>().Where(s => s.IsTerminal()).Select(s => (int)s));

    private static string Success => string.Join(",", Enum.GetValues<StepStatus>().Where(s => s.IsSuccess()).Select(s => (int)s));

    /// <summary>Re-derives a case's status from its steps and records transitions worth evidence.</summary>
    private static void RefreshCase(DbConnection c, DbTransaction tx, string caseId, DateTimeOffset now, List<AuditEntry> audit)
    {
        using var refresher = new CaseRefresher(c, tx);
        refresher.Refresh(caseId, now, audit);
    }

    /// <summary>
    /// Re-derives cases' status from their steps, with its statements prepared once per transaction: the step commit
    /// refreshes every case a batch touched, so compiling the tally query per case would cost more than running it.
    /// </summary>
    private sealed class CaseRefresher : IDisposable
    {
        private readonly DbCommand _case;
        private readonly DbCommand _tally;
        private readonly DbCommand _update;

        public CaseRefresher(DbConnection c, DbTransaction tx)
        {
            // Only what the status derivation reads: the plan text (the largest column) stays on disk.
            _case = Prepared(c, tx, "SELECT person_id, kind, status, cut_at, cut_verified_at, closed_at, status_detail FROM cases WHERE id = @c", "@c");
            _tally = Prepared(c, tx, CaseTallySql, "@c", "@now", "@cut", "@restore");
            _update = Prepared(c, tx, "UPDATE cases SET status = @s, cut_verified_at = @v, closed_at = @cl, status_detail = @d WHERE id = @id", "@s", "@v", "@cl", "@d", "@id");
        }

        public void Refresh(string caseId, DateTimeOffset now, List<AuditEntry> audit)
        {
            Case kase;
            _case.Parameters[0].Value = caseId;
            using (var r = _case.ExecuteReader())
            {
                if (!r.Read())
                {
                    return;
                }

                // The fields the derivation does not read (event, rule, plan, times of creation) are left empty here.
                kase = new Case(caseId, r.GetString(0), (CaseKind)r.GetInt32(1), string.Empty, string.Empty, string.Empty, (CaseStatus)r.GetInt32(2),
                    default, default, default, D(r.GetInt64(3)), DN(r, 4), DN(r, 5), SN(r, 6));
            }

            // One aggregate over the case's steps, computed inside the database (no per-step rows through ADO.NET).
            CaseTally tally;
            _tally.Parameters[0].Value = caseId;
            _tally.Parameters[1].Value = T(now);
            _tally.Parameters[2].Value = T(kase.CutAt);
            _tally.Parameters[3].Value = kase.Kind == CaseKind.Restore ? 1 : 0;
            using (var r = _tally.ExecuteReader())
            {
                r.Read();
                tally = new CaseTally(r.GetInt32(0), r.GetInt32(1), r.GetInt32(2), DN(r, 3), r.GetInt32(4), r.GetInt32(5), r.GetInt32(6), r.GetInt32(7), DN(r, 8), r.GetInt32(9));
            }

            var state = CaseProgress.Evaluate(kase, tally, now);
            if (state.Status == kase.Status && state.CutVerifiedAt == kase.CutVerifiedAt && state.Detail == kase.StatusDetail && state.ClosedAt == kase.ClosedAt)
            {
                return;
            }

            Run(_update, (int)state.Status, T(state.CutVerifiedAt), T(state.ClosedAt), state.Detail, caseId);
            if (kase.CutVerifiedAt is null && state.CutVerifiedAt is { } cut && kase.Kind != CaseKind.Restore)
            {
                var exposure = cut > kase.CutAt ? cut - kase.CutAt : TimeSpan.Zero;
                audit.Add(new AuditEntry(now, "deprov", "access_cut_verified", null, kase.PersonId, kase.PersonId, caseId, null, null,
                    $"{{\"cutAt\":\"{kase.CutAt:O}\",\"verifiedAt\":\"{cut:O}\"}}", "ok", $"exposure window {exposure.TotalMilliseconds:0} ms"));
            }

            if (state.Status != kase.Status && state.Status is CaseStatus.Verified or CaseStatus.Unverified)
            {
                audit.Add(new AuditEntry(now, "deprov", state.Status == CaseStatus.Verified ? "case_verified" : "case_unverified", null, kase.PersonId, kase.PersonId, caseId, null,
                    kase.Status.Snake(), state.Status.Snake(), state.Status == CaseStatus.Verified ? "ok" : "failed", state.Detail));
            }
        }

        public void Dispose()
        {
            _case.Dispose();
            _tally.Dispose();
            _update.Dispose();
        }
    }

    /// <summary>Prepared statements for finishing steps and releasing their dependants.</summary>
    private sealed class StepOps : IDisposable
    {
        private readonly SqlDialect _sql;
        private readonly DbConnection _c;
        private readonly DbTransaction _tx;
        private readonly DbCommand _load;
        private readonly DbCommand _deps;
        private readonly DbCommand _release;
        private readonly DbCommand _block;
        private readonly DbCommand _unblock;
        private readonly DbCommand _releasePhase;
        private readonly DbCommand _gate;
        private DbCommand? _historyAccount;
        private DbCommand? _updateAccount;
        private DbCommand? _closeMemberships;
        private DbCommand? _deleteAssignment;

        public StepOps(SqlDialect sql, DbConnection c, DbTransaction tx)
        {
            _sql = sql;
            _c = c;
            _tx = tx;
            _load = Prepared(c, tx, "SELECT s.case_id, s.action, s.status, s.account_id, s.entitlement_id, s.device_id, s.credential_id, s.parameters, k.person_id, s.stage, s.phase, s.dependents FROM steps s JOIN cases k ON k.id = s.case_id WHERE s.id = @p1", "@p1");
            _releasePhase = Prepared(c, tx, $"UPDATE steps SET blockers = blockers - 1, status = CASE WHEN blockers - 1 <= 0 AND status = {(int)StepStatus.Waiting} THEN {(int)StepStatus.Pending} ELSE status END WHERE case_id = @p1 AND stage = @p2 AND phase = @p3", "@p1", "@p2", "@p3");
            // 'released' counts the updates that left the gate at or below zero: exactly 1 after the one that closed it.
            _gate = Prepared(c, tx, "UPDATE phase_gates SET open = open + @p4, released = released + CASE WHEN open + @p4 <= 0 THEN 1 ELSE 0 END WHERE case_id = @p1 AND stage = @p2 AND phase = @p3 RETURNING open, released",
                "@p1", "@p2", "@p3", "@p4");
            // A retry after a rate limit gives its claim back (@p5 = 1): the system paced us, the step did not fail.
            Retry = Prepared(c, tx, "UPDATE steps SET status = @p1, ready_at = @p2, error = @p3, claims = claims - @p5, rate_limit_waits = rate_limit_waits + @p6, " +
                $"attempts = attempts + @p7, applied = {sql.Greatest("applied", "@p8")}, before = COALESCE(@p9, before) WHERE id = @p4",
                "@p1", "@p2", "@p3", "@p4", "@p5", "@p6", "@p7", "@p8", "@p9");
            Finish = Prepared(c, tx, "UPDATE steps SET status = @p1, finished_at = @p2, before = COALESCE(@p3, before), after = COALESCE(@p4, after), error = @p5, rate_limit_waits = rate_limit_waits + @p7, attempts = attempts + @p8 WHERE id = @p6",
                "@p1", "@p2", "@p3", "@p4", "@p5", "@p6", "@p7", "@p8");
            _deps = Prepared(c, tx, "SELECT step_id, hard FROM step_deps WHERE depends_on = @p1", "@p1");
            _release = Prepared(c, tx, $"UPDATE steps SET blockers = blockers - 1, status = CASE WHEN blockers - 1 <= 0 AND status = {(int)StepStatus.Waiting} THEN {(int)StepStatus.Pending} ELSE status END WHERE id = @p1", "@p1");
            _block = Prepared(c, tx, $"UPDATE steps SET blockers = blockers - 1, status = {(int)StepStatus.Blocked}, wait_reason = @p1 WHERE id = @p2 AND status IN ({(int)StepStatus.Waiting}, {(int)StepStatus.Pending}) RETURNING case_id, stage, phase", "@p1", "@p2");
            _unblock = Prepared(c, tx, $"UPDATE steps SET status = CASE WHEN blockers <= 0 THEN {(int)StepStatus.Pending} ELSE {(int)StepStatus.Waiting} END, wait_reason = NULL WHERE id = @p1 AND status = {(int)StepStatus.Blocked} RETURNING case_id, stage, phase", "@p1");
            InsertTask = PrepareTaskInsert(c, tx);
        }

        public DbCommand Retry { get; }

        public DbCommand Finish { get; }

        public DbCommand InsertTask { get; }

        public StepRow? Load(string stepId)
        {
            _load.Parameters[0].Value = stepId;
            using var r = _load.ExecuteReader();
            return r.Read()
                ? new StepRow(stepId, r.GetString(0), (ActionKind)r.GetInt32(1), (StepStatus)r.GetInt32(2), SN(r, 3), SN(r, 4), SN(r, 5), SN(r, 6), SN(r, 7), r.GetString(8), r.GetString(9), r.GetInt32(10), r.GetInt32(11))
                : null;
        }

        /// <summary>Applies a finished step to the inventory and to its dependants.</summary>
        public void AfterFinish(StepRow row, StepStatus status, DateTimeOffset at)
        {
            var wasFailure = row.Status is StepStatus.Failed or StepStatus.Unconfirmed or StepStatus.Blocked;
            if (status is StepStatus.Verified)
            {
                ApplyToInventory(row, at);
            }

            var deps = new List<(string Id, bool Hard)>();
            if (row.Dependents != 0) // most steps have no hard dependants: skip the lookup
            {
                _deps.Parameters[0].Value = row.Id;
                using var r = _deps.ExecuteReader();
                while (r.Read())
                {
                    deps.Add((r.GetString(0), r.GetInt32(1) == 1));
                }
            }

            // The next phase waits for this one whatever its outcome (a failure there must not stop the rest of the cut):
            // the step leaves its phase's gate once, when it first finishes.
            if (row.Phase >= 0 && !wasFailure && status.IsTerminal())
            {
                PassGate(row.CaseId, row.Stage, row.Phase, -1);
            }

            if (status.IsSuccess())
            {
                foreach (var (id, hard) in deps)
                {
                    if (!wasFailure)
                    {
                        Run(_release, id);
                    }
                    else if (hard)
                    {
                        // Runnable again: it is open in its phase once more.
                        _unblock.Parameters[0].Value = id;
                        GateFromReturning(_unblock, +1);
                    }
                }
            }
            else if (status is StepStatus.Failed or StepStatus.Unconfirmed or StepStatus.Blocked && !wasFailure)
            {
                foreach (var (id, hard) in deps)
                {
                    if (hard)
                    {
                        // Blocked is an outcome: the step no longer holds its phase back.
                        _block.Parameters[0].Value = $"requires step {row.Id}, which did not succeed";
                        _block.Parameters[1].Value = id;
                        GateFromReturning(_block, -1);
                    }
                    else
                    {
                        Run(_release, id);
                    }
                }
            }
            else if (status == StepStatus.Cancelled)
            {
                foreach (var (id, _) in deps)
                {
                    Run(_release, id);
                }
            }

        }

        /// <summary>Moves a phase's count of open steps; the update that closes it releases the next phase, once.</summary>
        private void PassGate(string caseId, string stage, int phase, int delta)
        {
            _gate.Parameters[0].Value = caseId;
            _gate.Parameters[1].Value = stage;
            _gate.Parameters[2].Value = phase;
            _gate.Parameters[3].Value = delta;
            bool closed;
            using (var r = _gate.ExecuteReader())
            {
                closed = r.Read() && r.GetInt64(0) <= 0 && r.GetInt64(1) == 1;
            }

            if (closed)
            {
                Run(_releasePhase, caseId, stage, phase + 1);
            }
        }

        /// <summary>Runs a step update that returns the step's case, stage and phase, and moves that phase's gate.</summary>
        private void GateFromReturning(DbCommand update, int delta)
        {
            (string Case, string Stage, int Phase)? changed = null;
            using (var r = update.ExecuteReader())
            {
                if (r.Read())
                {
                    changed = (r.GetString(0), r.GetString(1), r.GetInt32(2));
                }
            }

            if (changed is { Phase: >= 0 } g)
            {
                PassGate(g.Case, g.Stage, g.Phase, delta);
            }
        }

        private void ApplyToInventory(StepRow row, DateTimeOffset at)
        {
            switch (row.Action)
            {
                case ActionKind.DisableAccount:
                    SetAccountStatus(row.AccountId, AccountStatus.Disabled, at);
                    break;
                case ActionKind.EnableAccount:
                    SetAccountStatus(row.AccountId, AccountStatus.Active, at);
                    break;
                case ActionKind.DeleteAccount:
                    SetAccountStatus(row.AccountId, AccountStatus.Deleted, at);
                    CloseMemberships(row.AccountId, null, at);
                    Exec(_c, _tx, "UPDATE accounts SET memberships = NULL WHERE id = @id", ("@id", row.AccountId));
                    break;
                case ActionKind.RemoveEntitlement or ActionKind.ReclaimLicence:
                    CloseMemberships(row.AccountId, row.EntitlementId, at);
                    _deleteAssignment ??= Prepared(_c, _tx,
                        $"UPDATE accounts SET memberships = (SELECT CASE WHEN COUNT(*) = 0 THEN NULL ELSE {_sql.MembershipAgg} END FROM {_sql.Memberships("accounts.memberships")} " +
                        $"WHERE {_sql.MEntitlement} {_sql.IsDistinct} @p2) WHERE id = @p1 AND EXISTS (SELECT 1 FROM {_sql.Memberships("accounts.memberships")} WHERE {_sql.MEntitlement} = @p2)",
                        "@p1", "@p2");
                    Run(_deleteAssignment, row.AccountId, row.EntitlementId);
                    break;
                case ActionKind.AddEntitlement or ActionKind.AssignLicence:
                    Exec(_c, _tx, $"UPDATE accounts SET memberships = {_sql.AppendMembership("memberships", "@e", "@s", "@at")} " +
                        $"WHERE id = @a AND NOT EXISTS (SELECT 1 FROM {_sql.Memberships("accounts.memberships")} WHERE {_sql.MEntitlement} = @e)",
                        ("@a", row.AccountId), ("@e", row.EntitlementId), ("@s", (int)GrantSource.Birthright), ("@at", T(at)));
                    break;
                case ActionKind.LockDevice:
                    Exec(_c, _tx, "UPDATE devices SET status = @s WHERE id = @id", ("@s", (int)DeviceStatus.Locked), ("@id", row.DeviceId));
                    break;
                case ActionKind.UnlockDevice:
                    Exec(_c, _tx, "UPDATE devices SET status = @s WHERE id = @id", ("@s", (int)DeviceStatus.Active), ("@id", row.DeviceId));
                    break;
                case ActionKind.WipeDevice:
                    Exec(_c, _tx, "UPDATE devices SET status = @s WHERE id = @id", ("@s", (int)DeviceStatus.Wiped), ("@id", row.DeviceId));
                    break;
                case ActionKind.RevokeToken:
                    Exec(_c, _tx, "UPDATE credentials SET status = @s WHERE id = @id", ("@s", (int)CredentialStatus.Revoked), ("@id", row.CredentialId));
                    break;
                case ActionKind.DisableServiceAccount:
                    Exec(_c, _tx, "UPDATE credentials SET status = @s WHERE id = @id", ("@s", (int)CredentialStatus.Disabled), ("@id", row.CredentialId));
                    break;
                case ActionKind.TransferOwnership:
                    var newOwner = CoreJson.ParseMap(row.Parameters).GetValueOrDefault("newOwner");
                    Exec(_c, _tx, "UPDATE credentials SET owner_person_id = @o WHERE id = @id", ("@o", newOwner), ("@id", row.CredentialId));
                    break;
                case ActionKind.RotateCredential:
                    Exec(_c, _tx, "UPDATE credentials SET last_rotated_at = @t WHERE id = @id", ("@t", T(at)), ("@id", row.CredentialId));
                    Exec(_c, _tx, "DELETE FROM credential_knowers WHERE credential_id = @id AND person_id = @p", ("@id", row.CredentialId), ("@p", row.PersonId));
                    break;
                default:
                    break;
            }
        }

        /// <summary>A verified status change closes the account's status interval in the access history and opens the next.</summary>
        private void SetAccountStatus(string? accountId, AccountStatus status, DateTimeOffset at)
        {
            _historyAccount ??= Prepared(_c, _tx, "INSERT INTO access_history(account_id, entitlement_id, system_id, person_id, status, valid_from, valid_to) " +
                "SELECT id, NULL, system_id, person_id, status, since, @p3 FROM accounts WHERE id = @p1 AND status != @p2", "@p1", "@p2", "@p3");
            _updateAccount ??= Prepared(_c, _tx, "UPDATE accounts SET status = @p2, since = @p3 WHERE id = @p1 AND status != @p2", "@p1", "@p2", "@p3");
            Run(_historyAccount, accountId, (int)status, T(at));
            Run(_updateAccount, accountId, (int)status, T(at));
        }

        private void CloseMemberships(string? accountId, string? entitlementId, DateTimeOffset at)
        {
            _closeMemberships ??= Prepared(_c, _tx, "INSERT INTO access_history(account_id, entitlement_id, system_id, person_id, status, valid_from, valid_to) " +
                $"SELECT a.id, {_sql.MEntitlement}, a.system_id, a.person_id, 0, {_sql.MSince}, @p3 FROM accounts a, {_sql.Memberships("a.memberships")} " +
                $"WHERE a.id = @p1 AND ({_sql.MEntitlement} = @p2 OR @p2 IS NULL)", "@p1", "@p2", "@p3");
            Run(_closeMemberships, accountId, entitlementId, T(at));
        }

        public void Dispose()
        {
            _load.Dispose();
            Retry.Dispose();
            Finish.Dispose();
            _deps.Dispose();
            _release.Dispose();
            _block.Dispose();
            _unblock.Dispose();
            _releasePhase.Dispose();
            _gate.Dispose();
            _historyAccount?.Dispose();
            _updateAccount?.Dispose();
            _closeMemberships?.Dispose();
            _deleteAssignment?.Dispose();
            InsertTask.Dispose();
        }
    }

    private sealed record StepRow(string Id, string CaseId, ActionKind Action, StepStatus Status, string? AccountId, string? EntitlementId,
        string? DeviceId, string? CredentialId, string? Parameters, string PersonId, string Stage, int Phase, int Dependents);
}
