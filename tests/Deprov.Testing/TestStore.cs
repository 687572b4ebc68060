using Deprov.Core.Store;
using Deprov.Store.Postgres;
using Deprov.Store.Sqlite;
using Deprov.Testing.Postgres;

namespace Deprov.Testing;

/// <summary>
/// Where tests keep Deprov's state. Engine, hosting, server and CLI tests open their store the way the product does, from
/// the <c>store:</c> block of <c>deprov.yaml</c> (several engines, a server and CLI processes share one environment's
/// store that way), so a test store is first of all the YAML that names it; tests of <see cref="IStore"/> itself take a
/// fresh store from <see cref="CreateAsync"/>. <see cref="Current"/> is SQLite unless <see cref="Variable"/> names
/// another store, so the same tests run on each store without changing a line.
/// </summary>
public abstract class TestStore
{
    /// <summary>The environment variable that picks the store of a test run (<c>sqlite</c> when unset).</summary>
    public const string Variable = "DEPROV_TEST_STORE";

    private static readonly Lazy<TestStore> CurrentStore = new(() => Named(Environment.GetEnvironmentVariable(Variable)));

    /// <summary>The embedded store: one SQLite file in the environment's folder.</summary>
    public static TestStore Sqlite { get; } = new SqliteTestStore();

    /// <summary>PostgreSQL: a fresh database per environment on the process's throw-away server (<see cref="PostgresServer"/>).</summary>
    public static TestStore Postgres { get; } = new PostgresTestStore();

    /// <summary>The store this test run uses, from <see cref="Variable"/>.</summary>
    public static TestStore Current => CurrentStore.Value;

    /// <summary>The name <see cref="Variable"/> takes for this store.</summary>
    public abstract string Name { get; }

    /// <summary>
    /// The <c>store:</c> block of <c>deprov.yaml</c> for an environment in <paramref name="directory"/>. Asked again for
    /// the same folder (a test that restarts its engine), it names the same store, with its data.
    /// </summary>
    /// <param name="fullDurability">Commits as durable as the product's default (benchmarks of durable work); tests
    /// otherwise trade that for speed where the store allows it.</param>
    public abstract Task<string> ConfigureAsync(string directory, bool fullDurability, CancellationToken cancellationToken);

    /// <summary>A fresh, migrated, empty store that no other test sees. The caller disposes it.</summary>
    public abstract Task<IStore> CreateAsync(CancellationToken cancellationToken);

    /// <summary>The store a name stands for; an unknown name fails the run with the names that exist, never falls back.</summary>
    public static TestStore Named(string? name)
    {
        if (string.IsNullOrWhiteSpace(name) || string.Equals(name.Trim(), Sqlite.Name, StringComparison.OrdinalIgnoreCase))
        {
            return Sqlite;
        }

        if (string.Equals(name.Trim(), Postgres.Name, StringComparison.OrdinalIgnoreCase))
        {
            return Postgres;
        }

        throw new InvalidOperationException(
            $"{Variable}='{name}' names no store these tests can run on; known: '{Sqlite.Name}', '{Postgres.Name}'. Unset {Variable} to run on SQLite.");
    }

    private sealed class SqliteTestStore : TestStore
    {
        public override string Name => "sqlite";

        // durability: normal survives a process crash, which is what the crash tests need, without an fsync per commit.
        public override Task<string> ConfigureAsync(string directory, bool fullDurability, CancellationToken cancellationToken) =>
            Task.FromResult($"store:\n  path: deprov.db\n  durability: {(fullDurability ? "full" : "normal")}\n");

        public override async Task<IStore> CreateAsync(CancellationToken cancellationToken)
        {
            var store = new SqliteStore(Path.Combine(TestEnvironment.NewTempDirectory("deprov-sqlite"), "deprov.db"), SqliteDurability.Full);
            await store.MigrateAsync(cancellationToken);
            return store;
        }
    }

    private sealed class PostgresTestStore : TestStore
    {
        private const string SecretFile = "postgres.secret";

        public override string Name => "postgres";

        // The connection string is kept in a file in the folder (a file: secret reference, as an operator would keep
        // it), so a restarted engine, a server or a CLI process in the same folder opens the same database.
        public override async Task<string> ConfigureAsync(string directory, bool fullDurability, CancellationToken cancellationToken)
        {
            var secret = Path.Combine(directory, SecretFile);
            if (!File.Exists(secret))
            {
                var server = await PostgresServer.SharedAsync(cancellationToken);
                await File.WriteAllTextAsync(secret, await server.CreateDatabaseAsync(cancellationToken), cancellationToken);
            }

            return $"store:\n  provider: postgres\n  connection_string: file:{secret}\n";
        }

        public override async Task<IStore> CreateAsync(CancellationToken cancellationToken)
        {
            var server = await PostgresServer.SharedAsync(cancellationToken);
            var store = new PostgresStore(await server.CreateDatabaseAsync(cancellationToken));
            await store.MigrateAsync(cancellationToken);
            return store;
        }
    }
}
