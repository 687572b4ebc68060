using System.Text.Json;
using Deprov.Testing;
using Deprov.Testing.Postgres;
using Npgsql;

namespace Deprov.Cli.Tests;

/// <summary>The CLI on a PostgreSQL store (<c>store: { provider: postgres, connection_string: … }</c>).</summary>
public sealed class PostgresCliTests
{
    private const string Password = "Sup3r-Secret-Pw-7731";

    [Fact]
    public async Task Status_PostgresUnreachable_Exit4_NamesHostAndDatabase_NeverThePasswordOrAStackTrace()
    {
        var dir = TestEnvironment.NewTempDirectory("deprov-pgcli");
        await File.WriteAllTextAsync(Path.Combine(dir, "deprov.yaml"),
            "store: { provider: postgres, connection_string: env:DEPROV_PG }\n" + TestEnvironment.DefaultSystems);
        // Nothing listens on port 1 of the loopback address: the connection is refused at once.
        var env = new Dictionary<string, string> { ["DEPROV_PG"] = $"Host=127.0.0.1;Port=1;Database=deprov_prod;Username=deprov;Password={Password};Timeout=5" };

        var r = await Cli.RunAsync(dir, env, "status");

        Assert.Equal(4, r.ExitCode);
        Assert.Contains("host '127.0.0.1'", r.Err, StringComparison.Ordinal);
        Assert.Contains("database 'deprov_prod'", r.Err, StringComparison.Ordinal);
        Assert.Contains("Fix:", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, r.All, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Status_PostgresVariableNotSet_SaysWhichOne()
    {
        var dir = TestEnvironment.NewTempDirectory("deprov-pgcli");
        await File.WriteAllTextAsync(Path.Combine(dir, "deprov.yaml"),
            "store: { provider: postgres, connection_string: env:DEPROV_PG_NOT_SET_ANYWHERE }\n" + TestEnvironment.DefaultSystems);

        var r = await Cli.RunAsync(dir, "status");

        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("DEPROV_PG_NOT_SET_ANYWHERE", r.Err, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Leave_OnPostgres_CutsVerifiesAndAuditVerifies_ThenTamperIsFound()
    {
        var database = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        var dir = TestEnvironment.NewTempDirectory("deprov-pgcli");
        await File.WriteAllTextAsync(Path.Combine(dir, "postgres.secret"), database);
        var people = Enumerable.Range(0, 4).Select(_ => Some.Person()).ToList();
        var seeded = await TestEnvironment.CreateAsync(directory: dir, store: TestStore.Postgres);
        await seeded.SeedAsync(people, Some.Systems(people));
        await seeded.Engine.DisposeAsync(); // the CLI opens the store itself; the folder stays for it

        var leave = await Cli.RunAsync(dir, "leave", people[1].Id, "--reason", "involuntary", "--json");
        Assert.Equal(0, leave.ExitCode);
        var json = JsonDocument.Parse(leave.Out).RootElement;
        Assert.Equal("planned", json.GetProperty("outcome").GetString());
        Assert.True(json.GetProperty("exposureMs").GetDouble() >= 0);

        var verify = await Cli.RunAsync(dir, "audit", "verify");
        Assert.Equal(0, verify.ExitCode);
        Assert.StartsWith("audit verify: OK", verify.Out, StringComparison.Ordinal);

        await using (var c = new NpgsqlConnection(database + ";Pooling=false"))
        {
            await c.OpenAsync();
            await using var cmd = new NpgsqlCommand("UPDATE audit SET actor = 'someone-else' WHERE seq = 5", c);
            Assert.Equal(1, await cmd.ExecuteNonQueryAsync());
        }

        var broken = await Cli.RunAsync(dir, "audit", "verify");
        Assert.Equal(5, broken.ExitCode);
        Assert.Contains("FAILED at record 5", broken.Out, StringComparison.Ordinal);
    }
}
