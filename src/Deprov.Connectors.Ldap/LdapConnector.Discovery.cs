using System.DirectoryServices.Protocols;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Deprov.Connectors.Ldap.Connections;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Ldap;

internal sealed partial class LdapConnector
{
    /// <summary>
    /// Streams users, then groups with their memberships, one RFC 2696 page at a time on one leased connection
    /// (a paged-search cookie is only valid on the connection that issued it).
    /// </summary>
    /// <remarks>
    /// Only a map from each account's DN (and uid, for posixGroup <c>memberUid</c>) to its id is kept between the two
    /// passes, so memberships can name account ids; entries themselves are not retained. Search continuation
    /// references (AD's DomainDnsZones and the like) are not followed. A size or admin limit hit by the server fails
    /// discovery rather than returning a partial inventory, which the engine would read as accounts having vanished.
    /// </remarks>
    public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var idByDn = new Dictionary<string, string>(StringComparer.Ordinal);
        var idByUid = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var privileged = _settings.PrivilegedGroups.Select(WildcardPattern).ToArray();
        string[] correlation = [_settings.CorrelateAttribute, _settings.UserNameAttribute, "uid", "mail", "employeeNumber", "sAMAccountName", "userPrincipalName", "cn"];
        correlation = [.. correlation.Distinct(StringComparer.OrdinalIgnoreCase)];
        string[] userAttributes = [.. correlation, _settings.IdAttribute, .. StateAttributes, .. IsAd ? ["lastLogonTimestamp", "adminCount"] : Array.Empty<string>()];

        using var lease = await _pool.LeaseAsync(cancellationToken);
        await foreach (var entry in PagedSearchAsync(lease, _settings.Users, userAttributes, cancellationToken))
        {
            var id = ExternalIdOf(entry);
            var attributes = new Dictionary<string, string>(StringComparer.Ordinal) { ["dn"] = entry.DistinguishedName };
            foreach (var name in correlation)
            {
                if (Attr(entry, name) is { } value)
                {
                    attributes[name] = value;
                }
            }

            if (IsAd)
            {
                // adminCount=1: AD's SDProp protects the account because it is (or was) in a protected group, nested or not.
                var adminCount = Attr(entry, "adminCount");
                attributes["adminCount"] = adminCount ?? "0";
                attributes["privileged"] = adminCount == "1" ? "true" : "false";
            }

            idByDn[Dn.Normalize(entry.DistinguishedName)] = id;
            var uid = Attr(entry, "uid") ?? Attr(entry, _settings.UserNameAttribute);
            if (uid is not null)
            {
                idByUid.TryAdd(uid, id);
            }

            _accounts[id] = new AccountRef(entry.DistinguishedName, uid);
            yield return new DiscoveredAccount(
                id,
                Attr(entry, _settings.UserNameAttribute) ?? Attr(entry, "cn") ?? entry.DistinguishedName,
                Attr(entry, "mail"),
                Enabled: !IsDisabled(entry),
                AccountKind.User,
                LastSignIn(entry),
                attributes);
        }

        // AD: the group nesting first (groups only: cn and memberOf), so that privilege and memberships follow it.
        var nesting = IsAd ? await GroupNestingAsync(lease, privileged, cancellationToken) : null;
        var nestedEmitted = nesting is null ? null : new HashSet<(string, string)>();

        // AD: ask for the first window of member explicitly; see MemberDnsAsync.
        string[] groupAttributes = ["cn", "objectClass", IsAd ? MemberRange(0) : "member", "uniqueMember", "memberUid"];
        await foreach (var entry in PagedSearchAsync(lease, _settings.Groups, groupAttributes, cancellationToken))
        {
            var dn = entry.DistinguishedName;
            var name = Attr(entry, "cn") ?? Dn.Rdn(dn);
            _groupMemberAttributes[dn] = MemberAttributesFor(Values(entry, "objectClass"));
            yield return new DiscoveredEntitlement(dn, name, EntitlementKind.Group,
                Privileged: privileged.Any(p => p.IsMatch(name) || p.IsMatch(dn)) || (nesting?.IsPrivileged(dn) ?? false));

            var members = new HashSet<string>(StringComparer.Ordinal);
            foreach (var value in await MemberDnsAsync(lease, entry, cancellationToken))
            {
                // uniqueMember may carry an optional "#'0101'B" uid suffix (RFC 4517 NameAndOptionalUID).
                var hash = value.LastIndexOf("#'", StringComparison.Ordinal);
                var memberDn = hash > 0 ? value[..hash] : value;
                if (_settings.PlaceholderMember is { } placeholder && Dn.AreEqual(memberDn, placeholder))
                {
                    continue; // stands in for "no members"; it is nobody's access
                }

                if (idByDn.TryGetValue(Dn.Normalize(memberDn), out var accountId) && members.Add(accountId))
                {
                    // A group that holds other groups may already have been reported through nesting for this account.
                    if (nesting is null || !nesting.HasNestedGroups(dn) || nestedEmitted!.Add((accountId, Dn.Normalize(dn))))
                    {
                        yield return new DiscoveredMembership(accountId, dn);
                    }

                    // The access this group passes on: every group it is nested in (at any depth) that discovery lists.
                    // Removing such a membership acts on the direct group(s) that grant it; see RemoveNestedAsync.
                    foreach (var ancestor in nesting?.ListedAncestors(dn) ?? [])
                    {
                        if (nestedEmitted!.Add((accountId, Dn.Normalize(ancestor))))
                        {
                            yield return new DiscoveredMembership(accountId, ancestor);
                        }
                    }
                }
            }

            foreach (var uid in Values(entry, "memberUid"))
            {
                if (idByUid.TryGetValue(uid, out var accountId) && members.Add(accountId))
                {
                    yield return new DiscoveredMembership(accountId, dn);
                }
            }
        }
    }

    /// <summary>
    /// Reads which group is nested in which (AD: each listed group's <c>memberOf</c>; groups outside <c>groups.base</c> that
    /// listed groups are nested in are read by DN, so Domain Admins in CN=Users counts even when only an OU is listed).
    /// </summary>
    private async Task<GroupNesting> GroupNestingAsync(LdapConnectionPool.Lease lease, Regex[] privileged, CancellationToken cancellationToken)
    {
        var nesting = new GroupNesting(privileged);
        await foreach (var entry in PagedSearchAsync(lease, _settings.Groups, ["cn", "memberOf"], cancellationToken))
        {
            nesting.Add(entry.DistinguishedName, Values(entry, "memberOf"), listed: true);
        }

        while (nesting.NextUnread() is { } outside)
        {
            var request = new SearchRequest(outside, "(objectClass=group)", SearchScope.Base, "memberOf");
            SearchResponse? response;
            try
            {
                response = await lease.RunAsync(c => (SearchResponse)c.SendRequest(request, _settings.Timeout), retryOnLostConnection: true, cancellationToken);
            }
            catch (Exception ex) when (LdapErrors.IsLdapFailure(ex) && LdapErrors.CodeOf(ex) is LdapErrors.NoSuchObject or LdapErrors.InsufficientAccessRights)
            {
                // A parent the bind account may not read counts as a group with no parents of its own.
                response = null;
            }
            catch (Exception ex) when (LdapErrors.IsLdapFailure(ex))
            {
                throw LdapErrors.Translate(ex, "read group nesting", outside, "read attribute 'memberOf'", _settings);
            }

            var parents = response is { Entries.Count: > 0 } ? Values(response.Entries[0], "memberOf") : [];
            nesting.Add(outside, parents, listed: false);
        }

        return nesting;
    }

    private async IAsyncEnumerable<SearchResultEntry> PagedSearchAsync(LdapConnectionPool.Lease lease, LdapSearchSettings search, string[] attributes, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new SearchRequest(search.Base, search.Filter, search.Subtree ? SearchScope.Subtree : SearchScope.OneLevel, attributes);
        var paging = new PageResultRequestControl(_settings.PageSize) { IsCritical = true };
        request.Controls.Add(paging);
        var first = true;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            SearchResponse response;
            try
            {
                response = await lease.RunAsync(c => (SearchResponse)c.SendRequest(request, _settings.Timeout), retryOnLostConnection: first, cancellationToken);
            }
            catch (Exception ex) when (LdapErrors.IsLdapFailure(ex))
            {
                if (LdapErrors.CodeOf(ex) == LdapErrors.NoSuchObject)
                {
                    throw MissingBase(ReferenceEquals(search, _settings.Groups) ? "groups.base" : "users.base", search.Base);
                }

                throw LdapErrors.Translate(ex, "paged search", $"{search.Base} {search.Filter}", "search and read", _settings);
            }

            first = false;
            foreach (SearchResultEntry entry in response.Entries)
            {
                yield return entry;
            }

            var cookie = response.Controls.OfType<PageResultResponseControl>().FirstOrDefault()?.Cookie;
            if (cookie is null || cookie.Length == 0)
            {
                yield break;
            }

            paging.Cookie = cookie;
        }
    }

    /// <summary>Values of <c>member</c> asked for in one AD range read: AD's default MaxValRange.</summary>
    internal const int MemberRangeWindow = 1500;

    private static string MemberRange(int start) => $"member;range={start}-{start + MemberRangeWindow - 1}";

    /// <summary>
    /// The group's <c>member</c> and <c>uniqueMember</c> values, following AD range retrieval to the end
    /// (<c>member;range=0-1499</c>, <c>member;range=1500-2999</c>, … until the server answers <c>member;range=N-*</c>).
    /// </summary>
    /// <remarks>
    /// AD returns at most MaxValRange values (1500 by default) of <c>member</c> per read, named <c>member;range=0-1499</c>.
    /// Samba AD returns every value unless a range is asked for, so on AD the connector always asks for explicit
    /// windows: the same code path on both, and each next window starts after the end the server actually returned
    /// (a DC with a smaller MaxValRange returns a shorter window than asked for).
    /// </remarks>
    private async Task<List<string>> MemberDnsAsync(LdapConnectionPool.Lease lease, SearchResultEntry entry, CancellationToken cancellationToken)
    {
        var values = new List<string>(Values(entry, "member"));
        values.AddRange(Values(entry, "uniqueMember"));
        var ranged = RangedMember(entry);
        while (ranged is { } r)
        {
            values.AddRange(r.Attribute.GetValues(typeof(string)).Cast<string>());
            if (r.End is not { } end || r.Attribute.Count == 0)
            {
                break;
            }

            var request = new SearchRequest(entry.DistinguishedName, "(objectClass=*)", SearchScope.Base, MemberRange(end + 1));
            SearchResponse response;
            try
            {
                response = await lease.RunAsync(c => (SearchResponse)c.SendRequest(request, _settings.Timeout), retryOnLostConnection: true, cancellationToken);
            }
            catch (Exception ex) when (LdapErrors.IsLdapFailure(ex))
            {
                throw LdapErrors.Translate(ex, "ranged read of member", entry.DistinguishedName, "read attribute 'member'", _settings);
            }

            ranged = response.Entries.Count == 0 ? null : RangedMember(response.Entries[0]);
        }

        return values;
    }

    private static (DirectoryAttribute Attribute, int? End)? RangedMember(SearchResultEntry entry)
    {
        foreach (string name in entry.Attributes.AttributeNames)
        {
            if (name.StartsWith("member;range=", StringComparison.OrdinalIgnoreCase))
            {
                var end = name[(name.LastIndexOf('-') + 1)..];
                return (entry.Attributes[name], end == "*" ? null : int.Parse(end, CultureInfo.InvariantCulture));
            }
        }

        return null;
    }

    private DateTimeOffset? LastSignIn(SearchResultEntry entry) =>
        IsAd && long.TryParse(Attr(entry, "lastLogonTimestamp"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var fileTime) && fileTime > 0
            ? new DateTimeOffset(DateTime.FromFileTimeUtc(fileTime))
            : null;

    private static Regex WildcardPattern(string pattern) =>
        new("^" + Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal) + "$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

}
