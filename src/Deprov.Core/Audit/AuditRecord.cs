using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Deprov.Core.Audit;

/// <summary>What happened: written in the same transaction as the state change it describes.</summary>
/// <param name="Actor"><c>deprov</c> for the automation, or <c>admin:&lt;name&gt;</c> for a person.</param>
/// <param name="Action">What was done (<c>disable_account</c>, <c>case_planned</c>, <c>task_completed</c>, ...).</param>
/// <param name="Outcome"><c>ok</c>, <c>failed</c>, <c>retry</c>, <c>held</c>, <c>rejected</c>, ...</param>
/// <param name="Before">State before, as JSON. Never a secret.</param>
/// <param name="After">State after, as JSON. Never a secret.</param>
public sealed record AuditEntry(
    DateTimeOffset At,
    string Actor,
    string Action,
    string? SystemId,
    string? Target,
    string? PersonId,
    string? CaseId,
    string? StepId,
    string? Before,
    string? After,
    string Outcome,
    string? Detail);

/// <summary>A stored audit entry with its place in the hash chain.</summary>
public sealed record AuditRecord(long Seq, AuditEntry Entry, byte[] PrevHash, byte[] Hash);

/// <summary>
/// The hash chain: <c>hash(n) = SHA-256(hash(n-1) || seq || fields)</c>, fields length-prefixed so no two different
/// records encode the same bytes. Editing, deleting, inserting or reordering any record breaks the chain at that record.
/// </summary>
public static class AuditChain
{
    /// <summary>The previous hash of the first record.</summary>
    public static readonly byte[] Genesis = new byte[32];

    public static byte[] ComputeHash(byte[] prevHash, long seq, AuditEntry e)
    {
        var h = new AuditHasher();
        h.Begin(prevHash, seq, e.At.UtcTicks);
        foreach (var field in new[] { e.Actor, e.Action, e.SystemId, e.Target, e.PersonId, e.CaseId, e.StepId, e.Before, e.After, e.Outcome, e.Detail })
        {
            h.Field(field);
        }

        var hash = new byte[32];
        h.Finish(hash);
        return hash;
    }

    public static bool Verify(AuditRecord r) => ComputeHash(r.PrevHash, r.Seq, r.Entry).AsSpan().SequenceEqual(r.Hash);

    /// <summary>The number of text fields hashed after the timestamp, in order: actor, action, system, target, person,
    /// case, step, before, after, outcome, detail.</summary>
    public const int FieldCount = 11;
}

/// <summary>
/// Builds the hashed encoding of one record without allocating: previous hash, seq and time (big-endian), then each
/// field as a 4-byte big-endian length (-1 for null) followed by its UTF-8 bytes. Reuse one instance per thread.
/// </summary>
public sealed class AuditHasher
{
    private byte[] _data = new byte[1024];
    private int _length;

    public void Begin(ReadOnlySpan<byte> prevHash, long seq, long utcTicks)
    {
        _length = 0;
        Append(prevHash);
        Span<byte> num = stackalloc byte[8];
        BinaryPrimitives.WriteInt64BigEndian(num, seq);
        Append(num);
        BinaryPrimitives.WriteInt64BigEndian(num, utcTicks);
        Append(num);
    }

    public void Field(string? value)
    {
        if (value is null)
        {
            Null();
            return;
        }

        var count = Encoding.UTF8.GetByteCount(value);
        Length(count);
        Ensure(count);
        _length += Encoding.UTF8.GetBytes(value, _data.AsSpan(_length));
    }

    /// <summary>A field given as its UTF-8 bytes (as a database returns them).</summary>
    public void Field(ReadOnlySpan<byte> utf8)
    {
        Length(utf8.Length);
        Append(utf8);
    }

    public void Null() => Length(-1);

    public void Finish(Span<byte> hash) => SHA256.HashData(_data.AsSpan(0, _length), hash);

    private void Length(int n)
    {
        Span<byte> len = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(len, n);
        Append(len);
    }

    private void Append(ReadOnlySpan<byte> bytes)
    {
        Ensure(bytes.Length);
        bytes.CopyTo(_data.AsSpan(_length));
        _length += bytes.Length;
    }

    private void Ensure(int extra)
    {
        if (_length + extra > _data.Length)
        {
            Array.Resize(ref _data, Math.Max(_data.Length * 2, _length + extra));
        }
    }
}

/// <summary>The result of checking the whole chain.</summary>
/// <param name="FirstBadSeq">The first record that does not fit, or null when the chain is intact.</param>
public sealed record AuditVerification(long Records, long? FirstBadSeq, string? Problem, byte[]? HeadHash)
{
    public bool Ok => FirstBadSeq is null;
}

/// <summary>Checks records in order. Feed it every record; it remembers the first problem.</summary>
public sealed class AuditVerifier
{
    private byte[] _expectedPrev = AuditChain.Genesis;
    private long _expectedSeq = 1;
    private long _count;

    public long? FirstBadSeq { get; private set; }

    public string? Problem { get; private set; }

    /// <summary>Checks linkage (sequence and previous hash). The record's own hash is checked by <see cref="CheckHash"/>,
    /// which can run in parallel because each record carries its previous hash.</summary>
    public bool CheckLink(AuditRecord r)
    {
        _count++;
        if (FirstBadSeq is not null)
        {
            return false;
        }

        if (r.Seq != _expectedSeq)
        {
            Fail(r.Seq < _expectedSeq ? r.Seq : _expectedSeq, r.Seq > _expectedSeq
                ? $"record {_expectedSeq} is missing (next record found is {r.Seq}): a record was deleted"
                : $"record {r.Seq} appears out of order after {_expectedSeq - 1}: records were reordered or inserted");
            return false;
        }

        if (!r.PrevHash.AsSpan().SequenceEqual(_expectedPrev))
        {
            Fail(r.Seq, $"record {r.Seq} does not chain to record {r.Seq - 1}: a record was inserted, deleted or reordered here");
            return false;
        }

        _expectedPrev = r.Hash;
        _expectedSeq++;
        return true;
    }

    public static string? CheckHash(AuditRecord r) =>
        AuditChain.Verify(r) ? null : $"record {r.Seq} was edited: its content does not match its hash";

    public void Fail(long seq, string problem)
    {
        if (FirstBadSeq is null || seq < FirstBadSeq)
        {
            FirstBadSeq = seq;
            Problem = problem;
        }
    }

    public AuditVerification Result() => new(_count, FirstBadSeq, Problem, _expectedPrev);
}
