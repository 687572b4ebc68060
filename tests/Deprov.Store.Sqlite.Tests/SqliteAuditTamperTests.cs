using Deprov.Core.Store;
using Deprov.Testing;
using Microsoft.Data.Sqlite;

namespace Deprov.Store.Sqlite.Tests;

public sealed class SqliteAuditTamperTests : Testing.StoreContract.AuditTamperTests
{
    private readonly string _path = Path.Combine(TestEnvironment.NewTempDirectory("deprov-tamper"), "deprov.db");

    protected override async Task<IStore> CreateStoreAsync()
    {
        var store = new SqliteStore(_path);
        await store.MigrateAsync(CancellationToken.None);
        return store;
    }

    protected override void Tamper(string sql)
    {
        using var c = new SqliteConnection($"Data Source={_path};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        Assert.True(cmd.ExecuteNonQuery() >= 0);
    }

    protected override string HashLiteral(byte[] hash) => $"X'{Convert.ToHexString(hash)}'";
}
