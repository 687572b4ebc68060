using Deprov.Core.Configuration;
using Deprov.Core.Model;
using Deprov.Core.Policy;

namespace Deprov.Core.Tests.Policy;

public sealed class PolicyTests
{
    private static readonly Person Contractor = new("p9", "c@example.com", "C", null, "Support", "Agent", "Remote", WorkerType.Contractor, PersonStatus.Active, null, null, "UTC");

    private static LifecycleEvent E(EventKind kind, ExitReason reason) => new("E", kind, "p9", default, reason, "t", "k", default);

    private static RuleMatch Match(EventKind[]? events = null, ExitReason[]? reasons = null, WorkerType[]? workers = null, string[]? departments = null, RiskTier? minRisk = null) =>
        new((events ?? []).ToHashSet(), (reasons ?? []).ToHashSet(), (workers ?? []).ToHashSet(), (departments ?? []).ToHashSet(StringComparer.Ordinal), minRisk);

    [Fact]
    public void Match_FirstMatchingRuleWins()
    {
        var policy = DeprovPolicy.Default with
        {
            Rules =
            [
                new PolicyRule("involuntary", Match([EventKind.Leave], [ExitReason.Involuntary]), "immediate", DeviceAction.Wipe),
                new PolicyRule("contractors", Match(workers: [WorkerType.Contractor]), "immediate", DeviceAction.Lock),
                new PolicyRule("high-risk", Match(minRisk: RiskTier.High), "immediate", DeviceAction.Lock),
                new PolicyRule("default", RuleMatch.Any, "immediate", DeviceAction.None),
            ],
        };
        Assert.Equal("involuntary", policy.Match(E(EventKind.Leave, ExitReason.Involuntary), Contractor, RiskTier.Low)!.Name);
        Assert.Equal("contractors", policy.Match(E(EventKind.Leave, ExitReason.Voluntary), Contractor, RiskTier.Low)!.Name);
        Assert.Equal("high-risk", policy.Match(E(EventKind.Leave, ExitReason.Voluntary), Contractor with { WorkerType = WorkerType.Employee }, RiskTier.Critical)!.Name);
        Assert.Equal("default", policy.Match(E(EventKind.Move, ExitReason.None), Contractor with { WorkerType = WorkerType.Employee }, RiskTier.Medium)!.Name);
    }

    [Fact]
    public void RoleFor_TitlePatterns_MatchWithWildcards()
    {
        var policy = DeprovPolicy.Default with { Roles = [new RoleDefinition("eng", new HashSet<string> { "Engineering" }, ["*Engineer*"], new HashSet<string>())] };
        Assert.Equal("eng", policy.RoleFor("Engineering", "Senior Software Engineer II")?.Name);
        Assert.Null(policy.RoleFor("Engineering", "Product Manager"));
        Assert.Null(policy.RoleFor("Sales", "Sales Engineer"));
    }

    [Theory]
    [InlineData("Software Engineer", "*Engineer", true)]
    [InlineData("Software Engineer", "Software*", true)]
    [InlineData("Software Engineer", "*ware Eng*", true)]
    [InlineData("Software Engineer", "Soft*Manager", false)]
    [InlineData("engineer", "ENGINEER", true)]
    [InlineData("Eng", "*Engineer*", false)]
    public void Wildcard_IsMatch(string text, string pattern, bool expected) => Assert.Equal(expected, Wildcard.IsMatch(text, pattern));

    [Theory]
    [InlineData("30d", 30 * 24 * 3600)]
    [InlineData("4h", 4 * 3600)]
    [InlineData("15m", 15 * 60)]
    [InlineData("10s", 10)]
    [InlineData("2w", 14 * 24 * 3600)]
    [InlineData("0", 0)]
    public void TryParseDuration_Units(string text, int seconds)
    {
        Assert.True(SettingsNode.TryParseDuration(text, out var v));
        Assert.Equal(TimeSpan.FromSeconds(seconds), v);
    }

    [Theory]
    [InlineData("200ms", 200)]
    [InlineData("1.5s", 1500)]
    public void TryParseDuration_Fractions(string text, int ms)
    {
        Assert.True(SettingsNode.TryParseDuration(text, out var v));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), v);
    }

    [Theory]
    [InlineData("ten days")]
    [InlineData("5y")]
    [InlineData("-3d")]
    [InlineData("")]
    public void TryParseDuration_Garbage_IsRejected(string text) => Assert.False(SettingsNode.TryParseDuration(text, out _));

    [Fact]
    public void CheckKnownKeys_Typo_SuggestsTheKnownKey()
    {
        var node = SettingsNode.MappingNode("systems[0]", new Dictionary<string, SettingsNode> { ["retention_dayz"] = SettingsNode.ScalarNode("systems[0].retention_dayz", "3", "deprov.yaml", 12) }, "deprov.yaml", 10);
        var errors = new List<ValidationError>();
        node.CheckKnownKeys(errors, "id", "retention_days");
        var e = Assert.Single(errors);
        Assert.Equal(12, e.Line);
        Assert.Equal("deprov.yaml:12: 'systems[0].retention_dayz': is not a known key here. Fix: did you mean 'retention_days'? Known keys: id, retention_days.", e.ToString());
    }
}
