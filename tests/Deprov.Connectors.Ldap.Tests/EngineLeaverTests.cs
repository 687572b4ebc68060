using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Testing;
using Deprov.Testing.Ldap;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>A leaver case through the engine, with the directory configured in deprov.yaml as <c>kind: ldap</c> against a real slapd.</summary>
[Collection(SlapdCollection.Name)]
public sealed class EngineLeaverTests
{
    private readonly SlapdFixture _slapd;

    public EngineLeaverTests(SlapdFixture slapd) => _slapd = slapd;

    [Fact]
    public async Task Leave_DirectoryOnLdap_AccountLockedGroupsRemovedCaseVerified()
    {
        var tree = await _slapd.NewTreeAsync(3, new Dictionary<string, (string Kind, int[] Members)>
        {
            ["staff"] = ("groupOfNames", [0, 1, 2]),
            ["admins"] = ("groupOfUniqueNames", [0, 2]),
            ["unix"] = ("posixGroup", [0, 1]),
        });
        var server = _slapd.Server;
        var yaml = _slapd.SystemsYaml(tree, "DEPROV_E2E_LDAP_PASSWORD", "attribute:employeeNumber");
        var env = await TestEnvironment.CreateAsync(yaml, factories: [new LdapConnectorFactory()]);
        await using var _ = env;
        var people = Enumerable.Range(0, 3).Select(i => new Person($"E{i:D5}", $"u{i:D5}@{tree.Ou}.example.com", $"User {i}", null, "Engineering", "Engineer", "Paris",
            WorkerType.Employee, PersonStatus.Active, null, null, "Europe/Paris")).ToList();
        await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
        await env.DiscoverAsync();
        var map = (await env.Engine.Store.GetAccessMapsAsync(["E00000"], CancellationToken.None)).Single();
        Assert.Single(map.Accounts);
        Assert.Equal(3, map.Assignments.Count);
        Assert.Contains(map.Entitlements, e => e.Name == "admins" && e.Privileged);

        var result = await env.Engine.SubmitAsync(Deprov.Testing.Some.Leave("E00000", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
        var steps = await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None);
        Assert.True(kase.CutVerifiedAt is not null, string.Join("\n", steps.Select(s => $"{s.Action} {s.Target} {s.Status} {s.Error}")));
        Assert.Equal(CaseStatus.Scheduled, kase.Status); // the delete waits for retention
        Assert.NotEmpty(await _slapd.ValuesAsync(tree.UserDn(0), "pwdAccountLockedTime"));
        Assert.NotEqual(0, await server.TryBindAsync(tree.UserDn(0), Some.Tree.Password(0)));           // the leaver cannot sign in
        Assert.Equal(0, await server.TryBindAsync(tree.UserDn(1), Some.Tree.Password(1)));              // a colleague still can
        Assert.DoesNotContain(await _slapd.ValuesAsync(tree.GroupDn("staff"), "member"), v => v.Contains("uid=u00000", StringComparison.Ordinal));
        Assert.DoesNotContain(await _slapd.ValuesAsync(tree.GroupDn("admins"), "uniqueMember"), v => v.Contains("uid=u00000", StringComparison.Ordinal));
        Assert.DoesNotContain("u00000", await _slapd.ValuesAsync(tree.GroupDn("unix"), "memberUid"));
        Assert.Contains(await _slapd.ValuesAsync(tree.GroupDn("staff"), "member"), v => v.Contains("uid=u00001", StringComparison.Ordinal));
        Assert.True((await env.Engine.Store.VerifyAuditChainAsync(CancellationToken.None)).Ok);
        var audit = new List<string>();
        await foreach (var r in env.Engine.Store.ReadPersonAuditAsync("E00000", CancellationToken.None))
        {
            audit.Add(r.Entry.Action + ":" + r.Entry.Outcome);
            Assert.DoesNotContain(server.ServicePassword, r.Entry.Detail ?? string.Empty, StringComparison.Ordinal);
        }

        Assert.Contains("disable_account:ok", audit);
        Assert.Contains("reset_password:ok", audit);
    }
}
