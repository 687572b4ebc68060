using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Deprov.Connectors.Graph.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph;

/// <summary>
/// Discovery: users (with their licences and, when allowed, last sign-in), subscribed SKUs as licence entitlements,
/// groups and their direct user members, directory role assignments of users, and Intune managed devices with their owners. Every listing follows
/// <c>@odata.nextLink</c> to the end.
/// </summary>
internal sealed partial class GraphConnector
{
    public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // Device records carry the owner's UPN as Intune last saw it; accounts are reported with Entra's spelling, and
        // discovery links a device to the person whose account has exactly that user name.
        var upns = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var userIds = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var select = "id,userPrincipalName,mail,employeeId,accountEnabled,userType,assignedLicenses" + (_settings.SignInActivity ? ",signInActivity" : string.Empty);
        var usersPermission = _settings.SignInActivity ? $"{Permissions.ReadUsers} and {Permissions.SignInActivity}" : Permissions.ReadUsers;
        await foreach (var user in PagesAsync($"users?$select={select}&$top={_settings.PageSize}", "discover users", usersPermission, cancellationToken))
        {
            if (GraphResponse.Text(user, "id") is not { } id)
            {
                continue;
            }

            var upn = GraphResponse.Text(user, "userPrincipalName") ?? id;
            upns[upn] = upn;
            userIds.Add(id);
            var mail = GraphResponse.Text(user, "mail");
            var attributes = new Dictionary<string, string>(StringComparer.Ordinal) { ["userPrincipalName"] = upn };
            AddIfPresent(attributes, "mail", mail);
            AddIfPresent(attributes, "employeeId", GraphResponse.Text(user, "employeeId"));
            AddIfPresent(attributes, "userType", GraphResponse.Text(user, "userType"));
            yield return new DiscoveredAccount(id, upn, mail, Enabled(user), AccountKind.User, LastSignIn(user), attributes);
            foreach (var licence in (user["assignedLicenses"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                if (GraphResponse.Text(licence, "skuId") is { } skuId)
                {
                    yield return new DiscoveredMembership(id, skuId);
                }
            }
        }

        await foreach (var sku in PagesAsync("subscribedSkus?$select=skuId,skuPartNumber", "discover licences", Permissions.ReadLicences, cancellationToken))
        {
            if (GraphResponse.Text(sku, "skuId") is { } skuId)
            {
                yield return new DiscoveredEntitlement(skuId, GraphResponse.Text(sku, "skuPartNumber") ?? skuId, EntitlementKind.Licence, Privileged: false);
            }
        }

        var groups = new List<string>();
        await foreach (var group in PagesAsync($"groups?$select=id,displayName,isAssignableToRole&$top={_settings.PageSize}", "discover groups", Permissions.ReadMembers, cancellationToken))
        {
            if (GraphResponse.Text(group, "id") is not { } id)
            {
                continue;
            }

            var name = GraphResponse.Text(group, "displayName") ?? id;
            // A role-assignable group can carry directory roles (or be made to at any time): privileged whatever its name.
            var roleAssignable = group["isAssignableToRole"] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
            groups.Add(id);
            yield return new DiscoveredEntitlement(id, name, EntitlementKind.Group, roleAssignable || _privileged.Any(p => p.IsMatch(name)));
        }

        foreach (var groupId in groups)
        {
            await foreach (var member in PagesAsync($"groups/{Escape(groupId)}/members?$select=id&$top={_settings.PageSize}", "discover members", Permissions.ReadMembers, cancellationToken))
            {
                // Nested groups, devices, service principals and contacts are members too; only users hold accounts here.
                if (string.Equals(GraphResponse.Text(member, "@odata.type"), "#microsoft.graph.user", StringComparison.Ordinal)
                    && GraphResponse.Text(member, "id") is { } memberId)
                {
                    yield return new DiscoveredMembership(memberId, groupId);
                }
            }
        }

        if (_settings.DirectoryRoles)
        {
            await foreach (var role in DiscoverRolesAsync(userIds, cancellationToken))
            {
                yield return role;
            }
        }

        if (!_settings.Devices)
        {
            yield break;
        }

        await foreach (var device in PagesAsync("deviceManagement/managedDevices?$select=id,deviceName,serialNumber,model,userPrincipalName,managementState,deviceActionResults",
            "discover devices", Permissions.ReadDevices, cancellationToken))
        {
            if (GraphResponse.Text(device, "id") is not { } id)
            {
                continue;
            }

            var owner = GraphResponse.Text(device, "userPrincipalName") is { Length: > 0 } u ? upns.GetValueOrDefault(u, u) : null;
            var wiped = GraphResponse.Text(device, "managementState") is "wipePending" or "wipeIssued" || LatestAction(device, WipeAction) == "done";
            yield return new DiscoveredDevice(id, GraphResponse.Text(device, "serialNumber") ?? string.Empty,
                GraphResponse.Text(device, "model") ?? string.Empty, owner, wiped ? DeviceStatus.Wiped : DeviceStatus.Active);
        }
    }

    /// <summary>Every item of a collection, page after page along <c>@odata.nextLink</c>.</summary>
    private async IAsyncEnumerable<JsonObject> PagesAsync(string first, string what, string permission, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var target = new Uri(first, UriKind.Relative);
        while (true)
        {
            var r = await _client.SendAsync(HttpMethod.Get, target, null, what, cancellationToken);
            if (!r.IsSuccess || r.Object is not { } page)
            {
                throw _client.Failure(r, HttpMethod.Get, target.IsAbsoluteUri ? target.PathAndQuery : first, what, permission);
            }

            foreach (var item in (page["value"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                yield return item;
            }

            if (GraphResponse.Text(page, "@odata.nextLink") is not { } next)
            {
                yield break;
            }

            if (!Uri.TryCreate(next, UriKind.Absolute, out var link) || !_client.IsOwnLink(link))
            {
                throw new ConnectorException($"{_label}: {what}: the next page link points outside {_settings.BaseUrl.GetLeftPart(UriPartial.Authority)}; not following it with the app's token.", isTransient: false);
            }

            target = link;
        }
    }

    private static DateTimeOffset? LastSignIn(JsonObject user) =>
        user["signInActivity"] is JsonObject activity
        && GraphResponse.Text(activity, "lastSignInDateTime") is { } text
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    private static void AddIfPresent(Dictionary<string, string> map, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            map[key] = value;
        }
    }
}
