using Deprov.Core.Audit;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Deprov.Store.Sqlite;

public sealed partial class SqliteStore
{
    /// <summary>
    /// Verifies the chain in parallel seq ranges, one read connection per range, hashing the UTF-8 bytes SQLite holds
    /// (no string decoding). Ranges are stitched by checking each range's first previous-hash against the last hash of
    /// the range before it.
    /// </summary>
    public override async Task<AuditVerification> VerifyAuditChainAsync(CancellationToken cancellationToken)
    {
        var (min, max, count) = await ReadAsync(c =>
        {
            using var cmd = Command(c, null, "SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0), COUNT(*) FROM audit");
            using var r = cmd.ExecuteReader();
            r.Read();
            return (r.GetInt64(0), r.GetInt64(1), r.GetInt64(2));
        }, cancellationToken);
        if (count == 0)
        {
            return new AuditVerification(0, null, null, AuditChain.Genesis);
        }

        var parts = (int)Math.Clamp(count / 50_000, 1, Environment.ProcessorCount * 2);
        var size = (max - 1 + parts) / parts;
        var ranges = Enumerable.Range(0, parts).Select(i => (From: 1 + (i * size), To: Math.Min(max, (i + 1) * size))).Where(r => r.From <= r.To).ToList();
        var results = await Task.WhenAll(ranges.Select(r => Task.Run(() => VerifyRange(r.From, r.To, cancellationToken), cancellationToken)));
        var verifier = new AuditVerifier();
        if (min != 1)
        {
            verifier.Fail(1, min > 1 ? $"record 1 is missing (the first record found is {min}): records were deleted" : $"record {min} has an invalid sequence number");
        }

        byte[] prev = AuditChain.Genesis;
        foreach (var r in results)
        {
            if (r.FirstSeq is { } first && r.FirstPrev is { } firstPrev && verifier.FirstBadSeq is null && !firstPrev.AsSpan().SequenceEqual(prev))
            {
                verifier.Fail(first, $"record {first} does not chain to record {first - 1}: a record was inserted, deleted or reordered here");
            }

            if (r.BadSeq is { } bad)
            {
                verifier.Fail(bad, r.Problem!);
            }

            prev = r.LastHash ?? prev;
        }

        return new AuditVerification(count, verifier.FirstBadSeq, verifier.Problem, prev);
    }

    private sealed record RangeResult(long? FirstSeq, byte[]? FirstPrev, byte[]? LastHash, long? BadSeq, string? Problem);

    private RangeResult VerifyRange(long from, long to, CancellationToken cancellationToken)
    {
        using var c = Open();
        Exec(c, null, "PRAGMA mmap_size=4294967296"); // read pages in place instead of copying them through read()
        using var tx = c.BeginTransaction(deferred: true);
        var db = c.Handle!;
        const string sql = "SELECT seq, at, actor, action, system_id, target, person_id, case_id, step_id, before, after, outcome, detail, prev_hash, hash FROM audit WHERE seq BETWEEN ?1 AND ?2 ORDER BY seq";
        if (raw.sqlite3_prepare_v2(db, sql, out var stmt) != raw.SQLITE_OK)
        {
            throw new Core.StoreException($"Cannot read the audit trail: {raw.sqlite3_errmsg(db).utf8_to_string()}", isTransient: false);
        }

        using (stmt)
        {
            raw.sqlite3_bind_int64(stmt, 1, from);
            raw.sqlite3_bind_int64(stmt, 2, to);
            var hasher = new AuditHasher();
            Span<byte> computed = stackalloc byte[32];
            var expectedSeq = from;
            byte[]? firstPrev = null;
            long? firstSeq = null;
            var lastHash = new byte[32];
            var haveLast = false;
            int rc;
            while ((rc = raw.sqlite3_step(stmt)) == raw.SQLITE_ROW)
            {
                var seq = raw.sqlite3_column_int64(stmt, 0);
                var prevHash = raw.sqlite3_column_blob(stmt, 13);
                var hash = raw.sqlite3_column_blob(stmt, 14);
                if (seq != expectedSeq)
                {
                    return Bad(firstSeq, firstPrev, expectedSeq, seq > expectedSeq
                        ? $"record {expectedSeq} is missing (next record found is {seq}): a record was deleted"
                        : $"record {seq} appears out of order: records were reordered or inserted");
                }

                if (firstSeq is null)
                {
                    firstSeq = seq;
                    firstPrev = prevHash.ToArray();
                }
                else if (!prevHash.SequenceEqual(lastHash))
                {
                    return Bad(firstSeq, firstPrev, seq, $"record {seq} does not chain to record {seq - 1}: a record was inserted, deleted or reordered here");
                }

                hasher.Begin(prevHash, seq, raw.sqlite3_column_int64(stmt, 1));
                for (var col = 2; col < 2 + AuditChain.FieldCount; col++)
                {
                    // An empty span is either NULL or ''; only then is the type worth asking for (one interop call less per field).
                    var bytes = raw.sqlite3_column_blob(stmt, col);
                    if (bytes.IsEmpty && raw.sqlite3_column_type(stmt, col) == raw.SQLITE_NULL)
                    {
                        hasher.Null();
                    }
                    else
                    {
                        hasher.Field(bytes);
                    }
                }

                hasher.Finish(computed);
                if (!computed.SequenceEqual(hash))
                {
                    return Bad(firstSeq, firstPrev, seq, $"record {seq} was edited: its content does not match its hash");
                }

                hash.CopyTo(lastHash);
                haveLast = true;
                expectedSeq++;
                if ((seq & 0xFFFF) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }
            }

            if (rc != raw.SQLITE_DONE)
            {
                throw new Core.StoreException($"Reading the audit trail failed: {raw.sqlite3_errmsg(db).utf8_to_string()}", isTransient: rc is raw.SQLITE_BUSY or raw.SQLITE_LOCKED);
            }

            if (expectedSeq <= to)
            {
                return Bad(firstSeq, firstPrev, expectedSeq, $"record {expectedSeq} is missing: records were deleted");
            }

            return new RangeResult(firstSeq, firstPrev, haveLast ? lastHash : null, null, null);
        }

        static RangeResult Bad(long? firstSeq, byte[]? firstPrev, long seq, string problem) => new(firstSeq, firstPrev, null, seq, problem);
    }
}
