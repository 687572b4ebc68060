using Deprov.Core.Model;

namespace Deprov.Core.Execution;

/// <summary>A step's contribution to its case's state, as the store counts it.</summary>
/// <param name="CountsForCut">The step cuts access and is due by the case's cut moment.</param>
public readonly record struct StepTally(StepStatus Status, bool Automated, bool CountsForCut, DateTimeOffset DueAt, DateTimeOffset? FinishedAt);

/// <summary>The case's state derived from its steps.</summary>
public sealed record CaseState(CaseStatus Status, DateTimeOffset? CutVerifiedAt, DateTimeOffset? ClosedAt, string? Detail);

/// <summary>Derives a case's status from its steps. Pure; both stores call it inside the transaction that changed the steps.</summary>
public static class CaseProgress
{
    public static CaseState Evaluate(Case kase, IReadOnlyList<StepTally> steps, DateTimeOffset now)
    {
        if (kase.Status is CaseStatus.Cancelled or CaseStatus.AwaitingApproval)
        {
            return new CaseState(kase.Status, kase.CutVerifiedAt, kase.ClosedAt, kase.StatusDetail);
        }

        var failed = steps.Count(s => s.Status is StepStatus.Failed or StepStatus.Unconfirmed or StepStatus.Blocked);
        var active = steps.Count(s => s.Automated && (s.Status is StepStatus.Running || (s.Status is StepStatus.Pending && s.DueAt <= now)));
        var future = steps.Count(s => s.Automated && (s.Status is StepStatus.Waiting || (s.Status is StepStatus.Pending && s.DueAt > now)));
        var held = steps.Count(s => s.Status == StepStatus.Held);
        var manualOpen = steps.Count(s => !s.Automated && !s.Status.IsTerminal());

        // The exposure window closes when every access-cutting step due by the cut moment has succeeded.
        var cut = steps.Where(s => s.CountsForCut).ToList();
        var cutVerifiedAt = kase.CutVerifiedAt;
        if (cutVerifiedAt is null && cut.Count > 0 && cut.All(s => s.Status.IsSuccess()))
        {
            cutVerifiedAt = cut.Max(s => s.FinishedAt ?? now);
        }
        else if (cutVerifiedAt is null && cut.Count == 0 && steps.Where(s => s.Automated).All(s => s.Status.IsTerminal()))
        {
            cutVerifiedAt = now;
        }

        if (active > 0)
        {
            return new CaseState(CaseStatus.Running, cutVerifiedAt, null, failed > 0 ? $"{failed} step(s) failed so far" : null);
        }

        if (failed > 0)
        {
            return new CaseState(CaseStatus.Unverified, cutVerifiedAt, null,
                $"{failed} step(s) failed or could not be verified: see the open tasks");
        }

        if (future > 0 || held > 0)
        {
            var next = steps.Where(s => s.Automated && s.Status is StepStatus.Pending or StepStatus.Waiting).Select(s => (DateTimeOffset?)s.DueAt).Min();
            var detail = (next, held) switch
            {
                (not null, > 0) => $"next step due {next:u}; {held} step(s) held by a legal hold",
                (not null, _) => $"next step due {next:u}",
                _ => $"{held} step(s) held by a legal hold",
            };
            return new CaseState(CaseStatus.Scheduled, cutVerifiedAt, null, detail);
        }

        if (manualOpen > 0)
        {
            return new CaseState(CaseStatus.Scheduled, cutVerifiedAt, null, $"{manualOpen} manual task(s) open");
        }

        return new CaseState(CaseStatus.Verified, cutVerifiedAt ?? now, now, null);
    }
}

/// <summary>Percentiles of exposure windows, nearest-rank.</summary>
public static class Percentiles
{
    public static double Of(IReadOnlyList<double> sorted, double p)
    {
        if (sorted.Count == 0)
        {
            return double.NaN;
        }

        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Count);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Count - 1)];
    }
}
