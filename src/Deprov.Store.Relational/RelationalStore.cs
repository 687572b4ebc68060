using System.Data.Common;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Store;

namespace Deprov.Store.Relational;

/// <summary>
/// The store's rules over ADO.NET, written once for every SQL provider: what a claim checks (legal holds), how phase gates
/// and hard dependencies release steps, what a completed step does to the inventory and its access history, how findings
/// open and resolve, and how the audit chain is appended. A provider (<c>SqliteStore</c>, <c>PostgresStore</c>) supplies
/// connections, the write transaction, its schema migrations, the few SQL fragments that differ (<see cref="SqlDialect"/>)
/// and, where it has them, faster native paths for the hottest statements.
/// </summary>
/// <remarks>
/// Every write runs as synchronous work inside one transaction that the provider serialises against every other writer
/// (SQLite: one writer connection, BEGIN IMMEDIATE; PostgreSQL: a transaction-scoped advisory lock). The rules read and
/// then write (the audit head, a phase gate's count, the brake's window), so they rely on that serialisation.
/// </remarks>
public abstract partial class RelationalStore : IStore
{
    /// <summary>The provider's SQL fragments.</summary>
    internal abstract SqlDialect Sql { get; }

    /// <summary>The provider's schema migrations, applied in version order; a shipped one is never edited.</summary>
    internal abstract IReadOnlyList<(int Version, string Sql)> Migrations { get; }

    /// <summary>Runs <paramref name="work"/> in one write transaction, serialised against every other writer of the store.</summary>
    /// <param name="deferCheckpoint">A large write (a discovery's inventory); providers that can may defer work after its commit.</param>
    internal abstract Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, T> work, CancellationToken cancellationToken, bool deferCheckpoint = false);

    /// <summary>An open connection for reads (the caller disposes it).</summary>
    internal abstract DbConnection OpenConnection();

    /// <summary>An open connection for reads, opened asynchronously where the provider can.</summary>
    internal abstract ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken);

    /// <summary>A read-only transaction that sees one snapshot for every statement in it.</summary>
    internal abstract DbTransaction BeginSnapshot(DbConnection c);

    /// <summary>The store's error for a provider's database error (message, transience, inner exception).</summary>
    internal abstract StoreException Wrap(DbException ex);

    /// <summary>A statement run many times in the write transaction <paramref name="tx"/>; not disposed by the caller.</summary>
    internal virtual WriteStatement Statement(DbConnection c, DbTransaction tx, string sql) => new CommandStatement(Sql, c, tx, sql);

    /// <summary>A bulk insert in the write transaction <paramref name="tx"/>.</summary>
    internal virtual RowInsert RowInsert(DbConnection c, DbTransaction tx, string sql) => new CommandRowInsert(Sql, c, tx, sql);

    /// <summary>The person lookup of a read session on <paramref name="c"/>.</summary>
    internal virtual PersonLookup PersonLookup(DbConnection c, string sql) => new CommandPersonLookup(Sql, c, sql);

    public virtual async Task MigrateAsync(CancellationToken cancellationToken)
    {
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
            foreach (var (version, sql) in Migrations.OrderBy(m => m.Version))
            {
                if (applied.Contains(version))
                {
                    continue;
                }

                Exec(c, tx, sql);
                Exec(c, tx, "INSERT INTO schema_version(version) VALUES (@v)", ("@v", version));
            }

            return 0;
        }, cancellationToken);
    }

    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken) =>
        await ReadAsync(c => Convert.ToInt32(Scalar(c, null, "SELECT COALESCE(MAX(version), 0) FROM schema_version") ?? 0, System.Globalization.CultureInfo.InvariantCulture), cancellationToken);

    public abstract ValueTask DisposeAsync();

    internal async Task<T> ReadAsync<T>(Func<DbConnection, T> work, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await using var c = await OpenConnectionAsync(cancellationToken);
            return work(c);
        }
        catch (DbException ex)
        {
            throw Wrap(ex);
        }
    }

    internal static void Exec(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        cmd.ExecuteNonQuery();
    }

    internal static object? Scalar(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        using var cmd = Command(c, tx, sql, args);
        var v = cmd.ExecuteScalar();
        return v is DBNull ? null : v;
    }

    internal static DbCommand Command(DbConnection c, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var (name, value) in args)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            cmd.Parameters.Add(p);
        }

        return cmd;
    }

    /// <summary>
    /// A command executed many times in one transaction (hot paths), its parameters bound by index in the order given.
    /// Both providers compile it on first execution and reuse that while the command lives.
    /// </summary>
    internal static DbCommand Prepared(DbConnection c, DbTransaction? tx, string sql, params string[] parameters)
    {
        var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        foreach (var name in parameters)
        {
            var p = cmd.CreateParameter();
            p.ParameterName = name;
            p.Value = DBNull.Value;
            cmd.Parameters.Add(p);
        }

        return cmd;
    }

    internal static void Run(DbCommand cmd, params object?[] values)
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

    internal static DateTimeOffset? DN(DbDataReader r, int i) => r.IsDBNull(i) ? null : D(r.GetInt64(i));

    internal static string? SN(DbDataReader r, int i) => r.IsDBNull(i) ? null : r.GetString(i);

    // ----- audit (shared by every write path) -----

    private static (long Seq, byte[] Hash) Head(DbConnection c, DbTransaction tx)
    {
        using var cmd = Command(c, tx, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
        using var r = cmd.ExecuteReader();
        return r.Read() ? (r.GetInt64(0), (byte[])r[1]) : (0, AuditChain.Genesis);
    }

    /// <summary>Appends entries to the chain inside the caller's (serialised) write transaction: read the head, append.</summary>
    internal void AppendAudit(DbConnection c, DbTransaction tx, IEnumerable<AuditEntry> entries)
    {
        using var enumerator = entries.GetEnumerator();
        if (!enumerator.MoveNext())
        {
            return;
        }

        var (seq, prev) = Head(c, tx);
        var insert = Statement(c, tx,
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
        await using var c = await OpenConnectionAsync(cancellationToken);
        using var cmd = Command(c, null, $"SELECT {AuditColumns} FROM audit WHERE seq >= @from ORDER BY seq", ("@from", fromSeq));
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ReadAudit(r);
        }
    }

    public async IAsyncEnumerable<AuditRecord> ReadPersonAuditAsync(string personId, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var c = await OpenConnectionAsync(cancellationToken);
        using var cmd = Command(c, null, $"SELECT {AuditColumns} FROM audit WHERE person_id = @p ORDER BY seq", ("@p", personId));
        using var r = cmd.ExecuteReader();
        while (r.Read())
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return ReadAudit(r);
        }
    }

    internal const string AuditColumns = "seq, at, actor, action, system_id, target, person_id, case_id, step_id, before, after, outcome, detail, prev_hash, hash";

    internal static AuditRecord ReadAudit(DbDataReader r) => new(
        r.GetInt64(0),
        new AuditEntry(D(r.GetInt64(1)), r.GetString(2), r.GetString(3), SN(r, 4), SN(r, 5), SN(r, 6), SN(r, 7), SN(r, 8), SN(r, 9), SN(r, 10), r.GetString(11), SN(r, 12)),
        (byte[])r[13],
        (byte[])r[14]);

    /// <summary>
    /// Verifies the chain in one pass in seq order, recomputing each record's hash from its fields. A provider may
    /// override it with a faster read (SQLite hashes its stored bytes in parallel ranges).
    /// </summary>
    public virtual async Task<AuditVerification> VerifyAuditChainAsync(CancellationToken cancellationToken)
    {
        var verifier = new AuditVerifier();
        await foreach (var record in ReadAuditAsync(0, cancellationToken))
        {
            if (verifier.CheckLink(record) && AuditVerifier.CheckHash(record) is { } problem)
            {
                verifier.Fail(record.Seq, problem);
            }
        }

        return verifier.Result();
    }
}
