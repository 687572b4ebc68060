using Deprov.Core.Model;
using Deprov.Core.Policy;

namespace Deprov.Core.Reconciliation;

/// <summary>What a detection pass over one system needs. Everything is already read; detection does no I/O.</summary>
/// <param name="People">Every known person by HR id.</param>
/// <param name="Revocations">Verified revoking and restoring steps on this system, in any order.</param>
/// <param name="DormantDays">0 turns the dormant check off.</param>
/// <param name="ReportsSignIns">Whether the system reports last sign-in times (dormancy is not guessed otherwise).</param>
public sealed record SystemInventory(
    string SystemId,
    IReadOnlyList<Account> Accounts,
    IReadOnlyList<Entitlement> Entitlements,
    IReadOnlyList<Assignment> Assignments,
    IReadOnlyList<Credential> Credentials,
    IReadOnlyDictionary<string, Person> People,
    IReadOnlyList<Revocation> Revocations,
    int DormantDays,
    bool ReportsSignIns);

/// <summary>
/// Finds orphans, active leavers, drift, dormant accounts, leaver-owned credentials, unrotated shared secrets and mover
/// leftovers in one system. Pure and deterministic: the same inputs give the same findings in the same order.
/// </summary>
public static class FindingRules
{
    private static readonly ActionKind[] AccountRevokes = [ActionKind.DisableAccount, ActionKind.DeleteAccount];
    private static readonly ActionKind[] MembershipRevokes = [ActionKind.RemoveEntitlement, ActionKind.ReclaimLicence];

    public static List<DetectedFinding> Detect(SystemInventory inv, DeprovPolicy policy, DateTimeOffset now)
    {
        var found = new List<DetectedFinding>();
        var sys = inv.SystemId;
        var (revokedAccounts, removedMemberships) = StillRevoked(inv.Revocations);
        var dormantBefore = now - TimeSpan.FromDays(inv.DormantDays);

        // Read as columns (discovery hands them over so): no Account object per account, none per membership.
        var accounts = AccountColumns.From(inv.Accounts);
        for (var i = 0; i < accounts.Count; i++)
        {
            var id = accounts.IdAt(i);
            if (accounts.StatusAt(i) != AccountStatus.Active)
            {
                continue;
            }

            var (userName, personId, kind) = (accounts.UserNameAt(i), accounts.PersonIdAt(i), accounts.KindAt(i));
            var owner = personId is null ? null : inv.People.GetValueOrDefault(personId);
            if (revokedAccounts.Count > 0 && revokedAccounts.TryGetValue(id, out var rev))
            {
                found.Add(new(FindingKind.Drift, sys, id, id, null, null, rev.PersonId,
                    $"account {userName} is active again; Deprov {rev.Action.ToSnake()} it in step {rev.StepId} (case {rev.CaseId}) at {rev.At:u}"));
            }

            if (personId is null)
            {
                found.Add(new(FindingKind.Orphan, sys, id, id, null, null, null,
                    accounts.CorrelationRuleAt(i) is { } c && c.StartsWith("conflict", StringComparison.Ordinal)
                        ? $"{Kind(kind)} {userName} is active and its owner is ambiguous: {c}"
                        : $"{Kind(kind)} {userName} is active and matches no person (email {accounts.EmailAt(i) ?? "-"})"));
            }
            else if (owner is null || owner.Status == PersonStatus.Left)
            {
                found.Add(new(kind == AccountKind.Service ? FindingKind.OwnedByLeaver : FindingKind.LeaverStillActive, sys, id, id, null, null, personId,
                    owner is null
                        ? $"{Kind(kind)} {userName} is active; its owner {personId} is no longer in the HR data"
                        : $"{Kind(kind)} {userName} is active; its owner {owner.Id} ({owner.DisplayName}) left{(owner.EndDate is { } end ? $" on {end:yyyy-MM-dd}" : string.Empty)} (matched by {accounts.CorrelationRuleAt(i)})"));
            }

            if (inv.DormantDays > 0 && inv.ReportsSignIns && accounts.LastSignInAt(i) is { } last && last < dormantBefore)
            {
                found.Add(new(FindingKind.Dormant, sys, id, id, null, null, personId,
                    $"{Kind(kind)} {userName}: last sign-in {last:yyyy-MM-dd}, {(int)(now - last).TotalDays} days ago (threshold {inv.DormantDays})"));
            }
        }

        MembershipFindings(inv, policy, accounts, removedMemberships, found);
        CredentialFindings(inv, found);
        return found;
    }

    private static void MembershipFindings(SystemInventory inv, DeprovPolicy policy, AccountColumns accounts, Dictionary<(string, string), Revocation> removed,
        List<DetectedFinding> found)
    {
        // Only entitlements some role grants are judged: anything else was granted by hand and is not a mover's leftover.
        var managed = policy.Roles.SelectMany(r => r.Entitlements).ToHashSet(StringComparer.Ordinal);
        var prefix = inv.SystemId + ":";
        var judgeMovers = managed.Any(k => k.StartsWith(prefix, StringComparison.Ordinal));
        if (!judgeMovers && removed.Count == 0)
        {
            return; // nothing a membership could be found for
        }

        var entitlements = inv.Entitlements.ToDictionary(e => e.Id, StringComparer.Ordinal);
        var rows = new Dictionary<string, int>(accounts.Count, StringComparer.Ordinal);
        for (var i = 0; i < accounts.Count; i++)
        {
            rows[accounts.IdAt(i)] = i; // the last of a repeated id wins
        }

        var roleCache = new Dictionary<(string, string), IReadOnlySet<string>?>();
        var discovered = inv.Assignments as DiscoveredAssignments; // read as ids, without an Assignment each
        string? lastAccount = null;
        var row = -1;
        for (var k = 0; k < inv.Assignments.Count; k++)
        {
            var (accountId, entitlementId, source) = discovered is not null
                ? (discovered.AccountIdAt(k), discovered.EntitlementIdAt(k), GrantSource.Discovered)
                : inv.Assignments[k] is var x ? (x.AccountId, x.EntitlementId, x.Source) : default;

            // Memberships come grouped by account: the previous lookup answers almost every one.
            if (!ReferenceEquals(accountId, lastAccount))
            {
                (lastAccount, row) = (accountId, rows.TryGetValue(accountId, out var r) ? r : -1);
            }

            if (row < 0 || accounts.StatusAt(row) == AccountStatus.Deleted)
            {
                continue;
            }

            var userName = accounts.UserNameAt(row);
            if (removed.Count > 0 && removed.TryGetValue((accountId, entitlementId), out var rev))
            {
                var name = entitlements.TryGetValue(entitlementId, out var e) ? e.Name : entitlementId;
                found.Add(new(FindingKind.Drift, inv.SystemId, $"{accountId}|{entitlementId}", accountId, entitlementId, null, rev.PersonId,
                    $"{userName} is in {name} again; Deprov removed it in step {rev.StepId} (case {rev.CaseId}) at {rev.At:u}"));
                continue;
            }

            if (!judgeMovers || accounts.StatusAt(row) != AccountStatus.Active || accounts.PersonIdAt(row) is not { } personId || source == GrantSource.Exception
                || !entitlements.TryGetValue(entitlementId, out var ent) || !inv.People.TryGetValue(personId, out var person) || person.Status == PersonStatus.Left)
            {
                continue;
            }

            var key = prefix + ent.Name;
            if (!managed.Contains(key))
            {
                continue;
            }

            if (!roleCache.TryGetValue((person.Department, person.Title), out var grants))
            {
                roleCache[(person.Department, person.Title)] = grants = policy.RoleFor(person.Department, person.Title)?.Entitlements;
            }

            if (grants is null || !grants.Contains(key))
            {
                found.Add(new(FindingKind.MoverLeftover, inv.SystemId, $"{accountId}|{entitlementId}", accountId, entitlementId, null, person.Id,
                    $"{userName} holds {key}, which a role grants, but {person.Id}'s role ({policy.RoleFor(person.Department, person.Title)?.Name ?? "none"}, {person.Department} / {person.Title}) does not"));
            }
        }
    }

    private static void CredentialFindings(SystemInventory inv, List<DetectedFinding> found)
    {
        foreach (var c in inv.Credentials)
        {
            if (c.Status != CredentialStatus.Active)
            {
                continue;
            }

            if (c.Kind is CredentialKind.ApiToken or CredentialKind.ServiceAccount && c.OwnerPersonId is { } ownerId
                && inv.People.GetValueOrDefault(ownerId) is var owner && (owner is null || owner.Status == PersonStatus.Left))
            {
                found.Add(new(FindingKind.OwnedByLeaver, inv.SystemId, c.Id, null, null, c.Id, ownerId,
                    $"{c.Kind.Snake()} {c.Name} is active; its owner {ownerId} {(owner is null ? "is no longer in the HR data" : "left")}"));
            }

            if (c.Kind == CredentialKind.SharedSecret)
            {
                var leavers = c.KnownBy.Select(id => inv.People.GetValueOrDefault(id)).OfType<Person>()
                    .Where(p => p.Status == PersonStatus.Left && (c.LastRotatedAt is null || p.EndDate is null
                        || c.LastRotatedAt.Value < new DateTimeOffset(p.EndDate.Value.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero)))
                    .Select(p => p.Id).ToList();
                if (leavers.Count > 0)
                {
                    found.Add(new(FindingKind.SharedCredentialNotRotated, inv.SystemId, c.Id, null, null, c.Id, leavers[0],
                        $"shared secret {c.Name} is still known to {string.Join(", ", leavers)}, who left; last rotated {(c.LastRotatedAt is { } r ? r.ToString("u", System.Globalization.CultureInfo.InvariantCulture) : "never")}"));
                }
            }
        }
    }

    /// <summary>The accounts and memberships whose latest verified action was a revoke (not undone by a restore).</summary>
    public static (Dictionary<string, Revocation> Accounts, Dictionary<(string, string), Revocation> Memberships) StillRevoked(IReadOnlyList<Revocation> revocations)
    {
        var accounts = new Dictionary<string, Revocation>(StringComparer.Ordinal);
        var memberships = new Dictionary<(string, string), Revocation>();
        foreach (var r in revocations.OrderBy(r => r.At).ThenBy(r => r.StepId, StringComparer.Ordinal))
        {
            if (r.EntitlementId is null)
            {
                if (Array.IndexOf(AccountRevokes, r.Action) >= 0)
                {
                    accounts[r.AccountId] = r;
                }
                else
                {
                    accounts.Remove(r.AccountId);
                }
            }
            else if (Array.IndexOf(MembershipRevokes, r.Action) >= 0)
            {
                memberships[(r.AccountId, r.EntitlementId)] = r;
            }
            else
            {
                memberships.Remove((r.AccountId, r.EntitlementId));
            }
        }

        return (accounts, memberships);
    }

    private static string Kind(AccountKind kind) => kind == AccountKind.Service ? "service account" : "account";
}
