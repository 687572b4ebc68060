using System.DirectoryServices.Protocols;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Planning;

namespace Deprov.Connectors.Ldap;

internal sealed partial class LdapConnector
{
    /// <summary>AD's bitwise-AND matching rule (LDAP_MATCHING_RULE_BIT_AND).</summary>
    internal const string BitAndRule = "1.2.840.113556.1.4.803";

    /// <summary>
    /// The second read path: the server evaluates the wanted state as a filter on one entry read by its DN (base scope),
    /// instead of the connector comparing values it read. A membership is asked of the group entry
    /// (<c>(!(member=&lt;dn&gt;))</c> for a removal, <c>(member=&lt;dn&gt;)</c> for an add); a disable or enable of the account entry
    /// (<c>pwdAccountLockedTime</c> on OpenLDAP, the <c>userAccountControl</c> bit through the bitwise-AND rule on AD).
    /// The account is looked up afresh, never from the cache.
    /// </summary>
    /// <remarks>Only a returned entry confirms: an empty answer (the filter did not match, the entry is gone, the bind account
    /// may not evaluate the attribute) never does. A password reset and a delete have no second path (null).</remarks>
    public Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken) => action.Kind switch
    {
        ActionKind.RemoveEntitlement => MembershipByFilterAsync(action, wantMember: false, cancellationToken),
        ActionKind.AddEntitlement => MembershipByFilterAsync(action, wantMember: true, cancellationToken),
        ActionKind.DisableAccount => AccountStateByFilterAsync(action, wantDisabled: true, cancellationToken),
        ActionKind.EnableAccount => AccountStateByFilterAsync(action, wantDisabled: false, cancellationToken),
        _ => Task.FromResult<ReadBackResult?>(null),
    };

    private async Task<ReadBackResult?> MembershipByFilterAsync(ConnectorAction action, bool wantMember, CancellationToken cancellationToken)
    {
        var groupDn = action.EntitlementExternalId ?? string.Empty;
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["group"] = groupDn, ["path"] = "group entry read by DN with a membership filter" };
        var attributes = await GroupMemberAttributesAsync(groupDn, cancellationToken);
        if (attributes is null)
        {
            observed["group_exists"] = "false";
            return new ReadBackResult(false, observed);
        }

        var (account, _) = await ResolveAccountAsync(action, forceLookup: true, cancellationToken);
        if (account is null)
        {
            observed["account_exists"] = "false";
            observed["searched"] = AccountSearchScope();
            return new ReadBackResult(false, observed);
        }

        // AD: a removal must also hold through nested groups, so the absence is tested with the in-chain rule.
        var tests = attributes.Select(a => IsAd && !wantMember && a == "member"
            ? $"({a}:{InChainRule}:={EscapeFilterValue(MemberValue(account, a, action))})"
            : $"({a}={EscapeFilterValue(MemberValue(account, a, action))})").ToList();
        var filter = wantMember
            ? $"(&{string.Concat(tests)})"
            : $"(&(objectClass=*){string.Concat(tests.Select(t => $"(!{t})"))})";
        observed["filter"] = filter;
        var matched = await BaseFilterMatchesAsync(groupDn, filter, "read group by membership filter", cancellationToken);
        observed["matched"] = matched ? "true" : "false";
        return new ReadBackResult(matched, observed);
    }

    private async Task<ReadBackResult?> AccountStateByFilterAsync(ConnectorAction action, bool wantDisabled, CancellationToken cancellationToken)
    {
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["path"] = "account entry read by DN with a state filter" };
        var entry = await FindAccountAsync(AccountId(action), [], cancellationToken);
        if (entry is null)
        {
            observed["account_exists"] = "false";
            observed["searched"] = AccountSearchScope();
            return new ReadBackResult(false, observed);
        }

        var dn = entry.DistinguishedName;
        observed["dn"] = dn;
        var recorded = action.Parameters.TryGetValue("before", out var json) ? CoreJson.ParseMap(json) : [];
        var disabled = wantDisabled || WasDisabled(recorded);
        var test = IsAd ? $"(userAccountControl:{BitAndRule}:={AccountDisable})" : $"(pwdAccountLockedTime={PermanentLock})";
        var filter = disabled ? test : $"(&(objectClass=*)(!{test}))";
        observed["filter"] = filter;
        var matched = await BaseFilterMatchesAsync(dn, filter, "read account by state filter", cancellationToken);
        observed["matched"] = matched ? "true" : "false";
        var confirmed = matched;
        if (wantDisabled && _settings.DisabledOu is { } ou)
        {
            confirmed &= Dn.AreEqual(Dn.Parent(dn), ou);
        }

        if (!wantDisabled && recorded.TryGetValue("dn", out var originalDn) && originalDn.Length > 0)
        {
            confirmed &= Dn.AreEqual(originalDn, dn);
        }

        return new ReadBackResult(confirmed, observed);
    }

    /// <summary>True when a base-scope search of <paramref name="dn"/> with <paramref name="filter"/> returns the entry.</summary>
    private async Task<bool> BaseFilterMatchesAsync(string dn, string filter, string operation, CancellationToken cancellationToken)
    {
        var request = new SearchRequest(dn, filter, SearchScope.Base, "1.1");
        var (response, code) = await SendAsync(request, operation, dn, "read", cancellationToken, LdapErrors.NoSuchObject);
        return code != LdapErrors.NoSuchObject && ((SearchResponse)response!).Entries.Count == 1;
    }
}
