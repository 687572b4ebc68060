using Deprov.Core.Model;
using Deprov.Core.Policy;

namespace Deprov.Core.Tests.Model;

public sealed class PersonLifecycleTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 12, 0, 0, TimeSpan.Zero);

    private static LifecycleEvent Event(EventKind kind, DateTimeOffset effective, string person = "p1") =>
        new($"E-{kind}", kind, person, effective, ExitReason.None, "test", "k", Now);

    [Theory]
    [InlineData(EventKind.Leave, -1, PersonStatus.Left)]
    [InlineData(EventKind.Leave, 0, PersonStatus.Left)]
    [InlineData(EventKind.Leave, 5, PersonStatus.Leaving)]
    [InlineData(EventKind.ContractEnd, -1, PersonStatus.Left)]
    [InlineData(EventKind.ContractEnd, 5, PersonStatus.Leaving)]
    [InlineData(EventKind.Rehire, 0, PersonStatus.Active)]
    [InlineData(EventKind.TerminationCancelled, 5, PersonStatus.Active)]
    public void After_EventGivesItsStatus(EventKind kind, int days, PersonStatus expected)
    {
        var change = PersonLifecycle.After(Event(kind, Now.AddDays(days)), Now)!;
        Assert.Equal(expected, change.Status);
        Assert.Equal(kind is EventKind.Leave or EventKind.ContractEnd ? Now.AddDays(days) : null, change.LeavesAt);
    }

    [Theory]
    [InlineData(EventKind.Move)]
    [InlineData(EventKind.LegalHoldSet)]
    [InlineData(EventKind.LegalHoldReleased)]
    public void After_OtherEvents_LeaveTheStatusAlone(EventKind kind) => Assert.Null(PersonLifecycle.After(Event(kind, Now), Now));

    [Fact]
    public void After_Batch_TheLastEventOfAPersonDecides()
    {
        var changes = PersonLifecycle.After([Event(EventKind.Leave, Now), Event(EventKind.Rehire, Now), Event(EventKind.Leave, Now.AddDays(2), "p2")], Now);
        Assert.Equal(PersonStatus.Active, Assert.Single(changes, c => c.PersonId == "p1").Status);
        Assert.Equal(PersonStatus.Leaving, Assert.Single(changes, c => c.PersonId == "p2").Status);
    }

    [Fact]
    public void At_LeavingBecomesLeftOnlyOnceEffective()
    {
        Assert.Equal(PersonStatus.Leaving, PersonLifecycle.At(PersonStatus.Leaving, Now.AddSeconds(1), Now));
        Assert.Equal(PersonStatus.Left, PersonLifecycle.At(PersonStatus.Leaving, Now, Now));
        Assert.Equal(PersonStatus.Active, PersonLifecycle.At(PersonStatus.Active, Now.AddDays(-1), Now));
    }

    [Fact]
    public void SafetyBrake_Decide_AdmitsUpToTheThresholdOnly()
    {
        var brake = new SafetyBrake(true, TimeSpan.FromHours(1), 5, 1, 5);
        Assert.Null(brake.Decide(recent: 4, batch: 1, activePeople: 100));
        Assert.Contains("6 leavers", brake.Decide(recent: 5, batch: 1, activePeople: 100), StringComparison.Ordinal);
        Assert.Null((brake with { Enabled = false }).Decide(50, 50, 100));
    }
}
