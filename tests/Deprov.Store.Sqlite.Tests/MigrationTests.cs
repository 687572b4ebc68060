using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Reconciliation;
using Deprov.Core.Store;
using Deprov.Testing;
using Microsoft.Data.Sqlite;

namespace Deprov.Store.Sqlite.Tests;

/// <summary>A database created by an older version upgrades in place, its data and its work in flight kept.</summary>
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

    [Fact]
    public async Task MigrateAsync_Version6_DropsTheSystemIndex_DiscoveryStillFindsOnlyItsSystemsAccounts()
    {
        var path = Path.Combine(TestEnvironment.NewTempDirectory("deprov-migrate"), "deprov.db");
        var since = T0.UtcTicks;
        CreateAtVersion(path, 6,
            $"INSERT INTO accounts(id, system_id, external_id, user_name, kind, status, since) VALUES ('ok/a1', 'ok', 'a1', 'a1', 0, 0, {since}), ('ok/a2', 'ok', 'a2', 'a2', 0, 0, {since})",
            $"INSERT INTO accounts(id, system_id, external_id, user_name, kind, status, since) VALUES ('okta/a1', 'okta', 'a1', 'a1', 0, 0, {since}), ('ok0/a1', 'ok0', 'a1', 'a1', 0, 0, {since})",
            "INSERT INTO systems(id, display_name, kind, role, risk, licence_cost, retention_days) VALUES ('ok', 'OK', 'sandbox', 0, 0, '5', 30), ('okta', 'Okta', 'sandbox', 0, 0, '5', 30)");

        await using var store = new SqliteStore(path);
        await store.MigrateAsync(CancellationToken.None);

        await using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE name = 'accounts_system'";
            Assert.Equal(0L, (long)(await cmd.ExecuteScalarAsync())!);
        }

        // 'ok' now lists a1 only: a2 is gone; the neighbours in key order ('ok0/...', 'okta/...') are other systems'.
        var snapshot = new InventorySnapshot([new Account("ok/a1", "ok", "a1", "a1", null, null, AccountKind.User, AccountStatus.Active, null, null)], [], [], [], []);
        await store.ApplyDiscoveryAsync("ok", snapshot, new DiscoveryState("ok", "f", T0.AddHours(1), 1, 0), [], CancellationToken.None);

        Assert.NotNull(await store.GetAccountAsync("ok/a1", CancellationToken.None));
        Assert.Null(await store.GetAccountAsync("ok/a2", CancellationToken.None));
        Assert.NotNull(await store.GetAccountAsync("okta/a1", CancellationToken.None));
        Assert.NotNull(await store.GetAccountAsync("ok0/a1", CancellationToken.None));
        var usage = await store.GetLicenceUsageAsync(CancellationToken.None);
        Assert.Equal(1, usage.Single(u => u.SystemId == "ok").ActiveAccounts);
        Assert.Equal(1, usage.Single(u => u.SystemId == "okta").ActiveAccounts);
    }

    [Fact]
    public async Task ApplyDiscoveryAsync_AccountIdOutsideItsSystem_IsRejectedAndChangesNothing()
    {
        var path = Path.Combine(TestEnvironment.NewTempDirectory("deprov-migrate"), "deprov.db");
        await using var store = new SqliteStore(path);
        await store.MigrateAsync(CancellationToken.None);
        var snapshot = new InventorySnapshot([new Account("other/a1", "ok", "a1", "a1", null, null, AccountKind.User, AccountStatus.Active, null, null)], [], [], [], []);

        var e = await Assert.ThrowsAsync<ArgumentException>(() => store.ApplyDiscoveryAsync("ok", snapshot, new DiscoveryState("ok", "f", T0, 1, 0), [], CancellationToken.None));

        Assert.Contains("other/a1", e.Message, StringComparison.Ordinal);
        Assert.Null(await store.GetAccountAsync("other/a1", CancellationToken.None));
        Assert.Null(await store.GetDiscoveryStateAsync("ok", CancellationToken.None));
    }

    [Fact]
    public async Task MigrateAsync_Version4CaseMidPhase_ContinuesThroughPhaseGates()
    {
        var path = Path.Combine(TestEnvironment.NewTempDirectory("deprov-migrate"), "deprov.db");
        var pid = Some.Id();
        await using (var store = new SqliteStore(path, SqliteDurability.Full))
        {
            await store.MigrateAsync(CancellationToken.None);
            await store.UpsertPeopleAsync([Some.Person(pid)], CancellationToken.None);
            var kase = new Case("C-1", pid, CaseKind.Leaver, "E-1", "rule", "immediate", CaseStatus.Running, T0, T0, T0, T0, null, null, null);
            Step S(int seq, int phase, StepStatus status) => new($"C-1.{seq:D3}", "C-1", seq, ActionKind.DisableAccount, StepCategory.SignIn, "cut", "sys", $"a{seq}",
                null, null, null, $"target{seq}", status, T0, 0, null, null, null, null, null, null, null, phase);
            await store.CreateCasesAsync([new Plan(kase, [S(1, 0, StepStatus.Pending), S(2, 0, StepStatus.Pending), S(3, 1, StepStatus.Waiting), S(4, 1, StepStatus.Waiting)], [], [], [])],
                [], CancellationToken.None);
            await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None);
            await store.CompleteStepsAsync([Done("C-1.001")], T0, CancellationToken.None);
        }

        // The same moment as a version-4 database holds it: no gates; each phase-1 step still counts the one phase-0 step
        // that has not finished.
        await using (var c = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "DROP TABLE phase_gates; DELETE FROM schema_version WHERE version = 5; UPDATE steps SET blockers = 1 WHERE phase = 1;";
            await cmd.ExecuteNonQueryAsync();
        }

        await using (var store = new SqliteStore(path, SqliteDurability.Full))
        {
            await store.MigrateAsync(CancellationToken.None);
            Assert.Empty(await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None)); // phase 1 still waits for step 2
            await store.CompleteStepsAsync([Done("C-1.002")], T0, CancellationToken.None);
            Assert.Equal(["C-1.003", "C-1.004"], (await store.ClaimDueStepsAsync(T0, 10, CancellationToken.None)).Select(s => s.Step.Id).Order());
            await store.CompleteStepsAsync([Done("C-1.003"), Done("C-1.004")], T0, CancellationToken.None);
            Assert.Equal(CaseStatus.Verified, (await store.GetCaseAsync("C-1", CancellationToken.None))!.Status);
        }
    }

    private static StepCompletion Done(string stepId) =>
        new(stepId, StepStatus.Verified, T0, null, "{\"active\":\"false\"}", null, null, null,
            [new AuditEntry(T0, "deprov", "disable_account", "sys", stepId, null, "C-1", stepId, null, null, "ok", null)]);
}
