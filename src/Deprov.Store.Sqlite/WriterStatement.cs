using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Data.Sqlite;
using Deprov.Store.Relational;
using SQLitePCL;

namespace Deprov.Store.Sqlite;

/// <summary>
/// An INSERT or UPDATE of the writer connection, compiled once for the connection's life and bound by position, for
/// the rows every webhook and every planned case writes (events, audit records, cases, steps). Microsoft.Data.Sqlite
/// looks each parameter up by name in native code on every execution and prepares its commands again in every
/// transaction: under a webhook flood that was ~10 % of the CPU (docs/performance.md, HR webhooks).
/// </summary>
/// <remarks>Used only under the store's write lock, on the writer connection, inside its transaction (SQLite
/// transactions belong to the connection, so a statement run here is part of it).</remarks>
internal sealed class WriterStatement : WriteStatement, IDisposable
{
    // One cache per writer connection; SqliteStore.DisposeAsync finalizes the statements before closing it.
    private static readonly ConditionalWeakTable<SqliteConnection, Dictionary<string, WriterStatement>> Cache = new();

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;
    private byte[] _utf8 = new byte[256];

    private WriterStatement(sqlite3 db, string sql)
    {
        _db = db;
        var rc = raw.sqlite3_prepare_v2(db, sql, out _stmt);
        if (rc != raw.SQLITE_OK)
        {
            _stmt.Dispose();
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>The statement for <paramref name="sql"/> on this connection, compiled on first use.</summary>
    public static WriterStatement For(SqliteConnection c, string sql)
    {
        var statements = Cache.GetOrCreateValue(c);
        if (!statements.TryGetValue(sql, out var statement))
        {
            var db = c.Handle ?? throw new InvalidOperationException("The writer connection is not open.");
            statements[sql] = statement = new WriterStatement(db, sql);
        }

        return statement;
    }

    /// <summary>Finalizes every statement compiled on <paramref name="c"/> (before it closes).</summary>
    public static void Release(SqliteConnection c)
    {
        if (Cache.TryGetValue(c, out var statements))
        {
            foreach (var s in statements.Values)
            {
                s.Dispose();
            }

            Cache.Remove(c);
        }
    }

    public override int Run(params ReadOnlySpan<object?> values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            Bind(i + 1, values[i]);
        }

        var rc = raw.sqlite3_step(_stmt);
        var changes = rc == raw.SQLITE_DONE ? raw.sqlite3_changes(_db) : 0;
        raw.sqlite3_reset(_stmt); // leaves no statement active at commit
        if (rc != raw.SQLITE_DONE)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }

        return changes;
    }

    private void Bind(int index, object? value)
    {
        var rc = value switch
        {
            null or DBNull => raw.sqlite3_bind_null(_stmt, index),
            string s => BindText(index, s),
            long l => raw.sqlite3_bind_int64(_stmt, index, l),
            int n => raw.sqlite3_bind_int64(_stmt, index, n),
            byte[] b => raw.sqlite3_bind_blob(_stmt, index, b),
            _ => throw new ArgumentException($"Parameter {index} has type {value.GetType().Name}; a writer statement binds string, long, int, byte[] or null.", nameof(value)),
        };
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    // SQLite copies the bytes (SQLITE_TRANSIENT), so one buffer serves every value.
    private int BindText(int index, string s)
    {
        var max = Encoding.UTF8.GetMaxByteCount(s.Length);
        if (max > _utf8.Length)
        {
            _utf8 = new byte[Math.Max(max, _utf8.Length * 2)];
        }

        var n = Encoding.UTF8.GetBytes(s, _utf8);
        return raw.sqlite3_bind_text(_stmt, index, _utf8.AsSpan(0, n));
    }

    public void Dispose() => _stmt.Dispose();
}
