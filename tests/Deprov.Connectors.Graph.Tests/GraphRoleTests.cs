using Deprov.Connectors.Graph.Tests.Fake;
using Deprov.Connectors.Graph.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Planning;

namespace Deprov.Connectors.Graph.Tests;

/// <summary>Directory role assignments (unified RBAC): discovery, removal, restore and read-back.</summary>
public sealed class GraphRoleTests
{
    private const string RoleAssignments = "/v1.0/roleManagement/directory/roleAssignments";

    private static async Task<List<DiscoveredObject>> DiscoverAsync(GraphConnector connector)
    {
        var all = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), default))
        {
            all.Add(o);
        }

        return all;
    }

    private static string RoleId(FakeRoleDefinition role, string scope = "/") => GraphConnector.RoleEntitlementId(role.Id, scope);

    [Fact]
    public async Task DiscoverAsync_AssignmentsOverSeveralPages_JoinedToUsersAsPrivilegedRoles()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.PageSize = 2;
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var bob = server.AddUser(GraphTest.Unique("bob"));
        var cat = server.AddUser(GraphTest.Unique("cat"));
        var global = server.AddRoleDefinition("Global Administrator");
        var users = server.AddRoleDefinition("User Administrator");
        server.AddRoleDefinition("Helpdesk Administrator");
        server.AssignRole(global, ann.Id);
        server.AssignRole(users, ann.Id, "/administrativeUnits/au-paris");
        server.AssignRole(global, bob.Id);
        // A service principal and a role-assignable group hold roles too; they are not accounts.
        server.AssignRole(global, Guid.NewGuid().ToString());
        server.AssignRole(users, Guid.NewGuid().ToString());
        using var connector = GraphTest.Connect(server);

        var found = await DiscoverAsync(connector);

        var roles = found.OfType<DiscoveredEntitlement>().Where(e => e.Kind == EntitlementKind.Role).ToList();
        Assert.Equal(2, roles.Count);
        Assert.All(roles, r => Assert.True(r.Privileged));
        Assert.Contains(roles, r => r.ExternalId == $"role:{global.Id}" && r.Name == "Global Administrator");
        Assert.Contains(roles, r => r.ExternalId == $"role:{users.Id}@/administrativeUnits/au-paris" && r.Name == "User Administrator (scope /administrativeUnits/au-paris)");
        var memberships = found.OfType<DiscoveredMembership>().Where(m => m.EntitlementExternalId.StartsWith("role:", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, memberships.Count);
        Assert.Contains(new DiscoveredMembership(ann.Id, $"role:{global.Id}"), memberships);
        Assert.Contains(new DiscoveredMembership(ann.Id, $"role:{users.Id}@/administrativeUnits/au-paris"), memberships);
        Assert.Contains(new DiscoveredMembership(bob.Id, $"role:{global.Id}"), memberships);
        Assert.DoesNotContain(memberships, m => m.AccountExternalId == cat.Id);
        // Five assignments at two per page: one unfiltered listing of three pages, not one call per user.
        var pages = server.ApiRequests.Where(r => r.Path == RoleAssignments).ToList();
        Assert.Equal(3, pages.Count);
        Assert.All(pages, p => Assert.DoesNotContain("filter", p.Query, StringComparison.Ordinal));
        Assert.Equal(2, server.ApiRequests.Count(r => r.Path == "/v1.0/roleManagement/directory/roleDefinitions"));
    }

    [Fact]
    public async Task DiscoverAsync_DirectoryRolesOff_NeitherListsRolesNorNeedsTheirPermission()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.Granted.Remove("RoleManagement.ReadWrite.Directory");
        var ann = server.AddUser(GraphTest.Unique("ann"));
        server.AssignRole(server.AddRoleDefinition("Global Administrator"), ann.Id);
        using var connector = GraphTest.Connect(server, s => s["directory_roles"] = "false");

        var found = await DiscoverAsync(connector);

        Assert.DoesNotContain(found.OfType<DiscoveredEntitlement>(), e => e.Kind == EntitlementKind.Role);
        Assert.DoesNotContain(server.ApiRequests, r => r.Path.Contains("roleManagement", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DiscoverAsync_WithoutRoleReadPermission_PermanentNamingRoleManagementReadDirectory()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.Granted.Remove("RoleManagement.ReadWrite.Directory");
        server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => DiscoverAsync(connector));

        Assert.False(e.IsTransient);
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
        Assert.Contains("RoleManagement.Read.Directory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveEntitlement_AssignedRole_DeletesTheAssignmentAndReadsItBack()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var global = server.AddRoleDefinition("Global Administrator");
        var assignment = server.AssignRole(global, ann.Id);
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, RoleId(global));

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal("true", result.Before["assigned"]);
        Assert.Equal("/", result.Before["directoryScopeId"]);
        Assert.Equal(global.Id, result.Before["roleDefinitionId"]);
        Assert.Equal("false", result.After["assigned"]);
        Assert.Empty(server.RoleAssignmentsOf(ann.Id));
        Assert.True(readBack.Confirmed);
        var delete = Assert.Single(server.ApiRequests, r => r.Method == "DELETE");
        Assert.Equal($"{RoleAssignments}/{assignment.Id}", delete.Path);
        var lookup = server.ApiRequests.First(r => r.Path == RoleAssignments);
        Assert.Contains($"$filter=principalId eq '{ann.Id}'", Uri.UnescapeDataString(lookup.Query), StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveEntitlement_ScopedRole_RemovesOnlyThatScope()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var users = server.AddRoleDefinition("User Administrator");
        var everywhere = server.AssignRole(users, ann.Id);
        server.AssignRole(users, ann.Id, "/administrativeUnits/au-paris");
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, RoleId(users, "/administrativeUnits/au-paris"));

        var result = await connector.ExecuteAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal("/administrativeUnits/au-paris", result.Before["directoryScopeId"]);
        Assert.Equal(everywhere, Assert.Single(server.RoleAssignmentsOf(ann.Id)));
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task RemoveEntitlement_RoleNotAssigned_IsAlreadyInStateWithoutADelete()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var bob = server.AddUser(GraphTest.Unique("bob"));
        var global = server.AddRoleDefinition("Global Administrator");
        server.AssignRole(global, bob.Id);
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, RoleId(global));

        var result = await connector.ExecuteAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.Before["assigned"]);
        Assert.DoesNotContain(server.ApiRequests, r => r.Method == "DELETE");
        Assert.Single(server.RoleAssignmentsOf(bob.Id));
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task RemoveEntitlement_AssignmentRecreatedSinceDiscovery_DeletesTheCurrentAssignment()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var global = server.AddRoleDefinition("Global Administrator");
        var stale = server.AssignRole(global, ann.Id);
        using var connector = GraphTest.Connect(server);
        await DiscoverAsync(connector);
        // An administrator removed the role and granted it again: the assignment discovery saw is gone.
        server.UnassignRole(stale);
        var current = server.AssignRole(global, ann.Id);
        var action = GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, RoleId(global));

        var result = await connector.ExecuteAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.NotEqual(stale.Id, current.Id);
        Assert.Equal(current.Id, result.Before["assignmentIds"]);
        var delete = Assert.Single(server.ApiRequests, r => r.Method == "DELETE");
        Assert.Equal($"{RoleAssignments}/{current.Id}", delete.Path);
        Assert.Empty(server.RoleAssignmentsOf(ann.Id));
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task RemoveEntitlement_AssignmentGoneBetweenLookupAndDelete_404IsAlreadyInState()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var global = server.AddRoleDefinition("Global Administrator");
        server.AssignRole(global, ann.Id);
        using var connector = GraphTest.Connect(server);
        server.Faults.FailNext(1, 404, method: "DELETE", pathContains: "roleAssignments/");

        var result = await connector.ExecuteAsync(GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, RoleId(global)), default);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.After["assigned"]);
    }

    [Fact]
    public async Task Fake_DeleteUnknownAssignment_404WithGraphsErrorBody()
    {
        await using var server = await GraphTestServer.StartAsync();
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", await GraphTest.TokenAsync(server));

        using var answer = await http.DeleteAsync("roleManagement/directory/roleAssignments/no-such-assignment");
        var body = await answer.Content.ReadAsStringAsync();

        Assert.Equal(404, (int)answer.StatusCode);
        Assert.Contains("\"code\":\"Request_ResourceNotFound\"", body, StringComparison.Ordinal);
        Assert.Contains("no-such-assignment", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveEntitlement_ReadOnlyRolePermission_PermanentNamingRoleManagementReadWriteDirectory()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.Granted.Remove("RoleManagement.ReadWrite.Directory");
        server.Granted.Add("RoleManagement.Read.Directory");
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var global = server.AddRoleDefinition("Global Administrator");
        server.AssignRole(global, ann.Id);
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, RoleId(global)), default));

        Assert.False(e.IsTransient);
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
        Assert.Contains("DELETE roleManagement/directory/roleAssignments/", e.Message, StringComparison.Ordinal);
        Assert.Contains("RoleManagement.ReadWrite.Directory", e.Message, StringComparison.Ordinal);
        Assert.Single(server.RoleAssignmentsOf(ann.Id));
    }

    [Fact]
    public async Task RemoveEntitlement_429WithRetryAfter_RetriedThenRemoved()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var global = server.AddRoleDefinition("Global Administrator");
        server.AssignRole(global, ann.Id);
        using var connector = GraphTest.Connect(server);
        server.Faults.FailNext(1, 429, retryAfter: "0.05", method: "DELETE", pathContains: "roleAssignments/");

        var result = await connector.ExecuteAsync(GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, RoleId(global)), default);

        Assert.False(result.AlreadyInState);
        Assert.Equal(1, server.Faults.Answered);
        Assert.Equal(2, server.ApiRequests.Count(r => r.Method == "DELETE"));
        Assert.Empty(server.RoleAssignmentsOf(ann.Id));
    }

    [Fact]
    public async Task AddEntitlement_RestoreAfterRemoval_PostsTheRecordedAssignmentAndReplayIsAlreadyInState()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var users = server.AddRoleDefinition("User Administrator");
        server.AssignRole(users, ann.Id, "/administrativeUnits/au-paris");
        using var connector = GraphTest.Connect(server);
        var entitlement = RoleId(users, "/administrativeUnits/au-paris");
        var removal = await connector.ExecuteAsync(GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, entitlement), default);
        var restore = GraphTest.Action(ActionKind.AddEntitlement, ann.Id, entitlement,
            parameters: new() { ["before"] = CoreJson.Serialize(removal.Before) });

        var result = await connector.ExecuteAsync(restore, default);
        var replay = await connector.ExecuteAsync(restore, default);

        Assert.False(result.AlreadyInState);
        var back = Assert.Single(server.RoleAssignmentsOf(ann.Id));
        Assert.Equal((users.Id, "/administrativeUnits/au-paris"), (back.RoleDefinitionId, back.DirectoryScopeId));
        Assert.Equal(back.Id, result.After["assignmentIds"]);
        var post = Assert.Single(server.ApiRequests, r => r.Method == "POST" && r.Path == RoleAssignments);
        Assert.Contains($"\"principalId\":\"{ann.Id}\"", post.Body, StringComparison.Ordinal);
        Assert.Contains($"\"roleDefinitionId\":\"{users.Id}\"", post.Body, StringComparison.Ordinal);
        Assert.Contains("\"directoryScopeId\":\"/administrativeUnits/au-paris\"", post.Body, StringComparison.Ordinal);
        Assert.True(replay.AlreadyInState);
        Assert.True((await connector.ReadBackAsync(restore, default)).Confirmed);
    }

    [Fact]
    public async Task AddEntitlement_RoleNotHeldBeforeTheCase_NotGranted()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var global = server.AddRoleDefinition("Global Administrator");
        using var connector = GraphTest.Connect(server);
        var removal = await connector.ExecuteAsync(GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, RoleId(global)), default);
        var restore = GraphTest.Action(ActionKind.AddEntitlement, ann.Id, RoleId(global),
            parameters: new() { ["before"] = CoreJson.Serialize(removal.Before) });

        var result = await connector.ExecuteAsync(restore, default);

        Assert.True(result.AlreadyInState);
        Assert.Empty(server.RoleAssignmentsOf(ann.Id));
        Assert.DoesNotContain(server.ApiRequests, r => r.Method == "POST" && r.Path == RoleAssignments);
        Assert.True((await connector.ReadBackAsync(restore, default)).Confirmed);
    }

    [Fact]
    public async Task AddEntitlement_NotARoleId_PermanentWithoutARequest()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, "role:abc@no-slash"), default));

        Assert.False(e.IsTransient);
        Assert.Contains("role:abc@no-slash", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.ApiRequests, r => r.Path.Contains("roleManagement", StringComparison.Ordinal));
    }
}
