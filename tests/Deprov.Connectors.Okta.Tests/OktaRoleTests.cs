using Deprov.Connectors.Okta.Tests.Fake;
using Deprov.Connectors.Okta.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Planning;

namespace Deprov.Connectors.Okta.Tests;

/// <summary>Admin role assignments: discovery, removal, restore and read-back.</summary>
public sealed class OktaRoleTests
{
    [Fact]
    public async Task DiscoverAsync_AssigneesOverSeveralPages_OwnRolesPrivilegedAndGroupsHoldingRolesFlagged()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        var bob = server.AddUser(OktaTest.Unique("bob"));
        var cat = server.AddUser(OktaTest.Unique("cat"));
        var dan = server.AddUser(OktaTest.Unique("dan"));
        var eve = server.AddUser(OktaTest.Unique("eve"));
        server.AssignRole(ann, "SUPER_ADMIN");
        server.AssignRole(bob, "HELP_DESK_ADMIN");
        server.AssignRole(bob, "SUPER_ADMIN");
        server.AssignCustomRole(cat, "cr0fake1", "iamfake1", "Leaver auditors");
        var appAdmins = server.AddGroup("platform-team", dan);
        server.AssignGroupRole(appAdmins, "APP_ADMIN");
        using var connector = OktaTest.Connect(server, s => s["page_size"] = "2");

        var found = await OktaTest.DiscoverAllAsync(connector);

        var roles = found.OfType<DiscoveredEntitlement>().Where(e => e.Kind == EntitlementKind.Role).ToList();
        Assert.Equal(["role:SUPER_ADMIN", "role:HELP_DESK_ADMIN", "role:CUSTOM:cr0fake1:iamfake1"], roles.Select(r => r.ExternalId));
        Assert.All(roles, r => Assert.True(r.Privileged));
        Assert.Equal("Super Administrator", roles[0].Name);
        Assert.Equal("Leaver auditors", roles[2].Name);
        var memberships = found.OfType<DiscoveredMembership>().Where(m => m.EntitlementExternalId.StartsWith("role:", StringComparison.Ordinal)).ToList();
        Assert.Equal(
            [(ann, "role:SUPER_ADMIN"), (bob, "role:HELP_DESK_ADMIN"), (bob, "role:SUPER_ADMIN"), (cat, "role:CUSTOM:cr0fake1:iamfake1")],
            memberships.Select(m => (m.AccountExternalId, m.EntitlementExternalId)));
        // Dan holds APP_ADMIN through the group: not his own role, but the group is privileged whatever its name.
        Assert.True(Assert.Single(found.OfType<DiscoveredEntitlement>(), e => e.ExternalId == appAdmins).Privileged);
        Assert.Contains(new DiscoveredMembership(dan, appAdmins), found);
        // Four assignees at two per page: two pages by the body's _links.next; roles read for assignees only.
        Assert.Equal(2, server.Requests.Count(r => r.Path == "/api/v1/iam/assignees/users"));
        var roleReads = server.Requests.Where(r => r.Path.EndsWith("/roles", StringComparison.Ordinal)).Select(r => r.Path).ToList();
        Assert.Equal([ann, bob, cat, dan], roleReads.Select(p => p.Split('/')[4]));
        Assert.DoesNotContain(roleReads, p => p.Contains(eve, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DiscoverAsync_AdminRolesOff_NoRoleRequests()
    {
        await using var server = await OktaFakeServer.StartAsync();
        server.AssignRole(server.AddUser(OktaTest.Unique("ann")), "SUPER_ADMIN");
        using var connector = OktaTest.Connect(server, s => s["admin_roles"] = "false");

        var found = await OktaTest.DiscoverAllAsync(connector);

        Assert.DoesNotContain(found.OfType<DiscoveredEntitlement>(), e => e.Kind == EntitlementKind.Role);
        Assert.DoesNotContain(server.Requests, r => r.Path.Contains("/iam/", StringComparison.Ordinal) || r.Path.EndsWith("/roles", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DiscoverAsync_AssigneeNextLinkToAnotherHost_RefusedWithoutFollowingIt()
    {
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { NextLinkOrigin = new Uri("https://evil.example/") });
        server.AssignRole(server.AddUser(OktaTest.Unique("ann")), "SUPER_ADMIN");
        server.AssignRole(server.AddUser(OktaTest.Unique("bob")), "ORG_ADMIN");
        using var connector = OktaTest.Connect(server, s => s["page_size"] = "1");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => OktaTest.DiscoverAllAsync(connector));

        Assert.False(e.IsTransient);
        Assert.Contains("evil.example", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveEntitlement_OwnRole_UnassignsItAndReadsItBack()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        var assignment = server.AssignRole(ann, "SUPER_ADMIN");
        server.AssignRole(ann, "REPORT_ADMIN");
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RemoveEntitlement, ann, "role:SUPER_ADMIN");

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal(("SUPER_ADMIN", "true", assignment), (result.Before["role"], result.Before["assigned"], result.Before["assignmentIds"]));
        Assert.Equal("false", result.After["assigned"]);
        Assert.Equal(["REPORT_ADMIN"], server.RoleTypesOf(ann));
        Assert.True(readBack.Confirmed);
        var delete = Assert.Single(server.Requests, r => r.Method == "DELETE");
        Assert.Equal($"/api/v1/users/{ann}/roles/{assignment}", delete.Path);
    }

    [Fact]
    public async Task RemoveEntitlement_RoleNotAssigned_IsAlreadyInStateWithoutADelete()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        server.AssignRole(ann, "READ_ONLY_ADMIN");
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RemoveEntitlement, ann, "role:SUPER_ADMIN");

        var result = await connector.ExecuteAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.Before["assigned"]);
        Assert.DoesNotContain(server.Requests, r => r.Method == "DELETE");
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task RemoveEntitlement_AssignmentRecreatedSinceDiscovery_UnassignsTheCurrentOne()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        var stale = server.AssignRole(ann, "ORG_ADMIN");
        using var connector = OktaTest.Connect(server);
        await OktaTest.DiscoverAllAsync(connector);
        server.UnassignRole(stale);
        var current = server.AssignRole(ann, "ORG_ADMIN");
        var action = OktaTest.Action(ActionKind.RemoveEntitlement, ann, "role:ORG_ADMIN");

        var result = await connector.ExecuteAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.NotEqual(stale, current);
        var delete = Assert.Single(server.Requests, r => r.Method == "DELETE");
        Assert.Equal($"/api/v1/users/{ann}/roles/{current}", delete.Path);
        Assert.Empty(server.RoleTypesOf(ann));
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task RemoveEntitlement_UnassignedBetweenLookupAndDelete_404IsAlreadyInState()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        server.AssignRole(ann, "ORG_ADMIN");
        using var connector = OktaTest.Connect(server);
        server.Faults.FailNext(1, 404, "E0000007", method: "DELETE");

        var result = await connector.ExecuteAsync(OktaTest.Action(ActionKind.RemoveEntitlement, ann, "role:ORG_ADMIN"), default);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.After["assigned"]);
    }

    [Fact]
    public async Task RemoveEntitlement_RoleHeldOnlyThroughAGroup_AlreadyInStateAndSaysSo()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        server.AssignGroupRole(server.AddGroup("platform-team", ann), "APP_ADMIN");
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RemoveEntitlement, ann, "role:APP_ADMIN");

        var result = await connector.ExecuteAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.Equal(("false", "true"), (result.Before["assigned"], result.Before["viaGroup"]));
        Assert.DoesNotContain(server.Requests, r => r.Method == "DELETE");
    }

    [Fact]
    public async Task RemoveEntitlement_UserDeleted_AlreadyInStateButNotConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RemoveEntitlement, "00unosuchuser", "role:SUPER_ADMIN");

        var result = await connector.ExecuteAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.False((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task RemoveEntitlement_AdminMayNotManageRoles_PermanentNamingOktaRolesManage()
    {
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { SuperAdmin = false });
        var ann = server.AddUser(OktaTest.Unique("ann"));
        server.AssignRole(ann, "SUPER_ADMIN");
        using var connector = OktaTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.RemoveEntitlement, ann, "role:SUPER_ADMIN"), default));

        Assert.False(e.IsTransient);
        Assert.Contains("403 E0000006", e.Message, StringComparison.Ordinal);
        Assert.Contains("okta.roles.manage", e.Message, StringComparison.Ordinal);
        Assert.Equal(["SUPER_ADMIN"], server.RoleTypesOf(ann));
    }

    [Fact]
    public async Task RemoveEntitlement_RateLimitedWithoutRetries_TransientWithTheResetWait()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        server.AssignRole(ann, "SUPER_ADMIN");
        using var connector = OktaTest.Connect(server, s => s["max_retries"] = "0");
        server.Faults.FailNext(1, 429, method: "DELETE");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.RemoveEntitlement, ann, "role:SUPER_ADMIN"), default));

        Assert.True(e.IsTransient);
        Assert.True(e.IsRateLimited);
        Assert.Contains("429 E0000047", e.Message, StringComparison.Ordinal);
        Assert.NotNull(e.RetryAfter);
        Assert.Equal(["SUPER_ADMIN"], server.RoleTypesOf(ann));
    }

    [Fact]
    public async Task AddEntitlement_RestoreOfAStandardRole_PostsItsTypeAndReplayIsAlreadyInState()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        server.AssignRole(ann, "ORG_ADMIN");
        using var connector = OktaTest.Connect(server);
        var removal = await connector.ExecuteAsync(OktaTest.Action(ActionKind.RemoveEntitlement, ann, "role:ORG_ADMIN"), default);
        var restore = OktaTest.Action(ActionKind.AddEntitlement, ann, "role:ORG_ADMIN", new() { ["before"] = CoreJson.Serialize(removal.Before) });

        var result = await connector.ExecuteAsync(restore, default);
        var replay = await connector.ExecuteAsync(restore, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal(["ORG_ADMIN"], server.RoleTypesOf(ann));
        Assert.Equal(Assert.Single(server.RoleAssignmentsOf(ann)), result.After["assignmentIds"]);
        Assert.Single(server.Requests, r => r.Method == "POST" && r.Path == $"/api/v1/users/{ann}/roles");
        Assert.True(replay.AlreadyInState);
        Assert.True((await connector.ReadBackAsync(restore, default)).Confirmed);
    }

    [Theory]
    [InlineData("role:HELP_DESK_ADMIN")]
    [InlineData("role:CUSTOM:cr0fake1:iamfake1")]
    public async Task AddEntitlement_RoleThatMayHaveBeenLimited_NotRestoredAutomatically(string role)
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        using var connector = OktaTest.Connect(server);
        var before = new Dictionary<string, string> { ["role"] = role[5..], ["assigned"] = "true", ["assignmentIds"] = "ra1", ["viaGroup"] = "false" };
        var restore = OktaTest.Action(ActionKind.AddEntitlement, ann, role, new() { ["before"] = CoreJson.Serialize(before) });

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(restore, default));

        Assert.False(e.IsTransient);
        Assert.Contains("by hand", e.Message, StringComparison.Ordinal);
        Assert.Empty(server.RoleTypesOf(ann));
        Assert.DoesNotContain(server.Requests, r => r.Method == "POST");
    }

    [Fact]
    public async Task AddEntitlement_RoleNotHeldBeforeTheCase_NotGranted()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        using var connector = OktaTest.Connect(server);
        var removal = await connector.ExecuteAsync(OktaTest.Action(ActionKind.RemoveEntitlement, ann, "role:SUPER_ADMIN"), default);
        var restore = OktaTest.Action(ActionKind.AddEntitlement, ann, "role:SUPER_ADMIN", new() { ["before"] = CoreJson.Serialize(removal.Before) });

        var result = await connector.ExecuteAsync(restore, default);

        Assert.True(result.AlreadyInState);
        Assert.Empty(server.RoleTypesOf(ann));
        Assert.True((await connector.ReadBackAsync(restore, default)).Confirmed);
    }
}
