using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Hosting;
using Deprov.Hosting.Configuration;

namespace Deprov.Connectors.BambooHr.Tests;

public sealed class HrSourceConfigTests
{
    private const string Systems = "store: { path: deprov.db }\nsystems:\n  - { id: slack, kind: sandbox, settings: { flavour: app } }\n";

    [Fact]
    public void Parse_BadHrSources_ReportsEveryProblemAtOnce()
    {
        var yaml = Systems + """
            hr_sources:
              - id: Bamboo HR
                kind: bamboohr
                interval: 5s
                max_shrink: lots
                status: { values: { Gone: fired } }
              - { id: b2, interval: 1 hour }
            """;

        var ex = Assert.Throws<ValidationException>(() => ConfigLoader.Parse(yaml, "/tmp/deprov.yaml", DeprovHost.Factories([new SandboxConnectorFactory()])));

        var keys = ex.Errors.Select(e => e.Key).ToList();
        Assert.Contains(ex.Errors, e => e.Key!.EndsWith(".id", StringComparison.Ordinal) && e.Problem.Contains("Bamboo HR", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Key!.EndsWith(".interval", StringComparison.Ordinal) && e.Problem.Contains("30 s", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Key!.EndsWith(".max_shrink", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Problem.Contains("'fired' is not a status meaning", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Key!.EndsWith(".kind", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Problem.Contains("'1 hour'", StringComparison.Ordinal));
        Assert.True(keys.Count >= 6, string.Join("; ", ex.Errors.Select(e => $"{e.Key}: {e.Problem}")));
    }

    [Fact]
    public async Task OpenAsync_LiteralApiKeyAndUnknownKind_RefusedWithoutQuotingTheKey()
    {
        var dir = TestEnvironment.NewTempDirectory("deprov-hrcfg");
        var path = Path.Combine(dir, "deprov.yaml");
        var yaml = Systems + """
            hr_sources:
              - { id: bamboo, kind: bamboohr, settings: { company_domain: acme, api_key: s3cr3t-key-value } }
              - { id: other, kind: workday }
            """;
        await File.WriteAllTextAsync(path, yaml);
        var config = ConfigLoader.Load(path, DeprovHost.Factories([new SandboxConnectorFactory()]));

        var ex = await Assert.ThrowsAsync<ValidationException>(() => DeprovHost.OpenAsync(config, [new SandboxConnectorFactory()], [new BambooHrSourceFactory()], TimeProvider.System,
            null, null, CancellationToken.None));

        Assert.Contains(ex.Errors, e => e.Problem.Contains("literal value", StringComparison.Ordinal));
        Assert.Contains(ex.Errors, e => e.Problem.Contains("'workday' is not an HR source kind", StringComparison.Ordinal));
        Assert.DoesNotContain("s3cr3t-key-value", ex.Message, StringComparison.Ordinal);
        Assert.All(ex.Errors, e => Assert.DoesNotContain("s3cr3t-key-value", e.Problem + e.Fix, StringComparison.Ordinal));
    }
}
