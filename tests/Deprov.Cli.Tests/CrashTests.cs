using Deprov.Connectors.Sandbox;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Testing;

namespace Deprov.Cli.Tests;

/// <summary>
/// The worker is killed with SIGKILL at different points (a step persisted as running but not called; a system changed but
/// the result not committed; right after a commit) and restarted. Nothing may be lost, nothing applied twice, and the
/// audit chain must stay intact.
/// </summary>
public sealed class CrashTests
{
    [Theory]
    [InlineData("claimed:1")]
    [InlineData("claimed:40")]
    [InlineData("executed:1")]
    [InlineData("executed:57")]
    [InlineData("committed:30")]
    [InlineData("committed:200")]
    public async Task Run_KilledMidRun_ResumesWithNothingLostOrAppliedTwice(string killPoint)
    {
        var env = await TestEnvironment.CreateAsync(policy: "policy:\n  safety_brake: { enabled: false }\n");
        var dir = env.Directory;
        await env.SeedCompanyAsync(people: 40, seed: 5);
        var people = (await env.Engine.Store.ListPeopleAsync(100, 0, CancellationToken.None)).Take(16).ToList();
        var results = await env.Engine.SubmitManyAsync(people.Select(p => Some.Leave(p.Id, env.Time.GetUtcNow())).ToList(), "admin:test", CancellationToken.None);
        var dueSteps = results.Sum(r => r.Plan!.Steps.Count(s => s.DueAt <= env.Time.GetUtcNow() && s.Action != ActionKind.Manual));
        Assert.True(dueSteps > 200, $"only {dueSteps} steps: the kill points need more work to land mid-run");
        await env.Engine.DisposeAsync();

        var killed = await Cli.RunAsync(dir, new Dictionary<string, string> { ["DEPROV_FAULT_KILL"] = killPoint }, "run", "--until-idle");
        Assert.Equal(137, killed.ExitCode); // 128 + SIGKILL

        var resumed = await Cli.RunAsync(dir, "run", "--until-idle");
        Assert.True(resumed.ExitCode == 0, resumed.All);

        var env2 = await TestEnvironment.CreateAsync(directory: dir);
        await using (env2)
        {
            var store = env2.Engine.Store;
            foreach (var r in results)
            {
                var kase = (await store.GetCaseAsync(r.Plan!.Case.Id, CancellationToken.None))!;
                var steps = await store.GetStepsAsync(kase.Id, CancellationToken.None);
                Assert.True(kase.CutVerifiedAt is not null, $"case {kase.Id} is {kase.Status}: {kase.StatusDetail}\n"
                    + string.Join("\n", steps.Where(s => !s.Status.IsSuccess()).Select(s => $"{s.Id} {s.Action} {s.SystemId}:{s.Target} {s.Status} {s.Error}")));
                Assert.DoesNotContain(steps, s => s.Status == StepStatus.Running);
                Assert.All(steps.Where(s => s.DueAt <= kase.CutAt && s.Action != ActionKind.Manual), s => Assert.Equal(StepStatus.Verified, s.Status));
            }

            var v = await store.VerifyAuditChainAsync(CancellationToken.None);
            Assert.True(v.Ok, v.Problem);

            await using var world = env2.AcquireWorld();
            var changes = world.ChangedCountsByKey();
            Assert.All(changes, kv => Assert.True(kv.Value <= 1, $"step {kv.Key} changed its system {kv.Value} times"));
            var stats = await store.GetStatisticsAsync(env2.Time.GetUtcNow(), CancellationToken.None);
            Assert.Equal(0, stats.FailedSteps);
        }
    }
}
