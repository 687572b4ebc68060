using System.Runtime.CompilerServices;
using Deprov.Connectors.Okta.Protocol;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta;

internal sealed partial class OktaConnector
{
    /// <summary>
    /// Lists users, then (with <c>admin_roles</c>) the admin role assignments of users who hold any, then groups and their
    /// members. Okta leaves DEPROVISIONED users out of a plain user listing, so they
    /// are listed on their own (<c>filter=status eq "DEPROVISIONED"</c>): a deactivated account must stay in the inventory
    /// until it is deleted. Only <c>OKTA_GROUP</c> groups are reported: Okta lets no one change the membership of an
    /// <c>APP_GROUP</c> (it is mastered in AD or an app, and cut there) or of the <c>BUILT_IN</c> Everyone group.
    /// </summary>
    public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var listings = new[]
        {
            $"api/v1/users?limit={_settings.PageSize}",
            $"api/v1/users?limit={_settings.PageSize}&filter={Uri.EscapeDataString("status eq \"DEPROVISIONED\"")}",
        };
        foreach (var first in listings)
        {
            await foreach (var item in _client.PagesAsync(first, "discover users", cancellationToken))
            {
                var user = OktaUser.From(item);
                if (user.Id.Length == 0 || !seen.Add(user.Id))
                {
                    // Listed twice: its status changed while we were paging.
                    continue;
                }

                var attributes = new Dictionary<string, string>(StringComparer.Ordinal) { ["login"] = user.Login, ["status"] = user.Status };
                AddIfPresent(attributes, "email", user.Email);
                AddIfPresent(attributes, "employeeNumber", user.EmployeeNumber);
                yield return new DiscoveredAccount(user.Id, user.Login, user.Email, user.CanSignIn, AccountKind.User, user.LastLogin, attributes);
            }
        }

        // Admin roles before groups: a group that holds a role is privileged whatever its name.
        var roleGroups = new HashSet<string>(StringComparer.Ordinal);
        if (_settings.AdminRoles)
        {
            await foreach (var role in DiscoverRolesAsync(seen, roleGroups, cancellationToken))
            {
                yield return role;
            }
        }

        var groups = new List<string>();
        await foreach (var group in _client.PagesAsync($"api/v1/groups?limit={_settings.PageSize}", "discover groups", cancellationToken))
        {
            var id = OktaUser.Text(group, "id");
            if (id is null || OktaUser.Text(group, "type") is { } type && type != "OKTA_GROUP")
            {
                continue;
            }

            var name = OktaUser.Text(group["profile"] as System.Text.Json.Nodes.JsonObject, "name") ?? id;
            groups.Add(id);
            yield return new DiscoveredEntitlement(id, name, EntitlementKind.Group, roleGroups.Contains(id) || _privileged.Any(p => p.IsMatch(name)));
        }

        foreach (var groupId in groups)
        {
            var first = $"api/v1/groups/{Uri.EscapeDataString(groupId)}/users?limit={_settings.PageSize}";
            await foreach (var member in _client.PagesAsync(first, "discover members", missingIsEmpty: true, cancellationToken))
            {
                if (OktaUser.Text(member, "id") is { } userId)
                {
                    yield return new DiscoveredMembership(userId, groupId);
                }
            }
        }
    }

    private static void AddIfPresent(Dictionary<string, string> map, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            map[key] = value;
        }
    }
}
