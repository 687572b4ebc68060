using Deprov.Testing.Truth;

namespace Deprov.Hosting.Tests.Execution;

/// <summary>
/// The truth matrix in the suite: for every misbehaving-system scenario, no step may be reported verified while its
/// system still holds the access, none may be left open without saying so, every verified step keeps the state it
/// had before the cut, and no access the system holds goes unseen by discovery. <c>deprov bench truth</c> runs the same matrix and prints the counts.
/// </summary>
public sealed class TruthMatrixTests
{
    private const int People = 3;

    public static TheoryData<string> Names() => [.. TruthMatrix.Scenarios(People).Select(s => s.Name)];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task Scenario_NeverVerifiesAccessThatRemains(string name)
    {
        var scenario = TruthMatrix.Scenarios(People).Single(s => s.Name == name);

        var tally = await scenario.RunAsync(CancellationToken.None);

        Assert.True(tally.Steps > 0, $"{name}: no access-cutting step ran");
        Assert.Equal(0, tally.FalseVerified);
        Assert.Equal(0, tally.Silent);
        Assert.Equal(0, tally.EvidenceLost);
        Assert.Equal(0, tally.Unplanned);
    }
}
