using Deprov.Core.Audit;

namespace Deprov.Core.Evidence;

/// <summary>
/// How an audit record becomes a Merkle leaf: leaf <c>seq − 1</c> is <c>SHA-256(0x00 ‖ chain hash)</c>, where the chain
/// hash is the record's own 32-byte <see cref="AuditChain"/> hash. The chain hash already commits to every field, the
/// sequence number and the previous record, so the tree needs no second encoding of the record, and an auditor who can
/// recompute the chain hash (docs/evidence.md) can recompute the leaf.
/// </summary>
public static class AuditLeaf
{
    public static byte[] Hash(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return MerkleHash.Leaf32(record.Hash);
    }

    /// <summary>The leaf hash recomputed from the record's content (not the stored hash): what an offline verifier uses.</summary>
    public static byte[] Recompute(AuditRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return MerkleHash.Leaf32(AuditChain.ComputeHash(record.PrevHash, record.Seq, record.Entry));
    }
}

/// <summary>What one signed checkpoint says about the trail it was checked against.</summary>
/// <param name="Source">Where the checkpoint came from (its file name), to name it in a report.</param>
public sealed record CheckpointFinding(string Source, long Size, bool Ok, string Message);

/// <summary>
/// Checks the trail's Merkle tree against signed checkpoints (already signature-checked) while the records stream by
/// in order. Pure: the caller reads the store and the checkpoint files.
/// </summary>
public sealed class TrailCheckpointVerifier
{
    private readonly List<(string Source, Checkpoint Checkpoint)> _pending;
    private readonly List<CheckpointFinding> _findings = [];
    private readonly MerkleAccumulator _tree = new();
    private long _lastGoodSize;

    public TrailCheckpointVerifier(IEnumerable<(string Source, Checkpoint Checkpoint)> checkpoints)
    {
        ArgumentNullException.ThrowIfNull(checkpoints);
        _pending = checkpoints.OrderBy(c => c.Checkpoint.Size).ToList();
        LargestSize = _pending.Count == 0 ? 0 : _pending[^1].Checkpoint.Size;
    }

    /// <summary>The largest size any checkpoint covers: records past it need not be read.</summary>
    public long LargestSize { get; }

    /// <summary>Feeds the next record's leaf hash (records must come in seq order, starting at 1).</summary>
    public void Append(byte[] leafHash)
    {
        _tree.Append(leafHash);
        CheckReached();
    }

    /// <summary>Ends the stream: every checkpoint larger than the trail reports the records that are gone.</summary>
    public IReadOnlyList<CheckpointFinding> Finish(long trailRecords)
    {
        CheckReached(); // size-0 checkpoints
        foreach (var (source, c) in _pending)
        {
            var missing = c.Size - trailRecords;
            _findings.Add(new CheckpointFinding(source, c.Size, false, trailRecords == 0
                ? $"the trail is empty, but checkpoint {source} is signed for {c.Size} records: all {c.Size} records were deleted"
                : $"the trail ends at record {trailRecords}, but checkpoint {source} is signed for {c.Size} records: records {trailRecords + 1}..{c.Size} ({missing}) were deleted"));
        }

        _pending.Clear();
        return _findings;
    }

    private void CheckReached()
    {
        while (_pending.Count > 0 && _pending[0].Checkpoint.Size == _tree.Size)
        {
            var (source, c) = _pending[0];
            _pending.RemoveAt(0);
            if (_tree.Root().AsSpan().SequenceEqual(c.RootHash))
            {
                _findings.Add(new CheckpointFinding(source, c.Size, true, $"records 1..{c.Size} match checkpoint {source}"));
                _lastGoodSize = Math.Max(_lastGoodSize, c.Size);
            }
            else
            {
                _findings.Add(new CheckpointFinding(source, c.Size, false,
                    $"the first {c.Size} records do not match checkpoint {source} (root differs): a record in {_lastGoodSize + 1}..{c.Size} was rewritten or replaced since it was signed"
                    + (_lastGoodSize > 0 ? $"; records 1..{_lastGoodSize} still match an earlier checkpoint" : string.Empty)));
            }
        }
    }
}
