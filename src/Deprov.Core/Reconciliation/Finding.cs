using Deprov.Core.Model;

namespace Deprov.Core.Reconciliation;

/// <summary>What reconciliation can find in a system.</summary>
public enum FindingKind
{
    /// <summary>An active account no person owns (no rule matched, or a correlation conflict).</summary>
    Orphan,
    /// <summary>An active account whose owner has left.</summary>
    LeaverStillActive,
    /// <summary>An account or membership Deprov revoked (verified step) that is active or present again.</summary>
    Drift,
    /// <summary>An active account with no sign-in for longer than the system's dormant threshold.</summary>
    Dormant,
    /// <summary>An active service account or API token whose owner has left.</summary>
    OwnedByLeaver,
    /// <summary>An active shared secret still known to someone who left (not rotated since).</summary>
    SharedCredentialNotRotated,
    /// <summary>A birthright entitlement the person's current role does not grant (left over from a move).</summary>
    MoverLeftover,
    /// <summary>A scheduled discovery listed far fewer accounts than the inventory holds and was refused (the inventory
    /// was kept): an operator accepts the new listing (<c>deprov findings accept</c>) or fixes the system's settings.</summary>
    InventoryShrink,
}

/// <summary>What Deprov does when a finding is first seen.</summary>
public enum FindingReaction
{
    /// <summary>Listed by <c>deprov findings</c> and in the audit trail; nothing else.</summary>
    Report,
    /// <summary>A task for the system owner's team.</summary>
    Task,
    /// <summary>A remediation case through the normal engine: plan, steps, read-back verification, audit.</summary>
    Remediate,
}

/// <summary>A finding as a detection pass sees it, before it is stored.</summary>
/// <param name="Target">Stable key of what is wrong: an account id, <c>accountId|entitlementId</c>, or a credential id.</param>
/// <param name="Evidence">Why, in words an auditor can check (status, owner, dates, the step that revoked it).</param>
public sealed record DetectedFinding(
    FindingKind Kind,
    string SystemId,
    string Target,
    string? AccountId,
    string? EntitlementId,
    string? CredentialId,
    string? PersonId,
    string Evidence)
{
    /// <summary>Deterministic id: the same problem found again keeps its id and its first-seen time.</summary>
    public string Id => FindingIds.For(Kind, Target);
}

/// <summary>A stored finding.</summary>
/// <param name="ResolvedAt">When a later discovery no longer found it (fixed by anyone, or remediated); null while open.</param>
/// <param name="ReactionRef">The case or task created by the reaction.</param>
public sealed record Finding(
    string Id,
    FindingKind Kind,
    string SystemId,
    string Target,
    string? AccountId,
    string? EntitlementId,
    string? CredentialId,
    string? PersonId,
    string Evidence,
    DateTimeOffset FirstSeenAt,
    DateTimeOffset LastSeenAt,
    DateTimeOffset? ResolvedAt,
    FindingReaction? Reaction,
    string? ReactionRef);

public static class FindingIds
{
    public static string For(FindingKind kind, string target)
    {
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{(int)kind}|{target}"));
        return "F-" + Convert.ToHexString(hash, 0, 8);
    }
}

/// <summary>A revoking (or restoring) step Deprov verified: the memory drift is checked against.</summary>
/// <param name="EntitlementId">Null for an account-level action.</param>
public sealed record Revocation(string AccountId, string? EntitlementId, ActionKind Action, string StepId, string CaseId, string PersonId, DateTimeOffset At);

/// <summary>A manual correlation: this account belongs to this person, whatever the rules say.</summary>
public sealed record CorrelationLink(string SystemId, string AccountExternalId, string PersonId, string LinkedBy, DateTimeOffset LinkedAt)
{
    /// <summary>The correlation rule recorded on an account tied by a manual link.</summary>
    public static string RuleFor(string linkedBy) => $"manual (by {linkedBy})";
}

/// <summary>One interval of a person's access, from the recorded history.</summary>
/// <param name="EntitlementId">Null for the account's own status interval.</param>
/// <param name="To">Null while still current.</param>
public sealed record AccessInterval(string AccountId, string SystemId, string? EntitlementId, AccountStatus Status, DateTimeOffset? From, DateTimeOffset? To);

/// <summary>Per-system seat counts for the licence reclaim report.</summary>
/// <param name="RevokedSeats">Accounts Deprov disabled or deleted (verified), or licences it reclaimed.</param>
/// <param name="DormantSeats">Accounts with an open dormant finding.</param>
public sealed record LicenceUsage(string SystemId, string DisplayName, decimal CostPerSeat, int ActiveAccounts, int RevokedSeats, int DormantSeats)
{
    public decimal MonthlyFreed => RevokedSeats * CostPerSeat;

    public decimal MonthlyReclaimable => DormantSeats * CostPerSeat;
}

/// <summary>What the store remembers about a system's last discovery (for unchanged re-runs and schedules).</summary>
/// <param name="Fingerprint">Order-independent hash of what was read.</param>
/// <param name="Watermark">The connector's change position at the end of the listing, when it reports one.</param>
/// <param name="Context">Hash of everything else the outcome depended on (people, links, rules, revocations, policy, day).</param>
public sealed record DiscoveryState(string SystemId, string? Fingerprint, DateTimeOffset CompletedAt, int Accounts, int Memberships,
    string? Watermark = null, string? Context = null);

/// <summary>The result of storing one detection pass.</summary>
/// <param name="New">Findings seen for the first time (or again after being resolved): the ones to react to.</param>
public sealed record FindingsUpdate(IReadOnlyList<Finding> New, int StillOpen, int Resolved);

public sealed record FindingQuery(FindingKind? Kind = null, string? SystemId = null, bool OpenOnly = true, int Limit = 1000);
