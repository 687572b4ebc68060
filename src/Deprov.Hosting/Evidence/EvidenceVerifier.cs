using Deprov.Core.Audit;
using Deprov.Core.Evidence;
using Deprov.Core.Store;

namespace Deprov.Hosting.Evidence;

/// <summary>The chain check and the checkpoint checks together.</summary>
/// <param name="Findings">One per checkpoint: matched, or what it shows was cut or rewritten; bad checkpoint files too.</param>
/// <param name="Latest">The largest checkpoint that verified and matched, if any.</param>
/// <param name="Uncovered">Records after <paramref name="Latest"/>: they chain correctly but no signature vouches for them yet.</param>
public sealed record EvidenceVerification(AuditVerification Chain, IReadOnlyList<CheckpointFinding> Findings, CheckpointFinding? Latest, long Uncovered, bool CheckpointsExpected)
{
    /// <summary>Checkpoints were expected but none was found or given: nothing shows the trail was not cut short.</summary>
    public bool NoCheckpoint => CheckpointsExpected && Findings.Count == 0 && Chain.Records > 0;

    public bool Ok => Chain.Ok && Findings.All(f => f.Ok) && !NoCheckpoint;

    /// <summary>What a clean result proves and does not prove, in one sentence for people.</summary>
    public string Coverage => Latest is null
        ? "no signed checkpoint: the chain shows no record was edited, inserted or reordered, but not that records were not cut from the end or the whole trail rebuilt"
        : Uncovered == 0
            ? $"all {Chain.Records} records are covered by signed checkpoint {Latest.Source}"
            : $"records 1..{Latest.Size} are covered by signed checkpoint {Latest.Source}; {Uncovered} records after the latest signed checkpoint are not yet covered: they chain correctly, but a forged append there cannot be told from a genuine one until the next checkpoint is signed";
}

/// <summary>Checks the store's trail against signed checkpoints.</summary>
public static class EvidenceVerifier
{
    public static async Task<EvidenceVerification> VerifyAsync(IStore store, IReadOnlyList<(string Source, Checkpoint Checkpoint)> checkpoints,
        IReadOnlyList<CheckpointFinding> badCheckpoints, bool checkpointsExpected, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(checkpoints);
        ArgumentNullException.ThrowIfNull(badCheckpoints);
        var chain = await store.VerifyAuditChainAsync(cancellationToken);
        var trail = new TrailCheckpointVerifier(checkpoints);
        var read = 0L;
        if (trail.LargestSize > 0)
        {
            await foreach (var r in store.ReadAuditAsync(1, cancellationToken))
            {
                trail.Append(AuditLeaf.Hash(r));
                if (++read >= trail.LargestSize)
                {
                    break;
                }
            }
        }

        var findings = badCheckpoints.Concat(trail.Finish(read)).ToList();
        var latest = findings.Where(f => f.Ok).MaxBy(f => f.Size);
        var uncovered = latest is null ? chain.Records : Math.Max(0, chain.Records - latest.Size);
        return new EvidenceVerification(chain, findings, latest, uncovered, checkpointsExpected);
    }
}
