using System.Globalization;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Deprov.Connectors.Scim.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Scim;

/// <summary>
/// Discovery: users, groups and the memberships between them, found however the server shows them. In order of cost:
/// <list type="number">
/// <item>the group listing's <c>members</c> (unless the profile lists groups without them);</item>
/// <item>the users' <c>groups</c> attribute from the user listing (RFC 7643 §4.1.2), once some user has shown one;</item>
/// <item>each group read by id (<c>GET /Groups/{id}?attributes=members</c>);</item>
/// <item>a <c>members.value eq</c> filter per user, trusted only once a positive answer and an empty control answer
/// have proven the server evaluates it.</item>
/// </list>
/// A group whose members no path could show makes discovery fail with a non-transient error: an access map without
/// memberships would plan no removal and leave the access in place with nobody told.
/// </summary>
internal sealed partial class ScimConnector
{
    public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The users' groups as the user listing shows them: a free membership source once it has proven itself.
        var userGroups = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var users = new List<string>();
        var userQuery = _settings.UserFilter is { } uf ? $"&filter={Uri.EscapeDataString(uf)}" : string.Empty;
        await foreach (var user in PagesAsync("Users", userQuery, "discover users", cancellationToken))
        {
            var id = ScimResource.String(user, "id");
            if (id is null)
            {
                continue;
            }

            var state = UserState.From(user, null);
            _seen[id] = state;
            users.Add(id);
            if (user["groups"] is JsonArray groups)
            {
                var ids = groups.OfType<JsonObject>().Select(g => ScimResource.String(g, "value")).OfType<string>().ToList();
                userGroups[id] = ids;
                if (ids.Count > 0)
                {
                    _userGroupsListed = true;
                }
            }

            var attributes = new Dictionary<string, string>(StringComparer.Ordinal) { ["userName"] = state.UserName };
            AddIfPresent(attributes, "externalId", ScimResource.String(user, "externalId"));
            AddIfPresent(attributes, "employeeNumber", ScimResource.EmployeeNumber(user));
            AddIfPresent(attributes, "displayName", ScimResource.String(user, "displayName"));
            var email = ScimResource.Email(user);
            AddIfPresent(attributes, "email", email);
            yield return new DiscoveredAccount(id, state.UserName, email, state.Active, AccountKind.User, null, attributes);
        }

        if (!_profile.SupportsGroups || _settings.Memberships is ScimMemberships.None)
        {
            yield break;
        }

        // Groups the listing showed no (or possibly not all) members for, with the members it did show.
        var pending = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var listingShowedMembers = false;
        var groupQuery = (_settings.GroupFilter is { } gf ? $"&filter={Uri.EscapeDataString(gf)}" : string.Empty)
            + (_profile.ExcludeMembersOnGroupList ? "&excludedAttributes=members" : string.Empty);
        await foreach (var group in PagesAsync("Groups", groupQuery, "discover groups", cancellationToken))
        {
            var id = ScimResource.String(group, "id");
            if (id is null)
            {
                continue;
            }

            var name = ScimResource.String(group, "displayName") ?? id;
            yield return new DiscoveredEntitlement(id, name, EntitlementKind.Group, _privileged.Any(p => p.IsMatch(name)));
            var shown = _profile.ExcludeMembersOnGroupList ? null : MemberIds(group);
            if (shown is { Count: > 0 })
            {
                // Evidence for later discoveries and membership reads: this server shows members on its groups.
                listingShowedMembers = true;
                _groupReadsListMembers = true;
                foreach (var member in shown)
                {
                    yield return new DiscoveredMembership(member, id);
                }
            }

            if (shown is null or { Count: 0 } || Capped(shown.Count))
            {
                pending[id] = shown ?? new HashSet<string>(StringComparer.Ordinal);
            }
        }

        if (pending.Count == 0)
        {
            yield break;
        }

        // A listing that showed members on some group shows them on every group: the others are empty (RFC 7643 §2.5
        // lets a server omit an empty members attribute). Only groups at members_cap still need another path. Earlier
        // proof is not enough here: a profile that lists groups without members never shows them in this listing.
        if (listingShowedMembers)
        {
            foreach (var id in pending.Where(p => !Capped(p.Value.Count)).Select(p => p.Key).ToList())
            {
                pending.Remove(id);
            }
        }

        var tried = new List<string>
        {
            _profile.ExcludeMembersOnGroupList ? "the group listing (this profile lists groups without members)"
                : listingShowedMembers ? "the group listing"
                : "the group listing (no group showed members)",
        };
        var found = new List<DiscoveredMembership>();
        if (pending.Count > 0 && !_userGroupsListed && !pending.Values.All(v => Capped(v.Count)))
        {
            tried.Add("each group read by id");
            await ReadGroupsByIdAsync(pending, found, cancellationToken);
        }

        if (pending.Count > 0 && _userGroupsListed)
        {
            // Every discovered user's groups are known: a pending group's members are the users that list it.
            foreach (var (userId, groups) in userGroups)
            {
                foreach (var groupId in groups.Where(g => pending.TryGetValue(g, out var known) && !known.Contains(userId)))
                {
                    found.Add(new DiscoveredMembership(userId, groupId));
                }
            }

            pending.Clear();
        }
        else if (pending.Count > 0)
        {
            tried.Add(userGroups.Count > 0 ? "the users' groups attribute (every user showed an empty list)" : "the users' groups attribute (not shown)");
        }

        if (pending.Count > 0)
        {
            tried.Add("a members filter per user");
            if (await GroupsByMembersFilterAsync(users, pending, found, cancellationToken))
            {
                pending.Clear();
            }
        }

        foreach (var membership in found)
        {
            yield return membership;
        }

        if (pending.Count > 0)
        {
            throw NoMembershipPath(pending, tried);
        }
    }

    /// <summary>The member ids a group resource shows (users only), or null when it has no members attribute.</summary>
    private static HashSet<string>? MemberIds(JsonObject group) =>
        group["members"] is JsonArray members
            ? members.OfType<JsonObject>()
                .Where(m => !string.Equals(ScimResource.String(m, "type"), "Group", StringComparison.OrdinalIgnoreCase))
                .Select(m => ScimResource.String(m, "value")).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : null;

    /// <summary>Whether a members list this long may be cut short by the server (the configured members_cap).</summary>
    private bool Capped(int count) => _settings.MembersCap is { } cap && count >= cap;

    /// <summary>
    /// Reads each pending group by id, <c>max_concurrency</c> at a time. A group whose read shows members (fewer than
    /// members_cap) is settled; once any read has shown members, a read without them is an empty group. Groups that stay
    /// unsettled (no members shown, or as many as members_cap) remain in <paramref name="pending"/>.
    /// </summary>
    private async Task ReadGroupsByIdAsync(Dictionary<string, HashSet<string>> pending, List<DiscoveredMembership> found, CancellationToken cancellationToken)
    {
        var unshown = new List<string>();
        // A group the listing already showed at members_cap would read the same capped list by id.
        foreach (var chunk in pending.Where(p => !Capped(p.Value.Count)).Select(p => p.Key).ToList().Chunk(_settings.MaxConcurrency))
        {
            var reads = await Task.WhenAll(chunk.Select(async id =>
            {
                var full = await ReadResourceAsync(GroupPath(id) + "?attributes=members", "discover members", cancellationToken);
                return (Id: id, Found: full is not null, Members: full is { } f ? MemberIds(f.Resource) : null);
            }));
            foreach (var (id, exists, members) in reads)
            {
                if (!exists)
                {
                    // Deleted between the listing and the read: it has no members to discover.
                    pending.Remove(id);
                }
                else if (members is { Count: > 0 } && !Capped(members.Count))
                {
                    _groupReadsListMembers = true;
                    found.AddRange(members.Select(m => new DiscoveredMembership(m, id)));
                    pending.Remove(id);
                }
                else if (members is { Count: > 0 })
                {
                    // At members_cap: the read may not show them all, and an empty or absent list proves nothing here.
                    // Keep what it showed so another path adds only the rest; the group stays pending.
                    pending[id].UnionWith(members);
                    found.AddRange(members.Select(m => new DiscoveredMembership(m, id)));
                }
                else
                {
                    unshown.Add(id);
                }
            }
        }

        if (_groupReadsListMembers)
        {
            foreach (var id in unshown)
            {
                pending.Remove(id);
            }
        }
    }

    /// <summary>
    /// Asks, per user, which groups list them as a member (<c>Groups?filter=members.value eq "u"</c>). Trusted only once
    /// proven: some user must match a group and a value that cannot be a member must match none (a server that ignores
    /// the clause answers every group). Returns false, adding nothing, when the filter is refused or not proven.
    /// </summary>
    private async Task<bool> GroupsByMembersFilterAsync(IReadOnlyList<string> users, Dictionary<string, HashSet<string>> pending,
        List<DiscoveredMembership> found, CancellationToken cancellationToken)
    {
        var caps = await CapabilitiesAsync(cancellationToken);
        if (!caps.Filter || _memberFilterUnusable)
        {
            return false;
        }

        var matches = new List<DiscoveredMembership>();
        foreach (var chunk in users.Chunk(_settings.MaxConcurrency))
        {
            var answers = await Task.WhenAll(chunk.Select(async u => (User: u, Groups: await GroupsMatchingMemberAsync(u, cancellationToken))));
            foreach (var (user, groups) in answers)
            {
                if (groups is null)
                {
                    return false;
                }

                matches.AddRange(groups.Where(g => pending.TryGetValue(g, out var known) && !known.Contains(user)).Select(g => new DiscoveredMembership(user, g)));
                if (groups.Count > 0 && !_memberFilterProven)
                {
                    var control = await GroupsMatchingMemberAsync("deprov-control-" + Guid.NewGuid().ToString("N"), cancellationToken);
                    if (control is not { Count: 0 })
                    {
                        _memberFilterUnusable = true;
                        return false;
                    }

                    _memberFilterProven = true;
                }
            }
        }

        if (!_memberFilterProven)
        {
            return false;
        }

        found.AddRange(matches);
        return true;
    }

    /// <summary>The ids of the groups a members filter for <paramref name="userId"/> returns; null when refused.</summary>
    private async Task<List<string>?> GroupsMatchingMemberAsync(string userId, CancellationToken cancellationToken)
    {
        var caps = await CapabilitiesAsync(cancellationToken);
        var count = caps.MaxResults is { } max && max > 0 ? Math.Min(max, _settings.PageSize) : _settings.PageSize;
        var ids = new List<string>();
        var startIndex = 1;
        while (true)
        {
            var onValue = _memberFilterOnValue || !_profile.MembershipFilterOnMembersAttribute;
            var filter = $"{(onValue ? "members.value" : "members")} eq {ScimResource.Quote(userId)}";
            var query = $"Groups?startIndex={startIndex}&count={count}&filter={Uri.EscapeDataString(filter)}&attributes=id";
            var r = await _client.SendAsync(HttpMethod.Get, query, null, null, "discover members (members filter)", cancellationToken);
            if (r.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotImplemented or HttpStatusCode.Forbidden)
            {
                // Refused: try the RFC form once (as the membership read does), then give up on this path.
                if (!onValue && startIndex == 1)
                {
                    _memberFilterOnValue = true;
                    continue;
                }

                return null;
            }

            if (!r.IsSuccess || r.Object is not { } page)
            {
                throw _client.Failure(r, HttpMethod.Get, query, "discover members (members filter)");
            }

            var items = ((page["Resources"] ?? page["resources"]) as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
            ids.AddRange(items.Select(g => ScimResource.String(g, "id")).OfType<string>());
            startIndex += items.Count;
            if (items.Count == 0 || startIndex > (ScimResource.Int(page["totalResults"]) ?? 0))
            {
                return ids;
            }
        }
    }

    private ConnectorException NoMembershipPath(Dictionary<string, HashSet<string>> pending, List<string> tried)
    {
        var sample = string.Join(", ", pending.Keys.Take(3).Select(k => $"'{k}'")) + (pending.Count > 3 ? ", ..." : string.Empty);
        var capped = pending.Values.Any(v => Capped(v.Count));
        var why = capped
            ? string.Create(CultureInfo.InvariantCulture, $"{pending.Count} group(s) ({sample}) show as many members as members_cap ({_settings.MembersCap}), so the server may not show them all")
            : string.Create(CultureInfo.InvariantCulture, $"the server showed the members of none of {pending.Count} group(s) ({sample})");
        return new ConnectorException(
            $"{_label}: cannot discover group memberships: {why}. Tried: {string.Join("; ", tried)}. Without them no membership "
            + "would be planned for removal. Fix: grant the SCIM client read access to the groups' 'members' attribute (or the users' "
            + "'groups' attribute) on the server, or choose the profile that matches the server; if the app truly has no groups, "
            + "set 'memberships: none'.",
            isTransient: false);
    }
}
