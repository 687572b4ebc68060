using System.Data;
using System.Data.Common;
using Deprov.Core;
using Deprov.Store.Relational;
using Npgsql;

namespace Deprov.Store.Postgres;

/// <summary>
/// The store on a PostgreSQL database shared by every node: the same rules as the embedded store
/// (<see cref="RelationalStore"/>), over a pooled <see cref="NpgsqlDataSource"/>.
/// </summary>
/// <remarks>
/// Writes are serialised across every process on the database by a transaction-scoped advisory lock taken first in each
/// write transaction (<c>pg_advisory_xact_lock</c>): the rules read and then write (the audit chain's head, a phase gate's
/// count, the safety brake's window), exactly as they do under SQLite's single writer. It is released by the commit or
/// rollback, and by the server when a node's connection dies. Reads take no lock. Within one process a semaphore queues
/// writers before they take a pooled connection, so waiting writers do not hold connections.
/// </remarks>
public sealed class PostgresStore : RelationalStore
{
    /// <summary>The advisory lock key every write transaction takes ("deprov" in ASCII).</summary>
    internal const long WriteLockKey = 0x646570726F76;

    private readonly NpgsqlDataSource _dataSource;
    private readonly SemaphoreSlim _writeLock = new(1, 1);
    private readonly string _where;

    /// <param name="connectionString">An Npgsql connection string (<c>Host=…;Database=…;Username=…;Password=…</c>).</param>
    /// <exception cref="ArgumentException">The connection string is not one; the message names no value from it.</exception>
    public PostgresStore(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException)
        {
            // The parser's message may quote the text it could not read, which may be the password: none of it is repeated.
            throw new ArgumentException(
                "The PostgreSQL connection string is not valid: write it as keyword=value pairs separated by ';', " +
                "e.g. Host=db.example.com;Database=deprov;Username=deprov;Password=… (see docs/operations.md, store).", nameof(connectionString));
        }

        Host = string.IsNullOrEmpty(builder.Host) ? "localhost" : builder.Host;
        Database = string.IsNullOrEmpty(builder.Database) ? builder.Username ?? "(default)" : builder.Database;
        _where = $"host '{Host}', database '{Database}'";
        _dataSource = NpgsqlDataSource.Create(builder);
    }

    /// <summary>The server's host (or Unix-socket folder), for messages.</summary>
    public string Host { get; }

    /// <summary>The database name, for messages.</summary>
    public string Database { get; }

    internal override SqlDialect Sql => SqlDialect.Postgres;

    internal override IReadOnlyList<(int Version, string Sql)> Migrations => PostgresMigrations.All;

    internal override async Task<T> WriteAsync<T>(Func<DbConnection, DbTransaction, T> work, CancellationToken cancellationToken, bool deferCheckpoint = false)
    {
        await _writeLock.WaitAsync(cancellationToken);
        try
        {
            await using var c = await _dataSource.OpenConnectionAsync(cancellationToken);
            await using var tx = await c.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);
            await using (var lockCmd = new NpgsqlCommand($"SELECT pg_advisory_xact_lock({WriteLockKey})", c, tx))
            {
                await lockCmd.ExecuteNonQueryAsync(cancellationToken);
            }

            // Every statement after the lock reads what the previous holder committed (READ COMMITTED: a snapshot per statement).
            var result = work(c, tx);
            await tx.CommitAsync(cancellationToken);
            return result;
        }
        catch (DbException ex)
        {
            throw Wrap(ex);
        }
        finally
        {
            _writeLock.Release();
        }
    }

    internal override DbConnection OpenConnection()
    {
        try
        {
            return _dataSource.OpenConnection();
        }
        catch (DbException ex)
        {
            throw Wrap(ex);
        }
    }

    internal override async ValueTask<DbConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken);
        }
        catch (DbException ex)
        {
            throw Wrap(ex);
        }
    }

    internal override DbTransaction BeginSnapshot(DbConnection c) => c.BeginTransaction(IsolationLevel.RepeatableRead);

    internal override StoreException Wrap(DbException ex)
    {
        var transient = IsTransient(ex);
        var what = ex is PostgresException pg ? $"{pg.MessageText} (SQLSTATE {pg.SqlState})" : ex.Message;
        var fix = transient
            ? " Check that the server is running and reachable from this machine; Deprov retries."
            : string.Empty;
        return new StoreException($"PostgreSQL store ({_where}): {what}.{fix}", transient, ex);
    }

    /// <summary>Lost connections, serialisation failures, deadlocks and a server shutting down are worth retrying.</summary>
    internal static bool IsTransient(DbException ex) => ex switch
    {
        PostgresException pg => pg.IsTransient || pg.SqlState is "40001" or "40P01" or "57P01" or "57P02" or "57P03" || pg.SqlState.StartsWith("08", StringComparison.Ordinal),
        NpgsqlException n => n.IsTransient || n.InnerException is System.Net.Sockets.SocketException or IOException or TimeoutException,
        _ => false,
    };

    public override async ValueTask DisposeAsync()
    {
        CloseProfileSessions();
        await _dataSource.DisposeAsync();
        _writeLock.Dispose();
    }
}
