using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Okta.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta;

/// <summary>
/// The read-back of <c>RevokeSessions</c>. Okta's Management API has no call that lists a user's sessions, but every clear
/// is recorded in the System Log as a <c>user.session.clear</c> event whose target is the user, and every sign-in moves
/// the user's <c>lastLogin</c>. The clear is confirmed when the log shows a successful clear of this user and the user has
/// not signed in since: then no Okta session of the user can have outlived it. Okta's 204 to the DELETE is never taken
/// as a confirmation on its own (a server can accept a write and do nothing).
/// </summary>
internal sealed partial class OktaConnector
{
    internal const string SessionClearEvent = "user.session.clear";

    // Okta's own default window of a System Log query; stated in the request rather than left implicit.
    private static readonly TimeSpan SessionLogWindow = TimeSpan.FromDays(7);

    // The System Log is near real-time, not immediate: for this long after our DELETE, a clear missing from the log is
    // read again later (a transient failure: the engine keeps the step "applied, unconfirmed" and re-reads it) instead of
    // being reported unconfirmed at once.
    private static readonly TimeSpan SessionLogLag = TimeSpan.FromMinutes(5);

    private const int SessionLogPage = 100;

    // Per step (idempotency key): when Okta accepted our DELETE of the sessions. Only tells the read-back whether a clear
    // missing from the log may still be on its way; never a confirmation.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _clears = new(StringComparer.Ordinal);

    private async Task<ReadBackResult> ReadBackSessionsAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        const string what = "read back revoke_sessions";
        var user = await ReadUserAsync(id, what, cancellationToken);
        if (user is null)
        {
            // Not found by id confirms only a delete.
            return new ReadBackResult(false, Absent);
        }

        var clear = await LatestSessionClearAsync(id, what, cancellationToken);
        var observed = user.ToMap();
        observed["sessions"] = "not listable through the Okta API; read from the System Log (user.session.clear) and lastLogin";
        observed["lastLogin"] = user.LastLogin is { } login ? Iso(login) : "never";
        observed["sessionClearLogged"] = clear is { } c ? Iso(c) : "none in the System Log";
        if (clear is null)
        {
            if (_clears.TryGetValue(action.IdempotencyKey, out var sent) && _time.GetUtcNow() - sent < SessionLogLag)
            {
                throw new ConnectorException(
                    $"{_label}: Okta accepted the clear of the sessions of user '{id}' at {Iso(sent)}, but its System Log does not show a {SessionClearEvent} event for the user yet (the log is near real-time); the engine reads it again later.",
                    isTransient: true, retryAfter: TimeSpan.FromSeconds(30));
            }

            _clears.TryRemove(action.IdempotencyKey, out _);
            return new ReadBackResult(false, observed);
        }

        _clears.TryRemove(action.IdempotencyKey, out _);

        // A sign-in after the clear opened a session the clear did not end.
        var signedInSince = user.LastLogin is { } last && last > clear.Value;
        if (signedInSince)
        {
            observed["signedInAfterClear"] = "true";
        }

        return new ReadBackResult(!signedInSince, observed);
    }

    /// <summary>
    /// The time of the latest successful <c>user.session.clear</c> event whose target is the user, from
    /// <c>GET api/v1/logs?filter=...&amp;since=...</c>; null when the log shows none. Each event is checked here too (type,
    /// target, outcome): a server that ignores the filter and answers every event must not confirm a clear of someone else.
    /// </summary>
    private async Task<DateTimeOffset?> LatestSessionClearAsync(string userId, string what, CancellationToken cancellationToken)
    {
        var filter = $"eventType eq \"{SessionClearEvent}\" and target.id eq \"{userId}\"";
        var since = (_time.GetUtcNow() - SessionLogWindow).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'.000Z'", CultureInfo.InvariantCulture);
        // One page, newest first: without 'until' the System Log answers a polling query whose next link never ends.
        var path = $"api/v1/logs?filter={Uri.EscapeDataString(filter)}&since={Uri.EscapeDataString(since)}&sortOrder=DESCENDING&limit={SessionLogPage}";
        var r = await _client.SendAsync(HttpMethod.Get, path, what + " (System Log)", cancellationToken);
        if (!r.IsSuccess || r.Array is not { } events)
        {
            throw r.Status == HttpStatusCode.NotFound
                ? new ConnectorException($"{_label}: GET api/v1/logs answered 404: the org's System Log API is not reachable, so the clear of the sessions of user '{userId}' cannot be confirmed.", isTransient: false)
                : _client.Failure(r, HttpMethod.Get, path, what + " (System Log)", OktaRights.ReadLogs);
        }

        DateTimeOffset? latest = null;
        foreach (var e in events.OfType<JsonObject>())
        {
            if (OktaUser.Text(e, "eventType") != SessionClearEvent
                || OktaUser.Text(e["outcome"] as JsonObject, "result") != "SUCCESS"
                || !((e["target"] as JsonArray)?.OfType<JsonObject>().Any(t => OktaUser.Text(t, "id") == userId) ?? false)
                || OktaUser.Text(e, "published") is not { } published
                || !DateTimeOffset.TryParse(published, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                continue;
            }

            if (latest is null || at > latest)
            {
                latest = at;
            }
        }

        return latest;
    }

    private static string Iso(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
