using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;

namespace Deprov.Testing.StoreContract;

/// <summary>Builders shared by the contract suites. Every moment is given explicitly (the stores take <c>now</c>), so no
/// test depends on the wall clock or on when it runs.</summary>
internal static class ContractData
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    public static AuditEntry Audit(string action, string? person = null, string? caseId = null, string actor = "deprov", DateTimeOffset? at = null) =>
        new(at ?? T0, actor, action, null, null, person, caseId, null, null, null, "ok", null);

    public static Step NewStep(string caseId, int seq, StepStatus status, DateTimeOffset due, int phase = 0, ActionKind action = ActionKind.DisableAccount,
        string stage = "cut", string? system = "sys", StepCategory category = StepCategory.AppAccess) =>
        new($"{caseId}.{seq:D3}", caseId, seq, action, category, stage, system, null, null, null, null, $"target{seq}", status, due, 0, null, null, null, null, null,
            null, null, phase);

    public static Case NewCase(string id, string person, DateTimeOffset createdAt, CaseKind kind = CaseKind.Leaver, DateTimeOffset? cutAt = null) =>
        new(id, person, kind, "E-" + id, "rule", "immediate", CaseStatus.Running, createdAt, createdAt, createdAt, cutAt ?? createdAt, null, null, null);

    public static TaskItem OpenTask(string id, string? caseId, string person, DateTimeOffset due, Team team = Team.It) =>
        new(id, caseId, null, person, team, "collect laptop", "", T0, due, Core.Model.TaskStatus.Open, null, null, null);

    /// <summary>A case with one pending automated step due at <paramref name="at"/>.</summary>
    public static Plan OneStep(string caseId, string person, DateTimeOffset at, CaseKind kind = CaseKind.Leaver) =>
        new(NewCase(caseId, person, at, kind), [NewStep(caseId, 1, StepStatus.Pending, at)], [], [], []);

    public static StepCompletion Finished(string stepId, StepStatus status, DateTimeOffset at) =>
        new(stepId, status, at, "{\"active\":\"true\"}", "{\"active\":\"false\"}", status == StepStatus.Failed ? "refused" : null, null, null,
            [new AuditEntry(at, "deprov", "disable_account", "sys", stepId, null, null, stepId, null, null, status == StepStatus.Verified ? "ok" : "failed", null)]);

    public static async Task<int> CountAuditAsync(IStore store, string action) =>
        (await store.SearchAuditAsync(new AuditQuery(Action: action, Limit: 1000), CancellationToken.None)).Count;

    public static async Task<List<AuditRecord>> ReadAllAsync(IAsyncEnumerable<AuditRecord> records)
    {
        var list = new List<AuditRecord>();
        await foreach (var r in records)
        {
            list.Add(r);
        }

        return list;
    }
}
