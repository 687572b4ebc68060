using Deprov.Core.Audit;
using Deprov.Core.HrSources;

namespace Deprov.Store.Relational;

public abstract partial class RelationalStore
{
    public Task RecordHrSourceRunAsync(HrSourceState state, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(state);
        return WriteAsync((c, tx) =>
        {
            Exec(c, tx,
                "INSERT INTO hr_source_state(source_id, cursor, last_run_at, last_success_at, last_full_at, last_full_count, last_error) VALUES (@s,@c,@r,@ok,@f,@n,@e) " +
                "ON CONFLICT(source_id) DO UPDATE SET cursor = excluded.cursor, last_run_at = excluded.last_run_at, last_success_at = excluded.last_success_at, " +
                "last_full_at = excluded.last_full_at, last_full_count = excluded.last_full_count, last_error = excluded.last_error",
                ("@s", state.SourceId), ("@c", state.Cursor), ("@r", T(state.LastRunAt)), ("@ok", T(state.LastSuccessAt)), ("@f", T(state.LastFullAt)),
                ("@n", state.LastFullCount), ("@e", state.LastError));
            AppendAudit(c, tx, audit);
            return 0;
        }, cancellationToken);
    }

    public Task<HrSourceState?> GetHrSourceStateAsync(string sourceId, CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            using var cmd = Command(c, null,
                "SELECT cursor, last_run_at, last_success_at, last_full_at, last_full_count, last_error FROM hr_source_state WHERE source_id = @s", ("@s", sourceId));
            using var r = cmd.ExecuteReader();
            return r.Read()
                ? new HrSourceState(sourceId, SN(r, 0), DN(r, 1), DN(r, 2), DN(r, 3), r.IsDBNull(4) ? null : (int)r.GetInt64(4), SN(r, 5))
                : null;
        }, cancellationToken);
}
