using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Scim.Protocol;
using Deprov.Core;

namespace Deprov.Connectors.Scim;

/// <summary>
/// How a membership is read so that "not a member" is never just an empty answer. Three reads, each by id or proven:
/// <list type="number">
/// <item>the group read by id with its members (<c>GET /Groups/{id}?attributes=members</c>);</item>
/// <item>the user read by id with its groups (<c>GET /Users/{id}?attributes=groups</c>);</item>
/// <item>a members filter on the group by id, trusted only once it has answered positively and a control query for a
/// value that cannot be a member has come back empty.</item>
/// </list>
/// An answer that cannot tell "not a member" from "not shown" is <c>unknown</c>, and the next read is tried.
/// </summary>
internal sealed partial class ScimConnector
{
    // What this server has shown it does, learned from its own answers. Each starts false (not trusted) and only a
    // positive answer sets it, so a server that withholds, caps or ignores never earns trust.
    private volatile bool _groupReadsListMembers;
    private volatile bool _userGroupsListed;
    private volatile bool _memberFilterProven;
    private volatile bool _memberFilterUnusable;
    private volatile bool _memberFilterOnValue;

    /// <summary>Reads whether <paramref name="userId"/> is a direct member of <paramref name="groupId"/>.</summary>
    /// <param name="viaGroup">False for the independent read: skip the group's own members.</param>
    private async Task<Membership> ReadMembershipAsync(string groupId, string userId, string what, bool viaGroup, CancellationToken cancellationToken)
    {
        var doubts = new List<string>();
        var answer = viaGroup ? await MembersOfGroupAsync(groupId, userId, what, doubts, cancellationToken) : null;
        answer ??= await GroupsOfUserAsync(groupId, userId, what, doubts, cancellationToken);
        answer ??= await MembersFilterAsync(groupId, userId, what, doubts, cancellationToken);
        answer ??= new Membership(groupId, null, GroupPresent: true, "none", null);

        // Why the reads before the one that answered could not tell: kept as evidence.
        return doubts.Count == 0 ? answer : answer with { Doubt = string.Join("; ", doubts) };
    }

    private async Task<Membership?> MembersOfGroupAsync(string groupId, string userId, string what, List<string> doubts, CancellationToken cancellationToken)
    {
        var path = GroupPath(groupId) + "?attributes=members";
        var full = await ReadResourceAsync(path, what + " (read group members)", cancellationToken);
        if (full is null)
        {
            return new Membership(groupId, null, GroupPresent: false, "group", "group not found");
        }

        var group = full.Value.Resource;
        if (group["members"] is JsonArray members)
        {
            if (ScimResource.HasMember(group, userId))
            {
                _groupReadsListMembers = true;
                return new Membership(groupId, true, GroupPresent: true, "group", null);
            }

            if (members.Count > 0)
            {
                _groupReadsListMembers = true;
            }
            else if (!_groupReadsListMembers)
            {
                doubts.Add("the group read shows an empty members list, and this server has not yet shown members on a group read");
                return null;
            }

            if (_settings.MembersCap is { } cap && members.Count >= cap)
            {
                doubts.Add(string.Create(CultureInfo.InvariantCulture, $"the group read returned {members.Count} members, the configured members_cap, so it may not show them all"));
                return null;
            }

            return new Membership(groupId, false, GroupPresent: true, "group", null);
        }

        // No members attribute: an empty group (RFC 7643 §2.5 lets a server omit an empty attribute) and a server that
        // withholds members look the same. Trusted as empty only from a server that has listed members on a group read.
        if (_groupReadsListMembers)
        {
            return new Membership(groupId, false, GroupPresent: true, "group", null);
        }

        doubts.Add("the group read shows no members attribute, and this server has not yet shown members on a group read");
        return null;
    }

    private async Task<Membership?> GroupsOfUserAsync(string groupId, string userId, string what, List<string> doubts, CancellationToken cancellationToken)
    {
        var path = UserPath(userId) + "?attributes=groups";
        var full = await ReadResourceAsync(path, what + " (read user groups)", cancellationToken);
        if (full is null)
        {
            doubts.Add("the user was not found, which does not show a membership gone");
            return null;
        }

        if (full.Value.Resource["groups"] is JsonArray groups)
        {
            if (groups.Count > 0)
            {
                _userGroupsListed = true;
            }

            // An explicit empty list is trusted only from a server that has listed a user's groups before: some send
            // "groups": [] for every user because they do not fill the attribute at all.
            var member = groups.OfType<JsonObject>().Any(g => string.Equals(ScimResource.String(g, "value"), groupId, StringComparison.Ordinal));
            if (member || _userGroupsListed)
            {
                return new Membership(groupId, member, GroupPresent: true, "user_groups", null);
            }
        }
        else if (_userGroupsListed)
        {
            return new Membership(groupId, false, GroupPresent: true, "user_groups", null);
        }

        doubts.Add("the user shows no groups attribute, and this server has not yet listed a user's groups");
        return null;
    }

    private async Task<Membership?> MembersFilterAsync(string groupId, string userId, string what, List<string> doubts, CancellationToken cancellationToken)
    {
        var caps = await CapabilitiesAsync(cancellationToken);
        if (!caps.Filter)
        {
            _memberFilterUnusable = true;
        }

        if (_memberFilterUnusable)
        {
            doubts.Add(caps.Filter ? "this server does not evaluate a members filter" : "ServiceProviderConfig says filters are not supported");
            return null;
        }

        var found = await GroupMatchesAsync(groupId, userId, what, cancellationToken);
        if (found is null)
        {
            doubts.Add("this server does not evaluate a members filter");
            return null;
        }

        if (found is true)
        {
            if (!_memberFilterProven)
            {
                // A positive answer shows the server evaluates the filter, unless it ignores the members clause and
                // matches on the id alone: a value that cannot be a member must then come back empty.
                var control = await GroupMatchesAsync(groupId, "deprov-control-" + Guid.NewGuid().ToString("N"), what + " (control)", cancellationToken);
                if (control is not false)
                {
                    _memberFilterUnusable = true;
                    doubts.Add("this server answers a members filter for a value that is no member: it ignores the clause");
                    return null;
                }

                _memberFilterProven = true;
            }

            return new Membership(groupId, true, GroupPresent: true, "members_filter", null);
        }

        if (_memberFilterProven || await ProveMembersFilterAsync(groupId, userId, what, cancellationToken))
        {
            return new Membership(groupId, false, GroupPresent: true, "members_filter", null);
        }

        doubts.Add("the members filter came back empty, and this server has not yet answered it positively (an unsupported filter answers the same)");
        return null;
    }

    /// <summary>
    /// Proves the members filter on a known positive: another member the group read shows must match, and a value that
    /// cannot be a member must not. The group read only supplies the known member; the answer about
    /// <paramref name="userId"/> still comes from the filter.
    /// </summary>
    private async Task<bool> ProveMembersFilterAsync(string groupId, string userId, string what, CancellationToken cancellationToken)
    {
        var full = await ReadResourceAsync(GroupPath(groupId) + "?attributes=members", what + " (known member for the filter proof)", cancellationToken);
        var known = full?.Resource["members"] is JsonArray members
            ? members.OfType<JsonObject>().Select(m => ScimResource.String(m, "value")).FirstOrDefault(v => v is not null && v != userId)
            : null;
        if (known is null || _memberFilterUnusable || await GroupMatchesAsync(groupId, known, what + " (proof)", cancellationToken) is not true)
        {
            return false;
        }

        if (await GroupMatchesAsync(groupId, "deprov-control-" + Guid.NewGuid().ToString("N"), what + " (control)", cancellationToken) is not false)
        {
            _memberFilterUnusable = true;
            return false;
        }

        _memberFilterProven = true;
        return true;
    }

    /// <summary>True when the filtered group list returns this group, false when it comes back empty, null when the
    /// server refuses the filter or answers with something else.</summary>
    private async Task<bool?> GroupMatchesAsync(string groupId, string userId, string what, CancellationToken cancellationToken)
    {
        while (true)
        {
            var onValue = _memberFilterOnValue || !_profile.MembershipFilterOnMembersAttribute;
            var filter = $"id eq {ScimResource.Quote(groupId)} and {(onValue ? "members.value" : "members")} eq {ScimResource.Quote(userId)}";
            var query = $"Groups?filter={Uri.EscapeDataString(filter)}&attributes=id";
            var r = await _client.SendAsync(HttpMethod.Get, query, null, null, what + " (members filter)", cancellationToken);
            if (r.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotImplemented or HttpStatusCode.Forbidden)
            {
                // invalidFilter, invalidValue (scimmy on "members eq"), or filtering refused: try the RFC form once.
                if (!onValue)
                {
                    _memberFilterOnValue = true;
                    continue;
                }

                // No answer this time, but not proof the filter never works: scimmy refuses every members filter with
                // 400 invalidValue while any group has no members attribute, and answers it again once none is empty.
                return null;
            }

            if (!r.IsSuccess || r.Object is not { } page)
            {
                throw _client.Failure(r, HttpMethod.Get, query, what + " (members filter)");
            }

            var items = ((page["Resources"] ?? page["resources"]) as JsonArray)?.OfType<JsonObject>().ToList() ?? [];
            if (items.Count == 0)
            {
                return false;
            }

            if (items.Count == 1 && string.Equals(ScimResource.String(items[0], "id"), groupId, StringComparison.Ordinal))
            {
                return true;
            }

            // Other groups than the one asked for: the server does not evaluate the id clause either.
            _memberFilterUnusable = true;
            return null;
        }
    }

    /// <summary>The user as the users list filtered by id shows it, or null when the list does not show it.</summary>
    private async Task<UserState?> FindUserByFilterAsync(string userId, string what, CancellationToken cancellationToken)
    {
        var caps = await CapabilitiesAsync(cancellationToken);
        if (!caps.Filter)
        {
            return null;
        }

        var query = $"Users?filter={Uri.EscapeDataString("id eq " + ScimResource.Quote(userId))}";
        var r = await _client.SendAsync(HttpMethod.Get, query, null, null, what + " (users filter)", cancellationToken);
        if (r.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotImplemented or HttpStatusCode.Forbidden)
        {
            return null;
        }

        if (!r.IsSuccess || r.Object is not { } page)
        {
            throw _client.Failure(r, HttpMethod.Get, query, what + " (users filter)");
        }

        var match = ((page["Resources"] ?? page["resources"]) as JsonArray)?.OfType<JsonObject>()
            .Where(u => string.Equals(ScimResource.String(u, "id"), userId, StringComparison.Ordinal)).ToList() ?? [];
        return match.Count == 1 ? UserState.From(match[0], null) : null;
    }

    /// <summary>One membership read: <see cref="IsMember"/> is null when no read could tell.</summary>
    /// <param name="Source">Which read answered: <c>group</c>, <c>user_groups</c>, <c>members_filter</c> or <c>none</c>.</param>
    /// <param name="Doubt">Why the reads tried before the one that answered (or all of them) could not tell.</param>
    private sealed record Membership(string GroupId, bool? IsMember, bool GroupPresent, string Source, string? Doubt)
    {
        /// <summary>Whether this read shows the effect of an add (member) or a removal (not a member, in a group that exists).</summary>
        public bool Confirms(bool add) => GroupPresent && IsMember == add;

        public Dictionary<string, string> ToMap()
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["member"] = IsMember switch { true => "true", false => "false", null => "unknown" },
                ["group"] = GroupId,
                ["source"] = Source,
            };
            if (!GroupPresent)
            {
                map["groupPresent"] = "false";
            }

            if (!string.IsNullOrEmpty(Doubt))
            {
                map["doubts"] = Doubt;
            }

            return map;
        }
    }
}
