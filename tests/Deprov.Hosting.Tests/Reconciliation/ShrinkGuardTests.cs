using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Core.Reconciliation;
using Deprov.Hosting.Discovery;
using Deprov.Hosting.Reconciliation;
using Deprov.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Hosting.Tests.Reconciliation;

/// <summary>
/// The shrink guard: a discovery whose account count falls by more than <c>reconciliation.max_shrink</c> is refused and
/// keeps the old inventory; a scheduled run raises an alert and an <c>inventory_shrink</c> finding an operator accepts.
/// </summary>
public sealed class ShrinkGuardTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private const string Yaml = """
        systems:
          - { id: directory, kind: sandbox, role: directory, correlate: [attribute:employeeNumber], settings: { flavour: directory } }
          - { id: slack, kind: sandbox, role: application, settings: { flavour: app } }
        """;

    /// <summary>Ten people, all with accounts in both systems, discovered at <see cref="Start"/>.</summary>
    private static async Task<(TestEnvironment Env, List<Person> People, FakeTimeProvider Time)> SeededAsync(string? policy = null)
    {
        var time = new FakeTimeProvider(Start);
        var env = await TestEnvironment.CreateAsync(Yaml, policy, time);
        var people = Enumerable.Range(0, 10).Select(_ => Some.Person()).ToList();
        await env.SeedAsync(people, Systems(people));
        return (env, people, time);
    }

    private static Dictionary<string, SandboxSystemState> Systems(IReadOnlyList<Person> people) =>
        Some.Systems(people).Where(kv => kv.Key is "directory" or "slack").ToDictionary(kv => kv.Key, kv => kv.Value);

    /// <summary>Slack keeps only the first <paramref name="keep"/> people's accounts; the directory keeps everyone's.</summary>
    private static async Task ShrinkSlackAsync(TestEnvironment env, List<Person> people, int keep)
    {
        var systems = Systems(people);
        systems["slack"] = Systems(people.Take(keep).ToList())["slack"];
        await using var world = env.AcquireWorld();
        await world.ResetAsync(systems, None);
    }

    private static async Task<List<string>> AuditActionsAsync(TestEnvironment env)
    {
        var list = new List<string>();
        await foreach (var r in env.Engine.Store.ReadAuditAsync(0, None))
        {
            list.Add(r.Entry.Action);
        }

        return list;
    }

    [Fact]
    public async Task ReconcileAsync_FallBeyondMaxShrink_IsRefused_InventoryKept_FindingAndAlertRaised_ThenAcceptWritesIt()
    {
        var (env, people, time) = await SeededAsync();
        await using var _ = env;
        await ShrinkSlackAsync(env, people, keep: 7); // 30 % gone: more than the default 20 %
        time.Advance(TimeSpan.FromMinutes(5));

        var results = await new Reconciler(env.Engine).ReconcileAsync(null, "deprov:scheduler", force: false, null, None);

        var slack = Assert.Single(results, r => r.SystemId == "slack");
        Assert.NotNull(slack.Shrink);
        Assert.Equal((10, 7, 0.2), (slack.Shrink.Stored, slack.Shrink.Listed, slack.Shrink.MaxShare));
        Assert.Contains("listed 7 account(s) where the inventory holds 10", slack.Error, StringComparison.Ordinal);
        Assert.Contains("--accept-shrink", slack.Error, StringComparison.Ordinal);
        Assert.Null(Assert.Single(results, r => r.SystemId == "directory").Error);
        var state = (await env.Engine.Store.GetDiscoveryStateAsync("slack", None))!;
        Assert.Equal((10, Start), (state.Accounts, state.CompletedAt)); // nothing written
        Assert.NotNull(await env.Engine.Store.GetAccountAsync("slack/sl10", None));
        var finding = Assert.Single(await env.Engine.Store.ListFindingsAsync(new FindingQuery(FindingKind.InventoryShrink), None));
        Assert.Equal((slack.Shrink.FindingId, "slack", "slack"), (finding.Id, finding.SystemId, finding.Target));
        var actions = await AuditActionsAsync(env);
        Assert.Contains("discovery_refused", actions);
        Assert.Contains("alert", actions);

        // Refused again on the next run: the same finding, still open; other findings of the system are left alone.
        time.Advance(TimeSpan.FromMinutes(5));
        var again = await new Reconciler(env.Engine).ReconcileAsync(["slack"], "deprov:scheduler", force: false, null, None);
        Assert.NotNull(Assert.Single(again).Shrink);
        Assert.Equal(Start.AddMinutes(5), Assert.Single(await env.Engine.Store.ListFindingsAsync(new FindingQuery(FindingKind.InventoryShrink), None)).FirstSeenAt);

        // The operator accepts: the listing is written and the finding resolves.
        var accepted = await new Reconciler(env.Engine).AcceptShrinkAsync(finding.Id, "admin:ops", None);
        Assert.Null(accepted.Error);
        Assert.Equal(7, accepted.Discovery!.Accounts);
        Assert.Equal(7, (await env.Engine.Store.GetDiscoveryStateAsync("slack", None))!.Accounts);
        Assert.Empty(await env.Engine.Store.ListFindingsAsync(new FindingQuery(FindingKind.InventoryShrink), None));
        Assert.Contains("inventory_shrink_accepted", await AuditActionsAsync(env));
        await Assert.ThrowsAsync<NotFoundException>(() => new Reconciler(env.Engine).AcceptShrinkAsync(finding.Id, "admin:ops", None));
    }

    [Fact]
    public async Task ReconcileAsync_FallWithinMaxShrink_IsWritten()
    {
        var (env, people, _) = await SeededAsync();
        await using var _ = env;
        await ShrinkSlackAsync(env, people, keep: 8); // 20 %: exactly the limit

        var slack = Assert.Single(await new Reconciler(env.Engine).ReconcileAsync(["slack"], "admin:test", force: false, null, None));

        Assert.Null(slack.Error);
        Assert.Equal(8, (await env.Engine.Store.GetDiscoveryStateAsync("slack", None))!.Accounts);
    }

    [Fact]
    public async Task ReconcileAsync_PerSystemOverride_AllowsALargerFallOnThatSystemOnly()
    {
        const string policy = """
            reconciliation:
              max_shrink: { default: 20%, slack: 60% }
            """;
        var (env, people, _) = await SeededAsync(policy);
        await using var _ = env;
        await ShrinkSlackAsync(env, people, keep: 5);

        var slack = Assert.Single(await new Reconciler(env.Engine).ReconcileAsync(["slack"], "admin:test", force: false, null, None));

        Assert.Null(slack.Error);
        Assert.Equal(5, (await env.Engine.Store.GetDiscoveryStateAsync("slack", None))!.Accounts);
        Assert.Equal(0.2, env.Engine.Config.Reconciliation.MaxShrinkFor("directory"));
    }

    [Fact]
    public async Task ReconcileAsync_AcceptShrink_WritesTheSmallerListing()
    {
        var (env, people, _) = await SeededAsync();
        await using var _ = env;
        await ShrinkSlackAsync(env, people, keep: 0);

        var slack = Assert.Single(await new Reconciler(env.Engine).ReconcileAsync(["slack"], "admin:test", force: false, acceptShrink: true, null, None));

        Assert.Null(slack.Error);
        Assert.Equal(0, (await env.Engine.Store.GetDiscoveryStateAsync("slack", None))!.Accounts);
    }

    [Fact]
    public async Task DiscoverAsync_FirstDiscovery_IsNeverRefused_ALaterEmptyListingIs()
    {
        var time = new FakeTimeProvider(Start);
        await using var env = await TestEnvironment.CreateAsync(Yaml, time: time);
        var people = Enumerable.Range(0, 3).Select(_ => Some.Person()).ToList();
        await using (var world = env.AcquireWorld())
        {
            await world.ResetAsync(Systems(people), None);
        }

        var service = new DiscoveryService(env.Engine.Store, time);
        var first = await service.DiscoverAsync(env.Engine.Systems["slack"], maxShrink: 0.2, null, None);
        Assert.Equal(3, first.Report.Accounts);

        await ShrinkSlackAsync(env, people, keep: 0);
        var ex = await Assert.ThrowsAsync<InventoryShrinkException>(() => service.DiscoverAsync(env.Engine.Systems["slack"], maxShrink: 0.2, null, None));
        Assert.Equal((3, 0), (ex.Stored, ex.Listed));
        Assert.Equal(3, (await env.Engine.Store.GetDiscoveryStateAsync("slack", None))!.Accounts);
    }

    [Fact]
    public async Task RunDueAsync_ScheduledRunRefused_RaisesTheFinding_ThenTheSystemRecovering_ResolvesIt()
    {
        const string policy = """
            reconciliation:
              schedule: { default: off, slack: every 1h }
            """;
        var (env, people, time) = await SeededAsync(policy);
        await using var _ = env;
        var scheduler = new ReconciliationScheduler(env.Engine, NullLogger.Instance);
        await new Reconciler(env.Engine).ReconcileAsync(["slack"], "admin:test", force: false, null, None); // the inventory as reconciliation stores it
        await ShrinkSlackAsync(env, people, keep: 0); // a wrong base: nothing listed
        time.Advance(TimeSpan.FromHours(1));

        await scheduler.RunDueAsync(None);

        Assert.Single(await env.Engine.Store.ListFindingsAsync(new FindingQuery(FindingKind.InventoryShrink), None));
        Assert.Equal(10, (await env.Engine.Store.GetDiscoveryStateAsync("slack", None))!.Accounts);

        // The base is fixed: the listing is back to what the inventory holds (unchanged since the last written run), and
        // the next scheduled run still re-detects and resolves the finding.
        await ShrinkSlackAsync(env, people, keep: 10);
        time.Advance(TimeSpan.FromHours(1));
        await scheduler.RunDueAsync(None);
        Assert.Empty(await env.Engine.Store.ListFindingsAsync(new FindingQuery(FindingKind.InventoryShrink), None));
    }

    [Theory]
    [InlineData("150%")]
    [InlineData("0.2")]
    [InlineData("{ default: 20%, nosuch: 10% }")]
    public async Task Config_InvalidMaxShrink_IsRejectedNamingTheKey(string value)
    {
        var ex = await Assert.ThrowsAsync<ValidationException>(() => TestEnvironment.CreateAsync(Yaml, $"reconciliation:\n  max_shrink: {value}\n"));
        Assert.Contains("max_shrink", ex.Message, StringComparison.Ordinal);
    }
}
