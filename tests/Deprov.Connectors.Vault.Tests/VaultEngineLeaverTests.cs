using Deprov.Connectors.Vault.Tests.Fake;
using Deprov.Core.Model;
using Deprov.Testing;

namespace Deprov.Connectors.Vault.Tests;

/// <summary>A leaver case through the engine, with Vault configured in deprov.yaml as <c>kind: vault</c> against the fake.</summary>
public sealed class VaultEngineLeaverTests
{
    [Fact]
    public async Task Leave_PersonWhoKnewASharedSecret_SecretRotatedTokensRevokedCaseVerified()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.PutSecret("shared/db-admin", new() { ["username"] = "sa", ["password"] = "known-to-ann" }, new() { ["known_by"] = "ann, bob", ["owner"] = "bob" });
        server.PutSecret("shared/bob-only", new() { ["password"] = "known-to-bob" }, new() { ["known_by"] = "bob" });
        server.Login("ldap", "ann");
        server.Login("ldap", "bob");
        Environment.SetEnvironmentVariable("DEPROV_E2E_VAULT_TOKEN", server.RootToken);
        var yaml = $$"""
            systems:
              - id: vault
                kind: vault
                role: vault
                risk: critical
                settings:
                  address: "{{server.Address}}"
                  auth: { type: token, token: env:DEPROV_E2E_VAULT_TOKEN }
                  kv_prefixes: [shared]
                  auth_mounts: [ldap]
                  email_domain: example.com
            """;
        var env = await TestEnvironment.CreateAsync(yaml, factories: [new VaultConnectorFactory()]);
        await using var _ = env;
        var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
        await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
        await env.DiscoverAsync();

        var result = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        Assert.Contains(result.Plan!.Steps, s => s.Action == ActionKind.RotateCredential);
        Assert.Contains(result.Plan!.Steps, s => s.Action == ActionKind.RevokeToken);
        await env.RunUntilIdleAsync();

        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
        var steps = await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None);
        Assert.True(kase.CutVerifiedAt is not null, string.Join("\n", steps.Select(s => $"{s.Action} {s.Target} {s.Status} {s.Error}")));
        Assert.Equal(2, server.Version("shared/db-admin"));
        var newValue = server.Data("shared/db-admin")["password"];
        Assert.NotEqual("known-to-ann", newValue);
        Assert.Equal(1, server.Version("shared/bob-only"));
        Assert.Equal(0, server.LeaseCount("auth/ldap/login/ann/"));
        Assert.Equal(1, server.LeaseCount("auth/ldap/login/bob/"));
        Assert.Contains(steps, s => s.Action == ActionKind.RotateCredential && s.Status == StepStatus.Verified);
        Assert.Contains(steps, s => s.Action == ActionKind.RevokeToken && s.Status == StepStatus.Verified);

        Assert.True((await env.Engine.Store.VerifyAuditChainAsync(CancellationToken.None)).Ok);
        await foreach (var r in env.Engine.Store.ReadAuditAsync(1, CancellationToken.None))
        {
            var text = $"{r.Entry.Before}{r.Entry.After}{r.Entry.Detail}";
            Assert.DoesNotContain(newValue, text, StringComparison.Ordinal);
            Assert.DoesNotContain("known-to-ann", text, StringComparison.Ordinal);
            Assert.DoesNotContain(server.RootToken, text, StringComparison.Ordinal);
        }
    }
}
