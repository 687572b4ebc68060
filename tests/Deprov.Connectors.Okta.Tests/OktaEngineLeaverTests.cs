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
}
