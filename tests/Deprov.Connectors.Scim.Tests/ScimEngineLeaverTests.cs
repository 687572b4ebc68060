using Deprov.Core.Model;
using Deprov.Testing;
using Deprov.Testing.Scim;

namespace Deprov.Connectors.Scim.Tests;

/// <summary>A leaver case through the engine, with an app configured in deprov.yaml as <c>kind: scim</c> against the SCIM test server.</summary>
public sealed class ScimEngineLeaverTests
{
    [Theory]
    [InlineData("generic", false, false)]
    [InlineData("generic", true, false)]
    [InlineData("generic", true, true)]
    [InlineData("entra", true, false)]
    public async Task Leave_AppOnScim_UserDeactivatedGroupsLeftCaseVerified(string profile, bool groupReadsOmitMembers, bool userGroups)
    {
        // Whether or not the server shows members on its groups, discovery maps them and the leaver's case removes them.
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions
        {
            Auth = ScimAuthMode.Bearer,
            Token = "e2e-token",
            GroupReadsOmitMembers = groupReadsOmitMembers,
            UserGroups = userGroups,
            PatchReturnsNoContent = profile == "entra",
        });
        var ann = server.AddUser("ann@example.com", email: "ann@example.com");
        var bob = server.AddUser("bob@example.com", email: "bob@example.com");
        var engineering = server.AddGroup("engineering", ann, bob);
        var admins = server.AddGroup("workspace-admins", ann);
        Environment.SetEnvironmentVariable("DEPROV_E2E_SCIM_TOKEN", "e2e-token");
        var yaml = $$"""
            systems:
              - id: slack
                kind: scim
                role: application
                licence_cost: 8.75
                correlate: [email]
                settings:
                  base_url: "{{server.BaseUrl}}"
                  profile: {{profile}}
                  auth: { type: bearer, token: env:DEPROV_E2E_SCIM_TOKEN }
                  privileged_groups: ["*admin*"]
            """;
        var env = await TestEnvironment.CreateAsync(yaml, factories: [new ScimConnectorFactory()]);
        await using var _ = env;
        var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
        await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
        await env.DiscoverAsync();
        var map = (await env.Engine.Store.GetAccessMapsAsync(["ann"], CancellationToken.None)).Single();
        Assert.Equal(2, map.Assignments.Count);
        Assert.Contains(map.Entitlements, e => e.Name == "workspace-admins" && e.Privileged);

        var result = await env.Engine.SubmitAsync(Deprov.Testing.Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
        var steps = await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None);
        Assert.True(kase.CutVerifiedAt is not null, string.Join("\n", steps.Select(s => $"{s.Action} {s.Target} {s.Status} {s.Error}")));
        Assert.False(server.IsActive(ann));
        Assert.True(server.IsActive(bob));
        Assert.False(server.IsMember(engineering, ann));
        Assert.False(server.IsMember(admins, ann));
        Assert.True(server.IsMember(engineering, bob));
        Assert.All(server.Requests, r => Assert.Equal("Bearer", r.AuthScheme));
        Assert.True((await env.Engine.Store.VerifyAuditChainAsync(CancellationToken.None)).Ok);
        await foreach (var r in env.Engine.Store.ReadAuditAsync(1, CancellationToken.None))
        {
            Assert.DoesNotContain("e2e-token", $"{r.Entry.Before}{r.Entry.After}{r.Entry.Detail}", StringComparison.Ordinal);
        }
    }
}
