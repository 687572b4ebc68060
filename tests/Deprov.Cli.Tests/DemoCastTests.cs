using Deprov.Cli.Commands;
using Deprov.Connectors.Sandbox;

namespace Deprov.Cli.Tests;

/// <summary>The demo finds its four actors and two bystanders in every company it can generate, from the smallest up.</summary>
public sealed class DemoCastTests
{
    private static readonly Dictionary<string, SandboxFlavour> Systems = new(StringComparer.Ordinal) { ["directory"] = SandboxFlavour.Directory, ["slack"] = SandboxFlavour.App };

    public static TheoryData<int> Sizes() => [.. new[] { DemoCommand.MinPeople, 21, 22, 25, 30, 40, 60, 100, 200, 1000, 5000 }];

    [Theory]
    [MemberData(nameof(Sizes))]
    public void Pick_AnySizeAndSeed_DistinctActorsAndTwoBystanders(int size)
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var people = SandboxCompany.Generate(size, seed, Systems, new DateOnly(2026, 12, 1)).People;
            var cast = DemoCast.Pick(people);
            var ids = new[] { cast.Involuntary, cast.Resigning, cast.Contractor, cast.Mover }.OfType<Core.Model.Person>().Concat(cast.Bystanders).Select(p => p.Id).ToList();
            Assert.Equal(ids.Count, ids.Distinct(StringComparer.Ordinal).Count());
            Assert.Equal(2, cast.Bystanders.Count);
            Assert.NotNull(cast.Mover);
        }
    }

    [Fact]
    public void Pick_BelowTheMinimum_Refused()
    {
        var people = SandboxCompany.Generate(DemoCommand.MinPeople - 1, 7, Systems, new DateOnly(2026, 12, 1)).People;
        Assert.Throws<ArgumentException>(() => DemoCast.Pick(people));
    }
}
