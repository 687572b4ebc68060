using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Hosting.Diagnostics;
using Deprov.Testing;

namespace Deprov.Hosting.Tests.Diagnostics;

/// <summary>The doctor against the sandbox (every probe passes), a system whose confirmation path lies, one that refuses
/// the credentials and one whose base holds no account. Never changes a system.</summary>
public sealed class SystemDoctorTests
{
    private static readonly CancellationToken None = CancellationToken.None;

    private const string Yaml = """
        systems:
          - { id: directory, kind: sandbox, role: directory, correlate: [attribute:employeeNumber], settings: { flavour: directory } }
          - { id: slack, kind: KIND, role: application, settings: { flavour: app } }
        """;

    private static async Task<TestEnvironment> SeededAsync(Misbehaviour? slack, Action<Dictionary<string, SandboxSystemState>>? shape = null)
    {
        var factories = slack is { } b ? new[] { new MisbehavingConnectorFactory("misbehaving", b) } : [];
        var env = await TestEnvironment.CreateAsync(Yaml.Replace("KIND", slack is null ? "sandbox" : "misbehaving", StringComparison.Ordinal), factories: factories);
        var people = Enumerable.Range(0, 4).Select(_ => Some.Person()).ToList();
        var systems = Some.Systems(people).Where(kv => kv.Key is "directory" or "slack").ToDictionary(kv => kv.Key, kv => kv.Value);
        shape?.Invoke(systems);
        if (slack == Misbehaviour.RefusesCredentials)
        {
            await using var world = env.AcquireWorld();
            await world.ResetAsync(systems, None);
            await env.Engine.Store.UpsertPeopleAsync(people, None);
        }
        else
        {
            await env.SeedAsync(people, systems);
        }

        return env;
    }

    [Fact]
    public async Task CheckAsync_Sandbox_EveryProbePasses_AndNothingChanges()
    {
        await using var env = await SeededAsync(null);
        await using var world = env.AcquireWorld();
        var before = world.ChangedCountsByKey().Values.Sum();

        var checks = await new SystemDoctor(env.Engine).CheckAsync(null, None);

        Assert.Equal(["directory", "slack"], checks.Select(c => c.SystemId));
        foreach (var c in checks)
        {
            Assert.True(c.Passed, string.Join("\n", c.Probes));
            Assert.Equal([SystemDoctor.Connect, SystemDoctor.AccountsProbe, SystemDoctor.ConfirmMembership, SystemDoctor.ConfirmDisable], c.Probes.Select(p => p.Probe));
            Assert.All(c.Probes, p => Assert.Equal(ProbeStatus.Pass, p.Status));
        }

        Assert.Equal(before, world.ChangedCountsByKey().Values.Sum());
    }

    [Fact]
    public async Task CheckAsync_ConfirmationPathLies_FailsNamingTheSystemAndTheAction()
    {
        await using var env = await SeededAsync(Misbehaviour.ConfirmsEverything);

        var checks = await new SystemDoctor(env.Engine).CheckAsync(["directory", "slack"], None);

        Assert.True(checks[0].Passed);
        var slack = checks[1];
        Assert.False(slack.Passed);
        var membership = Assert.Single(slack.Probes, p => p.Probe == SystemDoctor.ConfirmMembership);
        var disable = Assert.Single(slack.Probes, p => p.Probe == SystemDoctor.ConfirmDisable);
        Assert.Equal((ProbeStatus.Fail, ProbeStatus.Fail), (membership.Status, disable.Status));
        Assert.Contains("'slack' would report remove_entitlement verified", membership.Detail, StringComparison.Ordinal);
        Assert.Contains("'slack' would report disable_account verified", disable.Detail, StringComparison.Ordinal);
        Assert.Contains("do not trust verified remove_entitlement steps on 'slack'", membership.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_CredentialsRefused_FailsConnectWithTheConnectorsDiagnosisAndAFix()
    {
        await using var env = await SeededAsync(Misbehaviour.RefusesCredentials);

        var slack = Assert.Single(await new SystemDoctor(env.Engine).CheckAsync(["slack"], None));

        var probe = Assert.Single(slack.Probes);
        Assert.Equal((SystemDoctor.Connect, ProbeStatus.Fail), (probe.Probe, probe.Status));
        Assert.Contains("401 Unauthorized: the bearer token was refused", probe.Detail, StringComparison.Ordinal);
        Assert.Contains("check the credentials", probe.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_BaseHoldsNoAccount_FailsAccountsWithTheFix()
    {
        await using var env = await SeededAsync(null, systems => systems["slack"] = new SandboxSystemState());

        var slack = Assert.Single(await new SystemDoctor(env.Engine).CheckAsync(["slack"], None));

        Assert.False(slack.Passed);
        var probe = Assert.Single(slack.Probes, p => p.Probe == SystemDoctor.AccountsProbe);
        Assert.Equal(ProbeStatus.Fail, probe.Status);
        Assert.Contains("holds no account", probe.Detail, StringComparison.Ordinal);
        Assert.Contains("users.base", probe.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_NoMembershipListed_SkipsThatProbeWithoutPassingIt()
    {
        await using var env = await SeededAsync(null, systems =>
        {
            foreach (var g in systems["slack"].Members.Values)
            {
                g.Clear();
            }
        });

        var slack = Assert.Single(await new SystemDoctor(env.Engine).CheckAsync(["slack"], None));

        Assert.Equal(ProbeStatus.Skipped, Assert.Single(slack.Probes, p => p.Probe == SystemDoctor.ConfirmMembership).Status);
        Assert.Equal(ProbeStatus.Pass, Assert.Single(slack.Probes, p => p.Probe == SystemDoctor.ConfirmDisable).Status);
    }

    [Fact]
    public async Task CheckAsync_UnknownSystem_IsNotFound()
    {
        await using var env = await SeededAsync(null);
        var ex = await Assert.ThrowsAsync<NotFoundException>(() => new SystemDoctor(env.Engine).CheckAsync(["nope"], None));
        Assert.Contains("Configured: directory, slack", ex.Message, StringComparison.Ordinal);
    }
}
