using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Hosting.Configuration;
using Deprov.Hosting.Execution;
using Deprov.Store.Postgres;
using Deprov.Store.Sqlite;
using Deprov.Testing;
using Deprov.Testing.Postgres;

namespace Deprov.Hosting.Tests.Configuration;

/// <summary><c>store: { provider: … }</c> picks the store; a PostgreSQL that cannot be used is one clear message that
/// names host and database, never the connection string.</summary>
public sealed class StoreSelectionTests
{
    private const string Password = "Sup3r-Secret-Pw-7731";
    private static readonly IReadOnlyDictionary<string, IConnectorFactory> Factories = DeprovHost.Factories([new SandboxConnectorFactory()]);

    private static StoreOptions Postgres(string reference) => new(StoreProvider.Postgres, Path.Combine(TestEnvironment.NewTempDirectory(), "deprov.db"), reference, SqliteDurability.Normal);

    private static SecretResolver Env(string name, string value) => new(n => n == name ? value : null);

    [Fact]
    public void Parse_ProviderPostgres_ReadsTheConnectionStringReference()
    {
        var config = ConfigLoader.Parse("store: { provider: postgres, connection_string: env:DEPROV_PG }\n" + TestEnvironment.DefaultSystems, "/tmp/deprov.yaml", Factories);
        Assert.Equal(StoreProvider.Postgres, config.Store.Provider);
        Assert.Equal("env:DEPROV_PG", config.Store.ConnectionString);
        Assert.Equal("PostgreSQL (env:DEPROV_PG)", config.Store.Where);
    }

    [Fact]
    public void Parse_NoProvider_IsSqlite()
    {
        var config = ConfigLoader.Parse("store: { path: data/deprov.db }\n" + TestEnvironment.DefaultSystems, "/tmp/deprov.yaml", Factories);
        Assert.Equal(StoreProvider.Sqlite, config.Store.Provider);
        Assert.Equal("/tmp/data/deprov.db", config.Store.Path);
    }

    [Fact]
    public void Parse_ProviderPostgresWithoutConnectionString_SaysWhatToAdd()
    {
        var ex = Assert.Throws<ValidationException>(() => ConfigLoader.Parse("store:\n  provider: postgres\n" + TestEnvironment.DefaultSystems, "/tmp/deprov.yaml", Factories));
        var error = Assert.Single(ex.Errors);
        Assert.Equal(2, error.Line);
        Assert.Contains("connection_string", error.Problem, StringComparison.Ordinal);
        Assert.Contains("env:DEPROV_PG", error.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_ProviderPostgresWithLiteralConnectionString_RefusesIt()
    {
        var ex = Assert.Throws<ValidationException>(() => ConfigLoader.Parse(
            $"store: {{ provider: postgres, connection_string: 'Host=db;Password={Password}' }}\n" + TestEnvironment.DefaultSystems, "/tmp/deprov.yaml", Factories));
        Assert.Contains(ex.Errors, e => e.Problem.Contains("literal", StringComparison.Ordinal));
    }

    [Fact]
    public async Task OpenStoreAsync_Sqlite_OpensTheFile()
    {
        var path = Path.Combine(TestEnvironment.NewTempDirectory(), "deprov.db");
        await using var store = await DeprovHost.OpenStoreAsync(new StoreOptions(StoreProvider.Sqlite, path, null, SqliteDurability.Normal), new SecretResolver(), CancellationToken.None);
        Assert.IsType<SqliteStore>(store);
        Assert.True(File.Exists(path));
    }

    [Fact]
    public async Task OpenStoreAsync_Postgres_MigratesTheDatabaseTheReferenceNames()
    {
        var cs = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        await using var store = await DeprovHost.OpenStoreAsync(Postgres("env:DEPROV_PG"), Env("DEPROV_PG", cs), CancellationToken.None);
        Assert.IsType<PostgresStore>(store);
        // Both stores number their migrations alike: a migrated PostgreSQL database is at SQLite's latest version.
        await using var sqlite = await DeprovHost.OpenStoreAsync(new StoreOptions(StoreProvider.Sqlite, Path.Combine(TestEnvironment.NewTempDirectory(), "deprov.db"), null, SqliteDurability.Normal),
            new SecretResolver(), CancellationToken.None);
        Assert.Equal(await sqlite.GetSchemaVersionAsync(CancellationToken.None), await store.GetSchemaVersionAsync(CancellationToken.None));
    }

    [Fact]
    public async Task OpenStoreAsync_PostgresUnreachable_NamesHostAndDatabaseAndTheFix_NeverThePassword()
    {
        // Nothing listens on port 1 of the loopback address: the connection is refused at once.
        var cs = $"Host=127.0.0.1;Port=1;Database=deprov_prod;Username=deprov;Password={Password};Timeout=5";
        var ex = await Assert.ThrowsAsync<StoreException>(() => DeprovHost.OpenStoreAsync(Postgres("env:DEPROV_PG"), Env("DEPROV_PG", cs), CancellationToken.None));
        Assert.Contains("host '127.0.0.1'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("database 'deprov_prod'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Fix:", ex.Message, StringComparison.Ordinal);
        Assert.True(ex.IsTransient);
        Assert.DoesNotContain(Password, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenStoreAsync_PostgresDatabaseMissing_SaysToCreateIt()
    {
        var server = await PostgresServer.SharedAsync();
        var cs = server.ConnectionString("no_such_database") + $";Password={Password}";
        var ex = await Assert.ThrowsAsync<StoreException>(() => DeprovHost.OpenStoreAsync(Postgres("env:DEPROV_PG"), Env("DEPROV_PG", cs), CancellationToken.None));
        Assert.Contains("database 'no_such_database'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("create the database", ex.Message, StringComparison.Ordinal);
        Assert.False(ex.IsTransient);
        Assert.DoesNotContain(Password, ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenStoreAsync_PostgresConnectionStringMalformed_RepeatsNoneOfIt()
    {
        var cs = $"Host=db.example.com;Password={Password};Not A Keyword=1";
        var ex = await Assert.ThrowsAsync<StoreException>(() => DeprovHost.OpenStoreAsync(Postgres("env:DEPROV_PG"), Env("DEPROV_PG", cs), CancellationToken.None));
        Assert.Contains("env:DEPROV_PG", ex.Message, StringComparison.Ordinal);
        Assert.Contains("keyword=value", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Password, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Engine_OnPostgres_CutsALeaversAccessAndVerifiesIt()
    {
        var dir = TestEnvironment.NewTempDirectory();
        await using var env = await TestEnvironment.CreateAsync(directory: dir, store: TestStore.Postgres);
        Assert.IsType<PostgresStore>(env.Engine.Store);

        var alice = Some.Person();
        var bob = Some.Person();
        await env.SeedAsync([alice, bob], Some.Systems([alice, bob]));
        var result = await env.Engine.SubmitAsync(Some.Leave(alice.Id, env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        Assert.Equal(SubmitOutcome.Planned, result.Outcome);
        await env.RunUntilIdleAsync();

        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
        Assert.NotNull(kase.CutVerifiedAt);
        var steps = await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None);
        Assert.All(steps.Where(s => s.Category != StepCategory.Delete && s.Action != ActionKind.Manual), s => Assert.Equal(StepStatus.Verified, s.Status));

        await using (var world = env.AcquireWorld())
        {
            var local = alice.Email[..alice.Email.IndexOf('@', StringComparison.Ordinal)];
            Assert.False(world.System("directory").Accounts[local].Active);
            Assert.False(world.System("okta").Accounts["00u1"].Active);
            Assert.True(world.System("slack").Accounts["sl2"].Active); // bob's, untouched
        }

        var map = (await env.Engine.Store.GetAccessMapsAsync([alice.Id], CancellationToken.None)).Single();
        Assert.All(map.Accounts, a => Assert.Equal(AccountStatus.Disabled, a.Status));
        Assert.Empty(map.Assignments);
        Assert.True((await env.Engine.Store.VerifyAuditChainAsync(CancellationToken.None)).Ok);
    }
}
