using Deprov.Connectors.Google.Tests.Fake;
using Deprov.Core.Model;
using Deprov.Testing;

namespace Deprov.Connectors.Google.Tests;

/// <summary>A leaver case through the engine, with Google Workspace configured in deprov.yaml as <c>kind: google</c> against the fake.</summary>
public sealed class GoogleEngineLeaverTests
{
    [Fact]
    public async Task Leave_PersonInWorkspace_SuspendedSignedOutPasswordResetTokensRevokedGroupsRemovedCaseVerified()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com", employeeId: "ann");
        var bob = server.AddUser("bob@example.com", employeeId: "bob");
        ann.Tokens.Add("1234.apps.googleusercontent.com");
        ann.Asps.Add(7);
        ann.BackupCodes.Add("48213307");
        var eng = server.AddGroup("eng@example.com", ann, bob);
        var admins = server.AddGroup("it-admins@example.com", ann);
        var keyPath = Path.Combine(Path.GetTempPath(), $"google-sa-{Guid.NewGuid():N}.json");
        var keyJson = server.KeyJson();
        await File.WriteAllTextAsync(keyPath, keyJson);
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
                      privileged_groups: ["*admin*"]
                """;
            var env = await TestEnvironment.CreateAsync(yaml, factories: [new GoogleConnectorFactory()]);
            await using var _ = env;
            var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
            await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
            await env.DiscoverAsync();
            var map = (await env.Engine.Store.GetAccessMapsAsync(["ann"], CancellationToken.None)).Single();
            Assert.Single(map.Accounts);
            Assert.Equal(2, map.Assignments.Count);
            Assert.Contains(map.Entitlements, e => e.Name == "it-admins@example.com" && e.Privileged);
            Assert.Single(map.CredentialsOwned);

            var result = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
            await env.RunUntilIdleAsync();

            var kase = (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
            var steps = await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None);
            Assert.True(kase.CutVerifiedAt is not null, string.Join("\n", steps.Select(s => $"{s.Action} {s.Target} {s.Status} {s.Error}")));
            Assert.True(server.User(ann.Id)!.Suspended);
            Assert.False(server.User(bob.Id)!.Suspended);
            Assert.Equal(1, server.User(ann.Id)!.SignOuts);
            Assert.Empty(ann.Tokens);
            Assert.Empty(ann.Asps);
            Assert.Empty(ann.BackupCodes);
            Assert.False(server.Read(() => eng.Members.ContainsKey(ann.Id)));
            Assert.False(server.Read(() => admins.Members.ContainsKey(ann.Id)));
            Assert.True(server.Read(() => eng.Members.ContainsKey(bob.Id)));
            foreach (var action in new[] { ActionKind.DisableAccount, ActionKind.RevokeSessions, ActionKind.ResetPassword, ActionKind.RemoveEntitlement, ActionKind.RevokeToken })
            {
                Assert.Contains(steps, s => s.Action == action && s.Status == StepStatus.Verified);
            }

            var password = server.User(ann.Id)!.Password!;
            Assert.True(server.User(ann.Id)!.ChangePasswordAtNextLogin);
            Assert.Null(server.User(bob.Id)!.Password);
            Assert.True((await env.Engine.Store.VerifyAuditChainAsync(CancellationToken.None)).Ok);
            var pem = keyJson.Split("\\n")[1];
            await foreach (var r in env.Engine.Store.ReadAuditAsync(1, CancellationToken.None))
            {
                var text = $"{r.Entry.Before}{r.Entry.After}{r.Entry.Detail}";
                Assert.DoesNotContain(pem, text, StringComparison.Ordinal);
                Assert.DoesNotContain("48213307", text, StringComparison.Ordinal);
                Assert.DoesNotContain("ya29.", text, StringComparison.Ordinal);
                Assert.DoesNotContain(password, text, StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(keyPath);
        }
    }

    [Fact]
    public async Task Leave_PersonHoldingWorkspaceLicence_SeatReclaimedAndRehireAssignsItBack()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com", employeeId: "ann");
        var bob = server.AddUser("bob@example.com", employeeId: "bob");
        var sku = server.AddSku("Google-Apps", "1010020027", "Google Workspace Business Starter", ann, bob);
        var keyPath = Path.Combine(Path.GetTempPath(), $"google-sa-{Guid.NewGuid():N}.json");
        await File.WriteAllTextAsync(keyPath, server.KeyJson());
        try
        {
            var yaml = $$"""
                systems:
                  - id: workspace
                    kind: google
                    role: identity_provider
                    correlate: [employee_id, email]
                    settings:
                      admin_email: {{GoogleTestServer.AdminEmail}}
                      key: file:{{keyPath}}
                      customer: {{GoogleTestServer.CustomerId}}
                      base_url: "{{server.Root}}"
                      licensing_base_url: "{{server.Root}}"
                      devices: false
                      tokens: false
                      licences:
                        - {product: Google-Apps, sku: "1010020027"}
                """;
            var env = await TestEnvironment.CreateAsync(yaml, factories: [new GoogleConnectorFactory()]);
            await using var _ = env;
            var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
            await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
            await env.DiscoverAsync();
            var map = (await env.Engine.Store.GetAccessMapsAsync(["ann"], CancellationToken.None)).Single();
            var licence = Assert.Single(map.Entitlements, e => e.Kind == EntitlementKind.Licence);
            Assert.Equal("Google Workspace Business Starter", licence.Name);

            var leave = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
            await env.RunUntilIdleAsync();

            var steps = await env.Engine.Store.GetStepsAsync(leave.Plan!.Case.Id, CancellationToken.None);
            var reclaim = Assert.Single(steps, s => s.Action == ActionKind.ReclaimLicence);
            Assert.Equal((StepCategory.Licences, StepStatus.Verified), (reclaim.Category, reclaim.Status));
            Assert.Equal([bob.Id], server.Read(() => sku.Holders.ToList()));
            Assert.True(server.User(ann.Id)!.Suspended);

            var rehire = await env.Engine.SubmitAsync(Some.Event(EventKind.Rehire, "ann", env.Time.GetUtcNow()), "admin:hr", CancellationToken.None);
            await env.RunUntilIdleAsync();

            Assert.Equal(CaseKind.Restore, rehire.Plan!.Case.Kind);
            var restoreSteps = await env.Engine.Store.GetStepsAsync(rehire.Plan.Case.Id, CancellationToken.None);
            Assert.Contains(restoreSteps, s => s.Action == ActionKind.AssignLicence && s.Status == StepStatus.Verified);
            Assert.Equal([bob.Id, ann.Id], server.Read(() => sku.Holders.ToList()));
            Assert.False(server.User(ann.Id)!.Suspended);
        }
        finally
        {
            File.Delete(keyPath);
        }
    }
}
