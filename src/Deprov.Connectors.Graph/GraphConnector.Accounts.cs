using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Graph.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph;

/// <summary>Users: disable, enable, revoke sign-in sessions, delete, and their read-backs.</summary>
internal sealed partial class GraphConnector
{
    /// <summary>How far Entra's clock may be behind ours when a revocation's timestamp is compared with when we sent it.</summary>
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    // Per step (idempotency key): the sessions-valid-from time before our revokeSignInSessions and when we sent it, so the
    // read-back can tell that the timestamp moved because of this request. Removed by the read-back.
    private readonly ConcurrentDictionary<string, (DateTimeOffset? Before, DateTimeOffset SentAt)> _revocations = new(StringComparer.Ordinal);

    private const string UserSelect = "$select=id,userPrincipalName,accountEnabled";

    private async Task<ActionResult> SetEnabledAsync(ConnectorAction action, bool enabled, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var what = enabled ? "enable" : "disable";
        var user = await GetAsync($"users/{Escape(id)}?{UserSelect}", "read before " + what, Permissions.ReadUsers, cancellationToken);
        if (user is null)
        {
            // A deleted user cannot sign in: the disable holds. An enable cannot bring it back (restoring from deleted
            // items is a different, deliberate act).
            return enabled
                ? throw new ConnectorException($"{_label}: user '{id}' no longer exists; restore it from deleted items (kept 30 days) before enabling it.", isTransient: false)
                : ActionResult.Unchanged(Absent);
        }

        var before = UserMap(user);
        if (enabled && string.Equals(action.BeforeValue("accountEnabled"), "false", StringComparison.OrdinalIgnoreCase))
        {
            return ActionResult.Unchanged(before, "disabled before the leaver case; left disabled");
        }

        if (Enabled(user) == enabled)
        {
            return ActionResult.Unchanged(before);
        }

        var path = $"users/{Escape(id)}";
        var r = await _client.SendAsync(HttpMethod.Patch, path, new JsonObject { ["accountEnabled"] = enabled }, what, cancellationToken);
        if (r.Status == HttpStatusCode.NotFound && !enabled)
        {
            return ActionResult.Unchanged(Absent);
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Patch, path, what, Permissions.EnableDisable);
        }

        var after = new Dictionary<string, string>(before, StringComparer.Ordinal) { ["accountEnabled"] = Bool(enabled) };
        return new ActionResult(before, after, AlreadyInState: false);
    }

    private async Task<ReadBackResult> ReadBackEnabledAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var user = await GetAsync($"users/{Escape(id)}?{UserSelect}", "read back " + action.Kind.ToSnake(), Permissions.ReadUsers, cancellationToken);
        if (user is null)
        {
            // Not found by id confirms nothing but a delete: it may as well be a wrong id or a user moved away. A user
            // found in deleted items is a positive answer: it cannot sign in, so a disable holds.
            return action.Kind is ActionKind.DisableAccount ? await DeletedUserAsync(id, "read back disable", cancellationToken) : new ReadBackResult(false, Absent);
        }

        var want = action.Kind is ActionKind.EnableAccount && !string.Equals(action.BeforeValue("accountEnabled"), "false", StringComparison.OrdinalIgnoreCase);
        return new ReadBackResult(Enabled(user) == want, UserMap(user));
    }

    /// <summary>
    /// <c>POST users/{id}/revokeSignInSessions</c>. Documented as 204 but answered 200 with <c>{"value": true}</c> (a known
    /// service issue): any 2xx is success. It is never "already in state": every call moves the user's
    /// <c>signInSessionsValidFromDateTime</c> to now, which is harmless to repeat.
    /// </summary>
    private async Task<ActionResult> RevokeSessionsAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var user = await GetAsync($"users/{Escape(id)}?$select=id,userPrincipalName,signInSessionsValidFromDateTime", "read before revoke sessions", Permissions.ReadUsers, cancellationToken);
        if (user is null)
        {
            return ActionResult.Unchanged(Absent, "the user no longer exists: no session can be refreshed");
        }

        var before = SessionsValidFrom(user);
        var sentAt = _time.GetUtcNow();
        var path = $"users/{Escape(id)}/revokeSignInSessions";
        var r = await _client.SendAsync(HttpMethod.Post, path, null, "revoke sessions", cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return ActionResult.Unchanged(Absent, "the user no longer exists: no session can be refreshed");
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Post, path, "revoke sessions", Permissions.RevokeSessions);
        }

        _revocations[action.IdempotencyKey] = (before, sentAt);
        var beforeMap = SessionsMap(user, before);
        var after = new Dictionary<string, string>(beforeMap, StringComparer.Ordinal) { ["revokeRequestedAt"] = Iso(sentAt) };
        return new ActionResult(beforeMap, after, AlreadyInState: false);
    }

    /// <summary>
    /// What Graph can confirm: <c>signInSessionsValidFromDateTime</c> moved to the revocation (refresh tokens and session
    /// cookies issued before it are refused). What it cannot: access tokens already issued stay valid until they expire
    /// (about an hour, sooner in apps with continuous access evaluation), and guests' home-tenant sessions are not touched.
    /// </summary>
    private async Task<ReadBackResult> ReadBackSessionsAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var user = await GetAsync($"users/{Escape(id)}?$select=id,userPrincipalName,signInSessionsValidFromDateTime", "read back revoke sessions", Permissions.ReadUsers, cancellationToken);
        _revocations.TryRemove(action.IdempotencyKey, out var sent);
        if (user is null)
        {
            // A deleted user's refresh tokens and sessions are refused: confirmed only when deleted items hold it.
            return await DeletedUserAsync(id, "read back revoke sessions", cancellationToken);
        }

        var validFrom = SessionsValidFrom(user);
        var threshold = (sent.SentAt == default ? _time.GetUtcNow() : sent.SentAt) - ClockSkew;
        var confirmed = validFrom is { } v && (v >= threshold || (sent.Before is { } b && v > b));
        return new ReadBackResult(confirmed, SessionsMap(user, validFrom));
    }

    private async Task<ActionResult> DeleteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var user = await GetAsync($"users/{Escape(id)}?{UserSelect}", "read before delete", Permissions.ReadUsers, cancellationToken);
        if (user is null)
        {
            return ActionResult.Unchanged(Absent);
        }

        var path = $"users/{Escape(id)}";
        var r = await _client.SendAsync(HttpMethod.Delete, path, null, "delete", cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return ActionResult.Unchanged(Absent);
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Delete, path, "delete", Permissions.DeleteUsers);
        }

        return new ActionResult(UserMap(user), Absent, AlreadyInState: false,
            "moved to deleted items: Entra keeps it 30 days (restorable) before deleting it for good");
    }

    private async Task<ReadBackResult> ReadBackDeletedAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var user = await GetAsync($"users/{Escape(action.RequireAccountId(_label))}?{UserSelect}", "read back delete", Permissions.ReadUsers, cancellationToken);
        return user is null ? new ReadBackResult(true, Absent) : new ReadBackResult(false, UserMap(user));
    }

    /// <summary>For a user not found by id: confirmed when <c>directory/deletedItems/{id}</c> holds it (a deleted user cannot
    /// sign in), not when it is missing there too (a wrong id, or purged).</summary>
    private async Task<ReadBackResult> DeletedUserAsync(string id, string what, CancellationToken cancellationToken)
    {
        var deleted = await InDeletedItemsAsync(id, what, cancellationToken);
        var observed = new Dictionary<string, string>(Absent, StringComparer.Ordinal) { ["deletedItem"] = Bool(deleted) };
        return new ReadBackResult(deleted, observed);
    }

    private static bool Enabled(JsonObject user) => user["accountEnabled"] is JsonValue v && v.TryGetValue<bool>(out var b) ? b : true;

    private static DateTimeOffset? SessionsValidFrom(JsonObject user) =>
        GraphResponse.Text(user, "signInSessionsValidFromDateTime") is { } text
        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at) ? at : null;

    private static Dictionary<string, string> UserMap(JsonObject user) => new(StringComparer.Ordinal)
    {
        ["accountEnabled"] = Bool(Enabled(user)),
        ["userPrincipalName"] = GraphResponse.Text(user, "userPrincipalName") ?? string.Empty,
    };

    private static Dictionary<string, string> SessionsMap(JsonObject user, DateTimeOffset? validFrom) => new(StringComparer.Ordinal)
    {
        ["userPrincipalName"] = GraphResponse.Text(user, "userPrincipalName") ?? string.Empty,
        ["signInSessionsValidFromDateTime"] = validFrom is { } v ? Iso(v) : string.Empty,
    };
}
