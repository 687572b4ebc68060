using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Store;
using System.Data.Common;
using Deprov.Store.Relational;
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
public sealed partial class SqliteStore : RelationalStore
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

    internal override SqlDialect Sql => SqlDialect.Sqlite;

    internal override IReadOnlyList<(int Version, string Sql)> Migrations => Sqlite.Migrations.All;

    public override async Task MigrateAsync(CancellationToken cancellationToken)
    {
        var dir = System.IO.Path.GetDirectoryName(Path);
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }

        await base.MigrateAsync(cancellationToken);
    }

    public override async ValueTask DisposeAsync()
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
    internal override async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, T> work, CancellationToken cancellationToken, bool deferCheckpoint = false)
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

    internal override DbConnection OpenConnection() => Open();

    internal override ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult<DbConnection>(Open());
    }

    // DEFERRED: a read transaction takes no write lock; its first read fixes the snapshot.
    internal override DbTransaction BeginSnapshot(DbConnection c) => ((SqliteConnection)c).BeginTransaction(deferred: true);

    internal override StoreException Wrap(DbException ex) =>
        new($"SQLite store '{Path}': {ex.Message}", ex is SqliteException se && IsTransient(se), ex);

    internal override WriteStatement Statement(DbConnection c, DbTransaction tx, string sql) => WriterStatement.For((SqliteConnection)c, sql);

    internal override RowInsert RowInsert(DbConnection c, DbTransaction tx, string sql) => new BulkInsert((SqliteConnection)c, sql);

    internal override PersonLookup PersonLookup(DbConnection c, string sql) => new PersonStatement((SqliteConnection)c, sql);

    private static bool IsTransient(SqliteException ex) => ex.SqliteErrorCode is 5 or 6; // SQLITE_BUSY, SQLITE_LOCKED
}
