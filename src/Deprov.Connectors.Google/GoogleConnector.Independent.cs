using System.Globalization;
using Deprov.Connectors.Google.Protocol;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google;

/// <summary>
/// The second, independent reads the engine asks for when the inventory and the first read disagree (the inventory holds
/// the access, the first read says it is already gone). Each goes through a different resource than the read-back:
/// <list type="bullet">
/// <item><c>DisableAccount</c>: the user read by its primary email (<c>users.get</c> with the address as userKey) rather
/// than by its immutable id; the answer must be the same user.</item>
/// <item>Group membership: the groups the user is a member of (<c>groups.list?userKey=</c>) rather than
/// <c>members.get</c>/<c>hasMember</c> on the group.</item>
/// </list>
/// Other actions have no second path: null, and the engine reports the step unconfirmed. A target not found, or an empty
/// listing, never confirms.
/// </summary>
internal sealed partial class GoogleConnector
{
    public async Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind switch
        {
            ActionKind.DisableAccount => await UserByEmailAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement => await GroupsOfUserAsync(action, cancellationToken),
            _ => null,
        };
    }

    private async Task<ReadBackResult?> UserByEmailAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label, "user id");
        if (action.AccountUserName is not { } email || !email.Contains('@', StringComparison.Ordinal))
        {
            return null;
        }

        var user = await GetAsync($"{Users}/{Escape(email)}", "independent read (user by email)", Scopes.User, cancellationToken);
        if (user is null)
        {
            return new ReadBackResult(false, new Dictionary<string, string>(StringComparer.Ordinal) { ["present"] = "false", ["lookup"] = "primaryEmail" });
        }

        var observed = UserMap(user);
        observed["lookup"] = "primaryEmail";
        observed["id"] = GoogleResponse.Text(user, "id") ?? string.Empty;
        // The address may belong to someone else by now: that says nothing about our user.
        return new ReadBackResult(observed["id"] == id && Suspended(user), observed);
    }

    private async Task<ReadBackResult> GroupsOfUserAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var (group, user) = (action.RequireEntitlementId(_label), action.RequireAccountId(_label, "user id"));
        var listed = 0;
        var found = false;
        await foreach (var g in PagesAsync($"{Groups}?userKey={Escape(user)}&maxResults={Math.Min(_settings.PageSize, 200)}", "groups", "independent read (groups of the user)", Scopes.ReadGroups, cancellationToken))
        {
            listed++;
            found |= GoogleResponse.Text(g, "id") == group || string.Equals(GoogleResponse.Text(g, "email"), group, StringComparison.OrdinalIgnoreCase);
        }

        var observed = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["group"] = group,
            ["member"] = found ? "true" : listed == 0 ? "unknown" : "false",
            ["listed"] = listed.ToString(CultureInfo.InvariantCulture),
            ["lookup"] = "groups of the user",
        };

        // A leaver in no group at all is rare; an empty answer is what a lenient server gives to anything: never a confirmation.
        return new ReadBackResult(!found && listed > 0, observed);
    }
}
