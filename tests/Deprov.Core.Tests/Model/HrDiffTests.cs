using Deprov.Core.Model;

namespace Deprov.Core.Tests.Model;

public sealed class HrDiffTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    private static Person Stored(DateOnly? end = null, PersonStatus status = PersonStatus.Active) =>
        new("p1", "p1@example.com", "P One", "m1", "Sales", "AE", "Paris", WorkerType.Employee, status, new DateOnly(2020, 1, 6), end, "Europe/Paris");

    private static HrRecord Record(params HrField[] mapped) => new("p1", mapped.ToHashSet()) { Email = "p1@example.com" };

    [Fact]
    public void Apply_FieldsTheSourceDoesNotCarry_KeepTheirStoredValues()
    {
        var change = HrDiff.Apply(Stored(new DateOnly(2026, 12, 31)), Record(HrField.Email), HrStatusMapping.Default, "UTC", Now, "hr");

        Assert.False(change.Changed);
        Assert.Empty(change.Events);
        Assert.Equal(Stored(new DateOnly(2026, 12, 31)), change.Person);
    }

    [Fact]
    public void Apply_ActiveStatusForSomeoneWhoLeft_IsARehire()
    {
        var change = HrDiff.Apply(Stored(new DateOnly(2026, 10, 31), PersonStatus.Left), Record(HrField.Email, HrField.Status) with { Status = HrStatusMeaning.Active },
            HrStatusMapping.Default, "UTC", Now, "hr");

        Assert.Equal(EventKind.Rehire, Assert.Single(change.Events).Kind);
        Assert.Null(change.Person.EndDate);
    }

    [Theory]
    [InlineData(HrStatusMeaning.OnLeave)]
    [InlineData(null)]
    public void Apply_NoExplicitWord_NeverRestoresSomeoneWhoLeft(HrStatusMeaning? status)
    {
        var change = HrDiff.Apply(Stored(new DateOnly(2026, 10, 31), PersonStatus.Left), Record(HrField.Email, HrField.Status, HrField.EndDate) with { Status = status },
            HrStatusMapping.Default, "UTC", Now, "hr");

        Assert.Empty(change.Events);
        Assert.Equal(new DateOnly(2026, 10, 31), change.Person.EndDate);
    }

    [Fact]
    public void Apply_TerminatedWithoutDateWhenNow_EndsNow()
    {
        var change = HrDiff.Apply(Stored(), Record(HrField.Email, HrField.Status) with { Status = HrStatusMeaning.Terminated },
            HrStatusMapping.Default with { WithoutDate = TerminatedWithoutDate.Now }, "UTC", Now, "hr");

        var leave = Assert.Single(change.Events);
        Assert.Equal((EventKind.Leave, Now), (leave.Kind, leave.EffectiveAt));
    }
}
