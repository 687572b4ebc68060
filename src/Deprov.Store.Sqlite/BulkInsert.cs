using Deprov.Store.Relational;
using Microsoft.Data.Sqlite;

namespace Deprov.Store.Sqlite;

/// <summary>
/// A prepared insert bound by position through the native SQLite API. Microsoft.Data.Sqlite looks every parameter up by
/// name on every execution; for the millions of rows of a first discovery that lookup, not SQLite, was most of the time.
/// Values are bound without managed allocations (no boxing; text encoded to UTF-8 into one reused buffer, which is
/// faster than letting SQLite convert UTF-16 on every row), so the writer does not feed the garbage collector while the
/// next system is being read. Runs on the writer connection inside its transaction.
/// </summary>
internal sealed class BulkInsert : RowInsert
{
    private readonly SQLitePCL.sqlite3_stmt _stmt;
    private readonly SqliteConnection _c;
    private byte[] _utf8 = new byte[256];

    public BulkInsert(SqliteConnection c, string sql)
    {
        _c = c;
        Check(SQLitePCL.raw.sqlite3_prepare_v2(c.Handle, sql, out _stmt));
    }

    public override BulkInsert Text(int index, string? value)
    {
        if (value is null)
        {
            Check(SQLitePCL.raw.sqlite3_bind_null(_stmt, index));
            return this;
        }

        if (_utf8.Length < value.Length * 3)
        {
            _utf8 = new byte[value.Length * 3];
        }

        // SQLite copies the bytes (SQLITE_TRANSIENT), so the buffer is free again for the next value. An empty span
        // would reach SQLite as a null pointer, which binds NULL: the empty string goes through the string overload.
        var length = System.Text.Encoding.UTF8.GetBytes(value, _utf8);
        Check(length == 0 ? SQLitePCL.raw.sqlite3_bind_text(_stmt, index, string.Empty) : SQLitePCL.raw.sqlite3_bind_text(_stmt, index, _utf8.AsSpan(0, length)));
        return this;
    }

        public override BulkInsert Utf8(int index, ReadOnlySpan<byte> value)
    {
        Check(value.IsEmpty ? SQLitePCL.raw.sqlite3_bind_null(_stmt, index) : SQLitePCL.raw.sqlite3_bind_text(_stmt, index, value));
        return this;
    }

    public override BulkInsert Int(int index, long? value)
    {
        Check(value is { } v ? SQLitePCL.raw.sqlite3_bind_int64(_stmt, index, v) : SQLitePCL.raw.sqlite3_bind_null(_stmt, index));
        return this;
    }

    public override void Execute()
    {
        var step = SQLitePCL.raw.sqlite3_step(_stmt);
        SQLitePCL.raw.sqlite3_reset(_stmt);
        if (step != SQLitePCL.raw.SQLITE_DONE)
        {
            Check(step);
        }
    }

    private void Check(int rc)
    {
        if (rc is not (SQLitePCL.raw.SQLITE_OK or SQLitePCL.raw.SQLITE_DONE or SQLitePCL.raw.SQLITE_ROW))
        {
            throw new SqliteException(SQLitePCL.raw.sqlite3_errmsg(_c.Handle).utf8_to_string(), rc);
        }
    }

    public override void Dispose() => _stmt.Dispose();
}
