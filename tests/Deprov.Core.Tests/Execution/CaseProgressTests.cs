using Deprov.Core.Execution;
using Deprov.Core.Model;

namespace Deprov.Core.Tests.Execution;

public sealed class CaseProgressTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);
    private static readonly Case Kase = new("C1", "p1", CaseKind.Leaver, "E1", "r", "immediate", CaseStatus.Running, Now, Now, Now, Now, null, null, null);

    private static StepTally T(StepStatus s, bool cut = true, bool automated = true, int dueInDays = 0, int finishedMs = 100) =>
        new(s, automated, cut, Now.AddDays(dueInDays), s.IsTerminal() ? Now.AddMilliseconds(finishedMs) : null);

    [Fact]
    public void Evaluate_StepsStillDue_IsRunning() =>
        Assert.Equal(CaseStatus.Running, CaseProgress.Evaluate(Kase, [T(StepStatus.Verified), T(StepStatus.Pending)], Now).Status);

    [Fact]
    public void Evaluate_AllCutsVerifiedDeletesLater_IsScheduledWithExposureClosed()
    {
        var s = CaseProgress.Evaluate(Kase, [T(StepStatus.Verified, finishedMs: 120), T(StepStatus.Verified, finishedMs: 300), T(StepStatus.Pending, cut: false, dueInDays: 30)], Now.AddSeconds(1));
        Assert.Equal(CaseStatus.Scheduled, s.Status);
        Assert.Equal(Now.AddMilliseconds(300), s.CutVerifiedAt);
        Assert.Contains("next step due", s.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_FailedStepAndNothingRunning_IsUnverifiedLoudly()
    {
        var s = CaseProgress.Evaluate(Kase, [T(StepStatus.Verified), T(StepStatus.Failed)], Now);
        Assert.Equal(CaseStatus.Unverified, s.Status);
        Assert.Null(s.CutVerifiedAt);
        Assert.Contains("failed", s.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_FailedStepDoneManually_ClosesExposureAtCompletion()
    {
        var s = CaseProgress.Evaluate(Kase, [T(StepStatus.Verified, finishedMs: 100), T(StepStatus.DoneManually, finishedMs: 60_000)], Now.AddMinutes(2));
        Assert.Equal(CaseStatus.Verified, s.Status);
        Assert.Equal(Now.AddMinutes(1), s.CutVerifiedAt);
    }

    [Fact]
    public void Evaluate_OpenManualTask_KeepsCaseOpen()
    {
        var s = CaseProgress.Evaluate(Kase, [T(StepStatus.Verified), T(StepStatus.Pending, cut: false, automated: false)], Now);
        Assert.Equal(CaseStatus.Scheduled, s.Status);
        Assert.Contains("manual task", s.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_HeldDelete_IsScheduledSayingWhy()
    {
        var s = CaseProgress.Evaluate(Kase, [T(StepStatus.Verified), T(StepStatus.Held, cut: false)], Now);
        Assert.Equal(CaseStatus.Scheduled, s.Status);
        Assert.Contains("legal hold", s.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluate_Cancelled_StaysCancelled() =>
        Assert.Equal(CaseStatus.Cancelled, CaseProgress.Evaluate(Kase with { Status = CaseStatus.Cancelled }, [T(StepStatus.Pending)], Now).Status);

    [Theory]
    [InlineData(50, 5)]
    [InlineData(95, 10)]
    [InlineData(99, 10)]
    [InlineData(0, 1)]
    public void Percentiles_NearestRank(double p, double expected) =>
        Assert.Equal(expected, Percentiles.Of([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p));
}
