using Deprov.Core.Store;
using Deprov.Testing.Postgres;
using Npgsql;

namespace Deprov.Store.Postgres.Tests;

public sealed class PostgresAuditTamperTests : Testing.StoreContract.AuditTamperTests
{
    private string _connectionString = null!;

    protected override async Task<IStore> CreateStoreAsync()
    {
        _connectionString = await (await PostgresServer.SharedAsync()).CreateDatabaseAsync();
        var store = new PostgresStore(_connectionString);
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }

    protected override void Tamper(string sql)
    {
        using var c = new NpgsqlConnection(_connectionString + ";Pooling=false");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        Assert.True(cmd.ExecuteNonQuery() >= 0);
    }

    protected override string HashLiteral(byte[] hash) => $"'\\x{Convert.ToHexString(hash)}'::bytea";
}
