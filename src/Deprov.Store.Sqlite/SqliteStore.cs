using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Store;
using Microsoft.Data.Sqlite;

namespace Deprov.Store.Sqlite;

/// <summary>How hard SQLite pushes commits to disk.</summary>
public enum SqliteDurability
{
    /// <summary>fsync on every commit (<c>synchronous=FULL</c>): survives power loss. Steps are group-committed, so
    /// one fsync covers a whole batch of step results.</summary>
    Full,
    /// <summary><c>synchronous=NORMAL</c> in WAL mode: survives a process crash (kill -9), not a power cut.</summary>
    Normal,
}

/// <summary>The embedded store: one SQLite file in WAL mode. One writer connection (SQLite allows one writer at a
/// time), pooled reader connections.</summary>
public sealed partial class SqliteStore : IStore
{
    private readonly string _connectionString;
    private readonly SqliteDurability _durability;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private SqliteConnection? _writer;
    private Task _checkpoint = Task.CompletedTask;
    private const int AutoCheckpointPages = 4000;

    public SqliteStore(string path, SqliteDurability durability = SqliteDurability.Full)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _durability = durability;
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Pooling = true,
            DefaultTimeout = 30,
            Mode = SqliteOpenMode.ReadWriteCreate,
        }.ToString();
    }

    public string Path { get; }

    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        await WriteAsync((c, tx) =>
        {
            Exec(c, tx, "CREATE TABLE IF NOT EXISTS schema_version(version INTEGER NOT NULL)");
            var applied = new HashSet<int>();
            using (var cmd = Command(c, tx, "SELECT version FROM schema_version"))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    applied.Add(r.GetInt32(0));
                }
            }

            // Every migration not yet applied runs, in version order (features developed apart may each add one).
            foreach (var (version, sql) in Migrations.All.OrderBy(m => m.Version))
            {
                if (applied.Contains(version))
                {
                    continue;
                }

                Exec(c, tx, sql);
                Exec(c, tx, "INSERT INTO schema_version(version) VALUES ($v)", ("$v", version));
            }

            return 0;
        }, cancellationToken);
    }

    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken) =>
        await ReadAsync(c => Convert.ToInt32(Scalar(c, null, "SELECT COALESCE(MAX(version), 0) FROM schema_version") ?? 0, System.Globalization.CultureInfo.InvariantCulture), cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await _checkpoint; // a deferred checkpoint still running finishes before the connections close
        CloseProfileSessions();
        if (_writer is not null)
        {
            WriterStatement.Release(_writer);
            await _writer.DisposeAsync();
            _writer = null;
        }

        _writeLock.Dispose();
        SqliteConnection.ClearAllPools();
    }

    private SqliteConnection Writer()
    {
        if (_writer is null)
        {
            _writer = Open();
            Exec(_writer, null, "PRAGMA journal_mode=WAL");
            Exec(_writer, null, _durability == SqliteDurability.Full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL");
            Exec(_writer, null, "PRAGMA cache_size=-65536");
            Exec(_writer, null, "PRAGMA temp_store=MEMORY");
            Exec(_writer, null, $"PRAGMA wal_autocheckpoint={AutoCheckpointPages}");
        }

        return _writer;
    }

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(_connectionString);
        try
        {
            c.Open();
        }
        catch (SqliteException ex)
        {
            c.Dispose();
            throw new StoreException($"Cannot open the SQLite store at '{Path}': {ex.Message}. Check that the folder exists and is writable.", IsTransient(ex), ex);
        }

        return c;
    }

    /// <summary>Runs <paramref name="work"/> in one IMMEDIATE transaction on the writer connection.</summary>
    /// <param name="deferCheckpoint">For a large write (a discovery's inventory): the commit does not checkpoint the WAL
    /// on the writer's thread (copying every page it wrote into the database file, then an fsync); a passive checkpoint
    /// runs on its own connection while the caller goes on. Durability is unchanged: the commit itself is in the WAL.</param>
    private async Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken, bool deferCheckpoint = false)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            var c = Writer();
            if (deferCheckpoint)
            {
                if (_checkpoint.IsFaulted)
                {
                    await _checkpoint; // a failed checkpoint fails the next large write
                }

                Exec(c, null, "PRAGMA wal_autocheckpoint=0");
            }

            T result;
            try
            {
                using var tx = c.BeginTransaction(deferred: false);
                try
                {
                    result = work(c, tx);
                    tx.Commit();
                }
                catch
                {
                    tx.Rollback();
                    throw;
                }
            }
            finally
            {
                if (deferCheckpoint)
                {
                    Exec(c, null, $"PRAGMA wal_autocheckpoint={AutoCheckpointPages}");
                }
            }

            if (deferCheckpoint)
            {
                // One checkpoint at a time, chained: this write did not wait for the previous one (a passive checkpoint
                // copies committed pages while the writer appends new ones), the next checkpoint starts after it.
                var previous = _checkpoint;
                _checkpoint = Task.Run(async () =>
                {
                    await previous;
                    using var checkpointer = Open();
                    Exec(checkpointer, null, "PRAGMA wal_checkpoint(PASSIVE)");
                }, CancellationToken.None);
            }

            return result;
        }
        catch (SqliteException ex)
        {
            throw new StoreException($"SQLite store '{Path}': {ex.Message}", IsTransient(ex), ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    private async Task<T> ReadAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        await Task.Yield();
        try
        {
            using var c = Open();
            return work(c);
        }
        catch (SqliteException ex)
        {
            throw new StoreException($"SQLite store '{Path}': {ex.Message}", IsTransient(ex), ex);
        }
    }

    private static bool IsTransient(SqliteException ex) => ex.SqliteErrorCode is 5 or 6; // SQLITE_BUSY, SQLITE_LOCKED

    internal static void Exec(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        cmd.ExecuteNonQuery();
    }

    internal static object? Scalar(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    internal static SqliteCommand Command(SqliteConnection c, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            cmd.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return cmd;
    }

    /// <summary>A command prepared once and executed many times in one transaction (hot paths).</summary>
    internal static SqliteCommand Prepared(SqliteConnection c, SqliteTransaction? tx, string sql, params string[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var p in parameters)
        {
            cmd.Parameters.Add(new SqliteParameter(p, null));
        }

        cmd.Prepare();
        return cmd;
    }

    internal static void Run(SqliteCommand cmd, params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            cmd.Parameters[i].Value = values[i] ?? DBNull.Value;
        }

        cmd.ExecuteNonQuery();
    }

    internal static long T(DateTimeOffset d) => d.UtcTicks;

    internal static long? T(DateTimeOffset? d) => d?.UtcTicks;

    internal static DateTimeOffset D(long ticks) => new(ticks, TimeSpan.Zero);

    internal static DateTimeOffset? DN(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : D(r.GetInt64(i));

    internal static string? SN(SqliteDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    // ----- audit (shared by every write path) -----

    private static (long Seq, byte[] Hash) Head(SqliteConnection c, SqliteTransaction tx)
    {
        using var cmd = Command(c, tx, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
        using var r = cmd.ExecuteReader();
        return r.Read() ? (r.GetInt64(0), (byte[])r[1]) : (0, AuditChain.Genesis);
    }

    /// <summary>Appends entries to the chain inside the caller's transaction.</summary>
    internal static void AppendAudit(SqliteConnection c, SqliteTransaction tx, IEnumerable<AuditEntry> entries)
    {
        using var enumerator = entries.GetEnumerator();
        if (!enumerator.MoveNext())
        {
            return;
        }

        var (seq, prev) = Head(c, tx);
        var insert = WriterStatement.For(c,
            "INSERT INTO audit(seq, at, actor, action, system_id, target, person_id, case_id, step_id, before, after, outcome, detail, prev_hash, hash) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)");
        do
        {
            var e = enumerator.Current;
            seq++;
            var hash = AuditChain.ComputeHash(prev, seq, e);
            insert.Run(seq, T(e.At), e.Actor, e.Action, e.SystemId, e.Target, e.PersonId, e.CaseId, e.StepId, e.Before, e.After, e.Outcome, e.Detail, prev, hash);
            prev = hash;
        }
        while (enumerator.MoveNext());
    }

    public Task AppendAuditAsync(IReadOnlyList<AuditEntry> entries, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            AppendAudit(c, tx, entries);
            return 0;
        }, cancellationToken);

    public async IAsyncEnumerable<AuditRecord> ReadAuditAsync(long fromSeq, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        using var c = Open();
        using var cmd = Command(c, null, $"SELECT {AuditColumns} FROM audit WHERE seq >= $from ORDER BY seq", ("$from", fromSeq));
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ReadAudit(r);
        }
    }

    public async IAsyncEnumerable<AuditRecord> ReadPersonAuditAsync(string personId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await Task.Yield();
        using var c = Open();
        using var cmd = Command(c, null, $"SELECT {AuditColumns} FROM audit WHERE person_id = $p ORDER BY seq", ("$p", personId));
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ReadAudit(r);
        }
    }

    private const string AuditColumns = "seq, at, actor, action, system_id, target, person_id, case_id, step_id, before, after, outcome, detail, prev_hash, hash";

    private static AuditRecord ReadAudit(SqliteDataReader r) => new(
        r.GetInt64(0),
        new AuditEntry(D(r.GetInt64(1)), r.GetString(2), r.GetString(3), SN(r, 4), SN(r, 5), SN(r, 6), SN(r, 7), SN(r, 8), SN(r, 9), SN(r, 10), r.GetString(11), SN(r, 12)),
        (byte[])r[13],
        (byte[])r[14]);
}
