using System.Net;
using Deprov.Connectors.Okta.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Okta;

internal sealed partial class OktaConnector
{
    /// <summary>
    /// Suspends (default) or deactivates the user. Okta suspends only ACTIVE users; one that can still get in another way
    /// (PROVISIONED, RECOVERY, PASSWORD_EXPIRED, LOCKED_OUT) is deactivated instead, because cutting access comes before
    /// keeping it reversible, and the result says so.
    /// </summary>
    private async Task<ActionResult> DisableAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        for (var attempt = 0; ; attempt++)
        {
            var before = await ReadUserAsync(id, "read before disable", cancellationToken);
            if (before is null || !before.CanSignIn)
            {
                return Already(before);
            }

            var suspend = _settings.DisableMode is OktaDisableMode.Suspend && before.Status == OktaUser.Active;
            string? detail = null;
            if (_settings.DisableMode is OktaDisableMode.Suspend && !suspend)
            {
                detail = $"Okta suspends only ACTIVE users; status {before.Status} was deactivated instead";
            }

            var (path, what) = suspend
                ? ($"{UserPath(id)}/lifecycle/suspend", "suspend")
                : ($"{UserPath(id)}/lifecycle/deactivate?sendEmail=false", "deactivate");
            var r = await _client.SendAsync(HttpMethod.Post, path, what, cancellationToken);
            if (r.Status == HttpStatusCode.NotFound)
            {
                return Already(null);
            }

            if (r.Status == HttpStatusCode.BadRequest && attempt == 0)
            {
                // E0000001: the status changed between our read and the call (another admin, an import). Decide again.
                continue;
            }

            if (!r.IsSuccess)
            {
                throw _client.Failure(r, HttpMethod.Post, path, what, OktaRights.UserLifecycle);
            }

            var after = before.WithStatus(suspend ? OktaUser.Suspended : OktaUser.Deprovisioned);
            return new ActionResult(before.ToMap(), after.ToMap(), AlreadyInState: false, detail);
        }
    }

    /// <summary>
    /// Restores sign-in: unsuspend a SUSPENDED user, activate (without the activation email) a DEPROVISIONED one. An
    /// account that was already cut before the leaver case is left as it was.
    /// </summary>
    private async Task<ActionResult> EnableAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var current = await ReadUserAsync(id, "read before enable", cancellationToken)
            ?? throw new ConnectorException($"{_label}: user '{id}' no longer exists; it cannot be re-activated, only created again.", isTransient: false);
        if (action.BeforeValue("status") is { } was && (OktaUser.IsCut(was) || was == OktaUser.Staged))
        {
            return Already(current, $"status was {was} before the disable; left as it is");
        }

        if (!OktaUser.IsCut(current.Status))
        {
            return Already(current);
        }

        var (path, what) = current.Status == OktaUser.Suspended
            ? ($"{UserPath(id)}/lifecycle/unsuspend", "unsuspend")
            : ($"{UserPath(id)}/lifecycle/activate?sendEmail=false", "activate");
        var r = await _client.SendAsync(HttpMethod.Post, path, what, cancellationToken);
        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Post, path, what, OktaRights.UserLifecycle);
        }

        // activate?sendEmail=false answers with an activation token and URL: credentials, never kept or reported.
        // Read the user again instead: a user without a password is PROVISIONED (waiting for activation), not ACTIVE.
        var after = await ReadUserAsync(id, "read after " + what, cancellationToken) ?? current.WithStatus("UNKNOWN");
        var detail = after.Status == OktaUser.Active ? null : $"Okta left the user {after.Status}; it must finish activation before it can sign in";
        return new ActionResult(current.ToMap(), after.ToMap(), AlreadyInState: false, detail);
    }

    /// <summary>
    /// Deletes the user. Okta's DELETE deactivates a user that is not DEPROVISIONED yet and deletes only on a second call,
    /// so a user not yet deactivated takes two DELETEs; a replay after a crash between them finds it DEPROVISIONED and
    /// sends one.
    /// </summary>
    private async Task<ActionResult> DeleteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var before = await ReadUserAsync(id, "read before delete", cancellationToken);
        if (before is null)
        {
            return Already(null);
        }

        var path = $"{UserPath(id)}?sendEmail=false";
        var calls = before.Status == OktaUser.Deprovisioned ? 1 : 2;
        for (var i = 0; i < calls; i++)
        {
            var what = i + 1 < calls ? "delete (deactivates first)" : "delete";
            var r = await _client.SendAsync(HttpMethod.Delete, path, what, cancellationToken);
            if (r.Status == HttpStatusCode.NotFound)
            {
                break;
            }

            if (!r.IsSuccess)
            {
                throw _client.Failure(r, HttpMethod.Delete, path, what, OktaRights.UserLifecycle);
            }
        }

        return new ActionResult(before.ToMap(), Absent, AlreadyInState: false, calls == 2 ? "deactivated, then deleted (two DELETE calls)" : null);
    }

    /// <summary>Clears every session, revokes the OAuth tokens Okta issued to them, and (by default) forgets remembered devices.</summary>
    private async Task<ActionResult> RevokeSessionsAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var path = $"{UserPath(id)}/sessions?oauthTokens=true&forgetDevices={(_settings.ForgetDevices ? "true" : "false")}";
        var r = await _client.SendAsync(HttpMethod.Delete, path, "clear sessions", cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            // No user, no session.
            return Already(null);
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Delete, path, "clear sessions", OktaRights.Sessions);
        }

        _clears[action.IdempotencyKey] = _time.GetUtcNow();

        // Okta cannot list a user's sessions, so there is no "before" to report: only what was asked and answered.
        var after = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["sessions"] = "cleared",
            ["oauthTokens"] = "revoked",
            ["forgetDevices"] = _settings.ForgetDevices ? "true" : "false",
        };
        return new ActionResult(new Dictionary<string, string>(StringComparer.Ordinal) { ["sessions"] = "unknown (not listable)" }, after, AlreadyInState: false);
    }

    /// <summary>Revokes every OAuth 2.0 consent grant of the user (and with them the tokens minted from them).</summary>
    private async Task<ActionResult> RevokeGrantsAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var count = await CountGrantsAsync(id, "read grants before revoke", cancellationToken);
        if (count is null or 0)
        {
            return count is null ? Already(null) : new ActionResult(Grants(0), Grants(0), AlreadyInState: true);
        }

        var path = $"{UserPath(id)}/grants";
        var r = await _client.SendAsync(HttpMethod.Delete, path, "revoke grants", cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return Already(null);
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Delete, path, "revoke grants", OktaRights.UserLifecycle);
        }

        return new ActionResult(Grants(count.Value), Grants(0), AlreadyInState: false);
    }

    private async Task<ActionResult> ChangeMembershipAsync(ConnectorAction action, bool add, CancellationToken cancellationToken)
    {
        var userId = action.RequireAccountId(_label);
        var groupId = action.RequireEntitlementId(_label);
        var what = add ? "add to group" : "remove from group";
        var member = await IsMemberAsync(userId, groupId, what + " (membership check)", cancellationToken);
        if (member is null)
        {
            return add
                ? throw new ConnectorException($"{_label}: user '{userId}' not found; cannot add it to group '{groupId}'.", isTransient: false)
                : Already(null);
        }

        if (member == add)
        {
            return new ActionResult(Membership(groupId, add), Membership(groupId, add), AlreadyInState: true);
        }

        var path = MemberPath(groupId, userId);
        var method = add ? HttpMethod.Put : HttpMethod.Delete;
        var r = await _client.SendAsync(method, path, what, cancellationToken);
        if (r.Status == HttpStatusCode.NotFound && !add)
        {
            // The group (or the user) went away between the check and the call: no membership is left.
            return new ActionResult(Membership(groupId, false), Membership(groupId, false), AlreadyInState: true);
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, method, path, what, OktaRights.Groups);
        }

        return new ActionResult(Membership(groupId, !add), Membership(groupId, add), AlreadyInState: false);
    }

    /// <summary>How many grants the user has, or null when the user is gone.</summary>
    private async Task<int?> CountGrantsAsync(string userId, string what, CancellationToken cancellationToken)
    {
        var first = $"{UserPath(userId)}/grants?limit={_settings.PageSize}";
        var probe = await _client.SendAsync(HttpMethod.Get, first, what, cancellationToken);
        if (probe.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!probe.IsSuccess || probe.Array is not { } page)
        {
            throw _client.Failure(probe, HttpMethod.Get, first, what, OktaRights.Read);
        }

        var count = page.Count;
        if (probe.Next is { } next)
        {
            await foreach (var _ in _client.PagesAsync(next.AbsoluteUri, what, cancellationToken))
            {
                count++;
            }
        }

        return count;
    }

    private static Dictionary<string, string> Grants(int count) =>
        new(StringComparer.Ordinal) { ["grants"] = count.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    private static Dictionary<string, string> Membership(string groupId, bool member) =>
        new(StringComparer.Ordinal) { ["member"] = member ? "true" : "false", ["group"] = groupId };
}
