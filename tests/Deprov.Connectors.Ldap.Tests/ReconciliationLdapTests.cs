using Deprov.Core.Model;
using Deprov.Core.Reconciliation;
using Deprov.Core.Store;
using Deprov.Hosting.Reconciliation;
using Deprov.Testing;
using Deprov.Testing.Ldap;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>Reconciliation against a real slapd: findings from a real directory, and drift re-revoked through the engine.</summary>
/// <remarks>OpenLDAP reports no sign-in times, so dormancy is not judged here (the connector says so in its descriptor).</remarks>
[Collection(SlapdCollection.Name)]
public sealed class ReconciliationLdapTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly SlapdFixture _slapd;

    public ReconciliationLdapTests(SlapdFixture slapd) => _slapd = slapd;

    [Fact]
    public async Task Reconcile_RealDirectory_FindsOrphanLeaverAndDrift_AndReRevokesTheDrift()
    {
        var tree = await _slapd.NewTreeAsync(3, new Dictionary<string, (string Kind, int[] Members)>
        {
            ["staff"] = ("groupOfNames", [0, 1, 2]),
            ["admins"] = ("groupOfUniqueNames", [0, 2]),
        });
        var server = _slapd.Server;
        var yaml = _slapd.SystemsYaml(tree, "DEPROV_RECON_LDAP_PASSWORD", "employee_id");
        var env = await TestEnvironment.CreateAsync(yaml, factories: [new LdapConnectorFactory()]);
        await using var _ = env;
        Person P(int i, PersonStatus status) => new($"E{i:D5}", $"u{i:D5}@{tree.Ou}.example.com", $"User {i}", null, "Engineering", "Engineer", "Paris",
            WorkerType.Employee, status, null, null, "Europe/Paris");

        // u00002 has no person (orphan); E00001 has left but their account is active.
        await env.Engine.Store.UpsertPeopleAsync([P(0, PersonStatus.Active), P(1, PersonStatus.Left)], None);
        await env.DiscoverAsync();
        await env.Engine.SubmitAsync(Deprov.Testing.Some.Leave("E00000", env.Time.GetUtcNow()), "admin:test", None);
        await env.RunUntilIdleAsync();
        Assert.DoesNotContain(await _slapd.ValuesAsync(tree.GroupDn("staff"), "member"), v => v.Contains("uid=u00000", StringComparison.Ordinal));

        // Someone puts the leaver back into 'staff' directly in the directory.
        await server.ModifyAsync($"dn: {tree.GroupDn("staff")}\nchangetype: modify\nadd: member\nmember: {tree.UserDn(0)}\n");
        var results = await new Reconciler(env.Engine).ReconcileAsync(null, "admin:test", force: false, null, None);
        Assert.Null(Assert.Single(results).Error);

        var findings = await env.Engine.Store.ListFindingsAsync(new FindingQuery(), None);
        Assert.Contains(findings, f => f.Kind == FindingKind.Orphan && f.Evidence.Contains("u00002", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Kind == FindingKind.LeaverStillActive && f.PersonId == "E00001");
        var drift = Assert.Single(findings, f => f.Kind == FindingKind.Drift);
        Assert.Equal(("E00000", FindingReaction.Remediate), (drift.PersonId, drift.Reaction));
        Assert.DoesNotContain(findings, f => f.Kind == FindingKind.Dormant);

        await env.RunUntilIdleAsync();
        Assert.DoesNotContain(await _slapd.ValuesAsync(tree.GroupDn("staff"), "member"), v => v.Contains("uid=u00000", StringComparison.Ordinal));
        var kase = (await env.Engine.Store.GetCaseAsync(drift.ReactionRef!, None))!;
        Assert.Equal((CaseKind.Remediation, CaseStatus.Verified), (kase.Kind, kase.Status));
        var alerts = new List<string>();
        await foreach (var r in env.Engine.Store.ReadPersonAuditAsync("E00000", None))
        {
            if (r.Entry.Action == "alert")
            {
                alerts.Add(r.Entry.Target ?? string.Empty);
            }
        }

        Assert.Equal(drift.Target, Assert.Single(alerts));
    }
}
