using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using Deprov.Testing;
using Microsoft.Data.Sqlite;

namespace Deprov.Store.Sqlite.Tests;

/// <summary>Upgrades of databases written by earlier versions, with work in flight.</summary>
public sealed class MigrationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Migration5_CaseMidPhase_ContinuesThroughPhaseGates()
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
