using Deprov.Connectors.Okta.Protocol;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta;

internal sealed partial class OktaConnector
{
    /// <summary>
    /// Reads the target back. Account actions read the user's <c>status</c>; memberships read the user's groups; admin
    /// roles read the user's role assignments; grants are listed again. Sessions cannot be listed through Okta's API, so
    /// <c>RevokeSessions</c> is read back from the System Log (see <see cref="ReadBackSessionsAsync"/>).
    /// </summary>
    public async Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        var what = "read back " + action.Kind.ToSnake();
        switch (action.Kind)
        {
            case ActionKind.DisableAccount or ActionKind.EnableAccount or ActionKind.DeleteAccount:
            {
                var user = await ReadUserAsync(action.RequireAccountId(_label), what, cancellationToken);
                if (user is null)
                {
                    // Not found by id confirms only a delete: for a disable it may be a wrong id or a user moved away.
                    return new ReadBackResult(action.Kind is ActionKind.DeleteAccount, Absent);
                }

                var confirmed = action.Kind switch
                {
                    ActionKind.DisableAccount => !user.CanSignIn,
                    // Left as it was before the case (already cut then), or back to ACTIVE.
                    ActionKind.EnableAccount => action.BeforeValue("status") is { } was && (OktaUser.IsCut(was) || was == OktaUser.Staged)
                        ? user.Status == was
                        : user.Status == OktaUser.Active,
                    _ => false,
                };
                return new ReadBackResult(confirmed, user.ToMap());
            }

            case ActionKind.RevokeSessions:
                return await ReadBackSessionsAsync(action, cancellationToken);

            case ActionKind.RevokeToken:
            {
                var count = await CountGrantsAsync(action.RequireAccountId(_label), what, cancellationToken);
                return count is null ? new ReadBackResult(false, Absent) : new ReadBackResult(count == 0, Grants(count.Value));
            }

            case ActionKind.RemoveEntitlement or ActionKind.AddEntitlement when IsRole(action.EntitlementExternalId):
                return await ReadBackRoleAsync(action, cancellationToken);

            default:
            {
                var groupId = action.RequireEntitlementId(_label);
                var member = await IsMemberAsync(action.RequireAccountId(_label), groupId, what, cancellationToken);
                if (member is null)
                {
                    return new ReadBackResult(false, Absent);
                }

                return new ReadBackResult(action.Kind is ActionKind.AddEntitlement ? member.Value : !member.Value, Membership(groupId, member.Value));
            }
        }
    }
}
