using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Google.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google;

/// <summary>
/// Group memberships: <c>DELETE groups/{g}/members/{m}</c> and <c>POST groups/{g}/members</c>, read back with
/// <c>members.get</c> (direct membership; 404 when not a member). A membership through a nested group is not this
/// group's to remove: it is listed and removed on the nested group.
/// </summary>
internal sealed partial class GoogleConnector
{
    private const string Groups = "admin/directory/v1/groups";

    private async Task<ActionResult> ChangeMembershipAsync(ConnectorAction action, bool add, CancellationToken cancellationToken)
    {
        var user = action.RequireAccountId(_label, "user id");
        var group = action.RequireEntitlementId(_label);
        var what = add ? "add member" : "remove member";
        var memberPath = $"{Groups}/{Escape(group)}/members/{Escape(user)}";
        var member = await GetAsync(memberPath, "read before " + what, Scopes.Members, cancellationToken);
        var before = MemberMap(member);
        if ((member is not null) == add)
        {
            return ActionResult.Unchanged(before);
        }

        if (!add)
        {
            var r = await Client.SendAsync(HttpMethod.Delete, memberPath, null, what, cancellationToken);
            if (r.Status == HttpStatusCode.NotFound)
            {
                // Removed meanwhile, or the group or user is gone: either way not a member.
                return ActionResult.Unchanged(MemberMap(null));
            }

            if (!r.IsSuccess)
            {
                throw Client.Failure(r, HttpMethod.Delete, memberPath, what, Scopes.Members);
            }

            return new ActionResult(before, MemberMap(null), AlreadyInState: false);
        }

        // members.insert requires the member's email; restore the role the cut step recorded (OWNER, MANAGER, MEMBER).
        var email = action.AccountUserName is { } n && n.Contains('@', StringComparison.Ordinal)
            ? n
            : GoogleResponse.Text(await GetAsync($"{Users}/{Escape(user)}", "read member email", Scopes.User, cancellationToken)
                ?? throw new ConnectorException($"{_label}: user '{user}' no longer exists; it cannot be added to group '{group}'.", isTransient: false), "primaryEmail");
        var role = action.BeforeValue("role") is { Length: > 0 } recorded && recorded != "none" ? recorded : "MEMBER";
        var path = $"{Groups}/{Escape(group)}/members";
        var insert = await Client.SendAsync(HttpMethod.Post, path, new JsonObject { ["email"] = email, ["role"] = role }, what, cancellationToken);
        if (insert.Status == HttpStatusCode.Conflict)
        {
            // "Member already exists": added meanwhile.
            return ActionResult.Unchanged(before);
        }

        if (!insert.IsSuccess)
        {
            throw Client.Failure(insert, HttpMethod.Post, path, what, Scopes.Members);
        }

        return new ActionResult(before, MemberMap(insert.Object), AlreadyInState: false);
    }

    private async Task<ReadBackResult> ReadBackMembershipAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var (group, user) = (action.RequireEntitlementId(_label), action.RequireAccountId(_label, "user id"));
        var what = "read back " + action.Kind.ToSnake();
        var member = await GetAsync($"{Groups}/{Escape(group)}/members/{Escape(user)}", what, Scopes.Members, cancellationToken);
        if (member is null)
        {
            // The directory answers 404 for "not a member", and also for a group or user that is not there (a wrong id).
            // members.hasMember answers a plain isMember for a group and user that both exist, counting nested
            // membership too: only its "false" confirms that the access is gone.
            var has = await GetAsync($"{Groups}/{Escape(group)}/hasMember/{Escape(user)}", what + " (hasMember)", Scopes.Members, cancellationToken);
            if (has?["isMember"] is null)
            {
                return new ReadBackResult(false, new Dictionary<string, string>(StringComparer.Ordinal) { ["member"] = "unknown", ["group_or_user_exists"] = "false" });
            }

            if (GoogleResponse.Flag(has, "isMember"))
            {
                return new ReadBackResult(false, new Dictionary<string, string>(StringComparer.Ordinal) { ["member"] = "false", ["nested_member"] = "true" });
            }
        }

        return new ReadBackResult((member is not null) == (action.Kind is ActionKind.AddEntitlement), MemberMap(member));
    }

    private static Dictionary<string, string> MemberMap(JsonObject? member) => member is null
        ? new(StringComparer.Ordinal) { ["member"] = "false" }
        : new(StringComparer.Ordinal)
        {
            ["member"] = "true",
            ["role"] = GoogleResponse.Text(member, "role") ?? "MEMBER",
            ["email"] = GoogleResponse.Text(member, "email") ?? string.Empty,
        };
}
