using System.Data.Common;
using System.Globalization;
using System.Text;
using Deprov.Core.Model;

namespace Deprov.Store.Relational;

/// <summary>
/// An INSERT or UPDATE run many times in one write transaction (events, audit records, cases, steps), bound by position
/// (<c>?1</c>, <c>?2</c>…). SQLite binds it through its native API; other providers run a plain command.
/// </summary>
internal abstract class WriteStatement
{
    /// <summary>Binds <paramref name="values"/> (string, long, int, byte[] or null) to ?1, ?2… and runs the statement.</summary>
    /// <returns>The number of rows changed.</returns>
    public abstract int Run(params ReadOnlySpan<object?> values);
}

/// <summary>An insert of many rows (a discovery's accounts), bound by position (bare <c>?</c> in order, from 1).</summary>
internal abstract class RowInsert : IDisposable
{
    public abstract RowInsert Text(int index, string? value);

    /// <summary>Binds UTF-8 text; an empty span binds NULL.</summary>
    public abstract RowInsert Utf8(int index, ReadOnlySpan<byte> value);

    public abstract RowInsert Int(int index, long? value);

    public abstract void Execute();

    public abstract void Dispose();
}

/// <summary>The person lookup of a read session (every webhook runs one), bound to <c>?1</c>.</summary>
internal abstract class PersonLookup : IDisposable
{
    /// <summary>The person, or null; the statement selects <c>RelationalStore.PersonColumns</c> in their order.</summary>
    public abstract Person? Read(string personId);

    public abstract void Dispose();
}

/// <summary>The portable forms: one ADO.NET command with positional parameters.</summary>
internal sealed class CommandStatement : WriteStatement
{
    private readonly DbCommand _cmd;

    public CommandStatement(SqlDialect sql, DbConnection c, DbTransaction? tx, string text)
    {
        _cmd = c.CreateCommand();
        _cmd.Transaction = tx;
        _cmd.CommandText = sql.Positional(text);
    }

    public override int Run(params ReadOnlySpan<object?> values)
    {
        var parameters = _cmd.Parameters;
        while (parameters.Count < values.Length)
        {
            parameters.Add(_cmd.CreateParameter());
        }

        for (var i = 0; i < values.Length; i++)
        {
            parameters[i].Value = values[i] ?? DBNull.Value;
        }

        return _cmd.ExecuteNonQuery();
    }
}

internal sealed class CommandRowInsert : RowInsert
{
    private readonly DbCommand _cmd;

    public CommandRowInsert(SqlDialect sql, DbConnection c, DbTransaction? tx, string text)
    {
        _cmd = c.CreateCommand();
        _cmd.Transaction = tx;
        _cmd.CommandText = sql.Positional(text);
    }

    public override RowInsert Text(int index, string? value) => Set(index, value);

    public override RowInsert Utf8(int index, ReadOnlySpan<byte> value) => Set(index, value.IsEmpty ? null : Encoding.UTF8.GetString(value));

    public override RowInsert Int(int index, long? value) => Set(index, value);

    public override void Execute() => _cmd.ExecuteNonQuery();

    public override void Dispose() => _cmd.Dispose();

    private CommandRowInsert Set(int index, object? value)
    {
        while (_cmd.Parameters.Count < index)
        {
            _cmd.Parameters.Add(_cmd.CreateParameter());
        }

        _cmd.Parameters[index - 1].Value = value ?? DBNull.Value;
        return this;
    }
}

internal sealed class CommandPersonLookup : PersonLookup
{
    private readonly DbCommand _cmd;

    public CommandPersonLookup(SqlDialect sql, DbConnection c, string text)
    {
        _cmd = c.CreateCommand();
        _cmd.CommandText = sql.Positional(text);
        _cmd.Parameters.Add(_cmd.CreateParameter());
    }

    public override Person? Read(string personId)
    {
        _cmd.Parameters[0].Value = personId;
        using var r = _cmd.ExecuteReader();
        return r.Read() ? RelationalStore.ReadPerson(r) : null;
    }

    public override void Dispose() => _cmd.Dispose();
}

