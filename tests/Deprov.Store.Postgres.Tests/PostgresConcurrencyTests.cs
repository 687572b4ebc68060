using Deprov.Core.Audit;
using Deprov.Testing.Postgres;

namespace Deprov.Store.Postgres.Tests;

/// <summary>Several stores (as on several nodes) writing to one database: the advisory write lock serialises them, so
/// the rules that read and then write — here the audit chain's head — stay correct.</summary>
public sealed class PostgresConcurrencyTests
{
    [Fact]
    public async Task AppendAuditAsync_FromThreeStoresAtOnce_OneUnbrokenChain()
    {
        var cs = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        var stores = new[] { new PostgresStore(cs), new PostgresStore(cs), new PostgresStore(cs) };
        try
        {
            await stores[0].MigrateAsync(CancellationToken.None);
            var at = new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
            var writers = stores.SelectMany((store, node) => Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
            {
                for (var i = 0; i < 25; i++)
                {
                    await store.AppendAuditAsync(
                        [new AuditEntry(at, $"node{node}", "disable_account", "slack", $"user{writer}-{i}", null, null, null, null, null, "ok", null),
                         new AuditEntry(at, $"node{node}", "verify", "slack", $"user{writer}-{i}", null, null, null, null, null, "ok", null)],
                        CancellationToken.None);
                }
            }))).ToList();
            await Task.WhenAll(writers);

            var verification = await stores[1].VerifyAuditChainAsync(CancellationToken.None);
            Assert.True(verification.Ok, verification.Problem);
            Assert.Equal(3 * 4 * 25 * 2, verification.Records);
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task MigrateAsync_ThreeNodesStartingAtOnce_MigrateOnce()
    {
        var cs = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        var stores = new[] { new PostgresStore(cs), new PostgresStore(cs), new PostgresStore(cs) };
        try
        {
            await Task.WhenAll(stores.Select(s => Task.Run(() => s.MigrateAsync(CancellationToken.None))));
            var versions = await Task.WhenAll(stores.Select(s => s.GetSchemaVersionAsync(CancellationToken.None)));
            Assert.Single(versions.Distinct());
            Assert.True(versions[0] >= 12, $"schema version {versions[0]}");

            // Each migration recorded once: no node ran one a second time.
            await using var c = new Npgsql.NpgsqlConnection(cs);
            await c.OpenAsync();
            await using var cmd = new Npgsql.NpgsqlCommand("SELECT count(*) - count(DISTINCT version) FROM schema_version", c);
            Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);
        }
        finally
        {
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
    }
}
