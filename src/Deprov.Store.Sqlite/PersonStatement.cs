using System.Globalization;
using System.Text;
using Deprov.Core.Model;
using Microsoft.Data.Sqlite;
using Deprov.Store.Relational;
using SQLitePCL;

namespace Deprov.Store.Sqlite;

/// <summary>
/// The person lookup of a read session (every webhook runs one), compiled once for the session's connection and bound
/// by position on SQLitePCL's raw API like <see cref="WriterStatement"/>: a Microsoft.Data.Sqlite command looked its
/// parameter up by name and built a data reader per webhook (~8 % of a flood's CPU, docs/performance.md, HR webhooks).
/// </summary>
/// <remarks>Used by one session at a time, outside any transaction (one autocommit read); reset after each use so it
/// never holds a read snapshot open.</remarks>
internal sealed class PersonStatement : PersonLookup
{
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _stmt;
    private byte[] _utf8 = new byte[128];

    public PersonStatement(SqliteConnection connection, string sql)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The read connection is not open.");
        // The raw API does not retry a busy database the way Microsoft.Data.Sqlite's commands do (their Default
        // Timeout, 30 s): let SQLite wait as long itself.
        raw.sqlite3_busy_timeout(_db, 30_000);
        var rc = raw.sqlite3_prepare_v2(_db, sql, out _stmt);
        if (rc != raw.SQLITE_OK)
        {
            _stmt.Dispose();
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    /// <summary>The person with id <paramref name="personId"/> (bound to ?1), or null; the statement selects
    /// <c>SqliteStore.PersonColumns</c> in their order.</summary>
    public override Person? Read(string personId)
    {
        try
        {
            var max = Encoding.UTF8.GetMaxByteCount(personId.Length);
            if (max > _utf8.Length)
            {
                _utf8 = new byte[Math.Max(max, _utf8.Length * 2)];
            }

            var n = Encoding.UTF8.GetBytes(personId, _utf8);
            Check(raw.sqlite3_bind_text(_stmt, 1, _utf8.AsSpan(0, n))); // SQLite copies the bytes
            var rc = raw.sqlite3_step(_stmt);
            if (rc == raw.SQLITE_DONE)
            {
                return null;
            }

            if (rc != raw.SQLITE_ROW)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }

            return new Person(
                Text(0)!, Text(1)!, Text(2)!, Text(3), Text(4)!, Text(5)!, Text(6)!,
                (WorkerType)raw.sqlite3_column_int(_stmt, 7), (PersonStatus)raw.sqlite3_column_int(_stmt, 8),
                Date(9), Date(10), Text(11)!);
        }
        finally
        {
            raw.sqlite3_reset(_stmt);
        }
    }

    private string? Text(int column) =>
        raw.sqlite3_column_type(_stmt, column) == raw.SQLITE_NULL ? null : raw.sqlite3_column_text(_stmt, column).utf8_to_string();

    private DateOnly? Date(int column) => Text(column) is { } s ? DateOnly.Parse(s, CultureInfo.InvariantCulture) : null;

    private void Check(int rc)
    {
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, _db);
        }
    }

    public override void Dispose() => _stmt.Dispose();
}
