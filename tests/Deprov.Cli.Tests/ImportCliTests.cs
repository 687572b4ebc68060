using System.Text.Json;
using Deprov.Testing;

namespace Deprov.Cli.Tests;

/// <summary><c>deprov import</c> and <c>--effective</c>: bad rows and unreadable dates are exit 2, never guessed.</summary>
public sealed class ImportCliTests : IAsyncLifetime
{
    private string _dir = null!;
    private List<Core.Model.Person> _people = null!;

    public async Task InitializeAsync()
    {
        var env = await TestEnvironment.CreateAsync();
        _dir = env.Directory;
        var people = Enumerable.Range(0, 3).Select(_ => Some.Person(timeZone: "Europe/Paris")).ToList();
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

    [Theory]
    [InlineData("12/20/2026")]
    [InlineData("20.12.2026")]
    [InlineData("9999-12-31")]
    public async Task Leave_EffectiveInAnotherShape_IsRefusedWithTheAcceptedForms(string effective)
    {
        var r = await Deprov("leave", _people[0].Id, "--effective", effective, "--no-wait");

        Assert.Equal(2, r.ExitCode);
        Assert.Contains("2026-12-31T17:00:00+01:00", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.All, StringComparison.Ordinal);
        Assert.Equal(0, JsonDocument.Parse((await Deprov("status", "--json")).Out).RootElement.GetProperty("cases").EnumerateObject().Sum(p => p.Value.GetInt32()));
    }

    [Fact]
    public async Task Leave_EffectiveWithoutOffset_IsReadInThePersonsZoneAndSaysSo()
    {
        var r = await Deprov("leave", _people[1].Id, "--effective", "2026-12-20T18:00", "--no-wait", "--json");

        Assert.Equal(0, r.ExitCode);
        var json = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal("read as 2026-12-20T18:00 Europe/Paris", json.GetProperty("readAs").GetString());
        Assert.Equal(new DateTimeOffset(2026, 12, 20, 17, 0, 0, TimeSpan.Zero), json.GetProperty("effectiveAt").GetDateTimeOffset());
    }

    [Fact]
    public async Task Import_RaggedAndUnquotedRows_ExitTwoCountingEveryRowAndImportingTheGoodOnes()
    {
        var path = Path.Combine(_dir, "roster.csv");
        await File.WriteAllTextAsync(path, "id,email,name,end_date\n"
            + "n1,n1@example.com,New One,\n"
            + "n2,n2@example.com\n"
            + "n3,n3@example.com,\"Bob,\n"
            + $"{_people[2].Id},{_people[2].Email},Person,2026-12-31\n");

        var r = await Deprov("import", path, "--json");

        Assert.Equal(2, r.ExitCode);
        var json = JsonDocument.Parse(r.Out).RootElement;
        Assert.Equal((4, 2, 2), (json.GetProperty("rows").GetInt32(), json.GetProperty("goodRows").GetInt32(), json.GetProperty("rejectedRows").GetInt32()));
        Assert.Equal(["n1"], json.GetProperty("added").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal([3, 4], json.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("row").GetInt32()));
        Assert.Single(json.GetProperty("events").EnumerateArray());
    }
}
