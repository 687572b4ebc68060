using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Connectors;
using Deprov.Core.Execution;
using Deprov.Core.Model;
using Deprov.Core.Policy;
using Deprov.Core.Store;
using Deprov.Hosting.Configuration;
using Deprov.Hosting.Execution;
using Deprov.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Hosting.Tests.Execution;

/// <summary>
/// The step runner against systems with real servers' bad habits: "verified" only when a read that could have shown
/// otherwise shows the access gone; transient failures retried on a durable schedule; the before-state read before the
/// first change, whatever happens after; one writer per group.
/// </summary>
public sealed class StepTruthTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    /// <summary>The default systems with slack answering through a <see cref="FakedConnectorFactory"/>.</summary>
    private static readonly string FakedSlack = TestEnvironment.DefaultSystems.Replace("id: slack, kind: sandbox", "id: slack, kind: faked", StringComparison.Ordinal);

    private static async Task<(TestEnvironment Env, List<Person> People)> SeededAsync(FakedConnectorFactory faked, string? policy = null, TimeProvider? time = null, int count = 3)
    {
        var env = await TestEnvironment.CreateAsync(FakedSlack, policy, time, [faked]);
        var people = new List<Person>();
        for (var i = 0; i < count; i++)
        {
            people.Add(Some.Person());
        }

        await env.SeedAsync(people, Some.Systems(people));
        return (env, people);
    }

    /// <summary>A new engine on the same store, sandbox and configuration: a restart.</summary>
    private static async Task<TestEnvironment> RestartAsync(TestEnvironment env, FakedConnectorFactory faked, string? policy, TimeProvider? time)
    {
        await env.Engine.DisposeAsync();
        return await TestEnvironment.CreateAsync(FakedSlack, policy, time, [faked], directory: env.Directory);
    }

    private static async Task<Step> SlackStepAsync(TestEnvironment env, string caseId, ActionKind action) =>
        (await env.Engine.Store.GetStepsAsync(caseId, CancellationToken.None)).Single(s => s.SystemId == "slack" && s.Action == action);

    private static async Task<List<AuditRecord>> AuditOfAsync(TestEnvironment env, string personId)
    {
        var list = new List<AuditRecord>();
        await foreach (var r in env.Engine.Store.ReadPersonAuditAsync(personId, CancellationToken.None))
        {
            list.Add(r);
        }

        return list;
    }

    private static bool IsSlackDisable(ConnectorAction a) => a.Kind == ActionKind.DisableAccount;

    private static Dictionary<string, string> Map(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);

    private static async Task<bool> SlackActiveAsync(TestEnvironment env, string account)
    {
        await using var world = env.AcquireWorld();
        return world.System("slack").Accounts[account].Active;
    }

    /// <summary>A write accepted and ignored, and a lenient read that says "already disabled" although the account is active.</summary>
    private static FakedConnectorFactory LenientSlack(Func<ConnectorAction, IConnector, CancellationToken, Task<ReadBackResult?>>? second) => new()
    {
        Execute = (a, inner, ct) => IsSlackDisable(a) ? Task.FromResult(ActionResult.Unchanged(Map(("active", "false")))) : inner.ExecuteAsync(a, ct),
        ReadBack = (a, inner, ct) => IsSlackDisable(a) ? Task.FromResult(new ReadBackResult(true, Map(("active", "false")))) : inner.ReadBackAsync(a, ct),
        ReadIndependently = second,
    };

    [Fact]
    public async Task RunAsync_ReadBackDisagrees_StepUnconfirmedWithTaskAndAlertCaseUnverified()
    {
        var applied = 0;
        var faked = new FakedConnectorFactory
        {
            Execute = async (a, inner, ct) =>
            {
                var r = await inner.ExecuteAsync(a, ct);
                if (IsSlackDisable(a))
                {
                    Interlocked.Exchange(ref applied, 1);
                }

                return r;
            },
            // A system whose change does not take: after the call, reading back still shows the account active.
            ReadBack = (a, inner, ct) => IsSlackDisable(a) && Volatile.Read(ref applied) == 1
                ? Task.FromResult(new ReadBackResult(false, Map(("active", "true"))))
                : inner.ReadBackAsync(a, ct),
        };
        var (env, people) = await SeededAsync(faked);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var step = await SlackStepAsync(env, result.Plan!.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Unconfirmed, step.Status);
        Assert.Contains("reading it back shows", step.Error, StringComparison.Ordinal);
        var task = Assert.Single(await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: people[0].Id), CancellationToken.None), t => t.StepId == step.Id);
        Assert.StartsWith("Verify by hand", task.Title, StringComparison.Ordinal);
        var audit = await AuditOfAsync(env, people[0].Id);
        Assert.Contains(audit, r => r.Entry.StepId == step.Id && r.Entry.Outcome == "unconfirmed");
        Assert.Contains(audit, r => r.Entry.StepId == step.Id && r.Entry.Action == "alert");
        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan.Case.Id, CancellationToken.None))!;
        Assert.Equal(CaseStatus.Unverified, kase.Status);
        Assert.Null(kase.CutVerifiedAt);
    }

    [Fact]
    public async Task RunAsync_FirstReadSaysDoneButInventoryListsAccessAndNoSecondPath_UnconfirmedNeverVerified()
    {
        var faked = LenientSlack(second: null);
        var (env, people) = await SeededAsync(faked);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var step = await SlackStepAsync(env, result.Plan!.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Unconfirmed, step.Status);
        Assert.Contains("has no second, independent read", step.Error, StringComparison.Ordinal);
        Assert.True(await SlackActiveAsync(env, "sl1")); // the access really is still there
        Assert.Equal(1, faked.IndependentCalls);
        Assert.Single(await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: people[0].Id), CancellationToken.None), t => t.StepId == step.Id);
        var audit = await AuditOfAsync(env, people[0].Id);
        Assert.Contains(audit, r => r.Entry.StepId == step.Id && r.Entry.Action == "alert");
        Assert.DoesNotContain(audit, r => r.Entry.StepId == step.Id && r.Entry.Outcome.StartsWith("ok", StringComparison.Ordinal));
        Assert.Null((await env.Engine.Store.GetCaseAsync(result.Plan.Case.Id, CancellationToken.None))!.CutVerifiedAt);
    }

    [Fact]
    public async Task RunAsync_FirstReadSaysDoneButSecondReadShowsAccess_Unconfirmed()
    {
        // The sandbox's own second path (the account found by name) sees through the lenient first read.
        var faked = LenientSlack(second: (a, inner, ct) => inner.ReadIndependentlyAsync(a, ct));
        var (env, people) = await SeededAsync(faked);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var step = await SlackStepAsync(env, result.Plan!.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Unconfirmed, step.Status);
        Assert.Contains("second, independent read shows", step.Error, StringComparison.Ordinal);
        Assert.Contains("\"active\":\"true\"", step.After, StringComparison.Ordinal);
        Assert.Equal(CaseStatus.Unverified, (await env.Engine.Store.GetCaseAsync(result.Plan.Case.Id, CancellationToken.None))!.Status);
    }

    [Fact]
    public async Task RunAsync_FirstReadSaysDoneAndSecondReadAgrees_VerifiedWithTheConfirmationOnRecord()
    {
        // Someone disabled the account by hand after discovery: both reads say so.
        var faked = LenientSlack(second: (a, inner, ct) => Task.FromResult<ReadBackResult?>(new ReadBackResult(true, Map(("active", "false"), ("found", "true")))));
        var (env, people) = await SeededAsync(faked);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var step = await SlackStepAsync(env, result.Plan!.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Verified, step.Status);
        var ok = Assert.Single(await AuditOfAsync(env, people[0].Id), r => r.Entry.StepId == step.Id);
        Assert.Equal("ok_already_in_state", ok.Entry.Outcome);
        Assert.Contains("a second, independent read confirms it is gone", ok.Entry.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SandboxReadBack_TargetNotFound_ConfirmsOnlyADelete()
    {
        var (env, _) = await SeededAsync(new FakedConnectorFactory());
        await using var _ = env;
        var connector = env.Engine.Systems["directory"].Connector;
        var unknown = new ConnectorAction("t9", ActionKind.DisableAccount, "directory", "no-such-account", "nobody", null, null, null, new Dictionary<string, string>());

        Assert.False((await connector.ReadBackAsync(unknown, CancellationToken.None)).Confirmed);
        Assert.False((await connector.ReadBackAsync(unknown with { Kind = ActionKind.ResetPassword }, CancellationToken.None)).Confirmed);
        Assert.True((await connector.ReadBackAsync(unknown with { Kind = ActionKind.DeleteAccount }, CancellationToken.None)).Confirmed);
    }

    [Fact]
    public async Task SandboxReadIndependently_ReadsFromTheOtherSide_ByNameNotById()
    {
        var (env, people) = await SeededAsync(new FakedConnectorFactory());
        await using var _ = env;
        var connector = env.Engine.Systems["directory"].Connector;
        var local = people[0].Email[..people[0].Email.IndexOf('@', StringComparison.Ordinal)];
        var member = new ConnectorAction("t1", ActionKind.RemoveEntitlement, "directory", local, local, "g-vpn-users", null, null, new Dictionary<string, string>());
        var disable = member with { Kind = ActionKind.DisableAccount, EntitlementExternalId = null };

        var m = await connector.ReadIndependentlyAsync(member, CancellationToken.None);
        Assert.False(m!.Confirmed);
        Assert.Contains("g-vpn-users", m.Observed["groups"], StringComparison.Ordinal);
        Assert.False((await connector.ReadIndependentlyAsync(disable, CancellationToken.None))!.Confirmed);

        await connector.ExecuteAsync(member, CancellationToken.None);
        await connector.ExecuteAsync(disable, CancellationToken.None);
        Assert.True((await connector.ReadIndependentlyAsync(member, CancellationToken.None))!.Confirmed);
        Assert.True((await connector.ReadIndependentlyAsync(disable, CancellationToken.None))!.Confirmed);
        Assert.False((await connector.ReadIndependentlyAsync(disable with { AccountUserName = "nobody" }, CancellationToken.None))!.Confirmed); // not found confirms nothing
        Assert.True((await connector.ReadIndependentlyAsync(disable with { Kind = ActionKind.RevokeSessions }, CancellationToken.None))!.Confirmed); // disabled: its sessions ended with it
        Assert.False((await connector.ReadIndependentlyAsync(disable with { Kind = ActionKind.ResetPassword }, CancellationToken.None))!.Confirmed); // no reset by this step
        Assert.Null(await connector.ReadIndependentlyAsync(disable with { Kind = ActionKind.DeleteAccount }, CancellationToken.None));
    }

    [Fact]
    public async Task RunAsync_CrashBetweenCallAndCommit_RerunIsNoContradictionAndBeforeStateIsThePreRead()
    {
        using var crash = new CancellationTokenSource();
        var crashed = 0;
        var faked = new FakedConnectorFactory
        {
            // The change is made, then the process "dies" before the result is committed.
            Execute = async (a, inner, ct) =>
            {
                var r = await inner.ExecuteAsync(a, ct);
                if (IsSlackDisable(a) && Interlocked.Exchange(ref crashed, 1) == 0)
                {
                    await crash.CancelAsync();
                    throw new OperationCanceledException(crash.Token);
                }

                return r;
            },
        };
        var (env, people) = await SeededAsync(faked);
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        try
        {
            await env.Engine.RunAsync(RunMode.UntilIdle, crash.Token);
        }
        catch (OperationCanceledException)
        {
            // the crash
        }

        var interrupted = await SlackStepAsync(env, result.Plan!.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Running, interrupted.Status);
        Assert.False(await SlackActiveAsync(env, "sl1")); // the system did change
        Assert.Contains("\"active\":\"true\"", interrupted.PreRead, StringComparison.Ordinal);

        await using var restarted = await RestartAsync(env, faked, null, null);
        await restarted.RunUntilIdleAsync();

        var step = await SlackStepAsync(restarted, result.Plan.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Verified, step.Status); // not a contradiction: the earlier claim made the change
        Assert.Contains("\"active\":\"true\"", step.Before, StringComparison.Ordinal); // what the person had, not what the re-run found
        Assert.Equal((1, 1), (step.Claims, step.RecoveredClaims));
        var ok = Assert.Single(await AuditOfAsync(restarted, people[0].Id), r => r.Entry.StepId == step.Id && r.Entry.Outcome.StartsWith("ok", StringComparison.Ordinal));
        Assert.Contains("\"active\":\"true\"", ok.Entry.Before, StringComparison.Ordinal);
        Assert.Contains("1 cut short by a restart", ok.Entry.Detail, StringComparison.Ordinal);
        Assert.Equal(0, faked.IndependentCalls);
        Assert.NotNull((await restarted.Engine.Store.GetCaseAsync(result.Plan.Case.Id, CancellationToken.None))!.CutVerifiedAt);
    }

    [Fact]
    public async Task RunAsync_OutageLongerThanInlineRetries_RetriedOnTheDurableScheduleAcrossARestart()
    {
        var time = new FakeTimeProvider(Start);
        var down = 1;
        var faked = new FakedConnectorFactory
        {
            Execute = (a, inner, ct) => IsSlackDisable(a) && Volatile.Read(ref down) == 1
                ? Task.FromException<ActionResult>(new ConnectorException("slack answered 503 Service Unavailable", isTransient: true))
                : inner.ExecuteAsync(a, ct),
        };
        const string Policy = "policy:\n  execution: { max_attempts: 1, retry_schedule: [5m, 15m, 1h], retry_max_age: 1d }\n";
        var (env, people) = await SeededAsync(faked, Policy, time);
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, Start), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var first = await SlackStepAsync(env, result.Plan!.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Pending, first.Status);
        Assert.Contains("next try at 2026-11-22 09:0", first.Error, StringComparison.Ordinal); // 5 minutes, up to 20 % later
        Assert.Contains("(2 of 4)", first.Error, StringComparison.Ordinal);
        Assert.Equal((1, 2), (first.Claims, first.Attempts)); // the pre-read and the change

        await using var restarted = await RestartAsync(env, faked, Policy, time);
        time.Advance(TimeSpan.FromMinutes(7));
        await restarted.RunUntilIdleAsync();
        var second = await SlackStepAsync(restarted, result.Plan.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Pending, second.Status);
        Assert.Contains("(3 of 4)", second.Error, StringComparison.Ordinal);
        Assert.Equal((2, 3), (second.Claims, second.Attempts));

        Interlocked.Exchange(ref down, 0);
        time.Advance(TimeSpan.FromMinutes(19));
        await restarted.RunUntilIdleAsync();
        var step = await SlackStepAsync(restarted, result.Plan.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Verified, step.Status);
        Assert.Equal((3, 5, 0), (step.Claims, step.Attempts, step.RecoveredClaims)); // + the change and its read-back
        Assert.False(await SlackActiveAsync(restarted, "sl1"));
        var audit = (await AuditOfAsync(restarted, people[0].Id)).Where(r => r.Entry.StepId == step.Id).ToList();
        Assert.Equal(2, audit.Count(r => r.Entry.Outcome == "retry_scheduled" && r.Entry.Detail!.Contains("next try at", StringComparison.Ordinal)));
        Assert.Contains(audit, r => r.Entry.Outcome == "ok" && r.Entry.Detail!.Contains("try 3 of 4", StringComparison.Ordinal));
        Assert.Contains("\"active\":\"true\"", step.Before, StringComparison.Ordinal);
        Assert.Empty(await restarted.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: people[0].Id), CancellationToken.None));
    }

    [Fact]
    public async Task RunAsync_OutageOutlastsMaxAge_BecomesTaskSayingWhy()
    {
        var time = new FakeTimeProvider(Start);
        var faked = new FakedConnectorFactory
        {
            Execute = (a, inner, ct) => IsSlackDisable(a)
                ? Task.FromException<ActionResult>(new ConnectorException("slack answered 503 Service Unavailable", isTransient: true))
                : inner.ExecuteAsync(a, ct),
        };
        const string Policy = "policy:\n  execution: { max_attempts: 1, retry_schedule: [5m, 1h], retry_max_age: 30m }\n";
        var (env, people) = await SeededAsync(faked, Policy, time);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, Start), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        Assert.Contains("(2 of 3)", (await SlackStepAsync(env, result.Plan!.Case.Id, ActionKind.DisableAccount)).Error, StringComparison.Ordinal);

        time.Advance(TimeSpan.FromMinutes(7));
        await env.RunUntilIdleAsync();
        var step = await SlackStepAsync(env, result.Plan.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Failed, step.Status);
        Assert.Contains("no more tries", step.Error, StringComparison.Ordinal);
        var failed = Assert.Single(await AuditOfAsync(env, people[0].Id), r => r.Entry.StepId == step.Id && r.Entry.Outcome == "failed");
        Assert.Contains("policy.execution.retry_max_age", failed.Entry.Detail, StringComparison.Ordinal);
        Assert.Single(await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: people[0].Id), CancellationToken.None), t => t.StepId == step.Id);
        Assert.Equal(2, step.Claims);
    }

    [Fact]
    public async Task RunAsync_InlineRetries_AttemptsAreTheCallsThatReachedTheSystem()
    {
        var failures = 3;
        var faked = new FakedConnectorFactory
        {
            Execute = (a, inner, ct) => IsSlackDisable(a) && Interlocked.Decrement(ref failures) >= 0
                ? Task.FromException<ActionResult>(new ConnectorException("slack answered 503 Service Unavailable", isTransient: true))
                : inner.ExecuteAsync(a, ct),
        };
        var (env, people) = await SeededAsync(faked, "policy:\n  execution: { max_attempts: 4, base_delay: 1ms, max_delay: 5ms }\n");
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var step = await SlackStepAsync(env, result.Plan!.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Verified, step.Status);
        Assert.Equal(6, step.Attempts); // the pre-read, four changes (three answered 503) and the read-back
        Assert.Equal((1, 0), (step.Claims, step.RecoveredClaims));
        var ok = Assert.Single(await AuditOfAsync(env, people[0].Id), r => r.Entry.StepId == step.Id);
        Assert.Contains("6 call(s) to the system", ok.Entry.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_AppliedButReadBackFails_ReReadLaterWithoutASecondWrite()
    {
        var time = new FakeTimeProvider(Start);
        var writes = 0;
        var reads = 0;
        var faked = new FakedConnectorFactory
        {
            Execute = (a, inner, ct) =>
            {
                if (IsSlackDisable(a))
                {
                    Interlocked.Increment(ref writes);
                }

                return inner.ExecuteAsync(a, ct);
            },
            // The pre-read works; the read-back right after the change times out; later reads work.
            ReadBack = (a, inner, ct) => IsSlackDisable(a) && Interlocked.Increment(ref reads) == 2
                ? Task.FromException<ReadBackResult>(new ConnectorException("slack read timed out", isTransient: true))
                : inner.ReadBackAsync(a, ct),
        };
        const string Policy = "policy:\n  execution: { max_attempts: 1, retry_schedule: [5m, 15m] }\n";
        var (env, people) = await SeededAsync(faked, Policy, time);
        await using var _ = env;
        var result = await env.Engine.SubmitAsync(Some.Leave(people[0].Id, Start), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var pending = await SlackStepAsync(env, result.Plan!.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Pending, pending.Status);
        Assert.True(pending.Applied);
        Assert.Contains("applied, unconfirmed", pending.Error, StringComparison.Ordinal);
        Assert.Contains("next try at", pending.Error, StringComparison.Ordinal);
        Assert.Empty(await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: people[0].Id), CancellationToken.None));

        time.Advance(TimeSpan.FromMinutes(7));
        await env.RunUntilIdleAsync();
        var step = await SlackStepAsync(env, result.Plan.Case.Id, ActionKind.DisableAccount);
        Assert.Equal(StepStatus.Verified, step.Status);
        Assert.Equal(1, Volatile.Read(ref writes)); // read only on the second try
        Assert.Equal(3, Volatile.Read(ref reads));
        Assert.Contains("\"active\":\"true\"", step.Before, StringComparison.Ordinal);
        var ok = Assert.Single(await AuditOfAsync(env, people[0].Id), r => r.Entry.StepId == step.Id && r.Entry.Outcome == "ok");
        Assert.Contains("read back after an earlier try applied the change", ok.Entry.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_SimultaneousLeaversOfOneGroup_ReadModifyWriteSerialisedSoEveryRemovalHolds()
    {
        // A group written whole (SCIM PUT without ETags): each removal reads the members, then writes them back without
        // its account. Two removals that overlap lose one of them.
        var sync = new Lock();
        var members = new HashSet<string>(StringComparer.Ordinal);
        var inside = 0;
        var maxInside = 0;
        var faked = new FakedConnectorFactory
        {
            Execute = async (a, inner, ct) =>
            {
                if (a.EntitlementExternalId != "g-general")
                {
                    return await inner.ExecuteAsync(a, ct);
                }

                var now = Interlocked.Increment(ref inside);
                InterlockedMax(ref maxInside, now);
                HashSet<string> read;
                lock (sync)
                {
                    read = new HashSet<string>(members, StringComparer.Ordinal);
                }

                for (var i = 0; i < 20; i++)
                {
                    await Task.Yield(); // the round trip between the GET and the PUT
                }

                var removed = read.Remove(a.AccountExternalId!);
                lock (sync)
                {
                    members = read;
                }

                Interlocked.Decrement(ref inside);
                return new ActionResult(Map(("member", removed ? "true" : "false")), Map(("member", "false")), !removed);
            },
            ReadBack = (a, inner, ct) =>
            {
                if (a.EntitlementExternalId != "g-general")
                {
                    return inner.ReadBackAsync(a, ct);
                }

                lock (sync)
                {
                    var member = members.Contains(a.AccountExternalId!);
                    return Task.FromResult(new ReadBackResult(!member, Map(("member", member ? "true" : "false"))));
                }
            },
        };
        var (env, people) = await SeededAsync(faked, count: 8);
        await using var _ = env;
        lock (sync)
        {
            for (var i = 1; i <= people.Count; i++)
            {
                members.Add($"sl{i}");
            }
        }

        var leavers = people.Take(6).ToList();
        var results = await env.Engine.SubmitManyAsync([.. leavers.Select(p => Some.Leave(p.Id, env.Time.GetUtcNow()))], "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        foreach (var r in results)
        {
            var steps = await env.Engine.Store.GetStepsAsync(r.Plan!.Case.Id, CancellationToken.None);
            var general = steps.Single(s => s.SystemId == "slack" && s.Target.EndsWith("in general", StringComparison.Ordinal));
            Assert.Equal(StepStatus.Verified, general.Status);
        }

        lock (sync)
        {
            Assert.Equal(["sl7", "sl8"], members.Order(StringComparer.Ordinal));
        }

        Assert.Equal(1, Volatile.Read(ref maxInside));
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}

/// <summary>The pure rules the step runner acts on.</summary>
public sealed class StepRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan[] Schedule = [TimeSpan.FromMinutes(5), TimeSpan.FromHours(1)];

    [Fact]
    public void DurableRetryNext_WithinScheduleAndAge_WaitsTheScheduledTimePlusAtMostAFifth()
    {
        var early = DurableRetry.Next(Schedule, TimeSpan.FromDays(1), 1, Now, Now, null, 0);
        var late = DurableRetry.Next(Schedule, TimeSpan.FromDays(1), 1, Now, Now, null, 0.999);
        Assert.Equal(Now.AddMinutes(5), early.NextAt);
        Assert.InRange(late.NextAt!.Value, Now.AddMinutes(5), Now.AddMinutes(6));
        Assert.Equal("next try at 2026-11-22 09:05:00Z (2 of 3)", early.Describe(TimeSpan.FromDays(1)));
        Assert.Equal(Now.AddHours(1), DurableRetry.Next(Schedule, TimeSpan.FromDays(1), 2, Now, Now, null, 0).NextAt);
    }

    [Fact]
    public void DurableRetryNext_RetryAfterGiven_IsHonouredInsteadOfTheSchedule()
    {
        Assert.Equal(Now.AddMinutes(30), DurableRetry.Next(Schedule, TimeSpan.FromDays(1), 1, Now, Now, TimeSpan.FromMinutes(30), 0.9).NextAt);
        Assert.Equal(Now.AddMinutes(2), DurableRetry.Next(Schedule, TimeSpan.FromDays(1), 1, Now, Now, TimeSpan.FromMinutes(2), 0.9).NextAt);
    }

    [Fact]
    public void DurableRetryNext_ScheduleSpentOrTooOld_NoNextTryAndSaysWhich()
    {
        var spent = DurableRetry.Next(Schedule, TimeSpan.FromDays(1), 3, Now, Now, null, 0);
        Assert.Null(spent.NextAt);
        Assert.Contains("no tries left (3 of 3", spent.Describe(TimeSpan.FromDays(1)), StringComparison.Ordinal);
        var old = DurableRetry.Next(Schedule, TimeSpan.FromMinutes(30), 2, Now, Now.AddMinutes(6), null, 0);
        Assert.Null(old.NextAt);
        Assert.Contains("more than 30m after the step fell due (policy.execution.retry_max_age", old.Describe(TimeSpan.FromMinutes(30)), StringComparison.Ordinal);
        Assert.Null(DurableRetry.Next([], TimeSpan.FromDays(1), 1, Now, Now, null, 0).NextAt);
    }

    [Theory]
    [InlineData(ActionKind.DisableAccount, null, true, FirstReadVerdict.NeedsSecondRead)]          // no pre-read, "already done" on the first call
    [InlineData(ActionKind.DisableAccount, "fresh-present", true, FirstReadVerdict.NeedsSecondRead)] // present a moment ago, then "already done"
    [InlineData(ActionKind.DisableAccount, "fresh-done", false, FirstReadVerdict.NeedsSecondRead)]   // the pre-read itself contradicts the inventory
    [InlineData(ActionKind.DisableAccount, "earlier-present", true, FirstReadVerdict.Accept)]        // a re-run: the earlier claim may have done it
    [InlineData(ActionKind.DisableAccount, "earlier-done", true, FirstReadVerdict.NeedsSecondRead)]
    [InlineData(ActionKind.DisableAccount, "fresh-present", false, FirstReadVerdict.Accept)]
    [InlineData(ActionKind.RemoveEntitlement, "fresh-present", true, FirstReadVerdict.NeedsSecondRead)]
    [InlineData(ActionKind.RevokeSessions, "fresh-done", true, FirstReadVerdict.NeedsSecondRead)]    // applied every time: "already done" is not believed
    [InlineData(ActionKind.RevokeSessions, "earlier-done", true, FirstReadVerdict.Accept)]           // a re-run: the earlier claim ended them
    [InlineData(ActionKind.RevokeSessions, "fresh-present", false, FirstReadVerdict.Accept)]
    [InlineData(ActionKind.ResetPassword, null, true, FirstReadVerdict.NeedsSecondRead)]
    [InlineData(ActionKind.RotateCredential, "fresh-done", false, FirstReadVerdict.Accept)]          // applied anyway: the read-back decides
    [InlineData(ActionKind.RotateCredential, "fresh-present", true, FirstReadVerdict.NeedsSecondRead)]
    [InlineData(ActionKind.EnableAccount, "fresh-done", true, FirstReadVerdict.Accept)]
    public void StepConfirmationJudge_Matrix(ActionKind action, string? preRead, bool alreadyInState, FirstReadVerdict expected)
    {
        var pr = preRead switch
        {
            null => null,
            _ => new PreRead("{}", preRead.EndsWith("done", StringComparison.Ordinal), preRead.StartsWith("earlier", StringComparison.Ordinal)),
        };
        Assert.Equal(expected, StepConfirmation.Judge(action, pr, alreadyInState));
    }

    [Fact]
    public void StepConfirmationSettle_OnlyAConfirmingSecondReadAccepts()
    {
        Assert.Null(StepConfirmation.Settle(true, "{}"));
        Assert.Contains("no second, independent read", StepConfirmation.Settle(null, null), StringComparison.Ordinal);
        Assert.Contains("shows {\"member\":\"true\"}", StepConfirmation.Settle(false, "{\"member\":\"true\"}"), StringComparison.Ordinal);
    }

    private const string Systems = "systems:\n  - id: a\n    kind: sandbox\n    settings: { flavour: app }\n";
    private static readonly IReadOnlyDictionary<string, IConnectorFactory> Factories = DeprovHost.Factories([new SandboxConnectorFactory()]);

    [Fact]
    public void Parse_RetrySchedule_DefaultsReadAndBadValuesNamed()
    {
        var d = ConfigLoader.Parse(Systems, "deprov.yaml", Factories).Policy.Execution;
        Assert.Equal(ExecutionPolicy.DefaultRetrySchedule, d.Retries);
        Assert.Equal(TimeSpan.FromDays(1), d.MaxAge);
        var set = ConfigLoader.Parse(Systems + "policy:\n  execution: { retry_schedule: [2m, 3h], retry_max_age: 2d }\n", "deprov.yaml", Factories).Policy.Execution;
        Assert.Equal([TimeSpan.FromMinutes(2), TimeSpan.FromHours(3)], set.Retries);
        Assert.Equal(TimeSpan.FromDays(2), set.MaxAge);
        Assert.Empty(ConfigLoader.Parse(Systems + "policy:\n  execution: { retry_schedule: [] }\n", "deprov.yaml", Factories).Policy.Execution.Retries);

        var ex = Assert.Throws<ValidationException>(() => ConfigLoader.Parse(Systems + "policy:\n  execution: { retry_schedule: [5m, soon, 0], retry_max_age: -1h }\n", "deprov.yaml", Factories));
        Assert.Contains(ex.Errors, e => e.Key?.StartsWith("policy.execution.retry_schedule", StringComparison.Ordinal) == true && e.Problem.Contains("'soon'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Key?.StartsWith("policy.execution.retry_schedule", StringComparison.Ordinal) == true && e.Problem.Contains("'0'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Key == "policy.execution.retry_max_age");
        var notList = Assert.Throws<ValidationException>(() => ConfigLoader.Parse(Systems + "policy:\n  execution: { retry_schedule: 5m }\n", "deprov.yaml", Factories));
        Assert.Contains(notList.Errors, e => e.Key == "policy.execution.retry_schedule" && e.Fix!.Contains("[5m, 15m", StringComparison.Ordinal));
    }
}
