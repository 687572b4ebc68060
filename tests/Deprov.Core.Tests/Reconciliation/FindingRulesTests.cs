using Deprov.Core.Model;
using Deprov.Core.Policy;
using Deprov.Core.Reconciliation;

namespace Deprov.Core.Tests.Reconciliation;

public sealed class FindingRulesTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);

    private static readonly Person Alice = new("p1", "alice@example.com", "Alice", null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC");

    private static Account Acct(string id, AccountStatus status = AccountStatus.Active, string? person = "p1") =>
        new($"app/{id}", "app", id, id, null, person, AccountKind.User, status, Now.AddDays(-1), person is null ? null : "email");

    private static SystemInventory Inventory(IReadOnlyList<Account> accounts, IReadOnlyList<Revocation> revocations, IReadOnlyList<Assignment>? assignments = null) =>
        new("app", accounts, [new Entitlement("app/g", "app", "g", "g", EntitlementKind.Group, false)], assignments ?? [], [],
            new Dictionary<string, Person> { ["p1"] = Alice }, revocations, 90, ReportsSignIns: true);

    private static Revocation Rev(ActionKind action, DateTimeOffset at, string? entitlement = null) =>
        new("app/a1", entitlement, action, $"C1.{at.Ticks}", "C1", "p1", at);

    [Fact]
    public void Detect_RevokedThenActive_IsDrift_RestoredThenActive_IsNot()
    {
        var revoked = FindingRules.Detect(Inventory([Acct("a1")], [Rev(ActionKind.DisableAccount, Now.AddHours(-2))]), DeprovPolicy.Default, Now);
        var drift = Assert.Single(revoked, f => f.Kind == FindingKind.Drift);
        Assert.Equal(("app/a1", "p1"), (drift.Target, drift.PersonId));

        var restored = FindingRules.Detect(Inventory([Acct("a1")], [Rev(ActionKind.DisableAccount, Now.AddHours(-2)), Rev(ActionKind.EnableAccount, Now.AddHours(-1))]),
            DeprovPolicy.Default, Now);
        Assert.DoesNotContain(restored, f => f.Kind == FindingKind.Drift);
    }

    [Fact]
    public void Detect_RemovedMembershipPresentAgain_IsDriftOnTheMembership()
    {
        var found = FindingRules.Detect(Inventory([Acct("a1", AccountStatus.Disabled)], [Rev(ActionKind.RemoveEntitlement, Now.AddHours(-2), "app/g")],
            [new Assignment("app/a1", "app/g", GrantSource.Discovered, null)]), DeprovPolicy.Default, Now);
        var drift = Assert.Single(found);
        Assert.Equal((FindingKind.Drift, "app/a1|app/g", "app/g"), (drift.Kind, drift.Target, drift.EntitlementId));
    }

    [Fact]
    public void Detect_DisabledAccounts_AreNeitherOrphansNorDormant()
    {
        var found = FindingRules.Detect(Inventory([Acct("a1", AccountStatus.Disabled, person: null) with { LastSignInAt = Now.AddDays(-400) }], []), DeprovPolicy.Default, Now);
        Assert.Empty(found);
    }

    [Fact]
    public void Detect_SameInputs_SameFindingsAndIds()
    {
        var inv = Inventory([Acct("a1", person: null), Acct("a2") with { LastSignInAt = Now.AddDays(-100) }], []);
        var first = FindingRules.Detect(inv, DeprovPolicy.Default, Now);
        var second = FindingRules.Detect(inv, DeprovPolicy.Default, Now);
        Assert.Equal(first.Select(f => f.Id), second.Select(f => f.Id));
        Assert.Equal([FindingKind.Orphan, FindingKind.Dormant], first.Select(f => f.Kind));
    }

    [Fact]
    public void Detect_AccountColumnsAndDiscoveredAssignments_SameFindingsAsObjects()
    {
        Account[] accounts =
        [
            Acct("a1"), Acct("a2", person: null), Acct("a3") with { LastSignInAt = Now.AddDays(-100) }, Acct("a4", AccountStatus.Disabled), Acct("a5", person: "gone"),
        ];
        Assignment[] memberships = [new("app/a1", "app/g", GrantSource.Discovered, null), new("app/a4", "app/g", GrantSource.Discovered, null), new("app/x", "app/g", GrantSource.Discovered, null)];
        Revocation[] revocations = [Rev(ActionKind.DisableAccount, Now.AddHours(-2)), Rev(ActionKind.RemoveEntitlement, Now.AddHours(-2), "app/g")];

        var objects = FindingRules.Detect(Inventory(accounts, revocations, memberships), DeprovPolicy.Default, Now);
        var columns = FindingRules.Detect(Inventory(AccountColumns.From(accounts), revocations,
            new DiscoveredAssignments([.. memberships.Select(m => m.AccountId)], [.. memberships.Select(m => m.EntitlementId)])), DeprovPolicy.Default, Now);

        Assert.Equal(5, objects.Count); // drift on a1 and on its membership, orphan a2, dormant a3, leaver-held a5
        Assert.Equal(objects, columns);
    }
}
