using Deprov.Connectors.Sandbox;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Audit;
using Deprov.Hosting.Execution;
using Deprov.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Hosting.Tests.Execution;

/// <summary>The engine end to end on sandbox systems: plan, execute, verify, audit.</summary>
public sealed class EngineTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    private static async Task<(TestEnvironment Env, List<Person> People)> SeededAsync(string? yaml = null, string? policy = null, TimeProvider? time = null, int count = 3,
        ScriptedConnectorFactory? scripted = null)
    {
        var env = await TestEnvironment.CreateAsync(yaml, policy, time, scripted is null ? null : [scripted]);
        var manager = Some.Person();
        var people = new List<Person> { Some.Person(manager: manager.Id) };
        for (var i = 1; i < count; i++)
        {
            people.Add(Some.Person(department: i % 2 == 0 ? "Sales" : "Engineering"));
        }

        people.Add(manager);
        await env.SeedAsync(people, Some.Systems(people));
        return (env, people);
    }

    private static async Task<List<AuditRecord>> AuditOfAsync(TestEnvironment env, string personId)
    {
        var list = new List<AuditRecord>();
        await foreach (var r in env.Engine.Store.ReadPersonAuditAsync(personId, CancellationToken.None))
        {
            list.Add(r);
        }

        return list;
    }

    [Fact]
    public async Task SubmitAsync_InvoluntaryLeaver_CutsEveryAccessAndVerifiesIt()
    {
        var (env, people) = await SeededAsync();
        await using var _ = env;
        var alice = people[0];
        var result = await env.Engine.SubmitAsync(Some.Leave(alice.Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        Assert.Equal(SubmitOutcome.Planned, result.Outcome);
        await env.RunUntilIdleAsync();

        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
        Assert.Equal(CaseStatus.Scheduled, kase.Status); // deletes wait for retention
        Assert.NotNull(kase.ExposureWindow);
        var steps = await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None);
        Assert.All(steps.Where(s => s.Category != StepCategory.Delete && s.Action != ActionKind.Manual), s => Assert.Equal(StepStatus.Verified, s.Status));

        await using var world = env.AcquireWorld();
        var local = alice.Email[..alice.Email.IndexOf('@', StringComparison.Ordinal)];
        Assert.False(world.System("directory").Accounts[local].Active);
        Assert.DoesNotContain(local, world.System("directory").Members["g-vpn-users"]);
        Assert.False(world.System("okta").Accounts["00u1"].Active);
        Assert.Equal(0, world.System("okta").Accounts["00u1"].Sessions);
        Assert.DoesNotContain("00u1", world.System("okta").Members["g-super-admins"]);
        Assert.False(world.System("slack").Accounts["sl1"].Active);
        Assert.DoesNotContain("sl1", world.System("slack").Members["g-slack-seat"]);
        Assert.Equal(DeviceStatus.Locked, world.System("jamf").Devices["d1"].Status);
        Assert.False(world.System("badges").Accounts["B1"].Active);
        Assert.False(world.System("vault").Credentials["tok-1"].Active);
        Assert.Equal(people[^1].Email, world.System("vault").Credentials["svc-ci"].Owner); // handed to the manager
        Assert.Equal(2, world.System("vault").Credentials["sec-db"].Version);              // rotated: alice knew it
        Assert.True(world.System("slack").Accounts["sl2"].Active);                          // nobody else touched

        var map = (await env.Engine.Store.GetAccessMapsAsync([alice.Id], CancellationToken.None)).Single();
        Assert.All(map.Accounts, a => Assert.Equal(AccountStatus.Disabled, a.Status));
        Assert.Empty(map.Assignments);
        Assert.True((await env.Engine.Store.VerifyAuditChainAsync(CancellationToken.None)).Ok);
        var audit = await AuditOfAsync(env, alice.Id);
        Assert.Contains(audit, r => r.Entry.Action == "disable_account" && r.Entry.SystemId == "directory" && r.Entry.Outcome == "ok" && r.Entry.Before!.Contains("\"active\":\"true\"", StringComparison.Ordinal));
        Assert.Contains(audit, r => r.Entry.Action == "access_cut_verified");
        Assert.DoesNotContain(audit, r => (r.Entry.After ?? string.Empty).Contains("password\":\"", StringComparison.Ordinal) && !r.Entry.After!.Contains("reset", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SubmitAsync_SameIdempotencyKeyTwice_HandledOnce()
    {
        var (env, people) = await SeededAsync();
        await using var _ = env;
        var e = Some.Leave(people[0].Id, env.Time.GetUtcNow(), key: "hr-123");
        var first = await env.Engine.SubmitAsync(e, "admin:test", CancellationToken.None);
        var second = await env.Engine.SubmitAsync(e, "admin:test", CancellationToken.None);
        Assert.Equal(SubmitOutcome.Planned, first.Outcome);
        Assert.Equal(SubmitOutcome.Duplicate, second.Outcome);
        Assert.Single(await env.Engine.Store.ListCasesAsync(new CaseQuery(people[0].Id), CancellationToken.None));
    }

    [Fact]
    public async Task SubmitAsync_UnknownPerson_IsParkedThenReplayedWhenThePersonAppears()
    {
        var (env, _) = await SeededAsync();
        await using var __ = env;
        var ghost = Some.Person();
        var result = await env.Engine.SubmitAsync(Some.Leave(ghost.Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        Assert.Equal(SubmitOutcome.Parked, result.Outcome);
        Assert.Equal(ghost.Id, Assert.Single(await env.Engine.Store.ListParkedEventsAsync(CancellationToken.None)).Event.PersonId);
        Assert.Equal(1, (await env.Engine.Store.GetStatisticsAsync(env.Time.GetUtcNow(), CancellationToken.None)).ParkedEvents);

        await env.Engine.Store.UpsertPeopleAsync([ghost], CancellationToken.None);
        Assert.Equal(1, await env.Engine.ReplayParkedAsync("admin:test", CancellationToken.None));
        Assert.Empty(await env.Engine.Store.ListParkedEventsAsync(CancellationToken.None));
        Assert.Single(await env.Engine.Store.ListCasesAsync(new CaseQuery(ghost.Id), CancellationToken.None));
    }

    [Fact]
    public async Task RunAsync_FutureEffectiveDate_NotExecutedEarlyThenFiresWhenDue()
    {
        var time = new FakeTimeProvider(Start);
        var (env, people) = await SeededAsync(time: time);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, Start.AddDays(14), ExitReason.Voluntary), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        await using (var world = env.AcquireWorld())
        {
            Assert.True(world.System("okta").Accounts["00u1"].Active);
        }

        Assert.Equal(CaseStatus.Scheduled, (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!.Status);
        time.Advance(TimeSpan.FromDays(14) + TimeSpan.FromSeconds(1));
        await env.RunUntilIdleAsync();
        await using (var world = env.AcquireWorld())
        {
            Assert.False(world.System("okta").Accounts["00u1"].Active);
        }

        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan.Case.Id, CancellationToken.None))!;
        Assert.Equal(Start.AddDays(14), kase.CutAt);
        Assert.NotNull(kase.CutVerifiedAt);
    }

    [Fact]
    public async Task RunAsync_StepFellDueWhileProcessWasDown_FiresRightAfterRestart()
    {
        var time = new FakeTimeProvider(Start);
        var (env, people) = await SeededAsync(time: time);
        var dir = env.Directory;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, Start.AddHours(8)), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        await env.Engine.DisposeAsync(); // the process stops; nothing runs overnight

        var later = new FakeTimeProvider(Start.AddDays(1));
        var restarted = await TestEnvironment.CreateAsync(time: later, directory: dir);
        await using var _ = restarted;
        await restarted.RunUntilIdleAsync();
        var kase = (await restarted.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
        Assert.NotNull(kase.CutVerifiedAt);
        Assert.Equal(TimeSpan.FromHours(16), kase.ExposureWindow); // honest: access ended late because nothing ran
    }

    [Fact]
    public async Task RunAsync_PastEffectiveDate_ExecutesNow()
    {
        var (env, people) = await SeededAsync();
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow().AddDays(-10)), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
        Assert.NotNull(kase.CutVerifiedAt);
        Assert.True(kase.CutAt >= kase.ReceivedAt); // exposure counts from when we heard, not from ten days ago
    }

    [Fact]
    public async Task RunAsync_SystemAlwaysFailing_RetriesThenRaisesTaskAndAlertCaseUnverified()
    {
        var yaml = TestEnvironment.DefaultSystems.Replace("settings: { flavour: app }", "settings: { flavour: app, failure_rate: 1, fail_on: changes }", StringComparison.Ordinal);
        // No durable retries: the task is raised once the inline retries are spent (StepTruthTests cover the schedule).
        var policy = "policy:\n  execution: { max_attempts: 3, base_delay: 1ms, max_delay: 5ms, retry_schedule: [] }\n";
        var (env, people) = await SeededAsync(yaml, policy);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
        Assert.Equal(CaseStatus.Unverified, kase.Status);
        Assert.Null(kase.CutVerifiedAt);
        var failed = (await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None)).Where(s => s.Status == StepStatus.Failed).ToList();
        Assert.NotEmpty(failed);
        Assert.All(failed, s => Assert.Equal("slack", s.SystemId));
        var tasks = await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: people[0].Id), CancellationToken.None);
        Assert.All(failed, s => Assert.Contains(tasks, t => t.StepId == s.Id && t.Title.StartsWith("Do by hand", StringComparison.Ordinal)));
        var audit = await AuditOfAsync(env, people[0].Id);
        Assert.Contains(audit, r => r.Entry.Action == "alert" && r.Entry.SystemId == "slack");
        Assert.Contains(audit, r => r.Entry.Outcome == "failed" && r.Entry.Detail!.Contains("retried", StringComparison.Ordinal));
        // Other systems were still cut: a failure in one system never stops the rest.
        await using var world = env.AcquireWorld();
        Assert.False(world.System("okta").Accounts["00u1"].Active);
        Assert.False(world.System("badges").Accounts["B1"].Active);
    }

    [Fact]
    public async Task RunAsync_FlakyAndRateLimitedSystems_RetriedUntilVerified()
    {
        var yaml = TestEnvironment.DefaultSystems
            .Replace("settings: { flavour: app }", "settings: { flavour: app, failure_rate: 0.4, fail_on: changes, seed: 11 }", StringComparison.Ordinal)
            .Replace("settings: { flavour: idp }", "settings: { flavour: idp, rate_limit_per_second: 20 }", StringComparison.Ordinal);
        var policy = "policy:\n  execution: { max_attempts: 12, base_delay: 1ms, max_delay: 1s }\n";
        var (env, people) = await SeededAsync(yaml, policy, count: 6);
        await using var _ = env;
        var results = await env.Engine.SubmitManyAsync(people.Take(5).Select(p => Some.Leave(p.Id, env.Time.GetUtcNow())).ToList(), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        foreach (var r in results)
        {
            var kase = (await env.Engine.Store.GetCaseAsync(r.Plan!.Case.Id, CancellationToken.None))!;
            var steps = await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None);
            Assert.True(kase.CutVerifiedAt is not null, string.Join("\n", steps.Where(s => s.Status != StepStatus.Verified).Select(s => $"{s.Id} {s.Action} {s.SystemId} {s.Status} {s.Error}")));
        }

        var audit = new List<AuditRecord>();
        await foreach (var r in env.Engine.Store.ReadAuditAsync(1, CancellationToken.None))
        {
            audit.Add(r);
        }

        Assert.Contains(audit, r => r.Entry.SystemId == "slack" && r.Entry.Outcome == "ok" && r.Entry.Detail?.Contains("503", StringComparison.Ordinal) == true);
    }

    /// <summary>The default systems with slack answering through a <see cref="ScriptedConnectorFactory"/>.</summary>
    private static readonly string ScriptedSlack = TestEnvironment.DefaultSystems.Replace("id: slack, kind: sandbox", "id: slack, kind: scripted", StringComparison.Ordinal);

    private static async Task<Step> SlackDisableAsync(TestEnvironment env, string caseId) =>
        (await env.Engine.Store.GetStepsAsync(caseId, CancellationToken.None)).Single(s => s.SystemId == "slack" && s.Action == ActionKind.DisableAccount);

    [Fact]
    public async Task RunAsync_RateLimitedMoreTimesThanMaxAttempts_WaitsItOutWithoutUsingAttemptsAndVerifies()
    {
        var scripted = new ScriptedConnectorFactory { RetryAfter = TimeSpan.FromMilliseconds(1) };
        for (var i = 0; i < 12; i++)
        {
            scripted.Script.Enqueue(ScriptedAnswer.RateLimited);
        }

        var policy = "policy:\n  execution: { max_attempts: 3, base_delay: 1ms, max_delay: 5ms }\n";
        var (env, people) = await SeededAsync(ScriptedSlack, policy, scripted: scripted);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var step = await SlackDisableAsync(env, result.Plan!.Case.Id);
        Assert.Equal(StepStatus.Verified, step.Status);
        Assert.Equal(1, step.Claims); // one claim: twelve 429s, none of them one of the three attempts
        Assert.Equal(3, step.Attempts); // the pre-read, the change that went through and its read-back: 429s are waits
        Assert.Equal(12, step.RateLimitWaits);
        Assert.Equal(13, scripted.Calls);
        Assert.NotNull((await env.Engine.Store.GetCaseAsync(result.Plan.Case.Id, CancellationToken.None))!.CutVerifiedAt);

        // Each wait is on the record, as retries are: in the detail of the step's audit record.
        var ok = Assert.Single(await AuditOfAsync(env, people[0].Id), r => r.Entry.StepId == step.Id);
        Assert.Equal("ok", ok.Entry.Outcome);
        Assert.Contains("rate-limit wait 1 of 100", ok.Entry.Detail, StringComparison.Ordinal);
        Assert.Contains("rate-limit wait 12 of 100", ok.Entry.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("attempt 2 failed", ok.Entry.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_RateLimitedWithRetryAfterBeyondMaxDelay_RescheduledPastTheClaimLimitWithoutUsingAttempts()
    {
        var time = new FakeTimeProvider(Start);
        var scripted = new ScriptedConnectorFactory { RetryAfter = TimeSpan.FromMinutes(5) };
        for (var i = 0; i < 5; i++)
        {
            scripted.Script.Enqueue(ScriptedAnswer.RateLimited);
        }

        var policy = "policy:\n  execution: { max_attempts: 3, base_delay: 1ms, max_delay: 1s }\n";
        var (env, people) = await SeededAsync(ScriptedSlack, policy, time, scripted: scripted);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, Start), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        for (var i = 1; i <= 5; i++)
        {
            var waiting = await SlackDisableAsync(env, result.Plan!.Case.Id);
            Assert.Equal(StepStatus.Pending, waiting.Status);
            Assert.Equal(0, waiting.Claims); // the claim that met the rate limit was given back
            Assert.Equal(i, waiting.RateLimitWaits);
            time.Advance(TimeSpan.FromMinutes(5));
            await env.RunUntilIdleAsync();
        }

        var step = await SlackDisableAsync(env, result.Plan!.Case.Id);
        Assert.Equal(StepStatus.Verified, step.Status);
        Assert.Equal(1, step.Claims);
        Assert.Equal(5, step.RateLimitWaits);
        Assert.Equal(6, scripted.Calls);
        var audit = (await AuditOfAsync(env, people[0].Id)).Where(r => r.Entry.StepId == step.Id).ToList();
        Assert.Equal(5, audit.Count(r => r.Entry.Outcome == "rate_limited"));
        Assert.Contains(audit, r => r.Entry.Outcome == "rate_limited" && r.Entry.Detail!.Contains("rate-limit wait 5 of 100", StringComparison.Ordinal));
        Assert.Contains(audit, r => r.Entry.Outcome == "ok");
    }

    [Fact]
    public async Task RunAsync_SystemAlwaysRateLimited_SurfacedAsTaskAfterMaxRateLimitWaits()
    {
        var scripted = new ScriptedConnectorFactory { RetryAfter = TimeSpan.FromMilliseconds(1), Forever = ScriptedAnswer.RateLimited };
        var policy = "policy:\n  execution: { max_attempts: 3, base_delay: 1ms, max_delay: 5ms, max_rate_limit_waits: 5 }\n";
        var (env, people) = await SeededAsync(ScriptedSlack, policy, scripted: scripted);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var step = await SlackDisableAsync(env, result.Plan!.Case.Id);
        Assert.Equal(StepStatus.Failed, step.Status);
        Assert.Equal(5, step.RateLimitWaits);
        Assert.Equal(6, scripted.Calls); // the first answer, then five waits
        Assert.Contains("429", step.Error, StringComparison.Ordinal);
        var task = Assert.Single(await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: people[0].Id), CancellationToken.None), t => t.StepId == step.Id);
        Assert.StartsWith("Do by hand", task.Title, StringComparison.Ordinal);
        Assert.Equal(CaseStatus.Unverified, (await env.Engine.Store.GetCaseAsync(result.Plan.Case.Id, CancellationToken.None))!.Status);
        var audit = await AuditOfAsync(env, people[0].Id);
        Assert.Contains(audit, r => r.Entry.StepId == step.Id && r.Entry.Outcome == "failed"
            && r.Entry.Detail!.Contains("still rate limited after 5 waits (policy.execution.max_rate_limit_waits 5)", StringComparison.Ordinal));
        Assert.Contains(audit, r => r.Entry.StepId == step.Id && r.Entry.Action == "alert");
    }

    [Fact]
    public async Task RunAsync_SystemAlwaysRateLimitedBeyondMaxDelay_SurfacedAsTaskAfterMaxRateLimitWaits()
    {
        var time = new FakeTimeProvider(Start);
        var scripted = new ScriptedConnectorFactory { RetryAfter = TimeSpan.FromMinutes(5), Forever = ScriptedAnswer.RateLimited };
        var policy = "policy:\n  execution: { max_attempts: 3, base_delay: 1ms, max_delay: 1s, max_rate_limit_waits: 4 }\n";
        var (env, people) = await SeededAsync(ScriptedSlack, policy, time, scripted: scripted);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, Start), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        for (var i = 0; i < 4; i++)
        {
            time.Advance(TimeSpan.FromMinutes(5));
            await env.RunUntilIdleAsync();
        }

        var step = await SlackDisableAsync(env, result.Plan!.Case.Id);
        Assert.Equal(StepStatus.Failed, step.Status);
        Assert.Equal(4, step.RateLimitWaits);
        Assert.Equal((1, 1), (step.Claims, step.Attempts)); // the pre-read is the one call not answered with a 429
        Assert.Equal(5, scripted.Calls);
        Assert.Single(await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: people[0].Id), CancellationToken.None), t => t.StepId == step.Id);
        var audit = (await AuditOfAsync(env, people[0].Id)).Where(r => r.Entry.StepId == step.Id).ToList();
        Assert.Equal(4, audit.Count(r => r.Entry.Outcome == "rate_limited"));
        Assert.Contains(audit, r => r.Entry.Outcome == "failed" && r.Entry.Detail!.Contains("still rate limited after 4 waits", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_FailuresBetweenRateLimits_StillCountAgainstMaxAttempts()
    {
        var scripted = new ScriptedConnectorFactory { RetryAfter = TimeSpan.FromMilliseconds(1) };
        foreach (var answer in new[] { ScriptedAnswer.RateLimited, ScriptedAnswer.Unavailable, ScriptedAnswer.RateLimited, ScriptedAnswer.Unavailable, ScriptedAnswer.Unavailable })
        {
            scripted.Script.Enqueue(answer);
        }

        // Three failures use the three attempts, whatever rate limits come between them; the sixth call would succeed.
        var policy = "policy:\n  execution: { max_attempts: 3, base_delay: 1ms, max_delay: 5ms, retry_schedule: [] }\n";
        var (env, people) = await SeededAsync(ScriptedSlack, policy, scripted: scripted);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var step = await SlackDisableAsync(env, result.Plan!.Case.Id);
        Assert.Equal(StepStatus.Failed, step.Status);
        Assert.Equal(5, scripted.Calls);
        Assert.Equal(2, step.RateLimitWaits);
        Assert.Contains("503", step.Error, StringComparison.Ordinal);
        var failed = Assert.Single(await AuditOfAsync(env, people[0].Id), r => r.Entry.StepId == step.Id && r.Entry.Outcome == "failed");
        Assert.Contains("still failing after retries", failed.Entry.Detail, StringComparison.Ordinal);
        Assert.Contains("attempt 2 failed", failed.Entry.Detail, StringComparison.Ordinal);
        Assert.Contains("rate-limit wait 2 of 100", failed.Entry.Detail, StringComparison.Ordinal);
        Assert.Single(await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: people[0].Id), CancellationToken.None), t => t.StepId == step.Id);
    }

    [Fact]
    public async Task LegalHold_BlocksDeletesUntilReleased()
    {
        var time = new FakeTimeProvider(Start);
        var (env, people) = await SeededAsync(time: time);
        await using var _ = env;
        var alice = people[0];
        var hold = await env.Engine.SubmitAsync(Some.Event(EventKind.LegalHoldSet, alice.Id, Start) with { Note = "case 2026-17" }, "admin:legal", CancellationToken.None);
        Assert.Equal(SubmitOutcome.Applied, hold.Outcome);
        var leave = await env.Engine.SubmitAsync(Some.Leave(alice.Id, Start), "admin:test", CancellationToken.None);
        Assert.All(leave.Plan!.Steps.Where(s => s.Action is ActionKind.DeleteAccount or ActionKind.ReclaimLicence), s => Assert.Equal(StepStatus.Held, s.Status));
        await env.RunUntilIdleAsync();
        time.Advance(TimeSpan.FromDays(40));
        await env.RunUntilIdleAsync();
        await using (var world = env.AcquireWorld())
        {
            Assert.False(world.System("slack").Accounts["sl1"].Deleted);
            Assert.Contains("sl1", world.System("slack").Members["g-slack-seat"]); // the licence stays under hold
        }

        await env.Engine.SubmitAsync(Some.Event(EventKind.LegalHoldReleased, alice.Id, time.GetUtcNow()), "admin:legal", CancellationToken.None);
        await env.RunUntilIdleAsync();
        await using (var world = env.AcquireWorld())
        {
            Assert.True(world.System("slack").Accounts["sl1"].Deleted);
        }
    }

    [Fact]
    public async Task Rehire_WithinRetention_RestoresWhatDeprovCut()
    {
        var (env, people) = await SeededAsync();
        await using var _ = env;
        var alice = people[0];
        await env.Engine.SubmitAsync(Some.Leave(alice.Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        var rehire = await env.Engine.SubmitAsync(Some.Event(EventKind.Rehire, alice.Id, env.Time.GetUtcNow()), "admin:hr", CancellationToken.None);
        Assert.Equal(CaseKind.Restore, rehire.Plan!.Case.Kind);
        await env.RunUntilIdleAsync();

        await using var world = env.AcquireWorld();
        Assert.True(world.System("okta").Accounts["00u1"].Active);
        Assert.True(world.System("slack").Accounts["sl1"].Active);
        Assert.Contains("sl1", world.System("slack").Members["g-general"]);
        Assert.Contains("sl1", world.System("slack").Members["g-slack-seat"]);
        Assert.False(world.System("vault").Credentials["tok-1"].Active); // revoked tokens are not brought back
        var cases = await env.Engine.Store.ListCasesAsync(new CaseQuery(alice.Id), CancellationToken.None);
        Assert.Contains(cases, c => c.Kind == CaseKind.Leaver && c.Status == CaseStatus.Cancelled);  // its deletes will never run
        Assert.Contains(cases, c => c.Kind == CaseKind.Restore && c.Status == CaseStatus.Verified);
    }

    [Fact]
    public async Task TerminationCancelled_BeforeEffectiveDate_NothingIsCut()
    {
        var time = new FakeTimeProvider(Start);
        var (env, people) = await SeededAsync(time: time);
        await using var _ = env;
        await env.Engine.SubmitAsync(Some.Leave(people[0].Id, Start.AddDays(7), ExitReason.Voluntary), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        await env.Engine.SubmitAsync(Some.Event(EventKind.TerminationCancelled, people[0].Id, time.GetUtcNow()), "admin:hr", CancellationToken.None);
        time.Advance(TimeSpan.FromDays(8));
        await env.RunUntilIdleAsync();
        await using var world = env.AcquireWorld();
        Assert.True(world.System("okta").Accounts["00u1"].Active);
        Assert.True(world.System("slack").Accounts["sl1"].Active);
    }

    [Fact]
    public async Task StagedResignation_PrivilegedAtNoticeRestOnLastDay()
    {
        var time = new FakeTimeProvider(Start);
        var policy = """
            policy:
              rules:
                - { name: resignation, when: { event: leave, reason: voluntary }, plan: staged }
                - { name: default, plan: immediate }
              schedules:
                staged:
                  - { stage: notice, at: notice, cut: [privileged] }
                  - { stage: last-day, at: effective, cut: [all] }
            """;
        var (env, people) = await SeededAsync(policy: policy, time: time);
        await using var _ = env;
        await env.Engine.SubmitAsync(Some.Leave(people[0].Id, Start.AddDays(14), ExitReason.Voluntary), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        await using (var world = env.AcquireWorld())
        {
            Assert.DoesNotContain("00u1", world.System("okta").Members["g-super-admins"]);
            Assert.DoesNotContain("sl1", world.System("slack").Members["g-workspace-admins"]);
            Assert.True(world.System("okta").Accounts["00u1"].Active);
        }

        time.Advance(TimeSpan.FromDays(14));
        await env.RunUntilIdleAsync();
        await using (var world = env.AcquireWorld())
        {
            Assert.False(world.System("okta").Accounts["00u1"].Active);
        }
    }

    [Fact]
    public async Task SafetyBrake_BurstOfLeavers_HoldsCasesUntilApproved()
    {
        var policy = "policy:\n  safety_brake: { window: 1h, max_people: 3, min_people: 3, max_share: 50% }\n";
        var (env, people) = await SeededAsync(policy: policy, count: 6);
        await using var _ = env;
        var first = await env.Engine.SubmitManyAsync(people.Take(2).Select(p => Some.Leave(p.Id, env.Time.GetUtcNow())).ToList(), "admin:hr", CancellationToken.None);
        Assert.All(first, r => Assert.Equal(CaseStatus.Running, r.Plan!.Case.Status));
        var burst = await env.Engine.SubmitManyAsync(people.Skip(2).Take(3).Select(p => Some.Leave(p.Id, env.Time.GetUtcNow())).ToList(), "admin:hr", CancellationToken.None);
        Assert.All(burst, r => Assert.Equal(CaseStatus.AwaitingApproval, r.Plan!.Case.Status));
        await env.RunUntilIdleAsync();

        await using (var world = env.AcquireWorld())
        {
            Assert.False(world.System("okta").Accounts["00u1"].Active);  // before the brake: cut
            Assert.True(world.System("okta").Accounts["00u3"].Active);   // held: untouched
        }

        var held = burst.Select(r => r.Plan!.Case.Id).ToList();
        foreach (var id in held)
        {
            Assert.Equal(CaseStatus.AwaitingApproval, (await env.Engine.Store.GetCaseAsync(id, CancellationToken.None))!.Status);
        }
        var rejected = await env.Engine.Store.DecideBrakedCasesAsync([held[0]], approve: false, "admin:ops", env.Time.GetUtcNow(), CancellationToken.None);
        var approved = await env.Engine.Store.DecideBrakedCasesAsync(null, approve: true, "admin:ops", env.Time.GetUtcNow(), CancellationToken.None);
        Assert.Equal([held[0]], rejected);
        Assert.Equal(held.Skip(1), approved);
        await env.RunUntilIdleAsync();
        await using (var world = env.AcquireWorld())
        {
            Assert.True(world.System("okta").Accounts["00u3"].Active);   // rejected: bad data, never cut
            Assert.False(world.System("okta").Accounts["00u4"].Active);  // approved: cut
        }

        var audit = new List<string>();
        await foreach (var r in env.Engine.Store.ReadAuditAsync(1, CancellationToken.None))
        {
            audit.Add($"{r.Entry.Actor}:{r.Entry.Action}");
        }

        Assert.Contains("deprov:safety_brake_tripped", audit);
        Assert.Contains("admin:ops:case_approved", audit);
        Assert.Contains("admin:ops:case_rejected", audit);
    }

    [Fact]
    public async Task SafetyBrake_RejectedCase_PersonStatusGoesBack_TasksCancelledNotDone()
    {
        var time = new FakeTimeProvider(Start);
        var policy = """
            policy:
              safety_brake: { window: 1h, max_people: 3, min_people: 3, max_share: 50% }
              tasks:
                manual:
                  - { name: exit-interview, title: Hold the exit interview, team: hr, when: { event: [leave] }, due: 2d }
            """;
        var (env, people) = await SeededAsync(policy: policy, time: time, count: 6);
        await using var _ = env;
        var store = env.Engine.Store;
        await env.Engine.SubmitManyAsync(people.Take(2).Select(p => Some.Leave(p.Id, Start)).ToList(), "admin:hr", CancellationToken.None);
        var (now, later, approved) = (people[2].Id, people[3].Id, people[4].Id);
        var burst = await env.Engine.SubmitManyAsync([Some.Leave(now, Start), Some.Leave(later, Start.AddDays(10)), Some.Leave(approved, Start)], "admin:hr", CancellationToken.None);
        Assert.All(burst, r => Assert.Equal(CaseStatus.AwaitingApproval, r.Plan!.Case.Status));
        // Statuses follow events, held or not: the person is shown left (or leaving) while an admin decides.
        Assert.Equal(PersonStatus.Left, (await store.GetPersonAsync(now, CancellationToken.None))!.Status);
        Assert.Equal(PersonStatus.Leaving, (await store.GetPersonAsync(later, CancellationToken.None))!.Status);
        var heldTasks = (await store.ListTasksAsync(new TaskQuery(OpenOnly: false, PersonId: now), CancellationToken.None)).Where(t => t.CaseId == burst[0].Plan!.Case.Id).ToList();
        Assert.NotEmpty(heldTasks); // the leaver plan has manual work, so there is something to cancel

        var rejected = await store.DecideBrakedCasesAsync([burst[0].Plan!.Case.Id, burst[1].Plan!.Case.Id], approve: false, "admin:ops", time.GetUtcNow(), CancellationToken.None);
        await store.DecideBrakedCasesAsync(null, approve: true, "admin:ops", time.GetUtcNow(), CancellationToken.None);
        Assert.Equal(2, rejected.Count);

        Assert.Equal(PersonStatus.Active, (await store.GetPersonAsync(now, CancellationToken.None))!.Status);
        Assert.Equal(PersonStatus.Active, (await store.GetPersonAsync(later, CancellationToken.None))!.Status);
        Assert.Equal(PersonStatus.Left, (await store.GetPersonAsync(approved, CancellationToken.None))!.Status);
        foreach (var r in burst.Take(2))
        {
            var tasks = (await store.ListTasksAsync(new TaskQuery(OpenOnly: false, PersonId: r.Event.PersonId), CancellationToken.None)).Where(t => t.CaseId == r.Plan!.Case.Id).ToList();
            Assert.NotEmpty(tasks);
            Assert.All(tasks, t => Assert.Equal(Core.Model.TaskStatus.Cancelled, t.Status));
            Assert.All(tasks, t => Assert.Null(t.CompletedBy));
        }

        // The rejected termination's date no longer applies: when it passes, the person stays active.
        time.Advance(TimeSpan.FromDays(11));
        await env.Engine.ApplyDueLeavesAsync(CancellationToken.None);
        Assert.Equal(PersonStatus.Active, (await store.GetPersonAsync(later, CancellationToken.None))!.Status);

        var changes = (await AuditOfAsync(env, now)).Where(a => a.Entry.Action == "person_status_changed").Select(a => a.Entry).ToList();
        Assert.Equal([("deprov", "active", "left"), ("admin:ops", "left", "active")], changes.Select(a => (a.Actor, a.Before, a.After)));
        Assert.Contains(burst[0].Plan!.Case.Id, changes[1].Detail, StringComparison.Ordinal);
        var completeCancelled = await Assert.ThrowsAsync<Core.ValidationException>(() => store.CompleteTaskAsync(heldTasks[0].Id, "it:bob", null, time.GetUtcNow(), CancellationToken.None));
        Assert.Contains("cancelled", completeCancelled.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mover_RemovesOldRoleAccessOnly()
    {
        var policy = """
            policy:
              roles:
                - { name: eng, departments: [Engineering], entitlements: [directory:dept-engineering, slack:engineering, directory:vpn-users] }
                - { name: sales, departments: [Sales], entitlements: [directory:dept-sales, directory:vpn-users] }
            """;
        var (env, people) = await SeededAsync(policy: policy);
        await using var _ = env;
        var bob = people[1];
        Assert.Equal("Engineering", bob.Department);
        var result = await env.Engine.SubmitAsync(Some.Event(EventKind.Move, bob.Id, env.Time.GetUtcNow(), "Sales", "Account Executive"), "admin:hr", CancellationToken.None);
        Assert.Equal(2, result.Plan!.Steps.Count);
        await env.RunUntilIdleAsync();
        await using var world = env.AcquireWorld();
        var local = bob.Email[..bob.Email.IndexOf('@', StringComparison.Ordinal)];
        Assert.DoesNotContain(local, world.System("directory").Members["g-dept-engineering"]);
        Assert.DoesNotContain("sl2", world.System("slack").Members["g-engineering"]);
        Assert.Contains(local, world.System("directory").Members["g-vpn-users"]);
        Assert.True(world.System("slack").Accounts["sl2"].Active);
    }

    [Fact]
    public async Task RunAsync_EventRecordedButNotHandledBeforeCrash_IsHandledOnStart()
    {
        var (env, people) = await SeededAsync();
        await using var _ = env;
        var e = Some.Leave(people[0].Id, env.Time.GetUtcNow(), key: "k-crash") with { Id = "E-crash", ReceivedAt = env.Time.GetUtcNow() };
        await env.Engine.Store.RecordEventsAsync([new EventRecord(e, null, new AuditEntry(e.ReceivedAt, "admin:test", "event_received", null, null, e.PersonId, null, null, null, null, "ok", null))], CancellationToken.None);
        await env.RunUntilIdleAsync();
        var kase = Assert.Single(await env.Engine.Store.ListCasesAsync(new CaseQuery(people[0].Id), CancellationToken.None));
        Assert.Equal("E-crash", kase.EventId);
        Assert.NotNull(kase.CutVerifiedAt);
    }

    [Fact]
    public async Task Discovery_AccountsWithoutOwner_AreOrphansAndConflictsAreNotGuessed()
    {
        var env = await TestEnvironment.CreateAsync();
        await using var _ = env;
        var a = Some.Person();
        var twin1 = Some.Person() with { Email = "sam@example.com" };
        var twin2 = Some.Person() with { Email = "sam@example.org" };
        var systems = Some.Systems([a]);
        systems["slack"].Accounts["orphan"] = new SbAccount { Id = "orphan", UserName = "gone@example.com", Email = "gone@example.com" };
        systems["directory"].Accounts["sam"] = new SbAccount { Id = "sam", UserName = "sam" };
        await env.SeedAsync([a, twin1, twin2], systems);
        var report = await new Discovery.DiscoveryService(env.Engine.Store, env.Time).DiscoverAsync(env.Engine.Systems["slack"], null, CancellationToken.None);
        Assert.Equal(1, report.Orphans);
        var yaml = TestEnvironment.DefaultSystems.Replace("correlate: [attribute:employeeNumber]", "correlate: [attribute:employeeNumber, username]", StringComparison.Ordinal);
        var env2 = await TestEnvironment.CreateAsync(yaml);
        await using var __ = env2;
        await env2.SeedAsync([a, twin1, twin2], systems);
        var report2 = await new Discovery.DiscoveryService(env2.Engine.Store, env2.Time).DiscoverAsync(env2.Engine.Systems["directory"], null, CancellationToken.None);
        Assert.Equal(1, report2.Conflicts);
    }

    [Fact]
    public async Task AuditService_ExportPerson_HtmlCsvJsonShowWhenAccessEnded()
    {
        var (env, people) = await SeededAsync();
        await using var _ = env;
        await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        var service = new AuditService(env.Engine.Store, env.Time);
        foreach (var format in Enum.GetValues<EvidenceFormat>())
        {
            using var writer = new StringWriter();
            await service.ExportPersonAsync(people[0].Id, format, writer, CancellationToken.None);
            var text = writer.ToString();
            Assert.Contains("disable_account", text, StringComparison.Ordinal);
            Assert.Contains("okta", text, StringComparison.Ordinal);
            if (format == EvidenceFormat.Html)
            {
                Assert.Contains("When each access ended", text, StringComparison.Ordinal);
                Assert.Contains("intact", text, StringComparison.Ordinal);
            }
        }
    }
}
