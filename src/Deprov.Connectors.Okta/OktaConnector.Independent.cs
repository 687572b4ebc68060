using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Okta.Protocol;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta;

/// <summary>
/// The second, independent reads the engine asks for when the inventory and the first read disagree (the inventory holds
/// the access, the first read says it is already gone). Each goes through a different resource than the read-back:
/// <list type="bullet">
/// <item><c>DisableAccount</c>: the user looked up by its login (<c>GET api/v1/users/{login}</c>) rather than by its id;
/// the answer must be the same user (same id).</item>
/// <item>Group membership: the group's member list (<c>GET api/v1/groups/{groupId}/users</c>) rather than the user's groups.</item>
/// <item>Admin role: the org's role assignees (<c>GET api/v1/iam/assignees/users</c>) rather than the user's roles.</item>
/// </list>
/// Other actions have no second path: null, and the engine reports the step unconfirmed. A target not found, or an empty
/// listing, never confirms.
/// </summary>
internal sealed partial class OktaConnector
{
    public async Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind switch
        {
            ActionKind.DisableAccount => await UserByLoginAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement when IsRole(action.EntitlementExternalId) => await RoleAssigneesAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement => await GroupMembersAsync(action, cancellationToken),
            _ => null,
        };
    }

    private async Task<ReadBackResult?> UserByLoginAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        if (string.IsNullOrEmpty(action.AccountUserName))
        {
            return null;
        }

        var user = await ReadUserAsync(action.AccountUserName, "independent read (user by login)", cancellationToken);
        if (user is null)
        {
            return new ReadBackResult(false, new Dictionary<string, string>(StringComparer.Ordinal) { ["present"] = "false", ["lookup"] = "login" });
        }

        var observed = user.ToMap();
        observed["lookup"] = "login";
        observed["id"] = user.Id;
        // Another user holding the login now says nothing about ours.
        return new ReadBackResult(user.Id == id && !user.CanSignIn, observed);
    }

    private async Task<ReadBackResult> GroupMembersAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var (userId, groupId) = (action.RequireAccountId(_label), action.RequireEntitlementId(_label));
        const string what = "independent read (group members)";
        var first = $"api/v1/groups/{Uri.EscapeDataString(groupId)}/users?limit={_settings.PageSize}";
        var probe = await _client.SendAsync(HttpMethod.Get, first, what, cancellationToken);
        if (probe.Status == HttpStatusCode.NotFound)
        {
            return new ReadBackResult(false, new Dictionary<string, string>(StringComparer.Ordinal) { ["group"] = groupId, ["group_exists"] = "false" });
        }

        if (!probe.IsSuccess || probe.Array is not { } page)
        {
            throw _client.Failure(probe, HttpMethod.Get, first, what, OktaRights.Read);
        }

        var members = 0;
        var found = false;
        foreach (var u in page.OfType<JsonObject>())
        {
            members++;
            found |= OktaUser.Text(u, "id") == userId;
        }

        if (!found && probe.Next is { } next)
        {
            await foreach (var u in _client.PagesAsync(next.AbsoluteUri, what, cancellationToken))
            {
                members++;
                found |= OktaUser.Text(u, "id") == userId;
            }
        }

        var observed = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["group"] = groupId,
            ["member"] = found ? "true" : members == 0 ? "unknown" : "false",
            ["listed"] = members.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["lookup"] = "group members",
        };

        // An empty member list is the answer a lenient server gives to anything: it never confirms a removal.
        return new ReadBackResult(!found && members > 0, observed);
    }

    private async Task<ReadBackResult> RoleAssigneesAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var userId = action.RequireAccountId(_label);
        const string what = "independent read (role assignees)";
        var listed = 0;
        var found = false;
        string? target = $"api/v1/iam/assignees/users?limit={AssigneePageSize}";
        while (target is not null && !found)
        {
            var r = await _client.SendAsync(HttpMethod.Get, target, what, cancellationToken);
            if (!r.IsSuccess || r.Object is not { } page)
            {
                throw _client.Failure(r, HttpMethod.Get, target, what, OktaRights.ReadRoles);
            }

            foreach (var u in (page["value"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                listed++;
                found |= OktaUser.Text(u, "id") == userId;
            }

            var href = OktaUser.Text((page["_links"] as JsonObject)?["next"] as JsonObject, "href");
            target = (href is null ? r.Next : _client.OwnLink(href, target, what))?.AbsoluteUri;
        }

        var observed = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["role"] = action.EntitlementExternalId ?? string.Empty,
            ["roleAssignee"] = found ? "true" : listed == 0 ? "unknown" : "false",
            ["lookup"] = "role assignees",
        };

        // The org always has an admin (the token's own, at least): an empty list of assignees is no answer. A user still
        // listed holds some role, directly or through a group: that cannot confirm this one is gone.
        return new ReadBackResult(!found && listed > 0, observed);
    }
}
