using Deprov.Connectors.Okta.Tests.Fake;
using Deprov.Core.Model;
using Deprov.Hosting.Execution;
using Deprov.Testing;

namespace Deprov.Connectors.Okta.Tests;

/// <summary>
/// A leaver case through the engine against an Okta org with one bad habit each: no step may be verified while the
/// fake still holds the access it removes (false successes: 0), and a habit that keeps the access must leave the case
/// loud (a step unconfirmed, failed or still pending), never verified.
/// </summary>
public sealed class OktaBadHabitsEngineTests
{
    public static TheoryData<string> Habits => ["ignore_writes", "lenient_lists", "hidden_by_id", "ignore_log_filter", "lenient_lists_after_writes_ignored"];

    [Theory]
    [MemberData(nameof(Habits))]
    public async Task Leave_OktaWithABadHabit_NoStepVerifiedWhileAccessRemains(string habit)
    {
        var token = $"00habit-{habit}";
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { ApiToken = token });
        var ann = server.AddUser("ann@example.com", sessions: 2);
        var bob = server.AddUser("bob@example.com", sessions: 1);
        var engineering = server.AddGroup("engineering", ann, bob);
        var admins = server.AddGroup("okta-admins", ann, bob);
        server.AssignRole(ann, "ORG_ADMIN");
        server.AssignRole(bob, "SUPER_ADMIN");
        var variable = $"DEPROV_OKTA_HABIT_{habit.ToUpperInvariant()}";
        Environment.SetEnvironmentVariable(variable, token);
        var yaml = $$"""
            systems:
              - id: okta
                kind: okta
                role: identity_provider
                risk: critical
                correlate: [email]
                settings:
                  base_url: "{{server.OrgUrl}}"
                  auth: { type: bearer, token: env:{{variable}} }
                  privileged_groups: ["*admin*"]
            """;
        // A read-back that must wait for the System Log is rescheduled; the test looks at the case without waiting for it.
        var env = await TestEnvironment.CreateAsync(yaml, "policy:\n  execution: { max_attempts: 2, base_delay: 10ms, max_delay: 50ms }\n", factories: [new OktaConnectorFactory()], options: new EngineOptions { IdleHorizon = TimeSpan.Zero });
        await using var _ = env;
        var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
        await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
        await env.DiscoverAsync();

        // Bob's sessions were cleared earlier: a log that ignores its filter shows his clear when asked about Ann.
        server.SignIn(bob);
        using (var c = Support.OktaTest.Connect(server))
        {
            await c.ExecuteAsync(Support.OktaTest.Action(ActionKind.RevokeSessions, bob), CancellationToken.None);
        }

        switch (habit)
        {
            case "ignore_writes":
                server.Habits.IgnoreWrites = true;
                break;
            case "lenient_lists":
                server.Habits.LenientLists = true;
                break;
            case "hidden_by_id":
                server.Habits.HiddenById[ann] = true;
                break;
            case "ignore_log_filter":
                // Only Bob's earlier clear is in the log: a connector trusting the filter would confirm Ann's.
                server.Habits.IgnoreLogFilter = true;
                server.Habits.IgnoreWrites = true;
                break;
            default:
                server.Habits.IgnoreWrites = true;
                server.Habits.LenientLists = true;
                break;
        }

        var leave = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var steps = await env.Engine.Store.GetStepsAsync(leave.Plan!.Case.Id, CancellationToken.None);
        var report = string.Join("\n", steps.Select(s => $"{s.Action} {s.Target} {s.Status} {s.Error}"));
        var falseVerified = steps.Where(s => s.Status == StepStatus.Verified && StillHolds(server, s, ann)).ToList();
        Assert.True(falseVerified.Count == 0, $"false successes with {habit}:\n{report}");

        // Every habit here keeps Ann's access somewhere: the case must not be verified.
        var kase = (await env.Engine.Store.GetCaseAsync(leave.Plan.Case.Id, CancellationToken.None))!;
        Assert.True(kase.CutVerifiedAt is null, $"case verified with {habit}:\n{report}");
        Assert.Contains(steps, s => s.Status is StepStatus.Unconfirmed or StepStatus.Failed or StepStatus.Pending);
        Assert.Equal("ACTIVE", server.StatusOf(bob));
        Assert.True(server.IsMember(engineering, bob) && server.IsMember(admins, bob));
    }

    private static bool StillHolds(OktaFakeServer server, Step step, string ann) => step.Action switch
    {
        ActionKind.DisableAccount => server.StatusOf(ann) is "ACTIVE" or "PROVISIONED" or "RECOVERY" or "PASSWORD_EXPIRED" or "LOCKED_OUT",
        ActionKind.RevokeSessions => server.StatusOf(ann) is not null && server.SessionsOf(ann).Sessions > 0,
        ActionKind.RemoveEntitlement when step.EntitlementId!.Contains("role:", StringComparison.Ordinal) => server.RoleTypesOf(ann).Count > 0,
        ActionKind.RemoveEntitlement => server.IsMember(step.EntitlementId!.Split(':')[^1], ann),
        _ => false,
    };
}
