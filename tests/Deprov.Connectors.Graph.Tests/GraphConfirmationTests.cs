using Deprov.Connectors.Graph.Tests.Fake;
using Deprov.Connectors.Graph.Tests.Support;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Testing;
using Xunit.Abstractions;

namespace Deprov.Connectors.Graph.Tests;

/// <summary>
/// The second, independent read and the fake's bad habits (writes accepted and ignored, filters answered with an empty
/// collection, existing objects answered 404 by key): no read may confirm a cut while the access remains, and a faithful
/// service still gets its cuts confirmed by both reads.
/// </summary>
public sealed class GraphConfirmationTests(ITestOutputHelper output)
{
    public enum Habit
    {
        Faithful,
        IgnoreWrites,
        LenientFilters,
        UserNotFoundByKey,
    }

    private sealed record Tally(List<string> FalseConfirmations, List<string> MissedOnFaithful);

    [Fact]
    public async Task ReadIndependently_MemberRemovedOutsideDeprov_ConfirmedFromTheGroupMemberList()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var bob = server.AddUser(GraphTest.Unique("bob"));
        var group = server.AddGroup("engineering", members: bob);
        using var connector = GraphTest.Connect(server);

        var read = await connector.ReadIndependentlyAsync(GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, group.Id), CancellationToken.None);

        Assert.NotNull(read);
        Assert.True(read.Confirmed, string.Join(", ", read.Observed));
        Assert.Equal("false", read.Observed["member"]);
        Assert.Contains(server.ApiRequests, r => r.Path == $"/v1.0/groups/{group.Id}/members" && r.Method == "GET");
    }

    [Fact]
    public async Task ReadIndependently_MemberLookupAnswers404ForAMember_FirstReadFooledSecondReadRefutes()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var group = server.AddGroup("admins", members: ann);
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, group.Id);
        server.MemberNotFoundByKey = true;

        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        var independent = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        // The member looked up by key says "not a member": the connector skips the DELETE; the list says otherwise.
        Assert.True(result.AlreadyInState);
        Assert.NotNull(independent);
        Assert.False(independent.Confirmed);
        Assert.True(server.IsMember(group, ann));
    }

    [Fact]
    public async Task RemoveRole_PrincipalFilterAnsweredEmpty_NeitherReadTakesTheEmptyAnswerAndTheAssignmentIsRemoved()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var global = server.AddRoleDefinition("Global Administrator");
        server.AssignRole(global, ann.Id);
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, GraphConnector.RoleEntitlementId(global.Id, "/"));
        server.LenientFilters = true;

        var first = await connector.ReadBackAsync(action, CancellationToken.None);
        var independent = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        var after = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        Assert.False(first.Confirmed);
        Assert.Equal("true", first.Observed["assigned"]);
        Assert.False(independent!.Confirmed);
        Assert.Equal("all role assignments, unfiltered", independent.Observed["path"]);
        Assert.False(result.AlreadyInState);
        Assert.Empty(server.RoleAssignmentsOf(ann.Id));
        Assert.True(after!.Confirmed);
    }

    [Fact]
    public async Task ReadIndependently_UserDeletedAfterDiscovery_DisableConfirmedFromDeletedItemsOnly()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server);
        var disable = GraphTest.Action(ActionKind.DisableAccount, ann.Id);
        var wrongId = GraphTest.Action(ActionKind.DisableAccount, Guid.NewGuid().ToString());
        await connector.ExecuteAsync(GraphTest.Action(ActionKind.DeleteAccount, ann.Id), CancellationToken.None);

        var deleted = await connector.ReadIndependentlyAsync(disable, CancellationToken.None);
        var unknown = await connector.ReadIndependentlyAsync(wrongId, CancellationToken.None);

        Assert.True(deleted!.Confirmed, string.Join(", ", deleted.Observed));
        Assert.Equal("true", deleted.Observed["deletedItem"]);
        Assert.False(unknown!.Confirmed);
        Assert.Equal("false", unknown.Observed["deletedItem"]);
    }

    [Theory]
    [InlineData(ActionKind.DisableAccount)]
    [InlineData(ActionKind.RevokeSessions)]
    public async Task ReadBack_UserDeletedAfterDiscovery_ConfirmedFromDeletedItemsAndAWrongIdIsNot(ActionKind kind)
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server);
        await connector.ExecuteAsync(GraphTest.Action(ActionKind.DeleteAccount, ann.Id), CancellationToken.None);
        var action = GraphTest.Action(kind, ann.Id);

        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);
        var second = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
        var wrongId = await connector.ReadBackAsync(GraphTest.Action(kind, Guid.NewGuid().ToString()), CancellationToken.None);

        Assert.True(result.AlreadyInState);
        Assert.True(readBack.Confirmed, string.Join(", ", readBack.Observed));
        Assert.Equal("true", readBack.Observed["deletedItem"]);
        Assert.True(second!.Confirmed);
        Assert.False(wrongId.Confirmed);
    }

    [Fact]
    public async Task ReadBackAndReadIndependently_EveryActionAgainstEveryHabit_NeverConfirmWhileAccessRemains()
    {
        var tally = new Tally([], []);
        var reads = 0;
        foreach (var habit in Enum.GetValues<Habit>())
        {
            reads += await RunAsync(habit, tally);
        }

        output.WriteLine($"habits: {Enum.GetValues<Habit>().Length}, reads checked: {reads}, false confirmations: {tally.FalseConfirmations.Count}, "
            + $"faithful cuts left unconfirmed: {tally.MissedOnFaithful.Count}");
        Assert.True(tally.FalseConfirmations.Count == 0, "confirmed while access remains:\n" + string.Join("\n", tally.FalseConfirmations));
        Assert.True(tally.MissedOnFaithful.Count == 0, "a faithful service's cut was not confirmed:\n" + string.Join("\n", tally.MissedOnFaithful));
    }

    /// <summary>A leaver is disabled and cut from a group, a role, a licence and a device lock under one habit; then an
    /// untouched membership is read as if the inventory contradicted it.</summary>
    private static async Task<int> RunAsync(Habit habit, Tally tally)
    {
        await using var server = await GraphTestServer.StartAsync();
        var leaver = server.AddUser(GraphTest.Unique("leaver"));
        var peer = server.AddUser(GraphTest.Unique("peer"));
        var admins = server.AddGroup("admins", members: [peer, leaver]);
        var untouched = server.AddGroup("untouched", members: [leaver, peer]);
        var global = server.AddRoleDefinition("Global Administrator");
        server.AssignRole(global, leaver.Id);
        var e5 = server.AddSku("SPE_E5");
        leaver.Licences[e5.SkuId] = [];
        var phone = server.AddDevice("F2LX1", "iPhone 15", leaver.UserPrincipalName);
        using var connector = GraphTest.Connect(server);
        server.IgnoreWrites = habit is Habit.IgnoreWrites;
        server.LenientFilters = habit is Habit.LenientFilters;
        server.UserNotFoundByKey = habit is Habit.UserNotFoundByKey;
        var label = habit.ToString();
        var faithful = habit is Habit.Faithful;
        var role = GraphConnector.RoleEntitlementId(global.Id, "/");
        var reads = 0;

        var disable = GraphTest.Action(ActionKind.DisableAccount, leaver.Id);
        await ExecuteAsync(connector, disable);
        reads += await CheckAsync(connector, disable, label + " disable", () => server.User(leaver.Id)!.AccountEnabled, faithful, tally);

        var remove = GraphTest.Action(ActionKind.RemoveEntitlement, leaver.Id, admins.Id);
        await ExecuteAsync(connector, remove);
        reads += await CheckAsync(connector, remove, label + " remove group", () => server.IsMember(admins, leaver), faithful, tally);

        var removeRole = GraphTest.Action(ActionKind.RemoveEntitlement, leaver.Id, role);
        await ExecuteAsync(connector, removeRole);
        reads += await CheckAsync(connector, removeRole, label + " remove role", () => server.RoleAssignmentsOf(leaver.Id).Count > 0, faithful, tally);

        var reclaim = GraphTest.Action(ActionKind.ReclaimLicence, leaver.Id, e5.SkuId);
        await ExecuteAsync(connector, reclaim);
        reads += await CheckAsync(connector, reclaim, label + " reclaim licence", () => server.User(leaver.Id)!.Licences.Count > 0, faithful, tally);

        var locked = GraphTest.Action(ActionKind.LockDevice, null, deviceId: phone.Id);
        await ExecuteAsync(connector, locked);
        reads += await CheckAsync(connector, locked, label + " lock device", () => phone.Actions.All(a => a.ActionState != "done"), faithful, tally);

        // Nothing cut here: no read may say the membership is gone.
        reads += await CheckAsync(connector, GraphTest.Action(ActionKind.RemoveEntitlement, leaver.Id, untouched.Id), label + " untouched membership",
            () => server.IsMember(untouched, leaver), mustConfirm: false, tally);
        return reads;
    }

    private static async Task ExecuteAsync(GraphConnector connector, ConnectorAction action)
    {
        try
        {
            await connector.ExecuteAsync(action, CancellationToken.None);
        }
        catch (Core.ConnectorException e) when (!e.IsTransient)
        {
            // A refusal is loud, not a confirmation; the reads below still must not confirm.
        }
    }

    private static async Task<int> CheckAsync(GraphConnector connector, ConnectorAction action, string label, Func<bool> stillHas, bool mustConfirm, Tally tally)
    {
        var first = await connector.ReadBackAsync(action, CancellationToken.None);
        var second = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
        var remains = stillHas();
        foreach (var (read, name) in new[] { (first, "read-back"), (second, "independent read") })
        {
            if (read is { Confirmed: true } && remains)
            {
                tally.FalseConfirmations.Add($"{label}: {name} confirmed; observed {string.Join(", ", read.Observed.Select(kv => $"{kv.Key}={kv.Value}"))}");
            }

            if (mustConfirm && read is not { Confirmed: true })
            {
                tally.MissedOnFaithful.Add($"{label}: {name} did not confirm; observed {(read is null ? "no second read" : string.Join(", ", read.Observed.Select(kv => $"{kv.Key}={kv.Value}")))}");
            }
        }

        return second is null ? 1 : 2;
    }

    [Fact]
    public async Task Leave_OneMembershipRemovedInThePortalOneHiddenByA404_FirstVerifiedByTheSecondReadSecondUnconfirmedWithATask()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com", mail: "ann@example.com", employeeId: "ann");
        var engineering = server.AddGroup("engineering", members: ann);
        var admins = server.AddGroup("helpdesk-admins", members: ann);
        Environment.SetEnvironmentVariable("DEPROV_E2E_GRAPH_CONFIRM_SECRET", server.ClientSecret);
        var yaml = $$"""
            systems:
              - id: entra
                kind: graph
                role: application
                correlate: [employee_id, email]
                settings:
                  tenant: {{GraphTestServer.Tenant}}
                  base_url: "{{server.BaseUrl}}"
                  auth:
                    type: oauth_client_credentials
                    client_id: {{GraphTestServer.ClientId}}
                    client_secret: env:DEPROV_E2E_GRAPH_CONFIRM_SECRET
                    token_url: "{{server.TokenUrl}}"
                  devices: false
                  directory_roles: false
            """;
        var env = await TestEnvironment.CreateAsync(yaml, factories: [new GraphConnectorFactory()]);
        await using var _ = env;
        await env.Engine.Store.UpsertPeopleAsync([new Person("ann", "ann@example.com", "ann", null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")], CancellationToken.None);
        await env.DiscoverAsync();
        // After discovery: an administrator removes ann from engineering in the portal, and the member lookup by key
        // starts answering 404 for members that are there (a lagging replica).
        engineering.Members.Remove(ann.Id);
        server.MemberNotFoundByKey = true;

        var leave = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var steps = await env.Engine.Store.GetStepsAsync(leave.Plan!.Case.Id, CancellationToken.None);
        var removals = steps.Where(s => s.Action == ActionKind.RemoveEntitlement).ToList();
        var removedInPortal = Assert.Single(removals, s => s.EntitlementId!.EndsWith(engineering.Id, StringComparison.Ordinal));
        var hidden = Assert.Single(removals, s => s.EntitlementId!.EndsWith(admins.Id, StringComparison.Ordinal));
        Assert.True(removedInPortal.Status == StepStatus.Verified, $"{removedInPortal.Status}: {removedInPortal.Error}");
        Assert.Equal(StepStatus.Unconfirmed, hidden.Status);
        Assert.Contains("second, independent read", hidden.Error, StringComparison.Ordinal);
        Assert.True(server.IsMember(admins, ann));
        var tasks = await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: "ann"), CancellationToken.None);
        Assert.Contains(tasks, t => t.StepId == hidden.Id);
        var kase = (await env.Engine.Store.GetCaseAsync(leave.Plan.Case.Id, CancellationToken.None))!;
        Assert.Null(kase.CutVerifiedAt);
    }
}
