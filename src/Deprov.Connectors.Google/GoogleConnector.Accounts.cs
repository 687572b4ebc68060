using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Google.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google;

/// <summary>Users: suspend, restore, sign out, delete, and their read-backs.</summary>
internal sealed partial class GoogleConnector
{
    // Per step (idempotency key): when our signOut was accepted. Never a confirmation: it only tells the read-back that a
    // sign-out of an active user may still be confirmed by the suspension that usually runs beside it.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _signOuts = new(StringComparer.Ordinal);

    // How long a sign-out this process sent waits for the user's suspension to confirm it, before it is reported unconfirmed.
    private static readonly TimeSpan SignOutWait = TimeSpan.FromMinutes(10);

    private async Task<ActionResult> SetSuspendedAsync(ConnectorAction action, bool suspend, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label, "user id");
        var what = suspend ? "suspend" : "restore";
        var path = $"{Users}/{Escape(id)}";
        var user = await GetAsync(path, "read before " + what, Scopes.User, cancellationToken);
        if (user is null)
        {
            // A deleted user cannot sign in: the suspension holds. A restore cannot bring it back (undeleting is a
            // deliberate act in the Admin console, possible for 20 days).
            return suspend
                ? ActionResult.Unchanged(Absent)
                : throw new ConnectorException($"{_label}: user '{id}' no longer exists; restore it in the Admin console (possible for 20 days after deletion) before unsuspending it.", isTransient: false);
        }

        var before = UserMap(user);
        if (!suspend && string.Equals(action.BeforeValue("suspended"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return ActionResult.Unchanged(before, "suspended before the leaver case; left suspended");
        }

        if (Suspended(user) == suspend)
        {
            return ActionResult.Unchanged(before);
        }

        var r = await Client.SendAsync(HttpMethod.Patch, path, new JsonObject { ["suspended"] = suspend }, what, cancellationToken);
        if (r.Status == HttpStatusCode.NotFound && suspend)
        {
            return ActionResult.Unchanged(Absent);
        }

        if (!r.IsSuccess)
        {
            throw Client.Failure(r, HttpMethod.Patch, path, what, Scopes.User);
        }

        // users.patch answers the updated User: report what Google says, not what we asked for.
        var after = r.Object is { } updated && updated["suspended"] is not null ? UserMap(updated) : new Dictionary<string, string>(before, StringComparer.Ordinal) { ["suspended"] = Bool(suspend) };
        return new ActionResult(before, after, AlreadyInState: false);
    }

    private async Task<ReadBackResult> ReadBackSuspendedAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var user = await GetAsync($"{Users}/{Escape(action.RequireAccountId(_label, "user id"))}", "read back " + action.Kind.ToSnake(), Scopes.User, cancellationToken);
        if (user is null)
        {
            // Not found by id confirms nothing but a delete: it may as well be a wrong id or a user moved away.
            return new ReadBackResult(false, Absent);
        }

        var wantSuspended = action.Kind is ActionKind.DisableAccount || string.Equals(action.BeforeValue("suspended"), "true", StringComparison.OrdinalIgnoreCase);
        return new ReadBackResult(Suspended(user) == wantSuspended, UserMap(user));
    }

    /// <summary>
    /// <c>POST users/{id}/signOut</c>: signs the user out of all web and device sessions and resets their sign-in cookies.
    /// Never "already in state": every call is a fresh sign-out, harmless to repeat.
    /// </summary>
    private async Task<ActionResult> SignOutAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label, "user id");
        var user = await GetAsync($"{Users}/{Escape(id)}", "read before sign-out", Scopes.User, cancellationToken);
        if (user is null)
        {
            return ActionResult.Unchanged(Absent, "the user no longer exists: no session is left");
        }

        var path = $"{Users}/{Escape(id)}/signOut";
        var r = await Client.SendAsync(HttpMethod.Post, path, null, "sign out", cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return ActionResult.Unchanged(Absent, "the user no longer exists: no session is left");
        }

        if (!r.IsSuccess)
        {
            throw Client.Failure(r, HttpMethod.Post, path, "sign out", Scopes.Security);
        }

        var at = _time.GetUtcNow();
        _signOuts[action.IdempotencyKey] = at;
        var before = UserMap(user);
        var after = new Dictionary<string, string>(before, StringComparer.Ordinal) { ["signOutAcceptedAt"] = Iso(at) };
        return new ActionResult(before, after, AlreadyInState: false);
    }

    /// <summary>
    /// Google offers no read of a sign-out: no session listing, no "sessions valid from" time on the user. What can be
    /// read by the user's id is whether the user may still use a session at all: a suspended user cannot sign in and its
    /// Workspace services are unavailable to it. So the sign-out is confirmed only when the user is suspended; Google's
    /// 2xx to <c>signOut</c> is never a confirmation on its own (a server can accept a call and do nothing). While the
    /// user is still active, a sign-out this process sent moments ago is read again later (the leaver's suspension is
    /// usually a step running beside it); after that, or after a restart, it is not confirmed and the engine raises a task.
    /// </summary>
    private async Task<ReadBackResult> ReadBackSignOutAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label, "user id");
        var user = await GetAsync($"{Users}/{Escape(id)}", "read back sign-out", Scopes.User, cancellationToken);
        if (user is null)
        {
            // Not found by id confirms only a delete.
            return new ReadBackResult(false, Absent);
        }

        var observed = UserMap(user);
        var sent = _signOuts.TryGetValue(action.IdempotencyKey, out var at);
        observed["signOutAccepted"] = sent ? Iso(at) : "unknown";
        observed["sessions"] = "not readable through the Directory API; confirmed only by the user's suspension";
        if (Suspended(user))
        {
            _signOuts.TryRemove(action.IdempotencyKey, out _);
            return new ReadBackResult(true, observed);
        }

        if (sent && _time.GetUtcNow() - at < SignOutWait)
        {
            throw new ConnectorException(
                $"{_label}: Google accepted the sign-out of user '{id}' at {Iso(at)}, but a sign-out cannot be read back while the user is active (Google lists no sessions); it is read again once the user is suspended.",
                isTransient: true, retryAfter: TimeSpan.FromSeconds(30));
        }

        return new ReadBackResult(false, observed);
    }

    private async Task<ActionResult> DeleteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label, "user id");
        var path = $"{Users}/{Escape(id)}";
        var user = await GetAsync(path, "read before delete", Scopes.User, cancellationToken);
        if (user is null)
        {
            return ActionResult.Unchanged(Absent);
        }

        var r = await Client.SendAsync(HttpMethod.Delete, path, null, "delete", cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return ActionResult.Unchanged(Absent);
        }

        if (!r.IsSuccess)
        {
            throw Client.Failure(r, HttpMethod.Delete, path, "delete", Scopes.User);
        }

        return new ActionResult(UserMap(user), Absent, AlreadyInState: false,
            "deleted: an admin can restore the user for 20 days; the user's Drive files go with it unless transferred first");
    }

    private async Task<ReadBackResult> ReadBackDeletedAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var user = await GetAsync($"{Users}/{Escape(action.RequireAccountId(_label, "user id"))}", "read back delete", Scopes.User, cancellationToken);
        return user is null ? new ReadBackResult(true, Absent) : new ReadBackResult(false, UserMap(user));
    }

    private static bool Suspended(JsonObject user) => GoogleResponse.Flag(user, "suspended");

    private static Dictionary<string, string> UserMap(JsonObject user)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["primaryEmail"] = GoogleResponse.Text(user, "primaryEmail") ?? string.Empty,
            ["suspended"] = Bool(Suspended(user)),
        };
        if (GoogleResponse.Text(user, "suspensionReason") is { Length: > 0 } reason)
        {
            map["suspensionReason"] = reason;
        }

        return map;
    }

    private static string Iso(DateTimeOffset value) => value.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
}
