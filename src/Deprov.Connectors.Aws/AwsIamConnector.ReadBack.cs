using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Aws;

internal sealed partial class AwsIamConnector
{
    /// <summary>
    /// Reads the target back from IAM: a disable holds when <c>GetLoginProfile</c> answers <c>NoSuchEntity</c> and
    /// <c>ListAccessKeys</c> shows no <c>Active</c> key; an enable when every recorded key that still exists is
    /// <c>Active</c>; a revoke when the key is <c>Inactive</c> or gone; a membership change from <c>ListGroupsForUser</c>
    /// (a group it does not name must be without the user in <c>GetGroup</c> too);
    /// a delete when <c>GetUser</c> answers <c>NoSuchEntity</c>.
    /// </summary>
    public async Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        var what = "read back " + action.Kind.ToSnake();
        switch (action.Kind)
        {
            case ActionKind.DisableAccount or ActionKind.EnableAccount:
            {
                var user = action.RequireAccountId(_label, "user name");
                var keys = await ReadKeysAsync(user, what, cancellationToken);
                if (keys is null)
                {
                    // NoSuchEntity by user name confirms nothing but a delete: a wrong name looks the same.
                    return new ReadBackResult(false, Absent);
                }

                var console = await HasLoginProfileAsync(user, what, cancellationToken);
                var observed = State(console, keys.Where(k => k.Active).Select(k => k.Id), keys.Count);
                var confirmed = action.Kind is ActionKind.DisableAccount
                    ? !console && keys.All(k => !k.Active)
                    : Split(action.BeforeValue("activeAccessKeys")).All(id => keys.FirstOrDefault(k => k.Id == id) is not { Active: false });
                return new ReadBackResult(confirmed, observed);
            }

            case ActionKind.DeleteAccount:
            {
                var user = action.RequireAccountId(_label, "user name");
                var r = await _client.CallAsync("GetUser", User(user), what, cancellationToken);
                return r.IsNoSuchEntity ? new ReadBackResult(true, Absent)
                    : r.IsSuccess ? new ReadBackResult(false, new Dictionary<string, string>(StringComparer.Ordinal) { ["present"] = "true" })
                    : throw _client.Failure(r, "GetUser", what);
            }

            case ActionKind.RevokeToken:
            {
                var (user, keyId) = KeyOf(action);
                var keys = await ReadKeysAsync(user, what, cancellationToken);
                if (keys is null)
                {
                    return new ReadBackResult(false, Absent);
                }

                // The user's whole key list was read: a key missing from it was deleted, and a deleted key signs nothing.
                var key = keys.FirstOrDefault(k => k.Id == keyId);
                return key is null ? new ReadBackResult(true, KeyState("Deleted")) : new ReadBackResult(!key.Active, KeyState(key.Status));
            }

            default:
            {
                var group = action.RequireEntitlementId(_label, "group name");
                var groups = await GroupsOfAsync(action.RequireAccountId(_label, "user name"), what, cancellationToken);
                if (groups is null)
                {
                    return new ReadBackResult(false, Absent);
                }

                var member = groups.Contains(group, StringComparer.Ordinal);
                if (!member)
                {
                    // The user's group list does not name the group: an empty or short list is no proof, so the group's own
                    // user list must agree (a group that is not there confirms nothing).
                    var members = await MembersOfAsync(group, what + " (group's users)", cancellationToken);
                    if (members is null)
                    {
                        var observed = Membership(group, false);
                        observed["member"] = "unknown";
                        observed["group_exists"] = "false";
                        return new ReadBackResult(false, observed);
                    }

                    member = members.Contains(action.AccountExternalId!, StringComparer.Ordinal);
                }

                return new ReadBackResult(action.Kind is ActionKind.AddEntitlement ? member : !member, Membership(group, member));
            }
        }
    }
}
