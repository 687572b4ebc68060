using Deprov.Core.Model;
using Deprov.Core.Reconciliation;
using Deprov.Core.Store;
using Deprov.Testing;
using Microsoft.Data.Sqlite;

namespace Deprov.Store.Sqlite.Tests;

/// <summary>A database created by an older version upgrades in place, its data kept.</summary>
public sealed class MigrationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 1, 9, 0, 0, TimeSpan.Zero);

    private static void CreateAtVersion(string path, int version, params string[] data)
    {
        using var c = new SqliteConnection($"Data Source={path};Pooling=False");
        c.Open();
        using var tx = c.BeginTransaction();
        Run(c, tx, "CREATE TABLE schema_version(version INTEGER NOT NULL)");
        foreach (var (v, sql) in Migrations.All.Where(m => m.Version <= version).OrderBy(m => m.Version))
        {
            Run(c, tx, sql);
            Run(c, tx, $"INSERT INTO schema_version(version) VALUES ({v})");
        }

        foreach (var sql in data)
        {
            Run(c, tx, sql);
        }

        tx.Commit();
    }

    private static void Run(SqliteConnection c, SqliteTransaction tx, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    [Fact]
    public async Task MigrateAsync_Version4Memberships_MovesThemIntoAccountRowsWithSourceExpiryAndInterval()
    {
        var path = Path.Combine(TestEnvironment.NewTempDirectory("deprov-migrate"), "deprov.db");
        var p = Some.Id("mg");
        var since = T0.UtcTicks;
        var expires = T0.AddDays(30).UtcTicks;
        CreateAtVersion(path, 4,
            $"INSERT INTO people(id, email, display_name, department, title, location, worker_type, status, time_zone) VALUES ('{p}', '{p}@example.com', 'P', 'Eng', 'Dev', 'Remote', 0, 0, 'UTC')",
            "INSERT INTO entitlements(id, system_id, external_id, name, kind, privileged) VALUES ('app/g1', 'app', 'g1', 'Group \"one\"', 0, 0), ('app/g2', 'app', 'g2', 'two', 0, 1)",
            $"INSERT INTO accounts(id, system_id, external_id, user_name, email, person_id, kind, status, since) VALUES ('app/a1', 'app', 'a1', 'a1', NULL, '{p}', 0, 0, {since})",
            $"INSERT INTO assignments(account_id, entitlement_id, source, expires_at, since) VALUES ('app/a1', 'app/g1', 1, {expires}, {since}), ('app/a1', 'app/g2', 2, NULL, NULL)",
            "INSERT INTO assignments(account_id, entitlement_id, source, expires_at, since) VALUES ('app/gone', 'app/g1', 2, NULL, NULL)");

        await using var store = new SqliteStore(path);
        await store.MigrateAsync(CancellationToken.None);

        Assert.Equal(Migrations.All.Max(m => m.Version), await store.GetSchemaVersionAsync(CancellationToken.None));
        var map = Assert.Single(await store.GetAccessMapsAsync([p], CancellationToken.None));
        Assert.Equal(2, map.Assignments.Count);
        Assert.Contains(map.Assignments, a => a is { AccountId: "app/a1", EntitlementId: "app/g1", Source: GrantSource.Exception } && a.ExpiresAt == T0.AddDays(30));
        Assert.Contains(map.Assignments, a => a is { AccountId: "app/a1", EntitlementId: "app/g2", Source: GrantSource.Discovered, ExpiresAt: null });
        Assert.Contains(map.Entitlements, e => e is { Id: "app/g2", Privileged: true });

        var at = await store.GetAccessAtAsync(p, T0.AddHours(1), CancellationToken.None);
        Assert.Contains(at, r => r.EntitlementId == "app/g1" && r.From == T0 && r.To is null);
        Assert.Contains(at, r => r.EntitlementId == "app/g2" && r.From is null);

        // The next discovery diffs against the migrated memberships: g1 vanished, so its interval closes.
        var snapshot = new InventorySnapshot(
            [new Account("app/a1", "app", "a1", "a1", null, p, AccountKind.User, AccountStatus.Active, null, null)],
            [new Entitlement("app/g1", "app", "g1", "one", EntitlementKind.Group, false), new Entitlement("app/g2", "app", "g2", "two", EntitlementKind.Group, true)],
            [new Assignment("app/a1", "app/g2", GrantSource.Discovered, null)], [], []);
        await store.ApplyDiscoveryAsync("app", snapshot, new DiscoveryState("app", "f", T0.AddHours(2), 1, 1), [], CancellationToken.None);
        var later = await store.GetAccessAtAsync(p, T0.AddHours(3), CancellationToken.None);
        Assert.DoesNotContain(later, r => r.EntitlementId == "app/g1");
        Assert.Contains(await store.GetAccessAtAsync(p, T0.AddHours(1), CancellationToken.None), r => r.EntitlementId == "app/g1" && r.From == T0 && r.To == T0.AddHours(2));
    }
}
