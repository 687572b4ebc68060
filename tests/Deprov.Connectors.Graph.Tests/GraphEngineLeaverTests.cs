using System.Text.Json.Nodes;
using Deprov.Connectors.Graph.Tests.Fake;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Testing;

namespace Deprov.Connectors.Graph.Tests;

/// <summary>A leaver case through the engine, with Entra ID and Intune configured in deprov.yaml as <c>kind: graph</c> against the fake.</summary>
public sealed class GraphEngineLeaverTests
{
    [Fact]
    public async Task Leave_PersonInEntraAndIntune_AccountCutDeviceLockedCaseVerified()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com", mail: "ann@example.com", employeeId: "ann");
        var bob = server.AddUser("bob@example.com", mail: "bob@example.com", employeeId: "bob");
        var engineering = server.AddGroup("engineering", members: [ann, bob]);
        var admins = server.AddGroup("helpdesk-admins", roleAssignable: true, members: ann);
        var e5 = server.AddSku("SPE_E5");
        ann.Licences[e5.SkuId] = [];
        bob.Licences[e5.SkuId] = [];
        var phone = server.AddDevice("F2LX1", "iPhone 15", "ANN@example.com");
        // The engine resolves env: references through the process environment.
        Environment.SetEnvironmentVariable("DEPROV_E2E_GRAPH_SECRET", server.ClientSecret);
        var yaml = $$"""
            systems:
              - id: entra
                kind: graph
                role: identity_provider
                risk: critical
                correlate: [employee_id, email]
                settings:
                  tenant: {{GraphTestServer.Tenant}}
                  base_url: "{{server.BaseUrl}}"
                  auth:
                    type: oauth_client_credentials
                    client_id: {{GraphTestServer.ClientId}}
                    client_secret: env:DEPROV_E2E_GRAPH_SECRET
                    token_url: "{{server.TokenUrl}}"
                  privileged_groups: ["*admin*"]
            """;
        var env = await TestEnvironment.CreateAsync(yaml, factories: [new GraphConnectorFactory()]);
        await using var _ = env;
        var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
        await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
        await env.DiscoverAsync();
        var map = (await env.Engine.Store.GetAccessMapsAsync(["ann"], CancellationToken.None)).Single();
        Assert.Single(map.Accounts);
        Assert.Equal(3, map.Assignments.Count);
        Assert.Contains(map.Entitlements, e => e.Name == "helpdesk-admins" && e.Privileged);
        Assert.Contains(map.Entitlements, e => e.Name == "SPE_E5" && e.Kind == EntitlementKind.Licence);
        Assert.Equal("F2LX1", Assert.Single(map.Devices).SerialNumber);

        var result = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
        var steps = await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None);
        Assert.True(kase.CutVerifiedAt is not null, string.Join("\n", steps.Select(s => $"{s.Action} {s.Target} {s.Status} {s.Error}")));
        Assert.False(server.User(ann.Id)!.AccountEnabled);
        Assert.True(server.User(bob.Id)!.AccountEnabled);
        Assert.False(server.IsMember(engineering, ann));
        Assert.False(server.IsMember(admins, ann));
        Assert.True(server.IsMember(engineering, bob));
        Assert.Empty(ann.Licences);
        Assert.Single(bob.Licences);
        Assert.Contains(server.ApiRequests, r => r.Path == $"/v1.0/users/{ann.Id}/revokeSignInSessions");
        Assert.Contains(server.ApiRequests, r => r.Path == $"/v1.0/deviceManagement/managedDevices/{phone.Id}/remoteLock");
        Assert.Equal(0, server.UsersDeletedByMissingRef);
        Assert.Equal(1, server.User(ann.Id)!.PasswordResets);
        Assert.Equal(0, server.User(bob.Id)!.PasswordResets);
        foreach (var action in new[] { ActionKind.DisableAccount, ActionKind.RevokeSessions, ActionKind.ResetPassword, ActionKind.RemoveEntitlement, ActionKind.ReclaimLicence, ActionKind.LockDevice })
        {
            Assert.Contains(steps, s => s.Action == action && s.Status == StepStatus.Verified);
        }

        var password = JsonNode.Parse(Assert.Single(server.ApiRequests, r => r.Method == "PATCH" && r.Body!.Contains("passwordProfile", StringComparison.Ordinal)).Body!)!
            ["passwordProfile"]!["password"]!.GetValue<string>();
        Assert.True((await env.Engine.Store.VerifyAuditChainAsync(CancellationToken.None)).Ok);
        await foreach (var r in env.Engine.Store.ReadAuditAsync(1, CancellationToken.None))
        {
            Assert.DoesNotContain(server.ClientSecret, $"{r.Entry.Before}{r.Entry.After}{r.Entry.Detail}", StringComparison.Ordinal);
            Assert.DoesNotContain(password, $"{r.Entry.Before}{r.Entry.After}{r.Entry.Detail}", StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Leave_PersonSyncedFromOnPremises_AccountCutAndPasswordResetBecomesATaskNamingActiveDirectory()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com", mail: "ann@example.com", employeeId: "ann");
        ann.OnPremisesSyncEnabled = true;
        Environment.SetEnvironmentVariable("DEPROV_E2E_GRAPH_SYNCED_SECRET", server.ClientSecret);
        var yaml = $$"""
            systems:
              - id: entra
                kind: graph
                role: identity_provider
                risk: critical
                correlate: [employee_id, email]
                settings:
                  tenant: {{GraphTestServer.Tenant}}
                  base_url: "{{server.BaseUrl}}"
                  auth:
                    type: oauth_client_credentials
                    client_id: {{GraphTestServer.ClientId}}
                    client_secret: env:DEPROV_E2E_GRAPH_SYNCED_SECRET
                    token_url: "{{server.TokenUrl}}"
                  devices: false
            """;
        var env = await TestEnvironment.CreateAsync(yaml, factories: [new GraphConnectorFactory()]);
        await using var _ = env;
        await env.Engine.Store.UpsertPeopleAsync([new Person("ann", "ann@example.com", "ann", null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")], CancellationToken.None);
        await env.DiscoverAsync();

        var leave = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var steps = await env.Engine.Store.GetStepsAsync(leave.Plan!.Case.Id, CancellationToken.None);
        Assert.Contains(steps, s => s.Action == ActionKind.DisableAccount && s.Status == StepStatus.Verified);
        var reset = Assert.Single(steps, s => s.Action == ActionKind.ResetPassword);
        Assert.Equal(StepStatus.Failed, reset.Status);
        Assert.False(server.User(ann.Id)!.AccountEnabled);
        Assert.Equal(0, server.User(ann.Id)!.PasswordResets);
        var tasks = await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: "ann"), CancellationToken.None);
        Assert.Contains(tasks, t => t.StepId == reset.Id && t.Detail.Contains("Reset it in Active Directory", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Leave_PersonHoldingDirectoryRoles_RolesRemovedAsPrivilegedStepsAndRehireRestoresThem()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.PageSize = 2;
        var ann = server.AddUser("ann@example.com", mail: "ann@example.com", employeeId: "ann");
        var bob = server.AddUser("bob@example.com", mail: "bob@example.com", employeeId: "bob");
        var global = server.AddRoleDefinition("Global Administrator");
        var users = server.AddRoleDefinition("User Administrator");
        server.AssignRole(global, ann.Id);
        server.AssignRole(users, ann.Id, "/administrativeUnits/au-paris");
        server.AssignRole(global, bob.Id);
        Environment.SetEnvironmentVariable("DEPROV_E2E_GRAPH_ROLES_SECRET", server.ClientSecret);
        var yaml = $$"""
            systems:
              - id: entra
                kind: graph
                role: identity_provider
                risk: critical
                correlate: [employee_id, email]
                settings:
                  tenant: {{GraphTestServer.Tenant}}
                  base_url: "{{server.BaseUrl}}"
                  auth:
                    type: oauth_client_credentials
                    client_id: {{GraphTestServer.ClientId}}
                    client_secret: env:DEPROV_E2E_GRAPH_ROLES_SECRET
                    token_url: "{{server.TokenUrl}}"
                  devices: false
            """;
        var env = await TestEnvironment.CreateAsync(yaml, factories: [new GraphConnectorFactory()]);
        await using var _ = env;
        var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
        await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
        await env.DiscoverAsync();
        var map = (await env.Engine.Store.GetAccessMapsAsync(["ann"], CancellationToken.None)).Single();
        var roles = map.Entitlements.Where(e => e.Kind == EntitlementKind.Role).ToList();
        Assert.Equal(2, roles.Count);
        Assert.All(roles, r => Assert.True(r.Privileged));

        var leave = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var steps = await env.Engine.Store.GetStepsAsync(leave.Plan!.Case.Id, CancellationToken.None);
        var roleSteps = steps.Where(s => s.Action == ActionKind.RemoveEntitlement && s.EntitlementId!.Contains("/role:", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, roleSteps.Count);
        Assert.All(roleSteps, s => Assert.Equal((StepCategory.Privileged, StepStatus.Verified), (s.Category, s.Status)));
        Assert.Empty(server.RoleAssignmentsOf(ann.Id));
        Assert.Single(server.RoleAssignmentsOf(bob.Id));
        var kase = (await env.Engine.Store.GetCaseAsync(leave.Plan.Case.Id, CancellationToken.None))!;
        Assert.True(kase.CutVerifiedAt is not null, string.Join("\n", steps.Select(s => $"{s.Action} {s.Target} {s.Status} {s.Error}")));

        var rehire = await env.Engine.SubmitAsync(Some.Event(EventKind.Rehire, "ann", env.Time.GetUtcNow()), "admin:hr", CancellationToken.None);
        await env.RunUntilIdleAsync();

        Assert.Equal(CaseKind.Restore, rehire.Plan!.Case.Kind);
        var back = server.RoleAssignmentsOf(ann.Id).Select(a => (a.RoleDefinitionId, a.DirectoryScopeId)).Order().ToList();
        Assert.Equal(new[] { (global.Id, "/"), (users.Id, "/administrativeUnits/au-paris") }.Order(), back);
        var restoreSteps = await env.Engine.Store.GetStepsAsync(rehire.Plan.Case.Id, CancellationToken.None);
        Assert.Equal(2, restoreSteps.Count(s => s.Action == ActionKind.AddEntitlement && s.Status == StepStatus.Verified));
    }
}
