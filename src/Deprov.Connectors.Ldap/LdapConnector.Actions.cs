using System.DirectoryServices.Protocols;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Deprov.Core.Security;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Planning;

namespace Deprov.Connectors.Ldap;

internal sealed partial class LdapConnector
{
    private const string PasswordModifyOid = "1.3.6.1.4.1.4203.1.11.1";
    private static readonly string[] OpenLdapStateAttributes = ["pwdAccountLockedTime"];
    private static readonly string[] AdStateAttributes = ["userAccountControl"];

    private string[] StateAttributes => IsAd ? AdStateAttributes : OpenLdapStateAttributes;

    /// <summary>
    /// OpenLDAP: <c>replace pwdAccountLockedTime: 000001010000Z</c>. AD: read-modify-write of userAccountControl, OR-ing in
    /// 0x2 and keeping every other bit. Then, when <c>disabled_ou</c> is set, a modRDN into it.
    /// Before records the DN and the original value, which is what a restore needs.
    /// </summary>
    private async Task<ActionResult> DisableAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var entry = await RequireAccountAsync(action, StateAttributes, cancellationToken);
        var dn = entry.DistinguishedName;
        var before = new Dictionary<string, string>(StringComparer.Ordinal) { ["dn"] = dn };
        var after = new Dictionary<string, string>(StringComparer.Ordinal);
        bool changed;
        if (IsAd)
        {
            var uac = ReadUac(entry, dn);
            before["userAccountControl"] = uac.ToString(CultureInfo.InvariantCulture);
            var wanted = uac | AccountDisable;
            changed = wanted != uac;
            if (changed)
            {
                await ModifyAsync(dn, DirectoryAttributeOperation.Replace, "userAccountControl", wanted.ToString(CultureInfo.InvariantCulture), "write userAccountControl", cancellationToken);
            }

            after["userAccountControl"] = wanted.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            var locked = Attr(entry, "pwdAccountLockedTime");
            before["pwdAccountLockedTime"] = locked ?? string.Empty;
            changed = locked != PermanentLock;
            if (changed)
            {
                await ModifyAsync(dn, DirectoryAttributeOperation.Replace, "pwdAccountLockedTime", PermanentLock, "write pwdAccountLockedTime", cancellationToken);
            }

            after["pwdAccountLockedTime"] = PermanentLock;
        }

        if (_settings.DisabledOu is { } ou && !Dn.AreEqual(Dn.Parent(dn), ou))
        {
            dn = await MoveAsync(action, dn, ou, cancellationToken);
            changed = true;
        }

        after["dn"] = dn;
        return new ActionResult(before, after, AlreadyInState: !changed);
    }

    /// <summary>Undoes <see cref="DisableAsync"/> from its Before map (<c>action.Parameters["before"]</c>): lock state and DN.</summary>
    private async Task<ActionResult> EnableAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var recorded = action.Parameters.TryGetValue("before", out var json) ? CoreJson.ParseMap(json) : [];
        var entry = await RequireAccountAsync(action, StateAttributes, cancellationToken);
        var dn = entry.DistinguishedName;
        var before = new Dictionary<string, string>(StringComparer.Ordinal) { ["dn"] = dn };
        var after = new Dictionary<string, string>(StringComparer.Ordinal);
        var changed = false;
        if (IsAd)
        {
            var uac = ReadUac(entry, dn);
            before["userAccountControl"] = uac.ToString(CultureInfo.InvariantCulture);

            // Only the disable bit goes back to what it was; every other bit stays as the directory has it now.
            var wasDisabled = WasDisabled(recorded);
            var wanted = wasDisabled ? uac | AccountDisable : uac & ~AccountDisable;
            if (wanted != uac)
            {
                await ModifyAsync(dn, DirectoryAttributeOperation.Replace, "userAccountControl", wanted.ToString(CultureInfo.InvariantCulture), "write userAccountControl", cancellationToken);
                changed = true;
            }

            after["userAccountControl"] = wanted.ToString(CultureInfo.InvariantCulture);
        }
        else
        {
            var locked = Attr(entry, "pwdAccountLockedTime");
            before["pwdAccountLockedTime"] = locked ?? string.Empty;

            // An account that was already locked for good before the leaver case stays locked; otherwise the lock goes.
            var keepLocked = WasDisabled(recorded);
            if (keepLocked && locked != PermanentLock)
            {
                await ModifyAsync(dn, DirectoryAttributeOperation.Replace, "pwdAccountLockedTime", PermanentLock, "write pwdAccountLockedTime", cancellationToken);
                changed = true;
            }
            else if (!keepLocked && locked is not null)
            {
                await ModifyAsync(dn, DirectoryAttributeOperation.Delete, "pwdAccountLockedTime", null, "write pwdAccountLockedTime", cancellationToken);
                changed = true;
            }

            after["pwdAccountLockedTime"] = keepLocked ? PermanentLock : string.Empty;
        }

        if (recorded.TryGetValue("dn", out var originalDn) && originalDn.Length > 0 && !Dn.AreEqual(originalDn, dn))
        {
            dn = await MoveAsync(action, dn, Dn.Parent(originalDn), cancellationToken);
            changed = true;
        }

        after["dn"] = dn;
        return new ActionResult(before, after, AlreadyInState: !changed);
    }

    private async Task<string> MoveAsync(ConnectorAction action, string dn, string newParent, CancellationToken cancellationToken)
    {
        var rdn = Dn.Rdn(dn);
        var request = new ModifyDNRequest(dn, newParent, rdn) { DeleteOldRdn = true };
        var (_, code) = await SendAsync(request, "move (modRDN)", dn, $"rename the entry and create children in '{newParent}'", cancellationToken, LdapErrors.EntryAlreadyExists);
        if (code == LdapErrors.EntryAlreadyExists)
        {
            throw new ConnectorException($"Cannot move '{dn}' to '{newParent}': an entry '{rdn},{newParent}' already exists ({action.Describe()}).", isTransient: false);
        }

        var newDn = $"{rdn},{newParent}";
        _accounts[AccountId(action)] = new AccountRef(newDn, _accounts.TryGetValue(AccountId(action), out var old) ? old.Uid : null);
        if (!IsAd)
        {
            await FollowMoveInGroupsAsync(dn, newDn, cancellationToken);
        }

        return newDn;
    }

    /// <summary>
    /// After a move, the groups must name the entry by its new DN before this step counts as done: the group-side
    /// removals that follow remove the new DN, and a membership left under the old DN would come back as the new one.
    /// OpenLDAP's refint overlay renames member values in a background task (not before the modRDN answers), and a
    /// directory without refint never renames them. So: wait for the groups to stop naming the old DN, up to
    /// 2 s (or <c>timeout_seconds</c> if shorter); whatever still names it then is renamed here (delete the old value, add the new one).
    /// Active Directory renames linked <c>member</c> values itself, in the same operation.
    /// </summary>
    private static readonly TimeSpan RenameWait = TimeSpan.FromSeconds(2);

    private async Task FollowMoveInGroupsAsync(string oldDn, string newDn, CancellationToken cancellationToken)
    {
        var escaped = EscapeFilterValue(oldDn);
        var filter = $"(|(member={escaped})(uniqueMember={escaped}))";
        // refint's task runs within milliseconds; a directory without refint should not cost a full timeout per move.
        var deadline = _context.Time.GetUtcNow() + TimeSpan.FromTicks(Math.Min(_settings.Timeout.Ticks, RenameWait.Ticks));
        var delay = TimeSpan.FromMilliseconds(20);
        while (true)
        {
            var groups = await GroupsNamingAsync(filter, cancellationToken);
            if (groups.Count == 0)
            {
                return;
            }

            if (_context.Time.GetUtcNow() >= deadline)
            {
                foreach (var group in groups)
                {
                    foreach (var attribute in new[] { "member", "uniqueMember" })
                    {
                        if (await ChangeValueAsync(group, attribute, oldDn, add: false, cancellationToken) == ValueOutcome.Changed)
                        {
                            await ChangeValueAsync(group, attribute, newDn, add: true, cancellationToken);
                        }
                    }
                }

                return;
            }

            await Task.Delay(delay, _context.Time, cancellationToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(500).Ticks));
        }
    }

    private async Task<List<string>> GroupsNamingAsync(string filter, CancellationToken cancellationToken)
    {
        var search = _settings.Groups;
        var request = new SearchRequest(search.Base, filter, search.Subtree ? SearchScope.Subtree : SearchScope.OneLevel, "1.1");
        var (response, code) = await SendAsync(request, "search groups naming a moved entry", $"{search.Base} {filter}", "search", cancellationToken, LdapErrors.NoSuchObject);
        return code == LdapErrors.NoSuchObject
            ? throw MissingBase("groups.base", search.Base)
            : [.. ((SearchResponse)response!).Entries.Cast<SearchResultEntry>().Select(e => e.DistinguishedName)];
    }

    /// <summary>Escapes a value for an LDAP search filter (RFC 4515 section 3).</summary>
    internal static string EscapeFilterValue(string value)
    {
        var sb = new System.Text.StringBuilder(value.Length + 8);
        foreach (var ch in value)
        {
            _ = ch switch
            {
                '\\' => sb.Append("\\5c"),
                '*' => sb.Append("\\2a"),
                '(' => sb.Append("\\28"),
                ')' => sb.Append("\\29"),
                '\0' => sb.Append("\\00"),
                _ => sb.Append(ch),
            };
        }

        return sb.ToString();
    }

    /// <summary>
    /// Adds or removes the account on the group side (<c>member</c>/<c>uniqueMember</c> hold the DN, posixGroup
    /// <c>memberUid</c> the uid). A value already absent (OpenLDAP 16, AD 53 "not a member") or already present (20/68)
    /// is success with AlreadyInState.
    /// </summary>
    private async Task<ActionResult> ChangeMembershipAsync(ConnectorAction action, bool add, CancellationToken cancellationToken)
    {
        var groupDn = action.EntitlementExternalId
            ?? throw new ConnectorException($"{action.Describe()}: the action names no group.", isTransient: false);
        var attributes = await GroupMemberAttributesAsync(groupDn, cancellationToken);
        var before = new Dictionary<string, string>(StringComparer.Ordinal) { ["group"] = groupDn };
        if (attributes is null)
        {
            if (add)
            {
                throw new ConnectorException($"Cannot add to group '{groupDn}': it does not exist ({action.Describe()}).", isTransient: false);
            }

            return new ActionResult(before, new Dictionary<string, string>(before) { ["member"] = "absent" }, AlreadyInState: true, "The group no longer exists.");
        }

        var (account, fresh) = await ResolveAccountAsync(action, forceLookup: add, cancellationToken); // adding a stale DN would be wrong; restores are rare
        if (account is null)
        {
            if (add)
            {
                throw new ConnectorException($"Cannot add account {AccountId(action)} to '{groupDn}': the account does not exist ({action.Describe()}).", isTransient: false);
            }

            // Nothing was changed; the read-back will not confirm this either (an account not found confirms nothing).
            return new ActionResult(before, new Dictionary<string, string>(before) { ["member"] = "unknown" }, AlreadyInState: true,
                $"No account with {AccountSearchScope()}: nothing was changed, and the membership cannot be confirmed gone.");
        }

        var changed = false;
        foreach (var attribute in attributes)
        {
            var outcome = await ChangeValueAsync(groupDn, attribute, MemberValue(account, attribute, action), add, cancellationToken);
            if (outcome == ValueOutcome.Unchanged && !add && !fresh)
            {
                // The cached DN may be stale (entry moved or renamed since): look the account up again and retry once.
                var (current, _) = await ResolveAccountAsync(action, forceLookup: true, cancellationToken);
                fresh = true;
                if (current is not null && !string.Equals(MemberValue(current, attribute, action), MemberValue(account, attribute, action), StringComparison.OrdinalIgnoreCase))
                {
                    account = current;
                    outcome = await ChangeValueAsync(groupDn, attribute, MemberValue(account, attribute, action), add, cancellationToken);
                }
            }

            before[attribute] = MemberValue(account, attribute, action);
            changed |= outcome == ValueOutcome.Changed;
            if (IsAd && !add && attribute == "member")
            {
                var via = await RemoveNestedAsync(groupDn, account.Dn, cancellationToken);
                if (via.Count > 0)
                {
                    before["via"] = string.Join("; ", via);
                    changed = true;
                }
            }
        }

        var after = new Dictionary<string, string>(before) { ["member"] = add ? "present" : "absent" };
        before["member"] = changed != add ? "present" : "absent";
        return new ActionResult(before, after, AlreadyInState: !changed);
    }

    /// <summary>LDAP_MATCHING_RULE_IN_CHAIN: AD evaluates a DN-valued link through every level of nesting.</summary>
    internal const string InChainRule = "1.2.840.113556.1.4.1941";

    /// <summary>
    /// AD: the account may hold <paramref name="groupDn"/> through groups nested in it. Removes the account from every
    /// group it is a direct member of that is nested (at any depth) in <paramref name="groupDn"/>, found in the domain
    /// with <c>(&amp;(member=&lt;account&gt;)(memberOf:1.2.840.113556.1.4.1941:=&lt;group&gt;))</c>. Returns those groups.
    /// </summary>
    private async Task<List<string>> RemoveNestedAsync(string groupDn, string accountDn, CancellationToken cancellationToken)
    {
        var domain = string.Join(',', Dn.Split(groupDn).Where(r => r.StartsWith("DC=", StringComparison.OrdinalIgnoreCase)));
        var filter = $"(&(objectClass=group)(member={EscapeFilterValue(accountDn)})(memberOf:{InChainRule}:={EscapeFilterValue(groupDn)}))";
        var request = new SearchRequest(domain, filter, SearchScope.Subtree, "1.1");
        var (response, _) = await SendAsync(request, "search groups nested in the group", $"{domain} {filter}", "search", cancellationToken);
        var removed = new List<string>();
        foreach (SearchResultEntry entry in ((SearchResponse)response!).Entries)
        {
            if (await ChangeValueAsync(entry.DistinguishedName, "member", accountDn, add: false, cancellationToken) == ValueOutcome.Changed)
            {
                removed.Add(entry.DistinguishedName);
            }
        }

        return removed;
    }

    private enum ValueOutcome
    {
        Changed,
        Unchanged,
    }

    private async Task<ValueOutcome> ChangeValueAsync(string groupDn, string attribute, string value, bool add, CancellationToken cancellationToken)
    {
        var right = $"write attribute '{attribute}' of the group";
        if (add)
        {
            var (_, code) = await SendAsync(new ModifyRequest(groupDn, DirectoryAttributeOperation.Add, attribute, value), "add member", groupDn, right,
                cancellationToken, LdapErrors.AttributeOrValueExists, LdapErrors.EntryAlreadyExists);
            return code == 0 ? ValueOutcome.Changed : ValueOutcome.Unchanged;
        }

        if (IsAd && !await IsMemberAsync(groupDn, attribute, value, cancellationToken))
        {
            // Samba AD accepts deleting a value that is not there; asking first is the only way to report AlreadyInState.
            return ValueOutcome.Unchanged;
        }

        var (_, result) = await SendAsync(new ModifyRequest(groupDn, DirectoryAttributeOperation.Delete, attribute, value), "remove member", groupDn, right,
            cancellationToken, LdapErrors.NoSuchAttribute, LdapErrors.UnwillingToPerform, _settings.PlaceholderMember is null ? LdapErrors.NoSuchAttribute : LdapErrors.ObjectClassViolation);
        if (result == LdapErrors.ObjectClassViolation)
        {
            result = await ReplaceLastMemberAsync(groupDn, attribute, value, right, cancellationToken);
        }

        if (result == LdapErrors.UnwillingToPerform)
        {
            // AD answers 53 for "not a member" but also for real refusals: only the former is success, so ask.
            if (await IsMemberAsync(groupDn, attribute, value, cancellationToken))
            {
                throw new ConnectorException($"LDAP remove member on '{groupDn}' failed: unwillingToPerform (53) although '{value}' is a member; the server refuses to change this group (a protected or primary group?).", isTransient: false);
            }

            return ValueOutcome.Unchanged;
        }

        return result == 0 ? ValueOutcome.Changed : ValueOutcome.Unchanged;
    }

    /// <summary>
    /// Removes the last member of a groupOfNames/groupOfUniqueNames, which must keep one value: one modify that adds
    /// <c>placeholder_member</c> and deletes the account, so the group is never without a member and never keeps the person.
    /// </summary>
    private async Task<int> ReplaceLastMemberAsync(string groupDn, string attribute, string value, string right, CancellationToken cancellationToken)
    {
        var placeholder = _settings.PlaceholderMember!;
        var request = new ModifyRequest(groupDn, Modification(DirectoryAttributeOperation.Add, placeholder), Modification(DirectoryAttributeOperation.Delete, value));
        var (_, code) = await SendAsync(request, $"replace last member with placeholder_member '{placeholder}'", groupDn, right, cancellationToken,
            LdapErrors.NoSuchAttribute, LdapErrors.AttributeOrValueExists);
        if (code == LdapErrors.AttributeOrValueExists)
        {
            // The placeholder is already there, so the account was not the last member after all (another writer): a plain delete.
            (_, code) = await SendAsync(new ModifyRequest(groupDn, DirectoryAttributeOperation.Delete, attribute, value), "remove member", groupDn, right,
                cancellationToken, LdapErrors.NoSuchAttribute);
        }

        return code;

        DirectoryAttributeModification Modification(DirectoryAttributeOperation operation, string item)
        {
            var modification = new DirectoryAttributeModification { Name = attribute, Operation = operation };
            modification.Add(item);
            return modification;
        }
    }

    private async Task<bool> IsMemberAsync(string groupDn, string attribute, string value, CancellationToken cancellationToken)
    {
        var (response, code) = await SendAsync(new CompareRequest(groupDn, attribute, value), "compare member", groupDn, $"compare attribute '{attribute}'",
            cancellationToken, 5, 6, LdapErrors.NoSuchAttribute, LdapErrors.NoSuchObject);
        return (response is null ? code : (int)response.ResultCode) == 6; // compareTrue
    }

    private static string MemberValue(AccountRef account, string attribute, ConnectorAction action) =>
        string.Equals(attribute, "memberUid", StringComparison.OrdinalIgnoreCase)
            ? account.Uid ?? action.AccountUserName ?? throw new ConnectorException($"{action.Describe()}: the account has no uid for posixGroup memberUid.", isTransient: false)
            : account.Dn;

    private async Task<(AccountRef? Account, bool Fresh)> ResolveAccountAsync(ConnectorAction action, bool forceLookup, CancellationToken cancellationToken)
    {
        var id = AccountId(action);
        if (!forceLookup && _accounts.TryGetValue(id, out var cached))
        {
            return (cached, false);
        }

        var entry = await FindAccountAsync(id, [], cancellationToken);
        return entry is null ? (null, true) : (new AccountRef(entry.DistinguishedName, Attr(entry, "uid") ?? Attr(entry, _settings.UserNameAttribute)), true);
    }

    /// <summary>The member attributes of a group, from its object classes; null when the group does not exist.</summary>
    private async Task<string[]?> GroupMemberAttributesAsync(string groupDn, CancellationToken cancellationToken)
    {
        if (_groupMemberAttributes.TryGetValue(groupDn, out var cached))
        {
            return cached;
        }

        var entry = await ReadEntryAsync(groupDn, ["objectClass"], "read group", cancellationToken);
        if (entry is null)
        {
            return null;
        }

        var attributes = MemberAttributesFor(Values(entry, "objectClass"));
        _groupMemberAttributes[groupDn] = attributes;
        return attributes;
    }

    internal static string[] MemberAttributesFor(IEnumerable<string> objectClasses)
    {
        var list = new List<string>();
        foreach (var oc in objectClasses)
        {
            switch (oc.ToLowerInvariant())
            {
                case "groupofnames" or "group":
                    list.Add("member");
                    break;
                case "groupofuniquenames":
                    list.Add("uniqueMember");
                    break;
                case "posixgroup":
                    list.Add("memberUid");
                    break;
            }
        }

        return list.Count == 0 ? ["member"] : [.. list.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>
    /// Sets a random password nobody is told. OpenLDAP: the Password Modify extended operation (RFC 3062), so the server
    /// hashes it; ppolicy removes <c>pwdAccountLockedTime</c> on an administrative reset, so a lock is written back.
    /// AD: <c>replace unicodePwd</c> (needs LDAPS or StartTLS).
    /// </summary>
    private async Task<ActionResult> ResetPasswordAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var changedAttribute = IsAd ? "pwdLastSet" : "pwdChangedTime";
        var entry = await RequireAccountAsync(action, [changedAttribute, .. StateAttributes], cancellationToken);
        var dn = entry.DistinguishedName;
        var before = new Dictionary<string, string>(StringComparer.Ordinal) { ["dn"] = dn, [changedAttribute] = Attr(entry, changedAttribute) ?? string.Empty };
        var password = RandomPassword.New();
        if (IsAd)
        {
            var value = Encoding.Unicode.GetBytes("\"" + password + "\"");
            await SendAsync(new ModifyRequest(dn, DirectoryAttributeOperation.Replace, "unicodePwd", value), "reset password", dn, "reset the password (Reset Password extended right)", cancellationToken);
        }
        else
        {
            var request = new ExtendedRequest(PasswordModifyOid, PasswordModifyValue(dn, password));
            await SendAsync(request, "reset password (RFC 3062)", dn, "write attribute 'userPassword'", cancellationToken);
            if (Attr(entry, "pwdAccountLockedTime") is { } lockTime)
            {
                await ModifyAsync(dn, DirectoryAttributeOperation.Replace, "pwdAccountLockedTime", lockTime, "write pwdAccountLockedTime", cancellationToken);
            }
        }

        var now = await ReadEntryAsync(dn, [changedAttribute], "read back password change", cancellationToken);
        var changedAt = now is null ? string.Empty : Attr(now, changedAttribute) ?? string.Empty;
        _resets[action.IdempotencyKey] = changedAt;
        var after = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["dn"] = dn,
            [changedAttribute] = changedAt,
            ["password"] = "set to a random value that was not stored",
        };
        return new ActionResult(before, after, AlreadyInState: false);
    }

    /// <summary>BER of PasswdModifyRequestValue ::= SEQUENCE { userIdentity [0] OCTET STRING, newPasswd [2] OCTET STRING }.</summary>
    internal static byte[] PasswordModifyValue(string dn, string password)
    {
        var identity = Tlv(0x80, Encoding.UTF8.GetBytes(dn));
        var secret = Tlv(0x82, Encoding.UTF8.GetBytes(password));
        return Tlv(0x30, [.. identity, .. secret]);

        static byte[] Tlv(byte tag, byte[] content)
        {
            var length = content.Length;
            byte[] header = length switch
            {
                < 0x80 => [tag, (byte)length],
                <= 0xFF => [tag, 0x81, (byte)length],
                _ => [tag, 0x82, (byte)(length >> 8), (byte)length],
            };
            return [.. header, .. content];
        }
    }

    /// <summary>Deletes the entry (AD: with the tree-delete control, since user objects can hold child objects).</summary>
    private async Task<ActionResult> DeleteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var entry = await FindAccountAsync(AccountId(action), [], cancellationToken);
        if (entry is null)
        {
            return new ActionResult(new Dictionary<string, string> { ["dn"] = string.Empty }, new Dictionary<string, string> { ["deleted"] = "true" }, AlreadyInState: true);
        }

        var dn = entry.DistinguishedName;
        var request = new DeleteRequest(dn);
        if (IsAd)
        {
            request.Controls.Add(new TreeDeleteControl());
        }

        var (_, code) = await SendAsync(request, "delete", dn, "delete the entry", cancellationToken, LdapErrors.NoSuchObject);
        _accounts.TryRemove(AccountId(action), out _);
        var before = new Dictionary<string, string>(StringComparer.Ordinal) { ["dn"] = dn, [_settings.UserNameAttribute] = Attr(entry, _settings.UserNameAttribute) ?? string.Empty };
        return new ActionResult(before, new Dictionary<string, string> { ["deleted"] = "true" }, AlreadyInState: code == LdapErrors.NoSuchObject);
    }

    private Task<(DirectoryResponse? Response, int Code)> ModifyAsync(string dn, DirectoryAttributeOperation operation, string attribute, string? value, string right, CancellationToken cancellationToken)
    {
        var request = value is null
            ? new ModifyRequest(dn, operation, attribute)
            : new ModifyRequest(dn, operation, attribute, value);
        return SendAsync(request, $"modify {attribute}", dn, right, cancellationToken);
    }

    private static int ReadUac(SearchResultEntry entry, string dn) =>
        int.TryParse(Attr(entry, "userAccountControl"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var uac)
            ? uac
            : throw new ConnectorException($"'{dn}' has no readable userAccountControl; is this an Active Directory user, and may the bind account read it?", isTransient: false);
}
