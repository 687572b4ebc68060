using System.Collections.Concurrent;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Scim.Profiles;
using Deprov.Connectors.Scim.Protocol;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Policy;

namespace Deprov.Connectors.Scim;

/// <summary>
/// A SCIM 2.0 service provider seen through a vendor profile. Follows the <see cref="IConnector"/> error contract:
/// every failure is a <see cref="ConnectorException"/> whose message names the system, the request and the SCIM
/// <c>scimType</c>/<c>detail</c>, never a credential.
/// </summary>
internal sealed partial class ScimConnector : IConnector, IDisposable
{
    private readonly ConnectedSystem _system;
    private readonly string _label;
    private readonly ScimSettings _settings;
    private readonly ScimProfile _profile;
    private readonly HttpCredentials _credentials;
    private readonly ScimClient _client;
    private readonly Regex[] _privileged;
    private readonly SemaphoreSlim _capabilitiesLock = new(1, 1);

    // What discovery and earlier writes saw of each user. Used only together with If-Match: a write conditioned on the
    // remembered ETag either applies to exactly the state we remember (so Before is exact without a GET) or fails
    // with 412, after which we read afresh. Without ETag support every write starts with a GET.
    private readonly ConcurrentDictionary<string, UserState> _seen = new(StringComparer.Ordinal);
    private ServerCapabilities? _capabilities;
    private volatile bool _patchRejected;

    // Fixed per profile, so built once: every DisableAccount sends the same bytes and answers the same descriptor.
    private readonly ConnectorDescriptor _descriptor;
    private readonly byte[] _deactivateBody;
    private readonly byte[] _activateBody;

    public ScimConnector(ConnectedSystem system, ScimSettings settings, ConnectorContext context)
    {
        _system = system;
        _label = $"SCIM {system.Id}";
        _settings = settings;
        _profile = ScimProfile.For(settings.Profile);
        Limiter = new AdaptiveRateLimiter(settings.RateLimitPerSecond, settings.MaxRetryAfter, context.Time);
        _credentials = new HttpCredentials($"SCIM {system.Id}", settings.Auth, context.Secrets, context.Time, settings.Timeout);
        _client = new ScimClient(system.Id, settings, _credentials, Limiter, context.Time);
        _privileged = [.. settings.PrivilegedGroups.Select(Wildcard.ToRegex)];
        _descriptor = BuildDescriptor(_profile);
        _deactivateBody = Encoding.UTF8.GetBytes(ScimPatch.SetActive(_profile, active: false).ToJsonString());
        _activateBody = Encoding.UTF8.GetBytes(ScimPatch.SetActive(_profile, active: true).ToJsonString());
    }

    internal AdaptiveRateLimiter Limiter { get; }

    internal int TokensFetched => _credentials.TokensFetched;

    public ConnectorDescriptor Describe() => _descriptor;

    private static ConnectorDescriptor BuildDescriptor(ScimProfile profile)
    {
        var kinds = new HashSet<ActionKind> { ActionKind.DisableAccount };
        if (profile.SupportsEnable)
        {
            kinds.Add(ActionKind.EnableAccount);
        }

        if (profile.SupportsDelete)
        {
            kinds.Add(ActionKind.DeleteAccount);
        }

        if (profile.SupportsGroups)
        {
            kinds.Add(ActionKind.RemoveEntitlement);
            kinds.Add(ActionKind.AddEntitlement);
        }

        return new ConnectorDescriptor("scim", kinds, IncrementalDiscovery: false, ReportsSignIns: false);
    }

    private async IAsyncEnumerable<JsonObject> PagesAsync(string resource, string query, string what, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var caps = await CapabilitiesAsync(cancellationToken);
        var count = caps.MaxResults is { } max && max > 0 ? Math.Min(max, _settings.PageSize) : _settings.PageSize;
        var startIndex = 1;
        while (true)
        {
            var path = $"{resource}?startIndex={startIndex}&count={count}{query}";
            var r = await _client.SendAsync(HttpMethod.Get, path, null, null, what, cancellationToken);
            if (!r.IsSuccess || r.Object is not { } page)
            {
                throw _client.Failure(r, HttpMethod.Get, path, what);
            }

            var items = (page["Resources"] ?? page["resources"]) as JsonArray;
            var total = ScimResource.Int(page["totalResults"]) ?? 0;
            var n = 0;
            foreach (var item in items?.OfType<JsonObject>() ?? [])
            {
                n++;
                yield return item;
            }

            // Servers may return fewer than asked (RFC 7644 §3.4.2.4): advance by what came back.
            startIndex += n;
            if (n == 0 || startIndex > total)
            {
                yield break;
            }
        }
    }

    public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind switch
        {
            ActionKind.DisableAccount => DisableAsync(action, cancellationToken),
            ActionKind.EnableAccount => EnableAsync(action, cancellationToken),
            ActionKind.DeleteAccount => DeleteAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement => ChangeMembershipAsync(action, add: false, cancellationToken),
            _ => ChangeMembershipAsync(action, add: true, cancellationToken),
        };
    }

    public async Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        var what = "read back " + action.Kind.ToSnake();
        switch (action.Kind)
        {
            case ActionKind.DisableAccount or ActionKind.EnableAccount or ActionKind.DeleteAccount:
            {
                // The user read by id: a 404 confirms only a delete; a disable or enable is confirmed only by an
                // explicit "active" value (a user without one is an answer that cannot show the change).
                var user = await ReadUserAsync(action.RequireAccountId(_label), what, cancellationToken);
                if (user is null)
                {
                    return new ReadBackResult(action.Kind is ActionKind.DeleteAccount, Absent);
                }

                return new ReadBackResult(action.Kind is not ActionKind.DeleteAccount && ActiveAsWanted(action, user), user.ToMap());
            }

            default:
            {
                var membership = await ReadMembershipAsync(action.RequireEntitlementId(_label), action.RequireAccountId(_label), what, viaGroup: true, cancellationToken);
                return new ReadBackResult(membership.Confirms(add: action.Kind is ActionKind.AddEntitlement), membership.ToMap());
            }
        }
    }

    public async Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        var what = "independent read " + action.Kind.ToSnake();
        switch (action.Kind)
        {
            case ActionKind.DisableAccount or ActionKind.EnableAccount or ActionKind.DeleteAccount:
            {
                // ReadBackAsync reads /Users/{id}; the second path is the users list filtered by id. Only a listed user
                // is an answer: an empty list may be a filter the server does not evaluate, so it confirms nothing.
                var listed = await FindUserByFilterAsync(action.RequireAccountId(_label), what, cancellationToken);
                if (listed is null)
                {
                    return null;
                }

                return new ReadBackResult(action.Kind is not ActionKind.DeleteAccount && ActiveAsWanted(action, listed), listed.ToMap());
            }

            default:
            {
                // ReadBackAsync reads the group's members; the second path is the user's groups or a proven members filter.
                var membership = await ReadMembershipAsync(action.RequireEntitlementId(_label), action.RequireAccountId(_label), what, viaGroup: false, cancellationToken);
                if (membership.IsMember is null && _memberFilterUnusable && !_userGroupsListed)
                {
                    // Neither second path exists on this server (only the group's own members can be read).
                    return null;
                }

                return new ReadBackResult(membership.Confirms(add: action.Kind is ActionKind.AddEntitlement), membership.ToMap());
            }
        }
    }

    /// <summary>True when the user reports <c>active</c> explicitly and it is what the action wants.</summary>
    private static bool ActiveAsWanted(ConnectorAction action, UserState user)
    {
        var wantActive = action.Kind is ActionKind.EnableAccount && !WasInactiveBefore(action);
        return user.ReportsActive && user.Active == wantActive;
    }

    private async Task<ActionResult> DisableAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var caps = await CapabilitiesAsync(cancellationToken);
        if (_profile.Disable is DisableWire.Delete)
        {
            // Slack: DELETE is the deactivation. Read first to report Before and to stay idempotent.
            var current = await ReadUserAsync(id, "read before disable", cancellationToken);
            if (current is null || !current.Active)
            {
                return Already(current);
            }

            var path = UserPath(id);
            var r = await _client.SendAsync(HttpMethod.Delete, path, null, null, "disable (delete deactivates)", cancellationToken);
            if (r.Status == HttpStatusCode.NotFound)
            {
                return Already(null);
            }

            if (!r.IsSuccess)
            {
                throw _client.Failure(r, HttpMethod.Delete, path, "disable (delete deactivates)");
            }

            var after = current with { Active = false, ETag = r.ETag };
            _seen[id] = after;
            return new ActionResult(current.ToMap(), after.ToMap(), AlreadyInState: false);
        }

        UserState? before = caps.Etag && _seen.TryGetValue(id, out var seen) && seen.ETag is not null && seen.Active ? seen : null;
        before ??= await ReadUserAsync(id, "read before disable", cancellationToken);
        if (before is null || !before.Active)
        {
            return Already(before);
        }

        return await WriteActiveAsync(id, before, active: false, caps, cancellationToken);
    }

    private async Task<ActionResult> EnableAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var current = await ReadUserAsync(id, "read before enable", cancellationToken)
            ?? throw new ConnectorException($"{_label}: user '{id}' no longer exists; it cannot be re-activated, only provisioned again.", isTransient: false);
        if (WasInactiveBefore(action))
        {
            // The account was already inactive before the leaver case: restoring means leaving it inactive.
            return new ActionResult(current.ToMap(), current.ToMap(), AlreadyInState: true, "inactive before the disable; left inactive");
        }

        if (current.Active)
        {
            return Already(current);
        }

        var caps = await CapabilitiesAsync(cancellationToken);
        return await WriteActiveAsync(id, current, active: true, caps, cancellationToken);
    }

    /// <summary>Sets <c>active</c> by PATCH (profile wire form) or, without PATCH, by GET + PUT; one fresh retry on 412.</summary>
    private async Task<ActionResult> WriteActiveAsync(string id, UserState before, bool active, ServerCapabilities caps, CancellationToken cancellationToken)
    {
        var path = UserPath(id);
        var what = active ? "enable" : "disable";
        var retried = false;
        while (true)
        {
            ScimResponse r;
            var method = HttpMethod.Patch;
            var ifMatch = caps.Etag ? before.ETag : null;
            if (caps.Patch && !_patchRejected)
            {
                r = await _client.SendUtf8Async(HttpMethod.Patch, path, active ? _activateBody : _deactivateBody, ifMatch, what, cancellationToken);
                if (r.Status is HttpStatusCode.NotImplemented or HttpStatusCode.MethodNotAllowed)
                {
                    // ServiceProviderConfig promised PATCH but the server refuses it: use PUT from now on.
                    _patchRejected = true;
                    continue;
                }
            }
            else
            {
                method = HttpMethod.Put;
                var full = await ReadResourceAsync(path, "read before put", cancellationToken);
                if (full is null)
                {
                    return active ? throw NotFound(id) : Already(null);
                }

                var (resource, etag) = full.Value;
                before = UserState.From(resource, etag);
                if (before.Active == active)
                {
                    return Already(before);
                }

                var body = resource.DeepClone().AsObject();
                body.Remove("meta");
                body["active"] = active;
                r = await _client.SendAsync(HttpMethod.Put, path, body, caps.Etag ? etag : null, what + " (put)", cancellationToken);
            }

            if (r.Status == HttpStatusCode.PreconditionFailed && !retried)
            {
                // Someone changed the user since we saw it: read afresh, re-decide, and try once more.
                retried = true;
                _seen.TryRemove(id, out _);
                var fresh = await ReadUserAsync(id, "re-read after 412", cancellationToken);
                if (fresh is null)
                {
                    return active ? throw NotFound(id) : Already(null);
                }

                if (fresh.Active == active)
                {
                    return Already(fresh);
                }

                before = fresh;
                continue;
            }

            if (r.Status == HttpStatusCode.NotFound && !active)
            {
                return Already(null);
            }

            if (!r.IsSuccess)
            {
                throw _client.Failure(r, method, path, what);
            }

            var after = r.TryReadUser(out var userName, out var isActive, out var version)
                ? new UserState(userName, isActive, r.ETag ?? version)
                : before with { Active = active, ETag = r.ETag };
            _seen[id] = after;
            return new ActionResult(before.ToMap(), after.ToMap(), AlreadyInState: false);
        }
    }

    private async Task<ActionResult> DeleteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label);
        var caps = await CapabilitiesAsync(cancellationToken);
        var path = UserPath(id);
        var before = await ReadUserAsync(id, "read before delete", cancellationToken);
        for (var attempt = 0; before is not null; attempt++)
        {
            var r = await _client.SendAsync(HttpMethod.Delete, path, null, caps.Etag ? before.ETag : null, "delete", cancellationToken);
            if (r.Status == HttpStatusCode.PreconditionFailed && attempt == 0)
            {
                before = await ReadUserAsync(id, "re-read after 412", cancellationToken);
                continue;
            }

            if (r.Status == HttpStatusCode.NotFound)
            {
                break;
            }

            if (!r.IsSuccess)
            {
                throw _client.Failure(r, HttpMethod.Delete, path, "delete");
            }

            _seen.TryRemove(id, out _);
            return new ActionResult(before.ToMap(), Absent, AlreadyInState: false);
        }

        _seen.TryRemove(id, out _);
        return new ActionResult(Absent, Absent, AlreadyInState: true);
    }

    private async Task<ActionResult> ChangeMembershipAsync(ConnectorAction action, bool add, CancellationToken cancellationToken)
    {
        var groupId = action.RequireEntitlementId(_label);
        var userId = action.RequireAccountId(_label);
        var what = add ? "add member" : "remove member";
        var before = await ReadMembershipAsync(groupId, userId, what, viaGroup: true, cancellationToken);
        if (!before.GroupPresent)
        {
            if (add)
            {
                throw new ConnectorException($"{_label}: group '{groupId}' not found; cannot add user '{userId}' back.", isTransient: false);
            }

            // Nothing to change, but nothing confirmed either: the read-back says "group not found" and the engine
            // reports the step unconfirmed (a wrong group id must not pass as a removed membership).
            return ActionResult.Unchanged(before.ToMap(), $"group '{groupId}' not found");
        }

        if (before.IsMember == add)
        {
            return ActionResult.Unchanged(before.ToMap());
        }

        // Not a member, or no read could tell: send the change. Removing a non-member is harmless (the server answers
        // 2xx or noTarget); adding an existing member is too.
        var caps = await CapabilitiesAsync(cancellationToken);
        var path = GroupPath(groupId);
        ScimResponse r;
        if (caps.Patch && !_patchRejected)
        {
            // No If-Match here: a membership PATCH is applied atomically by the server and does not depend on the rest of
            // the group, whose version changes with every membership change by anyone (parallel leavers would 412 each other).
            var body = add ? ScimPatch.AddMember(_profile, userId) : ScimPatch.RemoveMember(_profile, userId);
            r = await _client.SendAsync(HttpMethod.Patch, path, body, null, what, cancellationToken);
            if (r.Status is HttpStatusCode.NotImplemented or HttpStatusCode.MethodNotAllowed)
            {
                _patchRejected = true;
                r = await PutMembersAsync(path, userId, add, what, cancellationToken);
            }
        }
        else
        {
            r = await PutMembersAsync(path, userId, add, what, cancellationToken);
        }

        if (!add && (r.Status == HttpStatusCode.NotFound || (r.Status == HttpStatusCode.BadRequest && string.Equals(r.ScimType, "noTarget", StringComparison.OrdinalIgnoreCase))))
        {
            // The server says there is nothing to remove (the member left, or the group went, since our read). The
            // read-back still has to show it.
            return new ActionResult(before.ToMap(), Asked(member: false), AlreadyInState: true, "the server found no such member");
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Patch, path, what);
        }

        return new ActionResult(before.ToMap(), Asked(add), AlreadyInState: false);

        // After is what the server was asked for and accepted; only the read-back says whether it holds.
        Dictionary<string, string> Asked(bool member) =>
            new(StringComparer.Ordinal) { ["member"] = member ? "true" : "false", ["group"] = groupId, ["source"] = "write" };
    }

    /// <summary>Membership change on a server without PATCH: GET the group, edit members, PUT with If-Match; one retry on 412.</summary>
    private async Task<ScimResponse> PutMembersAsync(string path, string userId, bool add, string what, CancellationToken cancellationToken)
    {
        var caps = await CapabilitiesAsync(cancellationToken);
        for (var attempt = 0; ; attempt++)
        {
            var full = await ReadResourceAsync(path, "read group before put", cancellationToken);
            if (full is null)
            {
                return new ScimResponse(HttpStatusCode.NotFound, null, null, null);
            }

            var (group, etag) = full.Value;
            var shown = group["members"] as JsonArray;
            if ((shown is null && !_groupReadsListMembers) || (_settings.MembersCap is { } cap && shown?.Count >= cap))
            {
                // A PUT replaces every member: from a read that may not show them all, it would remove the rest.
                throw new ConnectorException(
                    $"{_label}: cannot {what} in group by PUT: the group read may not show all its members "
                    + "(no members attribute, or as many as members_cap), and a PUT would drop the ones not shown. Enable PATCH on the server, or change the membership by hand.",
                    isTransient: false);
            }

            var body = group.DeepClone().AsObject();
            body.Remove("meta");
            var members = body["members"] as JsonArray ?? [];
            body["members"] = members;
            var existing = members.OfType<JsonObject>().Where(m => ScimResource.String(m, "value") == userId).ToList();
            if (add && existing.Count == 0)
            {
                members.Add(new JsonObject { ["value"] = userId });
            }

            foreach (var m in add ? [] : existing)
            {
                members.Remove(m);
            }

            var r = await _client.SendAsync(HttpMethod.Put, path, body, caps.Etag ? etag : null, what + " (put)", cancellationToken);
            if (r.Status != HttpStatusCode.PreconditionFailed || attempt > 0)
            {
                return r;
            }
        }
    }

    private async Task<UserState?> ReadUserAsync(string id, string what, CancellationToken cancellationToken)
    {
        var full = await ReadResourceAsync(UserPath(id), what, cancellationToken);
        if (full is null)
        {
            _seen.TryRemove(id, out _);
            return null;
        }

        var state = UserState.From(full.Value.Resource, full.Value.ETag);
        _seen[id] = state;
        return state;
    }

    private async Task<(JsonObject Resource, string? ETag)?> ReadResourceAsync(string path, string what, CancellationToken cancellationToken)
    {
        var r = await _client.SendAsync(HttpMethod.Get, path, null, null, what, cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        return r.IsSuccess && r.Object is { } o ? (o, ScimResource.Version(o, r.ETag)) : throw _client.Failure(r, HttpMethod.Get, path, what);
    }

    private async ValueTask<ServerCapabilities> CapabilitiesAsync(CancellationToken cancellationToken)
    {
        if (_capabilities is { } known)
        {
            return known;
        }

        await _capabilitiesLock.WaitAsync(cancellationToken);
        try
        {
            if (_capabilities is { } again)
            {
                return again;
            }

            var config = await ReadConfigAsync(_profile.ServiceProviderConfigPath, cancellationToken);
            if (config is null && _profile.FallbackServiceProviderConfigPath is { } fallback)
            {
                config = await ReadConfigAsync(fallback, cancellationToken);
            }

            var caps = (config is null ? ServerCapabilities.Assumed : ServerCapabilities.From(config)).With(_settings.Patch, _settings.Etag);
            _capabilities = caps;
            return caps;
        }
        finally
        {
            _capabilitiesLock.Release();
        }
    }

    private async Task<JsonObject?> ReadConfigAsync(string path, CancellationToken cancellationToken)
    {
        var r = await _client.SendAsync(HttpMethod.Get, path, null, null, "read ServiceProviderConfig", cancellationToken);
        if (r.Status is HttpStatusCode.NotFound or HttpStatusCode.NotImplemented)
        {
            return null;
        }

        return r.IsSuccess && r.Object is { } o ? o : throw _client.Failure(r, HttpMethod.Get, path, "read ServiceProviderConfig");
    }

    private void RequireSupported(ConnectorAction action)
    {
        if (!Describe().Supported.Contains(action.Kind))
        {
            throw new ConnectorException(
                $"{_label}: profile '{_settings.Profile.Snake()}' cannot {action.Kind.ToSnake()} ({action.Describe()}).",
                isTransient: false);
        }
    }

    private static bool WasInactiveBefore(ConnectorAction action) =>
        string.Equals(action.BeforeValue("active"), "false", StringComparison.OrdinalIgnoreCase);

    private ConnectorException NotFound(string id) =>
        new($"{_label}: user '{id}' not found.", isTransient: false);

    private static ActionResult Already(UserState? state) =>
        state is null ? new ActionResult(Absent, Absent, AlreadyInState: true) : new ActionResult(state.ToMap(), state.ToMap(), AlreadyInState: true);

    private static readonly IReadOnlyDictionary<string, string> Absent =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["present"] = "false" };



    private static string UserPath(string id) => "Users/" + Uri.EscapeDataString(id);

    private static string GroupPath(string id) => "Groups/" + Uri.EscapeDataString(id);

    private static void AddIfPresent(Dictionary<string, string> map, string key, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            map[key] = value;
        }
    }

    public void Dispose()
    {
        _client.Dispose();
        _credentials.Dispose();
        _capabilitiesLock.Dispose();
    }

    /// <summary>The attributes of a user the connector reports and remembers. Never a secret.</summary>
    /// <param name="ReportsActive">Whether the server sent <c>active</c> at all: only then can a read confirm it.</param>
    private sealed record UserState(string UserName, bool Active, string? ETag, bool ReportsActive = true)
    {
        public static UserState From(JsonObject user, string? etagHeader) =>
            new(ScimResource.String(user, "userName") ?? string.Empty, ScimResource.Active(user), ScimResource.Version(user, etagHeader),
                ScimResource.Bool(user["active"]) is not null);

        public Dictionary<string, string> ToMap()
        {
            var map = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["active"] = Active ? "true" : "false",
                ["userName"] = UserName,
            };
            if (!ReportsActive)
            {
                map["activeReported"] = "false";
            }

            if (ETag is not null)
            {
                map["etag"] = ETag;
            }

            return map;
        }
    }
}
