using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Deprov.Connectors.Graph.Protocol;
using Deprov.Core.Security;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Graph;

/// <summary>
/// Password reset: a random password nobody is told, set through the user's <c>passwordProfile</c>. The password is
/// generated here, sent once and dropped: it is never stored, logged or put in the Before/After maps.
/// </summary>
internal sealed partial class GraphConnector
{
    private const string PasswordSelect = "$select=id,userPrincipalName,onPremisesSyncEnabled,lastPasswordChangeDateTime";

    // Graph's answer when a property mastered on-premises (Microsoft Entra Connect sync) is written in the cloud.
    private const string OnPremisesMastered = "on-premises mastered";

    // The password is RandomPassword.New(): 32 characters (Entra allows 8–256), four classes (the default policy asks for
    // three), symbols all in Entra's allowed set.

    // Per step (idempotency key): lastPasswordChangeDateTime before our PATCH and when we sent it, so the read-back can
    // tell that the timestamp moved because of this request. Never the password. Removed by the read-back.
    private readonly ConcurrentDictionary<string, (DateTimeOffset? Before, DateTimeOffset SentAt)> _passwordResets = new(StringComparer.Ordinal);

    /// <summary>
    /// <c>PATCH users/{id}</c> with <c>passwordProfile</c> (a new random password, <c>forceChangePasswordNextSignIn</c>).
    /// Never "already in state": each call sets a new password, which is harmless to repeat. A user whose password is
    /// mastered on-premises (<c>onPremisesSyncEnabled</c>) is refused before any write: Graph refuses writes to
    /// on-premises-mastered properties, and a cloud-only reset would leave the AD password valid, so it belongs in AD.
    /// </summary>
    private async Task<ActionResult> ResetPasswordAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var user = await GetAsync($"users/{Escape(id)}?{PasswordSelect}", "read before reset password", Permissions.ReadUsers, cancellationToken);
        if (user is null)
        {
            return ActionResult.Unchanged(Absent, "the user no longer exists: there is no password to reset");
        }

        var upn = GraphResponse.Text(user, "userPrincipalName") ?? id;
        if (user["onPremisesSyncEnabled"] is JsonValue synced && synced.TryGetValue<bool>(out var isSynced) && isSynced)
        {
            throw SyncedUser(id, upn);
        }

        var before = LastPasswordChange(user);
        var sentAt = _time.GetUtcNow();
        var path = $"users/{Escape(id)}";
        var body = new JsonObject
        {
            ["passwordProfile"] = new JsonObject { ["password"] = RandomPassword.New(), ["forceChangePasswordNextSignIn"] = true },
        };
        var r = await _client.SendAsync(HttpMethod.Patch, path, body, "reset password", cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return ActionResult.Unchanged(Absent, "the user no longer exists: there is no password to reset");
        }

        if (r.Status == HttpStatusCode.BadRequest && r.Message?.Contains(OnPremisesMastered, StringComparison.OrdinalIgnoreCase) == true)
        {
            // Synced between our read and the write (or not reported as synced): the same reason, in the same words.
            throw SyncedUser(id, upn);
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Patch, path, "reset password", Permissions.ResetPassword);
        }

        _passwordResets[action.IdempotencyKey] = (before, sentAt);
        var beforeMap = PasswordMap(user, before, "unchanged");
        var after = PasswordMap(user, before, "reset to a random secret (not stored)");
        after["forceChangePasswordNextSignIn"] = "true";
        after["resetRequestedAt"] = Iso(sentAt);
        return new ActionResult(beforeMap, after, AlreadyInState: false);
    }

    /// <summary>
    /// Graph never returns a password. What it can confirm: <c>lastPasswordChangeDateTime</c> moved past its old value, or
    /// to the time of the request (5 min clock skew allowed). A step this process did not run has no time to compare with,
    /// and a password changed by someone else since our reset would also be counted as ours.
    /// </summary>
    private async Task<ReadBackResult> ReadBackPasswordAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var user = await GetAsync($"users/{Escape(id)}?{PasswordSelect}", "read back reset password", Permissions.ReadUsers, cancellationToken);
        var known = _passwordResets.TryRemove(action.IdempotencyKey, out var sent);
        if (user is null)
        {
            // Not found by id: a deleted user signs in with no password, but a wrong id looks the same; only deleted items
            // holding the user tell them apart.
            return await DeletedUserAsync(id, "read back reset password", cancellationToken);
        }

        var changedAt = LastPasswordChange(user);
        var threshold = (known ? sent.SentAt : _time.GetUtcNow()) - ClockSkew;
        var confirmed = changedAt is { } c && (c >= threshold || (known && sent.Before is { } b && c > b) || (known && sent.Before is null));
        var observed = PasswordMap(user, changedAt, confirmed ? "changed at lastPasswordChangeDateTime (Graph never returns passwords)" : "not confirmed changed");
        return new ReadBackResult(confirmed, observed);
    }

    private ConnectorException SyncedUser(string id, string upn) => new(
        $"{_label}: cannot reset the password of '{upn}' ({id}): the user is synchronized from on-premises Active Directory "
        + "(onPremisesSyncEnabled), so its password is mastered there: Graph refuses the write, and a cloud-only reset would "
        + "leave the Active Directory password valid. Reset it in Active Directory (an ldap system with flavour ad, or by hand).",
        isTransient: false);

    private static DateTimeOffset? LastPasswordChange(JsonObject user) =>
        GraphResponse.Text(user, "lastPasswordChangeDateTime") is { } text
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    private static Dictionary<string, string> PasswordMap(JsonObject user, DateTimeOffset? changedAt, string password) => new(StringComparer.Ordinal)
    {
        ["userPrincipalName"] = GraphResponse.Text(user, "userPrincipalName") ?? string.Empty,
        ["lastPasswordChangeDateTime"] = changedAt is { } v ? Iso(v) : string.Empty,
        ["password"] = password,
    };
}
