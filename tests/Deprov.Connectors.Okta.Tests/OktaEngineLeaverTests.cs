using Deprov.Connectors.Okta.Tests.Fake;
using Deprov.Core.Model;
using Deprov.Testing;

namespace Deprov.Connectors.Okta.Tests;

/// <summary>A leaver case through the engine, with the identity provider configured in deprov.yaml as <c>kind: okta</c>.</summary>
public sealed class OktaEngineLeaverTests
{
    [Fact]
    public async Task Leave_IdentityProviderOnOkta_UserSuspendedSessionsClearedGroupsLeftCaseVerified()
    {
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { ApiToken = "00e2e-okta-token" });
        var ann = server.AddUser("ann@example.com", sessions: 2);
        var bob = server.AddUser("bob@example.com", sessions: 1);
        var engineering = server.AddGroup("engineering", ann, bob);
        var admins = server.AddGroup("okta-admins", ann);
        Environment.SetEnvironmentVariable("DEPROV_E2E_OKTA_TOKEN", "00e2e-okta-token");
        var yaml = $$"""
            systems:
              - id: okta
                kind: okta
                role: identity_provider
                risk: critical
                correlate: [email]
                settings:
                  base_url: "{{server.OrgUrl}}"
                  auth: { type: bearer, token: env:DEPROV_E2E_OKTA_TOKEN }
                  privileged_groups: ["*admin*"]
            """;
        var env = await TestEnvironment.CreateAsync(yaml, factories: [new OktaConnectorFactory()]);
        await using var _ = env;
        var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
        await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
        await env.DiscoverAsync();
        var map = (await env.Engine.Store.GetAccessMapsAsync(["ann"], CancellationToken.None)).Single();
        Assert.Equal(2, map.Assignments.Count);
        Assert.Contains(map.Entitlements, e => e.Name == "okta-admins" && e.Privileged);

        var result = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
        var steps = await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None);
        Assert.True(kase.CutVerifiedAt is not null, string.Join("\n", steps.Select(s => $"{s.Action} {s.Target} {s.Status} {s.Error}")));
        Assert.Contains(steps, s => s.Action == ActionKind.RevokeSessions);
        Assert.Equal("SUSPENDED", server.StatusOf(ann));
        Assert.Equal("ACTIVE", server.StatusOf(bob));
        Assert.Equal(0, server.SessionsOf(ann).Sessions);
        Assert.Equal(1, server.SessionsOf(bob).Sessions);
        Assert.False(server.IsMember(engineering, ann));
        Assert.False(server.IsMember(admins, ann));
        Assert.True(server.IsMember(engineering, bob));
        Assert.All(server.Requests, r => Assert.Equal("SSWS", r.AuthScheme));
        Assert.True((await env.Engine.Store.VerifyAuditChainAsync(CancellationToken.None)).Ok);
        await foreach (var r in env.Engine.Store.ReadAuditAsync(1, CancellationToken.None))
        {
            Assert.DoesNotContain("00e2e-okta-token", $"{r.Entry.Before}{r.Entry.After}{r.Entry.Detail}", StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Leave_AdminOnOkta_OwnRolesRemovedAsPrivilegedStepsGroupRoleLeftWithTheGroupRehireRestores()
    {
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { ApiToken = "00e2e-okta-roles-token" });
        var ann = server.AddUser("ann@example.com");
        var bob = server.AddUser("bob@example.com");
        server.AssignRole(ann, "SUPER_ADMIN");
        server.AssignRole(ann, "HELP_DESK_ADMIN");
        server.AssignRole(bob, "SUPER_ADMIN");
        var platform = server.AddGroup("platform-team", ann, bob);
        server.AssignGroupRole(platform, "APP_ADMIN");
        Environment.SetEnvironmentVariable("DEPROV_E2E_OKTA_ROLES_TOKEN", "00e2e-okta-roles-token");
        var yaml = $$"""
            systems:
              - id: okta
                kind: okta
                role: identity_provider
                risk: critical
                correlate: [email]
                settings:
                  base_url: "{{server.OrgUrl}}"
                  auth: { type: bearer, token: env:DEPROV_E2E_OKTA_ROLES_TOKEN }
            """;
        var env = await TestEnvironment.CreateAsync(yaml, factories: [new OktaConnectorFactory()]);
        await using var _ = env;
        var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
        await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
        await env.DiscoverAsync();
        var map = (await env.Engine.Store.GetAccessMapsAsync(["ann"], CancellationToken.None)).Single();
        Assert.Equal(2, map.Entitlements.Count(e => e.Kind == EntitlementKind.Role && e.Privileged));
        Assert.Contains(map.Entitlements, e => e.Name == "platform-team" && e.Privileged);

        var leave = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var steps = await env.Engine.Store.GetStepsAsync(leave.Plan!.Case.Id, CancellationToken.None);
        var kase = (await env.Engine.Store.GetCaseAsync(leave.Plan.Case.Id, CancellationToken.None))!;
        Assert.True(kase.CutVerifiedAt is not null, string.Join("\n", steps.Select(s => $"{s.Action} {s.Target} {s.Status} {s.Error}")));
        var privileged = steps.Where(s => s.Action == ActionKind.RemoveEntitlement).ToList();
        Assert.Equal(3, privileged.Count);
        Assert.All(privileged, s => Assert.Equal((StepCategory.Privileged, StepStatus.Verified), (s.Category, s.Status)));
        Assert.Empty(server.RoleTypesOf(ann));
        Assert.False(server.IsMember(platform, ann));
        Assert.Equal(["SUPER_ADMIN"], server.RoleTypesOf(bob));
        Assert.True(server.IsMember(platform, bob));

        var rehire = await env.Engine.SubmitAsync(Some.Event(EventKind.Rehire, "ann", env.Time.GetUtcNow()), "admin:hr", CancellationToken.None);
        await env.RunUntilIdleAsync();

        // SUPER_ADMIN comes back; HELP_DESK_ADMIN may have been limited to some groups, so it is left to a person.
        Assert.Equal(["SUPER_ADMIN"], server.RoleTypesOf(ann));
        Assert.True(server.IsMember(platform, ann));
        var restoreSteps = await env.Engine.Store.GetStepsAsync(rehire.Plan!.Case.Id, CancellationToken.None);
        Assert.Contains(restoreSteps, s => s.Action == ActionKind.AddEntitlement && s.EntitlementId!.EndsWith("role:HELP_DESK_ADMIN", StringComparison.Ordinal)
            && s.Error is { } error && error.Contains("by hand", StringComparison.Ordinal));
    }
}
