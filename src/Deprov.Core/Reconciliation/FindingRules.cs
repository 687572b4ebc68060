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
        var accounts = new Dictionary<string, Account>(inv.Accounts.Count, StringComparer.Ordinal);

        foreach (var a in inv.Accounts)
        {
            accounts[a.Id] = a;
            if (a.Status != AccountStatus.Active)
            {
                continue;
            }

            var owner = a.PersonId is null ? null : inv.People.GetValueOrDefault(a.PersonId);
            if (revokedAccounts.TryGetValue(a.Id, out var rev))
            {
                found.Add(new(FindingKind.Drift, sys, a.Id, a.Id, null, null, rev.PersonId,
                    $"account {a.UserName} is active again; Deprov {rev.Action.ToSnake()} it in step {rev.StepId} (case {rev.CaseId}) at {rev.At:u}"));
            }

            if (a.PersonId is null)
            {
                found.Add(new(FindingKind.Orphan, sys, a.Id, a.Id, null, null, null,
                    a.CorrelationRule is { } c && c.StartsWith("conflict", StringComparison.Ordinal)
                        ? $"{Kind(a)} {a.UserName} is active and its owner is ambiguous: {c}"
                        : $"{Kind(a)} {a.UserName} is active and matches no person (email {a.Email ?? "-"})"));
            }
            else if (owner is null || owner.Status == PersonStatus.Left)
            {
                var kind = a.Kind == AccountKind.Service ? FindingKind.OwnedByLeaver : FindingKind.LeaverStillActive;
                found.Add(new(kind, sys, a.Id, a.Id, null, null, a.PersonId,
                    owner is null
                        ? $"{Kind(a)} {a.UserName} is active; its owner {a.PersonId} is no longer in the HR data"
                        : $"{Kind(a)} {a.UserName} is active; its owner {owner.Id} ({owner.DisplayName}) left{(owner.EndDate is { } end ? $" on {end:yyyy-MM-dd}" : string.Empty)} (matched by {a.CorrelationRule})"));
            }

            if (inv.DormantDays > 0 && inv.ReportsSignIns && a.LastSignInAt is { } last && last < dormantBefore)
            {
                found.Add(new(FindingKind.Dormant, sys, a.Id, a.Id, null, null, a.PersonId,
                    $"{Kind(a)} {a.UserName}: last sign-in {last:yyyy-MM-dd}, {(int)(now - last).TotalDays} days ago (threshold {inv.DormantDays})"));
            }
        }

        MembershipFindings(inv, policy, accounts, removedMemberships, found);
        CredentialFindings(inv, found);
        return found;
    }

    private static void MembershipFindings(SystemInventory inv, DeprovPolicy policy, Dictionary<string, Account> accounts,
        Dictionary<(string, string), Revocation> removed, List<DetectedFinding> found)
    {
        var entitlements = inv.Entitlements.ToDictionary(e => e.Id, StringComparer.Ordinal);

        // Only entitlements some role grants are judged: anything else was granted by hand and is not a mover's leftover.
        var managed = policy.Roles.SelectMany(r => r.Entitlements).ToHashSet(StringComparer.Ordinal);
        var prefix = inv.SystemId + ":";
        var judgeMovers = managed.Any(k => k.StartsWith(prefix, StringComparison.Ordinal));
        var roleCache = new Dictionary<(string, string), IReadOnlySet<string>?>();
        foreach (var x in inv.Assignments)
        {
            if (!accounts.TryGetValue(x.AccountId, out var a) || a.Status == AccountStatus.Deleted)
            {
                continue;
            }

            entitlements.TryGetValue(x.EntitlementId, out var ent);
            var name = ent?.Name ?? x.EntitlementId;
            if (removed.TryGetValue((x.AccountId, x.EntitlementId), out var rev))
            {
                found.Add(new(FindingKind.Drift, inv.SystemId, $"{x.AccountId}|{x.EntitlementId}", x.AccountId, x.EntitlementId, null, rev.PersonId,
                    $"{a.UserName} is in {name} again; Deprov removed it in step {rev.StepId} (case {rev.CaseId}) at {rev.At:u}"));
                continue;
            }

            if (!judgeMovers || ent is null || a.Status != AccountStatus.Active || a.PersonId is null || x.Source == GrantSource.Exception
                || !inv.People.TryGetValue(a.PersonId, out var person) || person.Status == PersonStatus.Left)
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
                found.Add(new(FindingKind.MoverLeftover, inv.SystemId, $"{x.AccountId}|{x.EntitlementId}", x.AccountId, x.EntitlementId, null, person.Id,
                    $"{a.UserName} holds {key}, which a role grants, but {person.Id}'s role ({policy.RoleFor(person.Department, person.Title)?.Name ?? "none"}, {person.Department} / {person.Title}) does not"));
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

    private static string Kind(Account a) => a.Kind == AccountKind.Service ? "service account" : "account";
}
