using System.Text.Json.Nodes;
using Deprov.Connectors.Graph.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph;

/// <summary>
/// The second read path, used when the inventory says the access is there and the first read says it is already gone.
/// Each read goes through a different Graph resource than <see cref="ReadBackAsync"/>: a membership through the group's
/// member collection (every page) rather than the member looked up by key; a role assignment through the tenant's
/// unfiltered assignment list rather than the <c>principalId</c> filter; a user's state through the users collection
/// filtered by id rather than the user by key; a user gone through the deleted items read by id; a device command
/// through the device collection filtered by serial number rather than the device by key.
/// </summary>
/// <remarks>Only something the read shows confirms: a group or user that is not there, a user the filter does not list,
/// or a device the listing does not hold never does (a wrong id, a purged object and a filter the server does not
/// evaluate all look the same).</remarks>
internal sealed partial class GraphConnector
{
    public Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind switch
        {
            ActionKind.DisableAccount or ActionKind.EnableAccount => EnabledByListingAsync(action, cancellationToken),
            ActionKind.RevokeSessions or ActionKind.ResetPassword => UserGoneAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement or ActionKind.AddEntitlement when IsRole(action.EntitlementExternalId) => RoleByListingAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement or ActionKind.AddEntitlement => MembershipByListingAsync(action, cancellationToken),
            ActionKind.ReclaimLicence or ActionKind.AssignLicence => LicenceByListingAsync(action, cancellationToken),
            ActionKind.LockDevice or ActionKind.WipeDevice => DeviceByListingAsync(action, cancellationToken),
            _ => Task.FromResult<ReadBackResult?>(null),
        };
    }

    /// <summary><c>GET users?$filter=id eq '{id}'</c>: the user only when the collection lists it (matched on id here, so a
    /// server that ignores the filter cannot pass another user off as this one).</summary>
    private async Task<JsonObject?> ListedUserAsync(string id, string select, string what, CancellationToken cancellationToken)
    {
        var filter = Uri.EscapeDataString($"id eq '{id.Replace("'", "''", StringComparison.Ordinal)}'");
        await foreach (var user in PagesAsync($"users?$filter={filter}&$select={select}", what, Permissions.ReadUsers, cancellationToken))
        {
            if (string.Equals(GraphResponse.Text(user, "id"), id, StringComparison.OrdinalIgnoreCase))
            {
                return user;
            }
        }

        return null;
    }

    /// <summary><c>GET directory/deletedItems/{id}</c>: true when the user is in Entra's deleted items (it cannot sign in,
    /// use a password or refresh a session); false on 404 (never deleted, purged, or a wrong id).</summary>
    private async Task<bool> InDeletedItemsAsync(string id, string what, CancellationToken cancellationToken) =>
        await GetAsync($"directory/deletedItems/{Escape(id)}?$select=id", what + " (deleted items)", Permissions.ReadUsers, cancellationToken) is not null;

    private async Task<ReadBackResult?> EnabledByListingAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var what = "independent read " + action.Kind.ToSnake();
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["path"] = "users filtered by id" };
        var user = await ListedUserAsync(id, "id,userPrincipalName,accountEnabled", what, cancellationToken);
        if (user is not null)
        {
            foreach (var (k, v) in UserMap(user))
            {
                observed[k] = v;
            }

            // Only an explicit accountEnabled is an answer: a user without it cannot show the change.
            var reported = user["accountEnabled"] is JsonValue value && value.TryGetValue<bool>(out var enabled) ? enabled : (bool?)null;
            var want = action.Kind is ActionKind.EnableAccount && !string.Equals(action.BeforeValue("accountEnabled"), "false", StringComparison.OrdinalIgnoreCase);
            observed["listed"] = "true";
            return new ReadBackResult(reported == want, observed);
        }

        observed["listed"] = "false";
        if (action.Kind is ActionKind.EnableAccount)
        {
            return new ReadBackResult(false, observed);
        }

        var deleted = await InDeletedItemsAsync(id, what, cancellationToken);
        observed["deletedItem"] = Bool(deleted);
        return new ReadBackResult(deleted, observed);
    }

    /// <summary>A revocation or reset skipped because the user was not found holds only if the user is in deleted items
    /// and not listed among the users.</summary>
    private async Task<ReadBackResult?> UserGoneAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var what = "independent read " + action.Kind.ToSnake();
        var listed = await ListedUserAsync(id, "id,userPrincipalName", what, cancellationToken);
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["path"] = "users filtered by id, then deleted items by id", ["listed"] = Bool(listed is not null) };
        if (listed is not null)
        {
            // The user exists: the step's own call was skipped, so nothing shows its effect.
            observed["userPrincipalName"] = GraphResponse.Text(listed, "userPrincipalName") ?? string.Empty;
            return new ReadBackResult(false, observed);
        }

        var deleted = await InDeletedItemsAsync(id, what, cancellationToken);
        observed["deletedItem"] = Bool(deleted);
        return new ReadBackResult(deleted, observed);
    }

    /// <summary><c>GET groups/{g}/members?$select=id</c>, every page: the group's own member collection, not the member
    /// looked up by key. A group that is not there (404) confirms nothing.</summary>
    private async Task<ReadBackResult?> MembershipByListingAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var groupId = action.RequireEntitlementId(_label, "group or licence id");
        var userId = action.RequireAccountId(_label);
        var what = "independent read " + action.Kind.ToSnake();
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["group"] = groupId, ["path"] = "group member list" };
        if (await GetAsync($"groups/{Escape(groupId)}?$select=id", what + " (group)", Permissions.ReadMembers, cancellationToken) is null)
        {
            observed["group_exists"] = "false";
            return new ReadBackResult(false, observed);
        }

        // A member list without the user is an answer only about a user that exists (or was deleted, which takes it out
        // of every group): with a wrong id the list can never show it. The user is looked for in the users collection, not
        // by key, so that a key lookup's wrong 404 does not settle this either.
        if (await ListedUserAsync(userId, "id", what + " (user)", cancellationToken) is null)
        {
            var deleted = await InDeletedItemsAsync(userId, what, cancellationToken);
            observed["user_exists"] = "false";
            observed["deletedItem"] = Bool(deleted);
            if (!deleted || action.Kind is ActionKind.AddEntitlement)
            {
                return new ReadBackResult(false, observed);
            }
        }

        var member = false;
        var listed = 0;
        await foreach (var m in PagesAsync($"groups/{Escape(groupId)}/members?$select=id&$top={_settings.PageSize}", what, Permissions.ReadMembers, cancellationToken))
        {
            listed++;
            member |= string.Equals(GraphResponse.Text(m, "id"), userId, StringComparison.OrdinalIgnoreCase);
        }

        observed["member"] = Bool(member);
        observed["members_listed"] = listed.ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ReadBackResult(member == (action.Kind is ActionKind.AddEntitlement), observed);
    }

    /// <summary><c>GET roleManagement/directory/roleAssignments</c> without a filter, every page, matched here on principal,
    /// role and scope: an unsupported or lenient <c>principalId</c> filter cannot hide an assignment from it.</summary>
    private async Task<ReadBackResult?> RoleByListingAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var entitlementId = action.RequireEntitlementId(_label, "role id");
        var (definition, scope) = ParseRole(entitlementId);
        var held = await AllRoleAssignmentsAsync(action.RequireAccountId(_label), definition, scope, "independent read " + action.Kind.ToSnake(), cancellationToken);
        var wanted = action.Kind is ActionKind.AddEntitlement && !string.Equals(action.BeforeValue("assigned"), "false", StringComparison.Ordinal);
        var observed = RoleMap(definition, scope, held);
        observed["path"] = "all role assignments, unfiltered";
        return new ReadBackResult(held.Count > 0 == wanted, observed);
    }

    /// <summary>The user's <c>assignedLicenses</c> through the users collection filtered by id; a user not listed confirms
    /// nothing.</summary>
    private async Task<ReadBackResult?> LicenceByListingAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var skuId = action.RequireEntitlementId(_label, "group or licence id");
        var user = await ListedUserAsync(action.RequireAccountId(_label), "id,userPrincipalName,assignedLicenses", "independent read " + action.Kind.ToSnake(), cancellationToken);
        if (user is null)
        {
            return new ReadBackResult(false, new Dictionary<string, string>(StringComparer.Ordinal) { ["skuId"] = skuId, ["path"] = "users filtered by id", ["listed"] = "false" });
        }

        if (user["assignedLicenses"] is not JsonArray)
        {
            // A user listed without the property asked for: the answer cannot show the licence either way.
            return new ReadBackResult(false, new Dictionary<string, string>(StringComparer.Ordinal) { ["skuId"] = skuId, ["path"] = "users filtered by id", ["assignedLicenses"] = "not returned" });
        }

        var held = AssignedLicence(user, skuId);
        var observed = LicenceMap(skuId, held);
        observed["path"] = "users filtered by id";
        return new ReadBackResult((held is not null) == (action.Kind is ActionKind.AssignLicence), observed);
    }

    /// <summary>The device's serial number from its own record, then the managed devices filtered by that serial, matched
    /// here on id: the command counts only when that listing reports it <c>done</c>.</summary>
    private async Task<ReadBackResult?> DeviceByListingAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireDeviceId(_label);
        var name = action.Kind is ActionKind.LockDevice ? LockAction : WipeAction;
        var what = "independent read " + action.Kind.ToSnake();
        var device = await ReadDeviceAsync(id, what, cancellationToken);
        var serial = GraphResponse.Text(device, "serialNumber") ?? string.Empty;
        var filter = Uri.EscapeDataString($"serialNumber eq '{serial.Replace("'", "''", StringComparison.Ordinal)}'");
        await foreach (var listed in PagesAsync($"deviceManagement/managedDevices?$filter={filter}&$select=id,deviceName,serialNumber,managementState,deviceActionResults", what, Permissions.ReadDevices, cancellationToken))
        {
            if (string.Equals(GraphResponse.Text(listed, "id"), id, StringComparison.OrdinalIgnoreCase))
            {
                var observed = DeviceMap(listed, name);
                observed["path"] = "managed devices filtered by serial number";
                return new ReadBackResult(LatestAction(listed, name) == "done", observed);
            }
        }

        return new ReadBackResult(false, new Dictionary<string, string>(StringComparer.Ordinal) { ["serialNumber"] = serial, ["path"] = "managed devices filtered by serial number", ["listed"] = "false" });
    }
}
