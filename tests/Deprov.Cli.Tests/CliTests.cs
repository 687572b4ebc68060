using System.Text.Json;
using Deprov.Testing;
using Microsoft.Data.Sqlite;

namespace Deprov.Cli.Tests;

/// <summary>The CLI as scripts use it: exit codes, messages, JSON.</summary>
public sealed class CliTests : IAsyncLifetime
{
    private string _dir = null!;
    private List<Core.Model.Person> _people = null!;

    public async Task InitializeAsync()
    {
        var env = await TestEnvironment.CreateAsync();
        _dir = env.Directory;
        var people = Enumerable.Range(0, 6).Select(_ => Some.Person()).ToList();
        await env.SeedAsync(people, Some.Systems(people));
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
    public async Task Help_ListsCommands_ExitZero()
    {
        var r = await Deprov("--help");
        Assert.Equal(0, r.ExitCode);
        foreach (var cmd in new[] { "demo", "person", "plan", "leave", "move", "status", "tasks", "audit", "run", "case" })
        {
            Assert.Contains(cmd, r.Out, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task UnknownCommand_ExitUsage()
    {
        var r = await Deprov("levae", "p1");
        Assert.Equal(64, r.ExitCode);
        Assert.Contains("deprov --help", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MissingConfig_ExitInvalidInputWithFix()
    {
        var r = await Deprov("status", "--config", "nope.yaml");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("nope.yaml", r.Err, StringComparison.Ordinal);
        Assert.Contains("does not exist", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BrokenConfig_ErrorNamesFileLineKeyAndFix()
    {
        var bad = Path.Combine(_dir, "bad.yaml");
        await File.WriteAllTextAsync(bad, "systems:\n  - id: a\n    kind: sandbox\n    risk: extreme\n    settings: { flavour: app }\n");
        var r = await Deprov("status", "--config", bad);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("bad.yaml:4: 'systems[0].risk': is 'extreme'", r.Err, StringComparison.Ordinal);
        Assert.Contains("Fix: use one of: low, medium, high, critical", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Person_Unknown_ExitNotFound()
    {
        var r = await Deprov("person", "p-nobody");
        Assert.Equal(3, r.ExitCode);
        Assert.Contains("There is no person 'p-nobody'", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Leave_BadReason_ExitInvalidInputWithAllowedValues()
    {
        var r = await Deprov("leave", _people[0].Id, "--reason", "fired");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("voluntary, involuntary", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Leave_BadDate_ExitInvalidInput()
    {
        var r = await Deprov("leave", _people[0].Id, "--effective", "next tuesday");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("'next tuesday' is not a date", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plan_IsADryRun_NothingRecorded()
    {
        var before = await Deprov("status", "--json");
        var r = await Deprov("plan", _people[1].Id, "--reason", "involuntary");
        Assert.Equal(0, r.ExitCode);
        Assert.Contains("dry run", r.Out, StringComparison.Ordinal);
        Assert.Contains("disable_account", r.Out, StringComparison.Ordinal);
        var after = await Deprov("status", "--json");
        Assert.Equal(JsonDocument.Parse(before.Out).RootElement.GetProperty("auditRecords").GetInt64(), JsonDocument.Parse(after.Out).RootElement.GetProperty("auditRecords").GetInt64());
    }

    [Fact]
    public async Task Leave_ThenAuditVerify_ThenTamper_ExitCodesTellTheStory()
    {
        var person = _people[2].Id;
        var leave = await Deprov("leave", person, "--reason", "involuntary", "--key", "ticket-77", "--json");
        Assert.Equal(0, leave.ExitCode);
        var json = JsonDocument.Parse(leave.Out).RootElement;
        Assert.Equal("planned", json.GetProperty("outcome").GetString());
        Assert.True(json.GetProperty("exposureMs").GetDouble() >= 0);
        var caseId = json.GetProperty("caseId").GetString()!;

        var again = await Deprov("leave", person, "--reason", "involuntary", "--key", "ticket-77", "--json");
        Assert.Equal(0, again.ExitCode);
        Assert.Equal("duplicate", JsonDocument.Parse(again.Out).RootElement.GetProperty("outcome").GetString());

        var timeline = await Deprov("case", caseId);
        Assert.Equal(0, timeline.ExitCode);
        Assert.Contains("exposure window", timeline.Out, StringComparison.Ordinal);

        var export = await Deprov("audit", "export", "--person", person, "--format", "csv");
        Assert.Equal(0, export.ExitCode);
        Assert.StartsWith("seq,at,actor,action", export.Out, StringComparison.Ordinal);
        Assert.Contains("disable_account", export.Out, StringComparison.Ordinal);

        var verify = await Deprov("audit", "verify");
        Assert.Equal(0, verify.ExitCode);
        Assert.StartsWith("audit verify: OK", verify.Out, StringComparison.Ordinal);

        await using (var c = new SqliteConnection($"Data Source={Path.Combine(_dir, "deprov.db")};Pooling=False"))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE audit SET actor = 'someone-else' WHERE seq = 5";
            await cmd.ExecuteNonQueryAsync();
        }

        var broken = await Deprov("audit", "verify");
        Assert.Equal(5, broken.ExitCode);
        Assert.Contains("FAILED at record 5", broken.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Leave_SameKeyForAnotherEvent_ExitInvalidInput_NamesBothEvents_NothingRecorded()
    {
        var (first, other) = (_people[4].Id, _people[5].Id);
        var leave = await Deprov("leave", first, "--reason", "involuntary", "--key", "hr-ticket-9", "--no-wait", "--json");
        Assert.Equal(0, leave.ExitCode);
        var firstEvent = JsonDocument.Parse(leave.Out).RootElement.GetProperty("eventId").GetString()!;

        var conflict = await Deprov("leave", other, "--reason", "involuntary", "--key", "hr-ticket-9", "--no-wait");
        Assert.Equal(2, conflict.ExitCode);
        Assert.Contains("idempotency key 'hr-ticket-9'", conflict.Err, StringComparison.Ordinal);
        Assert.Contains($"event {firstEvent} (leave for {first}", conflict.Err, StringComparison.Ordinal);
        Assert.Contains($"different event (leave for {other}", conflict.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("duplicate", conflict.All, StringComparison.Ordinal);

        // The same key with other content for the same person (another reason) conflicts too; JSON says so.
        var json = await Deprov("leave", first, "--reason", "voluntary", "--key", "hr-ticket-9", "--no-wait", "--json");
        Assert.Equal(2, json.ExitCode);
        Assert.Equal("conflict", JsonDocument.Parse(json.Out).RootElement.GetProperty("outcome").GetString());

        var audit = await Deprov("audit", "export", "--person", other, "--format", "csv");
        Assert.Equal(0, audit.ExitCode);
        Assert.Contains("idempotency_conflict", audit.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("event_received", audit.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tasks_CompleteWithWho_ThenTwiceIsRefused()
    {
        var leave = await Deprov("leave", _people[3].Id, "--reason", "involuntary", "--json");
        Assert.Equal(0, leave.ExitCode);
        var hold = await Deprov("hold", "set", _people[3].Id, "--note", "litigation 17");
        Assert.Equal(0, hold.ExitCode);
        var tasks = await Deprov("tasks", "--json");
        Assert.Equal(0, tasks.ExitCode);
        var status = await Deprov("status");
        Assert.Equal(0, status.ExitCode);
        Assert.Contains("exposure window over", status.Out, StringComparison.Ordinal);
        var badTeam = await Deprov("tasks", "--team", "janitors");
        Assert.Equal(2, badTeam.ExitCode);
        var none = await Deprov("tasks", "complete", "T-nope", "--by", "alice");
        Assert.Equal(3, none.ExitCode);
    }

    [Fact]
    public async Task Person_AfterLeave_ShowsDisabledAccountsAndCase()
    {
        await Deprov("leave", _people[4].Id, "--reason", "involuntary");
        var r = await Deprov("person", _people[4].Id, "--json");
        Assert.Equal(0, r.ExitCode);
        var root = JsonDocument.Parse(r.Out).RootElement;
        Assert.All(root.GetProperty("access").GetProperty("accounts").EnumerateArray(), a => Assert.Equal("disabled", a.GetProperty("status").GetString()));
        Assert.Single(root.GetProperty("cases").EnumerateArray());
    }
}
