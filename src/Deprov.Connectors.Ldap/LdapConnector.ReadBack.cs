using System.DirectoryServices.Protocols;
using System.Globalization;
using Deprov.Core.Connectors;
using Deprov.Core.Planning;

namespace Deprov.Connectors.Ldap;

internal sealed partial class LdapConnector
{
    private bool IsDisabled(SearchResultEntry entry) => IsAd
        ? int.TryParse(Attr(entry, "userAccountControl"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var uac) && (uac & AccountDisable) != 0
        : Attr(entry, "pwdAccountLockedTime") == PermanentLock;

    /// <summary>Whether a disable step's Before map shows the account was already disabled then.</summary>
    private bool WasDisabled(Dictionary<string, string> before) => IsAd
        ? before.TryGetValue("userAccountControl", out var uac) && int.TryParse(uac, NumberStyles.Integer, CultureInfo.InvariantCulture, out var u) && (u & AccountDisable) != 0
        : before.TryGetValue("pwdAccountLockedTime", out var locked) && locked == PermanentLock;

    private async Task<ReadBackResult> ReadBackAccountStateAsync(ConnectorAction action, bool wantDisabled, CancellationToken cancellationToken)
    {
        var entry = await FindAccountAsync(AccountId(action), StateAttributes, cancellationToken);
        if (entry is null)
        {
            return new ReadBackResult(false, new Dictionary<string, string> { ["exists"] = "false" });
        }

        var dn = entry.DistinguishedName;
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["dn"] = dn };
        foreach (var name in StateAttributes)
        {
            observed[name] = Attr(entry, name) ?? string.Empty;
        }

        var recorded = action.Parameters.TryGetValue("before", out var json) ? CoreJson.ParseMap(json) : [];

        // A restore puts the account back as it was: one already disabled before the case stays disabled.
        var confirmed = IsDisabled(entry) == (wantDisabled || WasDisabled(recorded));
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

    private async Task<ReadBackResult> ReadBackMembershipAsync(ConnectorAction action, bool wantMember, CancellationToken cancellationToken)
    {
        var groupDn = action.EntitlementExternalId ?? string.Empty;
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["group"] = groupDn };
        var attributes = await GroupMemberAttributesAsync(groupDn, cancellationToken);
        if (attributes is null)
        {
            observed["group_exists"] = "false";
            return new ReadBackResult(!wantMember, observed);
        }

        var (account, _) = await ResolveAccountAsync(action, forceLookup: false, cancellationToken);
        if (account is null)
        {
            observed["account_exists"] = "false";
            return new ReadBackResult(!wantMember, observed);
        }

        var anyMember = false;
        var allMember = true;
        foreach (var attribute in attributes)
        {
            var value = MemberValue(account, attribute, action);
            var isMember = await IsMemberAsync(groupDn, attribute, value, cancellationToken);
            observed[attribute] = value;
            observed[$"{attribute}.present"] = isMember ? "true" : "false";
            anyMember |= isMember;
            allMember &= isMember;
        }

        return new ReadBackResult(wantMember ? allMember : !anyMember, observed);
    }

    private async Task<ReadBackResult> ReadBackResetAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var changedAttribute = IsAd ? "pwdLastSet" : "pwdChangedTime";
        var entry = await FindAccountAsync(AccountId(action), [changedAttribute], cancellationToken);
        if (entry is null)
        {
            return new ReadBackResult(false, new Dictionary<string, string> { ["exists"] = "false" });
        }

        var current = Attr(entry, changedAttribute) ?? string.Empty;
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["dn"] = entry.DistinguishedName, [changedAttribute] = current };
        if (!_resets.TryGetValue(action.IdempotencyKey, out var written))
        {
            // The password itself cannot be read back; without the timestamp our reset wrote there is nothing to compare.
            observed["note"] = "this process did not perform the reset, so it cannot be confirmed";
            return new ReadBackResult(false, observed);
        }

        var confirmed = current.Length > 0 && written.Length > 0 && (long.TryParse(current, out var c) && long.TryParse(written, out var w)
            ? c >= w
            : string.CompareOrdinal(current, written) >= 0);
        return new ReadBackResult(confirmed, observed);
    }

    private async Task<ReadBackResult> ReadBackDeleteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var entry = await FindAccountAsync(AccountId(action), [], cancellationToken);
        return entry is null
            ? new ReadBackResult(true, new Dictionary<string, string> { ["exists"] = "false" })
            : new ReadBackResult(false, new Dictionary<string, string> { ["exists"] = "true", ["dn"] = entry.DistinguishedName });
    }
}
