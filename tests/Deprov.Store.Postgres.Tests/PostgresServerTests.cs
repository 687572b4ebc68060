using Deprov.Testing.Postgres;
using Npgsql;

namespace Deprov.Store.Postgres.Tests;

/// <summary>The throw-away PostgreSQL fixture itself: it starts from Debian's binaries, hands out empty databases, and
/// comes back after a crash with its data.</summary>
public sealed class PostgresServerTests
{
    [Fact]
    public async Task Shared_server_hands_out_separate_empty_databases()
    {
        var server = await PostgresServer.SharedAsync();
        var first = await server.CreateDatabaseAsync();
        var second = await server.CreateDatabaseAsync();
        Assert.NotEqual(first, second);

        await Execute(first, "CREATE TABLE t(x int); INSERT INTO t VALUES (1)");
        Assert.Equal(0L, await Scalar(second, "SELECT count(*) FROM pg_tables WHERE tablename = 't'"));
        Assert.Equal(1L, await Scalar(first, "SELECT count(*) FROM t"));
    }

    [Fact]
    public async Task A_dedicated_server_survives_a_kill_with_its_committed_data()
    {
        await using var server = await PostgresServer.StartDedicatedAsync();
        var database = await server.CreateDatabaseAsync();
        await Execute(database, "CREATE TABLE t(x int); INSERT INTO t VALUES (42)");

        await server.StopAsync();
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => Scalar(database + ";Pooling=false;Timeout=2", "SELECT 1"));

        await server.StartAsync();
        Assert.Equal(1L, await Scalar(database, "SELECT count(*) FROM t WHERE x = 42"));
    }

    private static async Task Execute(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<long> Scalar(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }
}
