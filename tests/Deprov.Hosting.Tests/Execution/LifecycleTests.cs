using Deprov.Connectors.Sandbox;
using Deprov.Core.Model;
using Deprov.Core.Reconciliation;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Deprov.Hosting.Reconciliation;
using Deprov.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Hosting.Tests.Execution;

/// <summary>
/// People's HR status follows their events, every case ends, and the safety brake is one decision however many
/// submitters race it.
/// </summary>
public sealed class LifecycleTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<(TestEnvironment Env, List<Person> People, FakeTimeProvider Time)> SeededAsync(string? yaml = null, string? policy = null, int count = 3,
        int withoutAccess = 0)
    {
        var (env, people) = await SeededAsync(new FakeTimeProvider(Start), yaml, policy, count, withoutAccess);
        return (env, people, (FakeTimeProvider)env.Time);
    }

    private static async Task<(TestEnvironment Env, List<Person> People)> SeededAsync(TimeProvider time, string? yaml, string? policy, int count, int withoutAccess = 0)
    {
        var env = await TestEnvironment.CreateAsync(yaml, policy, time);
        var people = Enumerable.Range(0, count).Select(_ => Some.Person()).ToList();
        var bare = Enumerable.Range(0, withoutAccess).Select(_ => Some.Person()).ToList();
        await env.SeedAsync([.. people, .. bare], Some.Systems(people));
        return (env, [.. people, .. bare]);
    }

    private static async Task<PersonStatus> StatusAsync(TestEnvironment env, string personId) => (await env.Engine.Store.GetPersonAsync(personId, None))!.Status;

    [Fact]
    public async Task Leave_EffectiveNow_PersonIsLeft_RehireMakesThemActiveAgain()
    {
        var (env, people, time) = await SeededAsync();
        await using var _ = env;
        var alice = people[0].Id;

        await env.Engine.SubmitAsync(Some.Leave(alice, time.GetUtcNow()), "admin:test", None);
        Assert.Equal(PersonStatus.Left, await StatusAsync(env, alice));
        Assert.Equal(PersonStatus.Active, await StatusAsync(env, people[1].Id));

        // An HR field update (a roster import) never brings a leaver back: only an event does.
        await env.Engine.Store.UpsertPeopleAsync([people[0] with { Title = "Staff Engineer" }], None);
        Assert.Equal(PersonStatus.Left, await StatusAsync(env, alice));

        await env.Engine.SubmitAsync(Some.Event(EventKind.Rehire, alice, time.GetUtcNow()), "admin:test", None);
        Assert.Equal(PersonStatus.Active, await StatusAsync(env, alice));
        var audit = new List<string>();
        await foreach (var r in env.Engine.Store.ReadPersonAuditAsync(alice, None))
        {
            audit.Add($"{r.Entry.Action}:{r.Entry.Before}->{r.Entry.After}");
        }

        Assert.Contains("person_status_changed:active->left", audit);
        Assert.Contains("person_status_changed:left->active", audit);
    }

    [Fact]
    public async Task Leave_FutureDated_LeavingUntilEffective_ThenLeftByTheWorker()
    {
        var (env, people, time) = await SeededAsync();
        await using var _ = env;
        var bob = people[1].Id;

        await env.Engine.SubmitAsync(Some.Leave(bob, Start.AddDays(3)), "admin:test", None);
        Assert.Equal(PersonStatus.Leaving, await StatusAsync(env, bob));
        await env.RunUntilIdleAsync();
        Assert.Equal(PersonStatus.Leaving, await StatusAsync(env, bob)); // still serving notice

        time.Advance(TimeSpan.FromDays(3));
        await env.RunUntilIdleAsync();
        Assert.Equal(PersonStatus.Left, await StatusAsync(env, bob));

        // A cancelled termination before the date makes a leaving person active again.
        var carol = people[2].Id;
        await env.Engine.SubmitAsync(Some.Leave(carol, time.GetUtcNow().AddDays(10)), "admin:test", None);
        Assert.Equal(PersonStatus.Leaving, await StatusAsync(env, carol));
        await env.Engine.SubmitAsync(Some.Event(EventKind.TerminationCancelled, carol, time.GetUtcNow()), "admin:test", None);
        time.Advance(TimeSpan.FromDays(11));
        await env.RunUntilIdleAsync();
        Assert.Equal(PersonStatus.Active, await StatusAsync(env, carol));
    }

    [Fact]
    public async Task FailedCut_ReconciliationFlagsEveryActiveAccountOfTheLeaver()
    {
        var yaml = TestEnvironment.DefaultSystems.Replace("settings: { flavour: app }", "settings: { flavour: app, failure_rate: 1, fail_on: changes }", StringComparison.Ordinal);
        var policy = "policy:\n  execution: { max_attempts: 2, base_delay: 1ms, max_delay: 2ms, retry_schedule: [] }\n";
        // The wall clock: the connector's inline retries wait (1-2 ms) on the engine's clock.
        var (env, people) = await SeededAsync(TimeProvider.System, yaml, policy, 3);
        await using var _ = env;
        var alice = people[0].Id;

        var result = await env.Engine.SubmitAsync(Some.Leave(alice, env.Time.GetUtcNow()), "admin:test", None);
        await env.RunUntilIdleAsync();
        Assert.Equal(CaseStatus.Unverified, (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, None))!.Status);

        var results = await new Reconciler(env.Engine).ReconcileAsync([], "admin:test", true, null, None);
        Assert.All(results, r => Assert.Null(r.Error));
        var findings = await env.Engine.Store.ListFindingsAsync(new FindingQuery(FindingKind.LeaverStillActive), None);
        var slack = Assert.Single(findings, f => f.PersonId == alice);
        Assert.Equal("slack", slack.SystemId);
        Assert.DoesNotContain(findings, f => f.PersonId != alice);
    }

    [Fact]
    public async Task ZeroStepCases_CloseAtOnceWithTheirReason()
    {
        var (env, people, time) = await SeededAsync(count: 1, withoutAccess: 1);
        await using var _ = env;
        var nobody = people[1].Id; // no account anywhere

        var leave = await env.Engine.SubmitAsync(Some.Leave(nobody, time.GetUtcNow()), "admin:test", None);
        var kase = (await env.Engine.Store.GetCaseAsync(leave.Plan!.Case.Id, None))!;
        Assert.Equal(CaseStatus.Verified, kase.Status);
        Assert.NotNull(kase.ClosedAt);
        Assert.Contains("nothing to cut", kase.StatusDetail, StringComparison.Ordinal);

        var rehire = await env.Engine.SubmitAsync(Some.Event(EventKind.Rehire, nobody, time.GetUtcNow()), "admin:test", None);
        var restore = (await env.Engine.Store.GetCaseAsync(rehire.Plan!.Case.Id, None))!;
        Assert.Equal(CaseStatus.Verified, restore.Status);
        Assert.NotNull(restore.ClosedAt);
        Assert.Contains("nothing to restore", restore.StatusDetail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_AfterTheAccountWasDeleted_ClosesUnverifiedWithATaskRoutedToItsTeam()
    {
        const string yaml = """
            systems:
              - { id: slack, kind: sandbox, role: application, retention_days: 30, settings: { flavour: app } }
            """;
        const string policy = """
            policy:
              tasks:
                routes:
                  - { tasks: [restore-deleted-account], systems: [slack], team: security }
            """;
        var (env, people, time) = await SeededAsync(yaml, policy, count: 1);
        await using var _ = env;
        var alice = people[0].Id;

        await env.Engine.SubmitAsync(Some.Leave(alice, time.GetUtcNow()), "admin:test", None);
        await env.RunUntilIdleAsync();
        time.Advance(TimeSpan.FromDays(31));
        await env.RunUntilIdleAsync();
        await using (var world = env.AcquireWorld())
        {
            Assert.All(world.System("slack").Accounts.Values, a => Assert.True(a.Deleted)); // deleted after retention
        }

        var rehire = await env.Engine.SubmitAsync(Some.Event(EventKind.Rehire, alice, time.GetUtcNow()), "admin:test", None);
        var restore = (await env.Engine.Store.GetCaseAsync(rehire.Plan!.Case.Id, None))!;
        Assert.Empty(rehire.Plan.Steps);
        Assert.Equal(CaseStatus.Unverified, restore.Status);
        Assert.NotNull(restore.ClosedAt);
        Assert.Contains("the account was deleted after retention", restore.StatusDetail, StringComparison.Ordinal);
        var task = Assert.Single(await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: alice), None), t => t.CaseId == restore.Id);
        Assert.Equal(Team.Security, task.Team);
        Assert.Contains("deleted after retention", task.Title, StringComparison.Ordinal);
    }

    /// <summary>
    /// Engines on separate connections to one store file (as separate processes are) submit leavers at the same moment:
    /// the count and the creation are one transaction, so exactly the threshold is admitted and the rest wait.
    /// </summary>
    [Fact]
    public async Task SafetyBrake_ParallelSubmittersOnSeparateConnections_AdmitNoMoreThanTheThreshold()
    {
        const string policy = "policy:\n  safety_brake: { window: 1h, max_people: 5, min_people: 5, max_share: 100% }\n";
        var (env, people, time) = await SeededAsync(policy: policy, count: 32);
        await using var _ = env;
        const int submitters = 6;
        var engines = new List<DeprovEngine>();
        try
        {
            for (var i = 0; i < submitters; i++)
            {
                engines.Add(await DeprovHost.OpenAsync(env.ConfigPath, [new SandboxConnectorFactory()], time, null, null, None));
            }

            var go = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var leavers = people.Skip(2).ToList();
            // Every leaver is its own submit, all at once: each engine's submits overlap each other and the other engines'.
            var runs = leavers.Select((p, n) => Task.Run(async () =>
            {
                await go.Task;
                return await engines[n % submitters].SubmitAsync(Some.Leave(p.Id, time.GetUtcNow()), "admin:test", None);
            })).ToList();
            go.SetResult();
            var all = (await Task.WhenAll(runs)).ToList();

            Assert.Equal(leavers.Count, all.Count);
            var cases = await env.Engine.Store.ListCasesAsync(new CaseQuery(Limit: 1000), None);
            var leaverCases = cases.Where(c => c.Kind == CaseKind.Leaver).ToList();
            Assert.Equal(leavers.Count, leaverCases.Count);
            Assert.Equal(5, leaverCases.Count(c => c.Status != CaseStatus.AwaitingApproval));
            Assert.Equal(5, all.Count(r => r.Plan!.Case.Status != CaseStatus.AwaitingApproval)); // each submitter was told what the store did
        }
        finally
        {
            foreach (var e in engines)
            {
                await e.DisposeAsync();
            }
        }
    }
}
