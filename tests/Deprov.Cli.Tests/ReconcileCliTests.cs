using System.Text.Json;
using Deprov.Connectors.Sandbox;
using Deprov.Testing;

namespace Deprov.Cli.Tests;

/// <summary>reconcile, findings, link, licences and access as scripts use them.</summary>
public sealed class ReconcileCliTests : IAsyncLifetime
{
    private string _dir = null!;
    private List<Core.Model.Person> _people = null!;

    public async Task InitializeAsync()
    {
        var env = await TestEnvironment.CreateAsync();
        _dir = env.Directory;
        var people = Enumerable.Range(0, 4).Select(_ => Some.Person()).ToList();
        var systems = Some.Systems(people);
        systems["slack"].Accounts["ghost"] = new SbAccount { Id = "ghost", UserName = "ghost@elsewhere.example", Email = "ghost@elsewhere.example" };
        await env.SeedAsync(people, systems);
        _people = people;
        await env.Engine.DisposeAsync(); // the CLI opens the store itself
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // left to the OS temp cleaner
        }

        return Task.CompletedTask;
    }

    private Task<CliResult> Deprov(params string[] args) => Cli.RunAsync(_dir, args);

    [Fact]
    public async Task Reconcile_ThenFindingsLinkLicencesAccess_WorkAsScriptsUseThem()
    {
        var r = await Deprov("reconcile", "--json");
        Assert.True(r.ExitCode == 0, r.All);
        using (var doc = JsonDocument.Parse(r.Out))
        {
            Assert.Equal(6, doc.RootElement.GetArrayLength());
        }

        r = await Deprov("findings", "--kind", "orphan", "--json");
        Assert.True(r.ExitCode == 0, r.All);
        using (var doc = JsonDocument.Parse(r.Out))
        {
            var f = Assert.Single(doc.RootElement.EnumerateArray());
            Assert.Equal("slack/ghost", f.GetProperty("target").GetString());
        }

        r = await Deprov("findings", "--kind", "orphans");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("orphans", r.Err, StringComparison.Ordinal);

        r = await Deprov("link", "slack", "ghost", _people[1].Id);
        Assert.True(r.ExitCode == 0, r.All);
        r = await Deprov("link", "slack", "ghost", "nobody");
        Assert.Equal(3, r.ExitCode);

        r = await Deprov("reconcile", "slack");
        Assert.True(r.ExitCode == 0, r.All);
        r = await Deprov("findings", "--kind", "orphan", "--json");
        Assert.Equal(0, JsonDocument.Parse(r.Out).RootElement.GetArrayLength());

        var csv = Path.Combine(_dir, "licences.csv");
        r = await Deprov("licences", "--csv", csv);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.StartsWith("system,name,cost_per_seat", await File.ReadAllTextAsync(csv), StringComparison.Ordinal);

        r = await Deprov("access", "--person", _people[1].Id, "--at", "now", "--json");
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Contains("slack/ghost", r.Out, StringComparison.Ordinal);
    }
}
