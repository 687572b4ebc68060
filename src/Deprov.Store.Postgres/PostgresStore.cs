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

    internal override StoreException Wrap(DbException ex) => new($"PostgreSQL store ({_where}): {Describe(ex)}", IsTransient(ex), ex);

    /// <summary>What went wrong and what to change, from the server's SQLSTATE or the connection failure. Npgsql's
    /// messages name hosts, ports and users, never the password.</summary>
    private static string Describe(DbException ex) => ex switch
    {
        PostgresException { SqlState: "28P01" or "28000" } pg =>
            $"{pg.MessageText}. Fix: check Username and Password in the connection string (and the server's pg_hba.conf).",
        PostgresException { SqlState: "3D000" } pg =>
            $"{pg.MessageText}. Fix: create the database (CREATE DATABASE …, owned by the user Deprov connects as) or correct Database= in the connection string.",
        PostgresException { SqlState: "42501" } pg =>
            $"{pg.MessageText}. Fix: grant the user Deprov connects as the right to create tables in the database's schema (or let the owner run the first start).",
        PostgresException pg => $"{pg.MessageText} (SQLSTATE {pg.SqlState}).",
        NpgsqlException { InnerException: { } inner } n when IsConnectionFailure(n) =>
            $"cannot connect: {n.Message} ({inner.Message}). Fix: check that PostgreSQL is running there and accepts connections from this machine " +
            "(listen_addresses, pg_hba.conf), and that Host and Port in the connection string are right; Deprov retries while it is unreachable.",
        _ => ex.Message,
    };

    private static bool IsConnectionFailure(NpgsqlException ex) =>
        ex.InnerException is System.Net.Sockets.SocketException or IOException or TimeoutException || ex.Message.StartsWith("Failed to connect", StringComparison.Ordinal);

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
