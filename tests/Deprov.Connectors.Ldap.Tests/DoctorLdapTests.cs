using Deprov.Hosting.Diagnostics;
using Deprov.Testing;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary><c>deprov check</c>'s doctor against a real slapd: a correct configuration passes every probe; a base that
/// exists but is the wrong subtree, or a refused password, fails with the fix.</summary>
[Collection(SlapdCollection.Name)]
public sealed class DoctorLdapTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly SlapdFixture _slapd;

    public DoctorLdapTests(SlapdFixture slapd) => _slapd = slapd;

    private async Task<(TestEnvironment Env, Some.Tree Tree)> EnvironmentAsync(Func<string, Some.Tree, string>? edit = null)
    {
        var tree = await _slapd.NewTreeAsync(3, new Dictionary<string, (string Kind, int[] Members)> { ["staff"] = ("groupOfNames", [0, 1, 2]) });
        var yaml = _slapd.SystemsYaml(tree, "DEPROV_DOCTOR_LDAP_PASSWORD", "employee_id");
        var env = await TestEnvironment.CreateAsync(edit?.Invoke(yaml, tree) ?? yaml, factories: [new LdapConnectorFactory()]);
        return (env, tree);
    }

    [Fact]
    public async Task CheckAsync_CorrectConfiguration_EveryProbePasses()
    {
        var (env, tree) = await EnvironmentAsync();
        await using var _ = env;

        var check = Assert.Single(await new SystemDoctor(env.Engine).CheckAsync(["corp-ldap"], None));

        Assert.True(check.Passed, string.Join("\n", check.Probes));
        Assert.All(check.Probes, p => Assert.Equal(ProbeStatus.Pass, p.Status));
        Assert.Contains(check.Probes, p => p.Probe == SystemDoctor.ConfirmMembership);
        Assert.Contains(check.Probes, p => p.Probe == SystemDoctor.ConfirmDisable);
        Assert.Contains(await _slapd.ValuesAsync(tree.GroupDn("staff"), "member"), v => v.Contains("uid=u00000", StringComparison.Ordinal)); // read only: still a member
    }

    [Fact]
    public async Task CheckAsync_BaseIsAnExistingButWrongSubtree_FailsAccountsWithTheFix()
    {
        var (env, _) = await EnvironmentAsync((yaml, tree) => yaml.Replace($"users: {{ base: \"{tree.People}\" }}", $"users: {{ base: \"{tree.Disabled}\" }}", StringComparison.Ordinal));
        await using var _ = env;

        var check = Assert.Single(await new SystemDoctor(env.Engine).CheckAsync(["corp-ldap"], None));

        Assert.False(check.Passed);
        var probe = Assert.Single(check.Probes, p => p.Probe == SystemDoctor.AccountsProbe);
        Assert.Equal(ProbeStatus.Fail, probe.Status);
        Assert.Contains("users.base", probe.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_WrongPassword_FailsConnectWithTheDirectorysAnswer()
    {
        var (env, _) = await EnvironmentAsync();
        await using var _ = env;
        Environment.SetEnvironmentVariable("DEPROV_DOCTOR_LDAP_PASSWORD", "not-the-password");
        try
        {
            var check = Assert.Single(await new SystemDoctor(env.Engine).CheckAsync(["corp-ldap"], None));

            var probe = Assert.Single(check.Probes);
            Assert.Equal((SystemDoctor.Connect, ProbeStatus.Fail), (probe.Probe, probe.Status));
            Assert.Contains("credentials", probe.Detail + probe.Fix, StringComparison.OrdinalIgnoreCase);
        }
        finally
        {
            Environment.SetEnvironmentVariable("DEPROV_DOCTOR_LDAP_PASSWORD", _slapd.Server.ServicePassword);
        }
    }
}
