using Deprov.Core.Model;

namespace Deprov.Core.Execution;

/// <summary>A step's contribution to its case's state, as the store counts it.</summary>
/// <param name="CountsForCut">The step cuts access and is due by the case's cut moment.</param>
public readonly record struct StepTally(StepStatus Status, bool Automated, bool CountsForCut, DateTimeOffset DueAt, DateTimeOffset? FinishedAt);

/// <summary>The case's state derived from its steps.</summary>
public sealed record CaseState(CaseStatus Status, DateTimeOffset? CutVerifiedAt, DateTimeOffset? ClosedAt, string? Detail);

/// <summary>
/// The counts a case's status is derived from. Stores compute it in one aggregate query; <see cref="From"/> builds it from
/// a list of steps.
/// </summary>
/// <param name="Active">Automated steps running, or pending and due.</param>
/// <param name="Future">Automated steps waiting, or pending and not yet due.</param>
/// <param name="NextDue">Earliest due time of a waiting or pending automated step.</param>
/// <param name="Cut">Access-cutting steps due by the cut moment.</param>
/// <param name="CutSucceeded">How many of those succeeded.</param>
/// <param name="CutLastFinished">When the last of those finished.</param>
/// <param name="AutomatedOpen">Automated steps not finished.</param>
public readonly record struct CaseTally(int Failed, int Active, int Future, DateTimeOffset? NextDue, int Held, int ManualOpen, int Cut, int CutSucceeded,
    DateTimeOffset? CutLastFinished, int AutomatedOpen)
{
    public static CaseTally From(IReadOnlyList<StepTally> steps, DateTimeOffset now)
    {
        var cut = steps.Where(s => s.CountsForCut).ToList();
        return new CaseTally(
            steps.Count(s => s.Status is StepStatus.Failed or StepStatus.Unconfirmed or StepStatus.Blocked),
            steps.Count(s => s.Automated && (s.Status is StepStatus.Running || (s.Status is StepStatus.Pending && s.DueAt <= now))),
            steps.Count(s => s.Automated && (s.Status is StepStatus.Waiting || (s.Status is StepStatus.Pending && s.DueAt > now))),
            steps.Where(s => s.Automated && s.Status is StepStatus.Pending or StepStatus.Waiting).Select(s => (DateTimeOffset?)s.DueAt).Min(),
            steps.Count(s => s.Status == StepStatus.Held),
            steps.Count(s => !s.Automated && !s.Status.IsTerminal()),
            cut.Count,
            cut.Count(s => s.Status.IsSuccess()),
            cut.Where(s => s.Status.IsSuccess()).Select(s => s.FinishedAt ?? now).DefaultIfEmpty().Max() is var m && m != default ? m : null,
            steps.Count(s => s.Automated && !s.Status.IsTerminal()));
    }
}

/// <summary>Derives a case's status from its steps. Pure; both stores call it inside the transaction that changed the steps.</summary>
public static class CaseProgress
{
    public static CaseState Evaluate(Case kase, IReadOnlyList<StepTally> steps, DateTimeOffset now) => Evaluate(kase, CaseTally.From(steps, now), now);

    public static CaseState Evaluate(Case kase, CaseTally t, DateTimeOffset now)
    {
        if (kase.Status is CaseStatus.Cancelled or CaseStatus.AwaitingApproval)
        {
            return new CaseState(kase.Status, kase.CutVerifiedAt, kase.ClosedAt, kase.StatusDetail);
        }

        var (failed, active, future, held, manualOpen) = (t.Failed, t.Active, t.Future, t.Held, t.ManualOpen);

        // The exposure window closes when every access-cutting step due by the cut moment has succeeded.
        var cutVerifiedAt = kase.CutVerifiedAt;
        if (cutVerifiedAt is null && t.Cut > 0 && t.CutSucceeded == t.Cut)
        {
            cutVerifiedAt = t.CutLastFinished ?? now;
        }
        else if (cutVerifiedAt is null && t.Cut == 0 && t.AutomatedOpen == 0)
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
            var next = t.NextDue;
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
