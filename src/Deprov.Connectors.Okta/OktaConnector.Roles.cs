using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Deprov.Connectors.Okta.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta;

/// <summary>
/// Admin role assignments. A standard role is the entitlement <c>role:{type}</c> (<c>role:SUPER_ADMIN</c>,
/// <c>role:ORG_ADMIN</c>, …); a custom role bound to a resource set is <c>role:CUSTOM:{roleId}:{resourceSetId}</c>. A
/// user's own assignment of it (<c>assignmentType USER</c>) is a membership. Roles a user holds through a group are not
/// the user's to remove: the group is flagged privileged instead, and leaving it ends them. Assignment ids are looked up
/// when a step runs, never carried over from discovery.
/// </summary>
internal sealed partial class OktaConnector
{
    internal const string RolePrefix = "role:";

    private const string CustomType = "CUSTOM";

    // Okta documents 100 as the default (and the page size its SDKs ask for) of the role assignee listing.
    private const int AssigneePageSize = 100;

    // Standard roles that may be limited to some groups or apps (role targets). Their targets are not recorded, and
    // granting one again without them would widen it to every group or app, so a restore leaves them to a person.
    private static readonly HashSet<string> TargetableTypes = new(StringComparer.Ordinal)
    {
        "APP_ADMIN", "USER_ADMIN", "HELP_DESK_ADMIN", "GROUP_MEMBERSHIP_ADMIN",
    };

    private static bool IsRole(string? entitlementId) => entitlementId?.StartsWith(RolePrefix, StringComparison.Ordinal) == true;

    /// <summary>The entitlement id of a role assignment object of <c>GET users/{id}/roles</c>, or null when it names no role.</summary>
    internal static string? RoleEntitlementId(JsonObject assignment)
    {
        var type = OktaUser.Text(assignment, "type");
        if (type is null)
        {
            return null;
        }

        if (type != CustomType)
        {
            return RolePrefix + type;
        }

        return OktaUser.Text(assignment, "role") is { } role && OktaUser.Text(assignment, "resource-set") is { } set
            ? $"{RolePrefix}{CustomType}:{role}:{set}"
            : null;
    }

    /// <summary>
    /// <c>GET api/v1/iam/assignees/users</c> (every user holding a role, directly or through a group; paged by the body's
    /// <c>_links.next.href</c>), then <c>GET api/v1/users/{id}/roles</c> for each of them only. Adds the groups roles are
    /// held through to <paramref name="roleGroups"/>, which discovery reports as privileged.
    /// </summary>
    private async IAsyncEnumerable<DiscoveredObject> DiscoverRolesAsync(HashSet<string> userIds, HashSet<string> roleGroups, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var assignees = new List<string>();
        string? target = $"api/v1/iam/assignees/users?limit={Math.Min(_settings.PageSize, AssigneePageSize)}";
        while (target is not null)
        {
            var r = await _client.SendAsync(HttpMethod.Get, target, "discover admin role assignees", cancellationToken);
            if (!r.IsSuccess || r.Object is not { } page)
            {
                throw _client.Failure(r, HttpMethod.Get, target, "discover admin role assignees", OktaRights.ReadRoles);
            }

            foreach (var user in (page["value"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                if (OktaUser.Text(user, "id") is { } id && userIds.Contains(id))
                {
                    assignees.Add(id);
                }
            }

            var href = OktaUser.Text((page["_links"] as JsonObject)?["next"] as JsonObject, "href");
            target = (href is null ? r.Next : _client.OwnLink(href, target, "discover admin role assignees"))?.AbsoluteUri;
        }

        var reported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var userId in assignees)
        {
            await foreach (var assignment in _client.PagesAsync($"{UserPath(userId)}/roles", "discover admin roles", missingIsEmpty: true, OktaRights.ReadRoles, cancellationToken))
            {
                if (RoleEntitlementId(assignment) is not { } entitlementId)
                {
                    continue;
                }

                if (OktaUser.Text(assignment, "assignmentType") == "GROUP")
                {
                    if (AssigneeGroup(assignment) is { } groupId)
                    {
                        roleGroups.Add(groupId);
                    }

                    continue;
                }

                if (reported.Add(entitlementId))
                {
                    // An admin role is administrative access to the org: always privileged.
                    yield return new DiscoveredEntitlement(entitlementId, OktaUser.Text(assignment, "label") ?? entitlementId[RolePrefix.Length..], EntitlementKind.Role, Privileged: true);
                }

                yield return new DiscoveredMembership(userId, entitlementId);
            }
        }
    }

    /// <summary>The group a <c>GROUP</c> assignment comes from: the last segment of <c>_links.assignee.href</c>.</summary>
    private static string? AssigneeGroup(JsonObject assignment)
    {
        var href = OktaUser.Text((assignment["_links"] as JsonObject)?["assignee"] as JsonObject, "href");
        var at = href?.IndexOf("/groups/", StringComparison.Ordinal) ?? -1;
        return at < 0 ? null : href![(at + "/groups/".Length)..].Split('/', '?')[0];
    }

    /// <summary>
    /// <c>remove_entitlement</c>: <c>DELETE api/v1/users/{id}/roles/{roleAssignmentId}</c> for the user's own assignment of
    /// the role (204; 404 means it went in between). <c>add_entitlement</c> (restore): <c>POST api/v1/users/{id}/roles</c>
    /// <c>{"type": "…"}</c> for a standard role without targets, unless the removal's Before says the user did not hold it.
    /// </summary>
    private async Task<ActionResult> ChangeRoleAsync(ConnectorAction action, bool add, CancellationToken cancellationToken)
    {
        var userId = action.RequireAccountId(_label);
        var entitlementId = action.RequireEntitlementId(_label, "role id");
        var what = add ? "assign admin role" : "remove admin role";
        var held = await RoleAssignmentsAsync(userId, entitlementId, what + " (assignment lookup)", cancellationToken);
        if (held is null)
        {
            return add
                ? throw new ConnectorException($"{_label}: user '{userId}' not found; cannot assign admin role '{entitlementId}'.", isTransient: false)
                : Already(null);
        }

        var before = RoleMap(entitlementId, held.Value);
        if (held.Value.Direct.Count > 0 == add)
        {
            return ActionResult.Unchanged(before);
        }

        if (add)
        {
            return await AssignRoleAsync(action, userId, entitlementId, before, cancellationToken);
        }

        var removed = 0;
        foreach (var assignmentId in held.Value.Direct)
        {
            var path = $"{UserPath(userId)}/roles/{Uri.EscapeDataString(assignmentId)}";
            var r = await _client.SendAsync(HttpMethod.Delete, path, what, cancellationToken);
            if (r.Status == HttpStatusCode.NotFound)
            {
                // Unassigned by someone else (or the user deleted) between the lookup and the DELETE: the effect holds.
                continue;
            }

            if (!r.IsSuccess)
            {
                throw _client.Failure(r, HttpMethod.Delete, path, what, OktaRights.ManageRoles);
            }

            removed++;
        }

        var after = RoleMap(entitlementId, ([], held.Value.ViaGroup));
        var detail = held.Value.ViaGroup ? "the role is also held through a group; leaving that group ends it" : null;
        return new ActionResult(before, after, AlreadyInState: removed == 0, detail);
    }

    private async Task<ActionResult> AssignRoleAsync(ConnectorAction action, string userId, string entitlementId, Dictionary<string, string> before, CancellationToken cancellationToken)
    {
        if (string.Equals(action.BeforeValue("assigned"), "false", StringComparison.Ordinal))
        {
            return ActionResult.Unchanged(before, "not assigned before the leaver case; not granted");
        }

        var type = entitlementId[RolePrefix.Length..];
        if (type.StartsWith(CustomType + ":", StringComparison.Ordinal) || TargetableTypes.Contains(type))
        {
            // Granting it again without its resource set bindings or targets could give more than the person had.
            throw new ConnectorException(
                $"{_label}: admin role '{type}' of user '{userId}' is not restored automatically: it may have been limited to some groups, apps or resources, which were not recorded. Assign it again by hand in the Admin Console.",
                isTransient: false);
        }

        const string what = "assign admin role";
        var path = $"{UserPath(userId)}/roles";
        var r = await _client.SendAsync(HttpMethod.Post, path, new JsonObject { ["type"] = type }, what, cancellationToken);
        if (r.Status == HttpStatusCode.Conflict)
        {
            // E0000090, a duplicate assignment: granted by someone else between the lookup and the POST.
            return ActionResult.Unchanged(RoleMap(entitlementId, ([string.Empty], false)));
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Post, path, what, OktaRights.ManageRoles);
        }

        var created = r.Object is { } o && OktaUser.Text(o, "id") is { } id ? id : string.Empty;
        return new ActionResult(before, RoleMap(entitlementId, ([created], false)), AlreadyInState: false);
    }

    private async Task<ReadBackResult> ReadBackRoleAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var entitlementId = action.RequireEntitlementId(_label, "role id");
        var held = await RoleAssignmentsAsync(action.RequireAccountId(_label), entitlementId, "read back " + action.Kind.ToSnake(), cancellationToken);
        var wanted = action.Kind is ActionKind.AddEntitlement && !string.Equals(action.BeforeValue("assigned"), "false", StringComparison.Ordinal);
        if (held is null)
        {
            return new ReadBackResult(false, Absent);
        }

        return new ReadBackResult(held.Value.Direct.Count > 0 == wanted, RoleMap(entitlementId, held.Value));
    }

    /// <summary>
    /// The ids of the user's own assignments of the role, and whether it is also held through a group, from
    /// <c>GET api/v1/users/{id}/roles</c>; null when the user is gone.
    /// </summary>
    private async Task<(List<string> Direct, bool ViaGroup)?> RoleAssignmentsAsync(string userId, string entitlementId, string what, CancellationToken cancellationToken)
    {
        var path = $"{UserPath(userId)}/roles";
        var r = await _client.SendAsync(HttpMethod.Get, path, what, cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!r.IsSuccess || r.Array is not { } page)
        {
            throw _client.Failure(r, HttpMethod.Get, path, what, OktaRights.ReadRoles);
        }

        var all = page.OfType<JsonObject>().ToList();
        if (r.Next is { } next)
        {
            await foreach (var more in _client.PagesAsync(next.AbsoluteUri, what, missingIsEmpty: false, OktaRights.ReadRoles, cancellationToken))
            {
                all.Add(more);
            }
        }

        var direct = new List<string>();
        var viaGroup = false;
        foreach (var assignment in all.Where(a => RoleEntitlementId(a) == entitlementId))
        {
            if (OktaUser.Text(assignment, "assignmentType") == "GROUP")
            {
                viaGroup = true;
            }
            else if (OktaUser.Text(assignment, "id") is { } id)
            {
                direct.Add(id);
            }
        }

        return (direct, viaGroup);
    }

    private static Dictionary<string, string> RoleMap(string entitlementId, (List<string> Direct, bool ViaGroup) held) => new(StringComparer.Ordinal)
    {
        ["role"] = entitlementId[RolePrefix.Length..],
        ["assigned"] = held.Direct.Count > 0 ? "true" : "false",
        ["assignmentIds"] = string.Join(',', held.Direct),
        ["viaGroup"] = held.ViaGroup ? "true" : "false",
    };
}
