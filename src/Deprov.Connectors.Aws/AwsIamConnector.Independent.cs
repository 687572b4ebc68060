using Deprov.Connectors.Aws.Protocol;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Aws;

internal sealed partial class AwsIamConnector
{
    /// <summary>
    /// The second read path, for a contradiction between the inventory and the first read. A membership is read from the
    /// group's side (<c>GetGroup</c>, every page of its users) instead of the user's (<c>ListGroupsForUser</c>), after
    /// <c>GetUser</c> shows the user exists. A disable and a key revocation have no second path: IAM reads a user's
    /// access keys only through <c>ListAccessKeys</c> and its console password only through <c>GetLoginProfile</c>, both
    /// by user name, so the engine leaves such a contradiction unconfirmed (null).
    /// </summary>
    public async Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        if (action.Kind is not (ActionKind.RemoveEntitlement or ActionKind.AddEntitlement))
        {
            return null;
        }

        var user = action.RequireAccountId(_label, "user name");
        var group = action.RequireEntitlementId(_label, "group name");
        var what = "independent read " + action.Kind.ToSnake();
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["group"] = group, ["path"] = "GetGroup (the group's users)" };
        var r = await _client.CallAsync("GetUser", User(user), what, cancellationToken);
        if (r.IsNoSuchEntity)
        {
            // A group that does not list a user who is not there says nothing about a membership.
            observed["user_exists"] = "false";
            return new ReadBackResult(false, observed);
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, "GetUser", what);
        }

        var members = await MembersOfAsync(group, what, cancellationToken);
        if (members is null)
        {
            observed["group_exists"] = "false";
            return new ReadBackResult(false, observed);
        }

        var member = members.Contains(user, StringComparer.Ordinal);
        observed["member"] = Bool(member);
        return new ReadBackResult(member == (action.Kind is ActionKind.AddEntitlement), observed);
    }

    /// <summary>The user names <c>GetGroup</c> lists for the group (every page), or null when the group does not exist.</summary>
    private async Task<List<string>?> MembersOfAsync(string group, string what, CancellationToken cancellationToken)
    {
        var users = await _client.ListOrNullAsync("GetGroup", Params(("GroupName", group)), "Users", what, cancellationToken);
        return users?.Select(m => IamClient.Text(m, "UserName")).OfType<string>().ToList();
    }
}
