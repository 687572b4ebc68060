using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Graph.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph;

/// <summary>Group memberships (<c>members/$ref</c>) and licences (<c>assignLicense</c>), and their read-backs.</summary>
internal sealed partial class GraphConnector
{
    private async Task<ActionResult> ChangeMembershipAsync(ConnectorAction action, bool add, CancellationToken cancellationToken)
    {
        var groupId = action.RequireEntitlementId(_label, "group or licence id");
        var userId = action.RequireAccountId(_label);
        var what = add ? "add member" : "remove member";
        var member = await IsMemberAsync(groupId, userId, what + " (membership check)", cancellationToken);
        if (member == add)
        {
            return ActionResult.Unchanged(MemberMap(groupId, member));
        }

        GraphResponse r;
        string path;
        if (add)
        {
            path = $"groups/{Escape(groupId)}/members/$ref";
            var body = new JsonObject { ["@odata.id"] = new Uri(_settings.BaseUrl, $"directoryObjects/{Escape(userId)}").AbsoluteUri };
            r = await _client.SendAsync(HttpMethod.Post, path, body, what, cancellationToken);
            if (r.Status == HttpStatusCode.BadRequest && r.Message?.Contains("already exist", StringComparison.OrdinalIgnoreCase) == true)
            {
                // Added by someone else between the check and the POST: the effect holds.
                return ActionResult.Unchanged(MemberMap(groupId, true));
            }
        }
        else
        {
            // Always the reference: DELETE groups/{g}/members/{u} without /$ref deletes the user object itself when the
            // app may manage users (and is a 403 otherwise).
            path = $"groups/{Escape(groupId)}/members/{Escape(userId)}/$ref";
            r = await _client.SendAsync(HttpMethod.Delete, path, null, what, cancellationToken);
            if (r.Status == HttpStatusCode.NotFound)
            {
                // The member left (or the group went) between the check and the DELETE: the effect holds.
                return ActionResult.Unchanged(MemberMap(groupId, false));
            }
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, add ? HttpMethod.Post : HttpMethod.Delete, path, what, Permissions.WriteMembers);
        }

        return new ActionResult(MemberMap(groupId, !add), MemberMap(groupId, add), AlreadyInState: false);
    }

    private async Task<ReadBackResult> ReadBackMembershipAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var groupId = action.RequireEntitlementId(_label, "group or licence id");
        var userId = action.RequireAccountId(_label);
        var what = "read back " + action.Kind.ToSnake();
        var member = await IsMemberAsync(groupId, userId, what, cancellationToken);
        if (!member)
        {
            // Graph answers 404 for "not a member", and also for a group or user that is not there (a wrong id): only
            // when both are read by id does the 404 mean the membership is gone.
            var group = await GetAsync($"groups/{Escape(groupId)}?$select=id", what + " (group)", Permissions.ReadMembers, cancellationToken);
            var user = group is null ? null : await GetAsync($"users/{Escape(userId)}?$select=id", what + " (user)", Permissions.ReadUsers, cancellationToken);
            if (group is null || user is null)
            {
                var observed = MemberMap(groupId, false);
                observed["member"] = "unknown";
                observed[group is null ? "group_exists" : "user_exists"] = "false";
                return new ReadBackResult(false, observed);
            }
        }

        return new ReadBackResult(member == (action.Kind is ActionKind.AddEntitlement), MemberMap(groupId, member));
    }

    /// <summary>
    /// <c>GET groups/{g}/members/{u}</c>: the member object when it is a direct member, 404 when it is not (or the group
    /// does not exist; for a removal both mean done, and an add then fails with the POST's own 404).
    /// </summary>
    private async Task<bool> IsMemberAsync(string groupId, string userId, string what, CancellationToken cancellationToken) =>
        await GetAsync($"groups/{Escape(groupId)}/members/{Escape(userId)}?$select=id", what, Permissions.ReadMembers, cancellationToken) is not null;

    private static Dictionary<string, string> MemberMap(string groupId, bool member) => new(StringComparer.Ordinal)
    {
        ["group"] = groupId,
        ["member"] = Bool(member),
    };

    /// <summary>
    /// <c>POST users/{id}/assignLicense</c>. Both lists are always sent: without <c>addLicenses</c> (even empty) Graph
    /// refuses the call as missing a parameter.
    /// </summary>
    private async Task<ActionResult> ChangeLicenceAsync(ConnectorAction action, bool assign, CancellationToken cancellationToken)
    {
        var skuId = action.RequireEntitlementId(_label, "group or licence id");
        var userId = action.RequireAccountId(_label);
        var what = assign ? "assign licence" : "reclaim licence";
        var user = await GetAsync($"users/{Escape(userId)}?$select=id,userPrincipalName,assignedLicenses", what + " (read licences)", Permissions.ReadUsers, cancellationToken);
        if (user is null)
        {
            // A deleted user cannot use a licence; an assign needs the user.
            return assign
                ? throw new ConnectorException($"{_label}: user '{userId}' no longer exists; cannot assign licence '{skuId}'.", isTransient: false)
                : ActionResult.Unchanged(Absent);
        }

        var held = AssignedLicence(user, skuId);
        var before = LicenceMap(skuId, held);
        if ((held is not null) == assign)
        {
            return ActionResult.Unchanged(before);
        }

        JsonObject body;
        if (assign)
        {
            // Restore the service plans that were switched off before the licence was reclaimed.
            var disabled = new JsonArray();
            foreach (var plan in (action.BeforeValue("disabledPlans") ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                disabled.Add(plan);
            }

            body = new JsonObject
            {
                ["addLicenses"] = new JsonArray(new JsonObject { ["disabledPlans"] = disabled, ["skuId"] = skuId }),
                ["removeLicenses"] = new JsonArray(),
            };
        }
        else
        {
            body = new JsonObject { ["addLicenses"] = new JsonArray(), ["removeLicenses"] = new JsonArray(skuId) };
        }

        var path = $"users/{Escape(userId)}/assignLicense";
        var r = await _client.SendAsync(HttpMethod.Post, path, body, what, cancellationToken);
        if (r.Status == HttpStatusCode.NotFound && !assign)
        {
            return ActionResult.Unchanged(Absent);
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Post, path, what, Permissions.WriteLicences);
        }

        // 200 with the user: its assignedLicenses are the state after the change.
        var after = r.Object is { } updated && updated["assignedLicenses"] is JsonArray
            ? LicenceMap(skuId, AssignedLicence(updated, skuId))
            : LicenceMap(skuId, assign ? new JsonObject() : null);
        return new ActionResult(before, after, AlreadyInState: false);
    }

    private async Task<ReadBackResult> ReadBackLicenceAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var skuId = action.RequireEntitlementId(_label, "group or licence id");
        var user = await GetAsync($"users/{Escape(action.RequireAccountId(_label))}?$select=id,userPrincipalName,assignedLicenses", "read back " + action.Kind.ToSnake(), Permissions.ReadUsers, cancellationToken);
        if (user is null)
        {
            return new ReadBackResult(false, Absent);
        }

        var held = AssignedLicence(user, skuId);
        return new ReadBackResult((held is not null) == (action.Kind is ActionKind.AssignLicence), LicenceMap(skuId, held));
    }

    private static JsonObject? AssignedLicence(JsonObject user, string skuId) =>
        (user["assignedLicenses"] as JsonArray)?.OfType<JsonObject>()
            .FirstOrDefault(l => string.Equals(GraphResponse.Text(l, "skuId"), skuId, StringComparison.OrdinalIgnoreCase));

    private static Dictionary<string, string> LicenceMap(string skuId, JsonObject? assigned)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["skuId"] = skuId,
            ["assigned"] = Bool(assigned is not null),
        };
        if (assigned?["disabledPlans"] is JsonArray { Count: > 0 } plans)
        {
            map["disabledPlans"] = string.Join(',', plans.Select(p => p?.GetValue<string>()).OfType<string>());
        }

        return map;
    }
}
