using Deprov.Connectors.Google.Tests.Fake;
using Deprov.Connectors.Google.Tests.Support;
using Deprov.Core.Model;
using Deprov.Hosting.Execution;
using Deprov.Testing;

namespace Deprov.Connectors.Google.Tests;

/// <summary>
/// Confirmations that could have shown otherwise, the second, independent reads the engine asks for on a contradiction,
/// and a leaver through the engine against each bad habit of the fake (writes accepted and ignored, lenient empty
/// lists, an existing user answering 404 by id): no step verified while the access remains.
/// </summary>
public sealed class GoogleConfirmationTests
{
    [Fact]
    public async Task ReadBack_SignOutAndSuspendAcceptedAndIgnored_NeverConfirmed()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        server.Habits.IgnoreWrites = true;
        using var connector = GoogleTest.Connect(server);
        var disable = GoogleTest.Action(ActionKind.DisableAccount, ann.Id);
        var signOut = GoogleTest.Action(ActionKind.RevokeSessions, ann.Id);

        await connector.ExecuteAsync(disable, CancellationToken.None);
        await connector.ExecuteAsync(signOut, CancellationToken.None);
        using var restarted = GoogleTest.Connect(server);

        Assert.False((await connector.ReadBackAsync(disable, CancellationToken.None)).Confirmed);
        Assert.False((await restarted.ReadBackAsync(signOut, CancellationToken.None)).Confirmed);
        Assert.False(server.User(ann.Id)!.Suspended);
        Assert.Equal(0, server.User(ann.Id)!.SignOuts);
    }

    [Fact]
    public async Task ReadIndependently_UserAnswers404ById_ReadByEmailShowsItActive()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        server.Habits.HiddenById[ann.Id] = true;
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.DisableAccount, ann.Id, userName: "ann@example.com");

        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        var second = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        Assert.True(result.AlreadyInState);
        Assert.False(second!.Confirmed);
        Assert.Equal("false", second.Observed["suspended"]);
        Assert.Equal("primaryEmail", second.Observed["lookup"]);
    }

    [Fact]
    public async Task ReadIndependently_UserSuspended_ReadByEmailConfirms()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com", suspended: true);
        using var connector = GoogleTest.Connect(server);

        var second = await connector.ReadIndependentlyAsync(GoogleTest.Action(ActionKind.DisableAccount, ann.Id, userName: "ann@example.com"), CancellationToken.None);

        Assert.True(second!.Confirmed);
    }

    [Fact]
    public async Task ReadIndependently_Membership_GroupsOfTheUserDecide_AnEmptyListNever()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        var admins = server.AddGroup("it-admins@example.com", ann);
        var eng = server.AddGroup("eng@example.com", ann);
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.RemoveEntitlement, ann.Id, admins.Id);

        var held = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
        server.Read(() => admins.Members.Remove(ann.Id));
        var gone = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
        server.Habits.LenientLists = true;
        var empty = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        Assert.False(held!.Confirmed);
        Assert.Equal("true", held.Observed["member"]);
        Assert.True(gone!.Confirmed);
        Assert.False(empty!.Confirmed);
        Assert.Equal("unknown", empty.Observed["member"]);
        Assert.True(server.Read(() => eng.Members.ContainsKey(ann.Id)));
        Assert.Contains(server.ApiRequests, r => r.Path == "/admin/directory/v1/groups" && r.Query.Contains($"userKey={ann.Id}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadIndependently_ActionsWithoutASecondPath_AnswerNull()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);

        Assert.Null(await connector.ReadIndependentlyAsync(GoogleTest.Action(ActionKind.RevokeSessions, ann.Id), CancellationToken.None));
        Assert.Null(await connector.ReadIndependentlyAsync(GoogleTest.Action(ActionKind.RevokeToken, ann.Id), CancellationToken.None));
    }

    public static TheoryData<string> Habits => ["ignore_writes", "hidden_by_id", "hidden_by_id_and_lenient_lists", "ignore_writes_and_lenient_lists"];

    [Theory]
    [MemberData(nameof(Habits))]
    public async Task Leave_WorkspaceWithABadHabit_NoStepVerifiedWhileAccessRemains(string habit)
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com", employeeId: "ann");
        var bob = server.AddUser("bob@example.com", employeeId: "bob");
        var eng = server.AddGroup("eng@example.com", ann, bob);
        var admins = server.AddGroup("it-admins@example.com", ann, bob);
        var keyPath = Path.Combine(Path.GetTempPath(), $"google-sa-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(keyPath, server.KeyJson());
        try
        {
            var yaml = $$"""
                systems:
                  - id: workspace
                    kind: google
                    role: identity_provider
                    risk: critical
                    correlate: [employee_id, email]
                    settings:
                      admin_email: {{GoogleTestServer.AdminEmail}}
                      key: file:{{keyPath}}
                      base_url: "{{server.Root}}"
                      devices: false
                      tokens: false
                      reset_password: false
                      privileged_groups: ["*admin*"]
                """;
            // A sign-out waiting for the suspension is rescheduled; the test looks at the case without waiting for it.
            var env = await TestEnvironment.CreateAsync(yaml, "policy:\n  execution: { max_attempts: 2, base_delay: 10ms, max_delay: 50ms }\n",
                factories: [new GoogleConnectorFactory()], options: new EngineOptions { IdleHorizon = TimeSpan.Zero });
            await using var _ = env;
            var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
            await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
            await env.DiscoverAsync();
            switch (habit)
            {
                case "ignore_writes":
                    server.Habits.IgnoreWrites = true;
                    break;
                case "hidden_by_id_and_lenient_lists":
                    server.Habits.HiddenById[ann.Id] = true;
                    server.Habits.LenientLists = true;
                    break;
                case "hidden_by_id":
                    server.Habits.HiddenById[ann.Id] = true;
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
            Assert.False(server.User(bob.Id)!.Suspended);
            Assert.True(server.Read(() => eng.Members.ContainsKey(bob.Id) && admins.Members.ContainsKey(bob.Id)));
            // Every habit here keeps Ann's access: the case is loud, never verified.
            var kase = (await env.Engine.Store.GetCaseAsync(leave.Plan.Case.Id, CancellationToken.None))!;
            Assert.True(kase.CutVerifiedAt is null, $"case verified with {habit}:\n{report}");
        }
        finally
        {
            File.Delete(keyPath);
        }
    }

    private static bool StillHolds(GoogleTestServer server, Step step, FakeUser ann) => step.Action switch
    {
        ActionKind.DisableAccount or ActionKind.RevokeSessions => server.User(ann.Id) is { Suspended: false },
        ActionKind.RemoveEntitlement => server.Read(() => server.Groups().Any(g => step.EntitlementId!.EndsWith(g.Id, StringComparison.Ordinal) && g.Members.ContainsKey(ann.Id))),
        _ => false,
    };
}
