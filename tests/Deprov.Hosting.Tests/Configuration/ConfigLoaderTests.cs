using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Hosting;
using Deprov.Hosting.Configuration;

namespace Deprov.Hosting.Tests.Configuration;

public sealed class ConfigLoaderTests
{
    private static readonly IReadOnlyDictionary<string, Core.Connectors.IConnectorFactory> Factories = DeprovHost.Factories([new SandboxConnectorFactory()]);

    private static ValidationException Fails(string yaml) =>
        Assert.Throws<ValidationException>(() => ConfigLoader.Parse(yaml, "/etc/deprov/deprov.yaml", Factories));

    [Fact]
    public void Load_RepositoryExample_IsValid()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Deprov.slnx")))
        {
            root = Path.GetDirectoryName(root)!;
        }

        var config = ConfigLoader.Load(Path.Combine(root, "deprov.yaml"), Factories);
        Assert.Equal(9, config.Systems.Count);
        Assert.Equal("involuntary-exit", config.Policy.Rules[0].Name);
        Assert.Equal(2, config.Policy.Schedules["notice-then-last-day"].Stages.Count);
        Assert.Equal(3, config.Policy.Phases.Count);
        Assert.Equal(90, config.Systems.Single(s => s.System.Id == "salesforce").System.RetentionDays);
        Assert.Contains(config.Policy.ManualTasks, t => t.Name == "badge-collection" && t.Team == Team.Facilities);
    }

    [Fact]
    public void Parse_SeveralMistakes_ReportsEveryOneWithLineKeyAndFix()
    {
        var ex = Fails("""
            store:
              path: x.db
            systems:
              - id: Directory
                kind: sandbox
                role: directroy
                retention_days: -4
                settings: { flavour: directory }
              - id: app
                kind: salesforce-magic
            policy:
              rules:
                - name: only-leavers
                  when: { event: leave }
                  plan: staged
            """);
        var lines = ex.Errors.Select(e => e.ToString()).ToList();
        Assert.Contains(lines, l => l.StartsWith("/etc/deprov/deprov.yaml:4: 'systems[0].id': 'Directory' must be lower-case", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(":6: 'systems[0].role': is 'directroy'", StringComparison.Ordinal) && l.Contains("use one of: directory, identity_provider", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(":7: 'systems[0].retention_days': is -4; must be between 0 and 3650", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(":10: 'systems[1].kind': 'salesforce-magic' is not a known connector kind", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("'policy.rules[0].plan': refers to schedule 'staged'", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("has no catch-all last rule", StringComparison.Ordinal));
        Assert.True(ex.Errors.Count >= 6);
        Assert.All(ex.Errors, e => Assert.False(string.IsNullOrEmpty(e.Fix)));
    }

    [Fact]
    public void Parse_MaxRateLimitWaits_ReadBesideMaxAttemptsWithItsDefaultAndRange()
    {
        const string Systems = "systems:\n  - id: a\n    kind: sandbox\n    settings: { flavour: app }\n";
        Assert.Equal(100, ConfigLoader.Parse(Systems, "deprov.yaml", Factories).Policy.Execution.MaxRateLimitWaits);
        var set = ConfigLoader.Parse(Systems + "policy:\n  execution: { max_attempts: 4, max_rate_limit_waits: 250 }\n", "deprov.yaml", Factories).Policy.Execution;
        Assert.Equal((4, 250), (set.MaxAttempts, set.MaxRateLimitWaits));
        var ex = Fails(Systems + "policy:\n  execution: { max_rate_limit_waits: 0 }\n");
        Assert.Contains(ex.Errors, e => e.Key == "policy.execution.max_rate_limit_waits" && e.Problem.Contains("must be between 1 and 100000", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_BrokenYaml_NamesTheLine()
    {
        var ex = Fails("store:\n  path: x.db\nsystems:\n  - id: a\n   kind: sandbox\n");
        var e = Assert.Single(ex.Errors);
        Assert.Equal("/etc/deprov/deprov.yaml", e.File);
        Assert.NotNull(e.Line);
        Assert.Contains("not valid YAML", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownKey_SuggestsTheRightOne()
    {
        var ex = Fails("systems:\n  - id: a\n    kind: sandbox\n    retention_dayz: 3\n    settings: { flavour: app }\n");
        Assert.Contains(ex.Errors, e => e.Line == 4 && e.Fix!.Contains("did you mean 'retention_days'", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_LiteralConnectionString_IsRefused()
    {
        var ex = Fails("store:\n  connection_string: Host=db;Password=hunter2\nsystems:\n  - { id: a, kind: sandbox, settings: { flavour: app } }\n");
        var e = Assert.Single(ex.Errors);
        Assert.Contains("env:VARIABLE", e.Fix, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SandboxSettingsWrong_ConnectorValidationIsReported()
    {
        var ex = Fails("systems:\n  - id: a\n    kind: sandbox\n    settings:\n      flavour: mainframe\n      failure_rate: 2\n");
        Assert.Contains(ex.Errors, e => e.Key == "systems[0].settings.flavour" && e.Line == 5);
        Assert.Contains(ex.Errors, e => e.Key == "systems[0].settings.failure_rate" && e.Line == 6);
    }

    [Fact]
    public void Parse_StageWithoutAll_AndCategoryTwice_AreReported()
    {
        var ex = Fails("""
            systems:
              - { id: a, kind: sandbox, settings: { flavour: app } }
            policy:
              schedules:
                bad:
                  - { stage: one, at: notice, cut: [privileged] }
                  - { stage: two, at: effective+3x, cut: [privileged] }
            """);
        Assert.Contains(ex.Errors, e => e.Problem.Contains("already cut by an earlier stage", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Problem.Contains("'3x' is not a duration", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Problem.Contains("no stage that cuts 'all'", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_RoleNamesUnknownSystem_IsReported()
    {
        var ex = Fails("systems:\n  - { id: a, kind: sandbox, settings: { flavour: app } }\npolicy:\n  roles:\n    - name: eng\n      entitlements: [github:engineering]\n");
        Assert.Contains(ex.Errors, e => e.Problem.Contains("names system 'github'", StringComparison.Ordinal));
    }

    [Fact]
    public void Load_MissingFile_SaysHowToFix()
    {
        var ex = Assert.Throws<ValidationException>(() => ConfigLoader.Load("/nonexistent/deprov.yaml", Factories));
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);
        Assert.Contains("--config", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SecretResolver_MissingVariable_NamesItWithoutAValue()
    {
        var resolver = new SecretResolver(_ => null);
        var ex = Assert.Throws<ValidationException>(() => resolver.Resolve("env:LDAP_PW", "the LDAP bind password"));
        Assert.Contains("LDAP_PW", ex.Message, StringComparison.Ordinal);
        Assert.Equal("s3cret", new SecretResolver(n => n == "LDAP_PW" ? "s3cret" : null).Resolve("env:LDAP_PW", "x"));
        Assert.Throws<ValidationException>(() => resolver.Resolve("s3cret", "x"));
    }
}
