using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Reconciliation;
using Deprov.Hosting.Configuration;

namespace Deprov.Hosting.Tests.Configuration;

public sealed class ReconciliationConfigTests
{
    private static readonly IReadOnlyDictionary<string, Core.Connectors.IConnectorFactory> Factories = DeprovHost.Factories([new SandboxConnectorFactory()]);

    private const string Systems = """
        systems:
          - { id: okta, kind: sandbox, settings: { flavour: idp } }
          - id: zoom
            kind: sandbox
            correlate: [employee_id, "username:{id}"]
            settings: { flavour: app }

        """;

    [Fact]
    public void Parse_ReconciliationSection_BindsPerSystemValuesWithDefaults()
    {
        var config = ConfigLoader.Parse(Systems + """
            reconciliation:
              schedule: { default: every 6h, okta: 1h, zoom: off }
              dormant_days: { default: 90, zoom: 30 }
              reactions:
                orphan: { default: report, okta: task }
                leaver_still_active: remediate
            """, "/etc/deprov/deprov.yaml", Factories);

        var r = config.Reconciliation;
        Assert.Equal((TimeSpan.FromHours(1), TimeSpan.Zero), (r.ScheduleFor("okta"), r.ScheduleFor("zoom")));
        Assert.Equal((90, 30), (r.DormantDaysFor("okta"), r.DormantDaysFor("zoom")));
        Assert.Equal((FindingReaction.Task, FindingReaction.Report), (r.ReactionFor(FindingKind.Orphan, "okta"), r.ReactionFor(FindingKind.Orphan, "zoom")));
        Assert.Equal(FindingReaction.Remediate, r.ReactionFor(FindingKind.LeaverStillActive, "zoom"));
        Assert.Equal(FindingReaction.Remediate, r.ReactionFor(FindingKind.Drift, "zoom")); // the default
        Assert.Equal(FindingReaction.Report, r.ReactionFor(FindingKind.Dormant, "zoom"));
    }

    [Fact]
    public void Parse_BadReconciliationValues_ReportsEveryProblemWithItsKey()
    {
        var ex = Assert.Throws<ValidationException>(() => ConfigLoader.Parse(Systems + """
            reconciliation:
              schedule: { default: sometimes, jira: 1h }
              dormant_days: { zoom: many }
              reactions:
                orphans: report
                drift: { okta: ignore }
              extra: 1
            """, "/etc/deprov/deprov.yaml", Factories));

        Assert.Equal(6, ex.Errors.Count);
        Assert.Contains(ex.Errors, e => e.Key!.EndsWith("schedule.default", StringComparison.Ordinal) && e.Problem.Contains("'sometimes'", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Problem.Contains("'jira' is not a configured system", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Key!.EndsWith("dormant_days.zoom", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Problem.Contains("'orphans' is not a finding kind", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Problem.Contains("'ignore'", StringComparison.Ordinal) && e.Fix!.Contains("remediate", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Key!.EndsWith("extra", StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_BadCorrelationPattern_IsRejected()
    {
        var ex = Assert.Throws<ValidationException>(() => ConfigLoader.Parse("""
            systems:
              - { id: zoom, kind: sandbox, correlate: ["username:adm-", shoe_size], settings: { flavour: app } }
            """, "/etc/deprov/deprov.yaml", Factories));
        Assert.Equal(2, ex.Errors.Count);
        Assert.Contains(ex.Errors, e => e.Problem.Contains("{local} or {id}", StringComparison.Ordinal));
    }
}
