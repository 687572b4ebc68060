using Deprov.Core.Model;

namespace Deprov.Core.Planning;

/// <summary>Everything linked to one person: the input of the planner and the body of <c>deprov person</c>.</summary>
/// <param name="CredentialsKnown">Shared secrets the person knows.</param>
/// <param name="CredentialsOwned">API tokens and service accounts the person owns.</param>
public sealed record AccessMap(
    Person Person,
    IReadOnlyList<Account> Accounts,
    IReadOnlyList<Entitlement> Entitlements,
    IReadOnlyList<Assignment> Assignments,
    IReadOnlyList<Device> Devices,
    IReadOnlyList<Credential> CredentialsKnown,
    IReadOnlyList<Credential> CredentialsOwned,
    IReadOnlyList<LegalHold> Holds)
{
    public Entitlement? FindEntitlement(string id) => Entitlements.FirstOrDefault(e => e.Id == id);

    /// <summary>The person's risk: the highest tier of a system where they hold privileged access.</summary>
    public RiskTier RiskTier(IReadOnlyDictionary<string, ConnectedSystem> systems)
    {
        var risk = Model.RiskTier.Low;
        var privileged = Entitlements.Where(e => e.Privileged).Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var a in Assignments)
        {
            if (privileged.Contains(a.EntitlementId))
            {
                var acct = Accounts.FirstOrDefault(x => x.Id == a.AccountId);
                if (acct is not null && systems.TryGetValue(acct.SystemId, out var s) && s.Risk > risk)
                {
                    risk = s.Risk;
                }
            }
        }

        return risk;
    }

    public bool IsHeld(string? systemId) => Holds.Any(h => h.SystemId is null || h.SystemId == systemId);
}

/// <summary>A legal hold on a person, for all systems (<see cref="SystemId"/> null) or one.</summary>
public sealed record LegalHold(string Id, string PersonId, string? SystemId, string Reason, string SetBy, DateTimeOffset SetAt);
