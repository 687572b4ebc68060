using System.Globalization;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using System.Data.Common;
using TaskStatus = Deprov.Core.Model.TaskStatus;

namespace Deprov.Store.Relational;

public abstract partial class RelationalStore
{
    private const string TaskColumns = "id, case_id, step_id, person_id, team, title, detail, created_at, due_at, status, completed_by, completed_at, note";

    private static DbCommand PrepareTaskInsert(DbConnection c, DbTransaction tx) =>
        Prepared(c, tx, $"INSERT INTO tasks({TaskColumns}) VALUES (@p1,@p2,@p3,@p4,@p5,@p6,@p7,@p8,@p9,@p10,@p11,@p12,@p13) ON CONFLICT DO NOTHING",
            "@p1", "@p2", "@p3", "@p4", "@p5", "@p6", "@p7", "@p8", "@p9", "@p10", "@p11", "@p12", "@p13");

    private static void InsertTask(DbCommand insert, TaskItem t) =>
        Run(insert, t.Id, t.CaseId, t.StepId, t.PersonId, (int)t.Team, t.Title, t.Detail, T(t.CreatedAt), T(t.DueAt), (int)t.Status, t.CompletedBy, T(t.CompletedAt), t.Note);

    public Task<IReadOnlyList<TaskItem>> ListTasksAsync(TaskQuery query, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<TaskItem>>(c =>
        {
            var where = new List<string>();
            var args = new List<(string, object?)> { ("@l", query.Limit) };
            if (query.OpenOnly)
            {
                where.Add($"status = {(int)TaskStatus.Open}");
            }

            if (query.Team is { } team)
            {
                where.Add("team = @t");
                args.Add(("@t", (int)team));
            }

            if (query.PersonId is not null)
            {
                where.Add("person_id = @p");
                args.Add(("@p", query.PersonId));
            }

            using var cmd = Command(c, null, $"SELECT {TaskColumns} FROM tasks {(where.Count > 0 ? "WHERE " + string.Join(" AND ", where) : string.Empty)} ORDER BY status, due_at, id LIMIT @l", [.. args]);
            using var r = cmd.ExecuteReader();
            var list = new List<TaskItem>();
            while (r.Read())
            {
                list.Add(ReadTask(r));
            }

            return list;
        }, cancellationToken);

    private static TaskItem ReadTask(DbDataReader r) => new(
        r.GetString(0), SN(r, 1), SN(r, 2), SN(r, 3), (Team)r.GetInt32(4), r.GetString(5), r.GetString(6), D(r.GetInt64(7)), D(r.GetInt64(8)),
        (TaskStatus)r.GetInt32(9), SN(r, 10), DN(r, 11), SN(r, 12));

    public Task<TaskItem> CompleteTaskAsync(string taskId, string completedBy, string? note, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            TaskItem task;
            using (var cmd = Command(c, tx, $"SELECT {TaskColumns} FROM tasks WHERE id = @id", ("@id", taskId)))
            using (var r = cmd.ExecuteReader())
            {
                if (!r.Read())
                {
                    throw new NotFoundException($"There is no task '{taskId}'. List open tasks with 'deprov tasks'.");
                }

                task = ReadTask(r);
            }

            if (task.Status == TaskStatus.Done)
            {
                throw new ValidationException($"Task '{taskId}' was already completed by {task.CompletedBy} at {task.CompletedAt:u}.");
            }

            if (task.Status == TaskStatus.Cancelled)
            {
                throw new ValidationException($"Task '{taskId}' was cancelled at {task.CompletedAt:u} ({task.Note}); there is nothing to complete.");
            }

            Exec(c, tx, $"UPDATE tasks SET status = {(int)TaskStatus.Done}, completed_by = @by, completed_at = @at, note = @n WHERE id = @id",
                ("@by", completedBy), ("@at", T(now)), ("@n", note), ("@id", taskId));
            var audit = new List<AuditEntry>
            {
                new(now, completedBy, "task_completed", null, task.Title, task.PersonId, task.CaseId, task.StepId, null, null, "ok", note),
            };
            if (task.StepId is not null)
            {
                using var ops = new StepOps(Sql, c, tx);
                var row = ops.Load(task.StepId);
                if (row is not null && row.Status is not (StepStatus.Verified or StepStatus.DoneManually or StepStatus.Cancelled or StepStatus.Skipped))
                {
                    Run(ops.Finish, (int)StepStatus.DoneManually, T(now), null, null, null, task.StepId, 0, 0);
                    ops.AfterFinish(row, StepStatus.DoneManually, now);
                    audit.Add(new AuditEntry(now, completedBy, row.Action.ToSnake(), null, task.Title, task.PersonId, task.CaseId, task.StepId,
                        row.Status.Snake(), StepStatus.DoneManually.Snake(), "done_manually", note));
                }

                if (row is not null)
                {
                    RefreshCase(c, tx, row.CaseId, now, audit);
                }
            }

            AppendAudit(c, tx, audit);
            return task with { Status = TaskStatus.Done, CompletedBy = completedBy, CompletedAt = now, Note = note };
        }, cancellationToken);

    public Task<LegalHold> SetLegalHoldAsync(LegalHold hold, AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            Exec(c, tx, "INSERT INTO legal_holds(id, person_id, system_id, reason, set_by, set_at) VALUES (@id,@p,@s,@r,@by,@at)",
                ("@id", hold.Id), ("@p", hold.PersonId), ("@s", hold.SystemId), ("@r", hold.Reason), ("@by", hold.SetBy), ("@at", T(hold.SetAt)));
            AppendAudit(c, tx, [audit]);
            return hold;
        }, cancellationToken);

    public Task<int> ReleaseLegalHoldAsync(string personId, string? systemId, AuditEntry audit, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            var released = Command(c, tx, "UPDATE legal_holds SET released_at = @now WHERE person_id = @p AND released_at IS NULL AND (system_id = @s OR @s IS NULL)",
                ("@now", T(now)), ("@p", personId), ("@s", systemId));
            int n;
            using (released)
            {
                n = released.ExecuteNonQuery();
            }

            // Held steps go back to the queue unless another hold still covers them (checked again at claim time).
            var cases = new List<string>();
            using (var cmd = Command(c, tx, $"SELECT DISTINCT s.case_id FROM steps s JOIN cases k ON k.id = s.case_id WHERE k.person_id = @p AND s.status = {(int)StepStatus.Held} AND (s.system_id = @s OR @s IS NULL)",
                ("@p", personId), ("@s", systemId)))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    cases.Add(r.GetString(0));
                }
            }

            Exec(c, tx, $"UPDATE steps SET status = CASE WHEN blockers <= 0 THEN {(int)StepStatus.Pending} ELSE {(int)StepStatus.Waiting} END, wait_reason = NULL, ready_at = {Sql.Greatest("due_at", "@now")} " +
                $"WHERE status = {(int)StepStatus.Held} AND (system_id = @s OR @s IS NULL) AND case_id IN (SELECT id FROM cases WHERE person_id = @p)",
                ("@now", T(now)), ("@p", personId), ("@s", systemId));
            var entries = new List<AuditEntry> { audit };
            using var refresher = new CaseRefresher(c, tx);
            foreach (var id in cases)
            {
                refresher.Refresh(id, now, entries);
            }

            AppendAudit(c, tx, entries);
            return n;
        }, cancellationToken);

    public Task<StoreStatistics> GetStatisticsAsync(DateTimeOffset now, CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            var byStatus = new Dictionary<CaseStatus, int>();
            using (var cmd = Command(c, null, "SELECT status, COUNT(*) FROM cases GROUP BY status"))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    byStatus[(CaseStatus)r.GetInt32(0)] = r.GetInt32(1);
                }
            }

            int Count(string sql, params (string, object?)[] args) => Convert.ToInt32(Scalar(c, null, sql, args), CultureInfo.InvariantCulture);
            return new StoreStatistics(
                byStatus,
                Count("SELECT COUNT(*) FROM events WHERE parked_reason IS NOT NULL AND resolution IS NULL"),
                Count($"SELECT COUNT(*) FROM tasks WHERE status = {(int)TaskStatus.Open}"),
                Count($"SELECT COUNT(*) FROM tasks WHERE status = {(int)TaskStatus.Open} AND due_at < @now", ("@now", T(now))),
                Count($"SELECT COUNT(*) FROM steps WHERE status IN ({(int)StepStatus.Failed}, {(int)StepStatus.Unconfirmed}, {(int)StepStatus.Blocked})"),
                Count($"SELECT COUNT(*) FROM steps WHERE status IN ({(int)StepStatus.Pending}, {(int)StepStatus.Waiting}, {(int)StepStatus.Running})"),
                Count($"SELECT COUNT(*) FROM steps WHERE status = {(int)StepStatus.Held}"),
                Convert.ToInt64(Scalar(c, null, "SELECT COALESCE(MAX(seq), 0) FROM audit"), CultureInfo.InvariantCulture));
        }, cancellationToken);

    public Task<IReadOnlyList<double>> GetExposureWindowsAsync(DateTimeOffset? since, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<double>>(c =>
        {
            using var cmd = Command(c, null,
                $"SELECT {Sql.Greatest("cut_verified_at - cut_at", "0")} FROM cases WHERE cut_verified_at IS NOT NULL AND kind != {(int)CaseKind.Restore} AND (cut_verified_at >= @since OR @since IS NULL) ORDER BY 1",
                ("@since", T(since)));
            using var r = cmd.ExecuteReader();
            var list = new List<double>();
            while (r.Read())
            {
                list.Add(r.GetInt64(0) / (double)TimeSpan.TicksPerMillisecond);
            }

            return list;
        }, cancellationToken);
}
