using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Deprov.Connectors.Graph.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph;

/// <summary>
/// Directory role assignments through the unified RBAC API (<c>roleManagement/directory</c>): discovery, removal, restore
/// and read-back. A role at a scope is one entitlement, <c>role:{roleDefinitionId}</c> for the whole directory (scope
/// <c>/</c>) and <c>role:{roleDefinitionId}@{directoryScopeId}</c> otherwise; an assignment of it to a user is a
/// membership. Assignment ids are never carried from discovery to execution: every action looks the assignment up again,
/// because an assignment removed and granted again in between has a new id.
/// </summary>
internal sealed partial class GraphConnector
{
    internal const string RolePrefix = "role:";

    private const string DirectoryScope = "/";

    private const string AssignmentSelect = "$select=id,principalId,roleDefinitionId,directoryScopeId";

    /// <summary>True when <paramref name="entitlementId"/> names a directory role rather than a group or a licence.</summary>
    private static bool IsRole(string? entitlementId) => entitlementId?.StartsWith(RolePrefix, StringComparison.Ordinal) == true;

    internal static string RoleEntitlementId(string roleDefinitionId, string directoryScopeId) =>
        directoryScopeId == DirectoryScope ? RolePrefix + roleDefinitionId : $"{RolePrefix}{roleDefinitionId}@{directoryScopeId}";

    private (string RoleDefinitionId, string DirectoryScopeId) ParseRole(string entitlementId)
    {
        var rest = entitlementId[RolePrefix.Length..];
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        var (definition, scope) = at < 0 ? (rest, DirectoryScope) : (rest[..at], rest[(at + 1)..]);
        if (definition.Length == 0 || !scope.StartsWith('/'))
        {
            throw new ConnectorException($"{_label}: '{entitlementId}' is not a directory role id (role:<roleDefinitionId>[@<directoryScopeId>]).", isTransient: false);
        }

        return (definition, scope);
    }

    /// <summary>
    /// Role definitions (for their display names), then every role assignment in the tenant in one listing, joined to the
    /// users discovered before by <c>principalId</c>. Assignments to groups and service principals are not memberships of
    /// an account: a role-assignable group is discovered as a privileged group, and its members through it.
    /// </summary>
    private async IAsyncEnumerable<DiscoveredObject> DiscoverRolesAsync(HashSet<string> userIds, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var names = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        await foreach (var definition in PagesAsync("roleManagement/directory/roleDefinitions?$select=id,displayName", "discover role definitions", Permissions.ReadRoles, cancellationToken))
        {
            if (GraphResponse.Text(definition, "id") is { } id)
            {
                names[id] = GraphResponse.Text(definition, "displayName") ?? id;
            }
        }

        var reported = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var assignment in PagesAsync($"roleManagement/directory/roleAssignments?{AssignmentSelect}", "discover role assignments", Permissions.ReadRoles, cancellationToken))
        {
            if (GraphResponse.Text(assignment, "principalId") is not { } principal || !userIds.Contains(principal)
                || GraphResponse.Text(assignment, "roleDefinitionId") is not { } definition)
            {
                continue;
            }

            var scope = GraphResponse.Text(assignment, "directoryScopeId") ?? DirectoryScope;
            var entitlementId = RoleEntitlementId(definition, scope);
            if (reported.Add(entitlementId))
            {
                var name = names.GetValueOrDefault(definition, definition);
                // Every directory role grants administrative rights over part of the tenant: always privileged.
                yield return new DiscoveredEntitlement(entitlementId, scope == DirectoryScope ? name : $"{name} (scope {scope})", EntitlementKind.Role, Privileged: true);
            }

            yield return new DiscoveredMembership(principal, entitlementId);
        }
    }

    /// <summary>
    /// <c>remove_entitlement</c>: <c>DELETE roleManagement/directory/roleAssignments/{id}</c> for each current assignment of
    /// the role at the scope to the user (204; a 404 means it went in between). <c>add_entitlement</c> (restore):
    /// <c>POST roleManagement/directory/roleAssignments</c> (201), unless the removal's Before says the user did not hold it.
    /// </summary>
    private async Task<ActionResult> ChangeRoleAsync(ConnectorAction action, bool add, CancellationToken cancellationToken)
    {
        var entitlementId = action.RequireEntitlementId(_label, "role id");
        var userId = action.RequireAccountId(_label);
        var (definition, scope) = ParseRole(entitlementId);
        var what = add ? "assign role" : "remove role";
        var held = await RoleAssignmentsAsync(userId, definition, scope, what + " (assignment lookup)", cancellationToken);
        var before = RoleMap(definition, scope, held);
        if (held.Count > 0 == add)
        {
            return ActionResult.Unchanged(before);
        }

        if (add)
        {
            if (string.Equals(action.BeforeValue("assigned"), "false", StringComparison.Ordinal))
            {
                return ActionResult.Unchanged(before, "not assigned before the leaver case; not granted");
            }

            // The scope recorded by the removal wins over the one in the id (they agree unless the id was edited).
            var restoreScope = action.BeforeValue("directoryScopeId") is { Length: > 0 } recorded ? recorded : scope;
            const string path = "roleManagement/directory/roleAssignments";
            var body = new JsonObject
            {
                ["@odata.type"] = "#microsoft.graph.unifiedRoleAssignment",
                ["principalId"] = userId,
                ["roleDefinitionId"] = definition,
                ["directoryScopeId"] = restoreScope,
            };
            var r = await _client.SendAsync(HttpMethod.Post, path, body, what, cancellationToken);
            if (!r.IsSuccess)
            {
                throw _client.Failure(r, HttpMethod.Post, path, what, Permissions.WriteRoles);
            }

            var created = r.Object is { } o && GraphResponse.Text(o, "id") is { } newId ? newId : string.Empty;
            return new ActionResult(before, RoleMap(definition, restoreScope, [created]), AlreadyInState: false);
        }

        var removed = 0;
        foreach (var assignmentId in held)
        {
            var path = $"roleManagement/directory/roleAssignments/{Escape(assignmentId)}";
            var r = await _client.SendAsync(HttpMethod.Delete, path, null, what, cancellationToken);
            if (r.Status == HttpStatusCode.NotFound)
            {
                // Removed by someone else between the lookup and the DELETE: the effect holds.
                continue;
            }

            if (!r.IsSuccess)
            {
                throw _client.Failure(r, HttpMethod.Delete, path, what, Permissions.WriteRoles);
            }

            removed++;
        }

        var after = RoleMap(definition, scope, []);
        return removed == 0 ? new ActionResult(before, after, AlreadyInState: true) : new ActionResult(before, after, AlreadyInState: false);
    }

    private async Task<ReadBackResult> ReadBackRoleAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var entitlementId = action.RequireEntitlementId(_label, "role id");
        var (definition, scope) = ParseRole(entitlementId);
        var held = await RoleAssignmentsAsync(action.RequireAccountId(_label), definition, scope, "read back " + action.Kind.ToSnake(), cancellationToken);
        var wanted = action.Kind is ActionKind.AddEntitlement && !string.Equals(action.BeforeValue("assigned"), "false", StringComparison.Ordinal);
        return new ReadBackResult(held.Count > 0 == wanted, RoleMap(definition, scope, held));
    }

    /// <summary>
    /// The ids of the user's current assignments of the role at the scope: <c>GET roleManagement/directory/roleAssignments
    /// ?$filter=principalId eq '{id}'</c> (the documented filter), matched on principal, role and scope here. An empty
    /// answer to that filter is not taken as "no assignment" (a service that does not evaluate a filter may answer it
    /// with an empty collection): the unfiltered list, matched here, decides then.
    /// </summary>
    private async Task<List<string>> RoleAssignmentsAsync(string userId, string definition, string scope, string what, CancellationToken cancellationToken)
    {
        var filter = Uri.EscapeDataString($"principalId eq '{userId.Replace("'", "''", StringComparison.Ordinal)}'");
        var (ids, listed) = await MatchingAssignmentsAsync($"roleManagement/directory/roleAssignments?$filter={filter}&{AssignmentSelect}", userId, definition, scope, what, cancellationToken);
        return listed > 0 ? ids : await AllRoleAssignmentsAsync(userId, definition, scope, what + " (unfiltered)", cancellationToken);
    }

    /// <summary>The user's assignments of the role at the scope from the tenant's unfiltered assignment list.</summary>
    private async Task<List<string>> AllRoleAssignmentsAsync(string userId, string definition, string scope, string what, CancellationToken cancellationToken) =>
        (await MatchingAssignmentsAsync($"roleManagement/directory/roleAssignments?{AssignmentSelect}", userId, definition, scope, what, cancellationToken)).Ids;

    /// <summary>Every page of <paramref name="first"/>: the ids matching principal, role and scope, and how many items were listed.</summary>
    private async Task<(List<string> Ids, int Listed)> MatchingAssignmentsAsync(string first, string userId, string definition, string scope, string what, CancellationToken cancellationToken)
    {
        var ids = new List<string>();
        var listed = 0;
        await foreach (var a in PagesAsync(first, what, Permissions.ReadRoles, cancellationToken))
        {
            listed++;
            if (string.Equals(GraphResponse.Text(a, "principalId"), userId, StringComparison.OrdinalIgnoreCase)
                && string.Equals(GraphResponse.Text(a, "roleDefinitionId"), definition, StringComparison.OrdinalIgnoreCase)
                && string.Equals(GraphResponse.Text(a, "directoryScopeId") ?? DirectoryScope, scope, StringComparison.OrdinalIgnoreCase)
                && GraphResponse.Text(a, "id") is { } id)
            {
                ids.Add(id);
            }
        }

        return (ids, listed);
    }

    private static Dictionary<string, string> RoleMap(string definition, string scope, List<string> assignments) => new(StringComparer.Ordinal)
    {
        ["roleDefinitionId"] = definition,
        ["directoryScopeId"] = scope,
        ["assigned"] = Bool(assignments.Count > 0),
        ["assignmentIds"] = string.Join(',', assignments),
    };
}
