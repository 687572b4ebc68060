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

    /// <summary>
    /// Confirms a membership change on the group entry: the group is read by its DN (its member attributes, following
    /// AD range retrieval) and the account's DN (or uid, for <c>memberUid</c>) looked for among the values. A group or
    /// account that cannot be found confirms nothing; neither does an empty attribute until the server has answered a
    /// compare for the value (compareFalse or noSuchAttribute), because a read the bind account may not see also comes back empty.
    /// </summary>
    private async Task<ReadBackResult> ReadBackMembershipAsync(ConnectorAction action, bool wantMember, CancellationToken cancellationToken)
    {
        var groupDn = action.EntitlementExternalId ?? string.Empty;
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["group"] = groupDn };
        var attributes = await GroupMemberAttributesAsync(groupDn, cancellationToken);
        if (attributes is null)
        {
            observed["group_exists"] = "false";
            return new ReadBackResult(false, observed);
        }

        var (account, _) = await ResolveAccountAsync(action, forceLookup: false, cancellationToken);
        if (account is null)
        {
            observed["account_exists"] = "false";
            observed["searched"] = AccountSearchScope();
            return new ReadBackResult(false, observed);
        }

        var values = await ReadMemberValuesAsync(groupDn, attributes, cancellationToken);
        if (values is null)
        {
            observed["group_exists"] = "false";
            return new ReadBackResult(false, observed);
        }

        var anyMember = false;
        var allMember = true;
        foreach (var attribute in attributes)
        {
            var value = MemberValue(account, attribute, action);
            var held = values[attribute];
            var isMember = held.Any(v => SameMember(attribute, v, value));
            if (held.Count == 0 && !wantMember)
            {
                // Nothing came back: either the attribute is empty or the bind account may not read it. Only the
                // server's own answer to a compare tells the two apart (an ACL that hides the values refuses the compare).
                isMember = await IsMemberAsync(groupDn, attribute, value, cancellationToken);
                observed[$"{attribute}.compared"] = "true";
            }

            if (IsAd && !wantMember && attribute == "member" && !isMember
                && await BaseFilterMatchesAsync(groupDn, $"(member:{InChainRule}:={EscapeFilterValue(value)})", "read group by nested membership", cancellationToken))
            {
                // Not a direct member, but still one through a group nested in this one: the access is not gone.
                isMember = true;
                observed[$"{attribute}.nested"] = "true";
            }

            observed[attribute] = value;
            observed[$"{attribute}.values_read"] = held.Count.ToString(CultureInfo.InvariantCulture);
            observed[$"{attribute}.present"] = isMember ? "true" : "false";
            anyMember |= isMember;
            allMember &= isMember;
        }

        return new ReadBackResult(wantMember ? allMember : !anyMember, observed);
    }

    /// <summary>Where an account id was looked for, for evidence and messages.</summary>
    private string AccountSearchScope() =>
        $"{_settings.IdAttribute} under users.base '{_settings.Users.Base}'" + (_settings.DisabledOu is null ? string.Empty : $" and disabled_ou '{_settings.DisabledOu}'");

    /// <summary>Whether a value read from a member attribute names <paramref name="wanted"/> (DNs compared as DNs).</summary>
    private static bool SameMember(string attribute, string value, string wanted)
    {
        if (string.Equals(attribute, "memberUid", StringComparison.OrdinalIgnoreCase))
        {
            return string.Equals(value, wanted, StringComparison.OrdinalIgnoreCase);
        }

        // uniqueMember may carry an optional "#'0101'B" uid suffix (RFC 4517 NameAndOptionalUID).
        var hash = value.LastIndexOf("#'", StringComparison.Ordinal);
        return Dn.AreEqual(hash > 0 ? value[..hash] : value, wanted);
    }

    /// <summary>
    /// Reads the group's member attributes by its DN (base scope). On AD, <c>member</c> is read in explicit range
    /// windows until the server answers <c>member;range=N-*</c>; see <see cref="MemberDnsAsync"/>. Null when the group does not exist.
    /// </summary>
    private async Task<Dictionary<string, List<string>>?> ReadMemberValuesAsync(string groupDn, string[] attributes, CancellationToken cancellationToken)
    {
        var values = attributes.ToDictionary(a => a, _ => new List<string>(), StringComparer.OrdinalIgnoreCase);
        var ranged = IsAd && values.ContainsKey("member");
        var wanted = attributes.Select(a => ranged && string.Equals(a, "member", StringComparison.OrdinalIgnoreCase) ? MemberRange(0) : a).ToArray();
        var entry = await ReadEntryAsync(groupDn, wanted, "read group members", cancellationToken);
        if (entry is null)
        {
            return null;
        }

        foreach (var attribute in attributes)
        {
            values[attribute].AddRange(Values(entry, attribute));
        }

        var window = ranged ? RangedMember(entry) : null;
        while (window is { } r)
        {
            values["member"].AddRange(r.Attribute.GetValues(typeof(string)).Cast<string>());
            if (r.End is not { } end || r.Attribute.Count == 0)
            {
                break;
            }

            var next = await ReadEntryAsync(groupDn, [MemberRange(end + 1)], "ranged read of member", cancellationToken);
            window = next is null ? null : RangedMember(next);
        }

        return values;
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
