using System.Net;
using System.Text.RegularExpressions;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Connectors.Okta.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Policy;

namespace Deprov.Connectors.Okta;

/// <summary>
/// An Okta org through its Management API: users' lifecycle (suspend or deactivate, unsuspend or activate, delete),
/// sessions, OAuth grants, group memberships and admin role assignments. Follows the <see cref="IConnector"/> error contract: every failure is a
/// <see cref="ConnectorException"/> whose message names the system, the request and Okta's <c>errorCode</c>/<c>errorSummary</c>,
/// never a credential. Split by concern: actions, read-back and discovery are in their own files.
/// </summary>
internal sealed partial class OktaConnector : IConnector, IDisposable
{
    private static readonly ConnectorDescriptor Descriptor = new(
        "okta",
        new HashSet<ActionKind>
        {
            ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.DeleteAccount, ActionKind.RevokeSessions,
            ActionKind.RevokeToken, ActionKind.RemoveEntitlement, ActionKind.AddEntitlement,
        },
        IncrementalDiscovery: false,
        ReportsSignIns: true);

    private static readonly IReadOnlyDictionary<string, string> Absent =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["present"] = "false" };

    private readonly ConnectedSystem _system;
    private readonly string _label;
    private readonly OktaSettings _settings;
    private readonly HttpCredentials _credentials;
    private readonly OktaClient _client;
    private readonly Regex[] _privileged;
    private readonly TimeProvider _time;

    public OktaConnector(ConnectedSystem system, OktaSettings settings, ConnectorContext context)
    {
        _system = system;
        _label = $"Okta {system.Id}";
        _settings = settings;
        _time = context.Time;
        // Okta counts requests in per-minute windows and announces the reset: wait for it rather than slow down for good.
        Limiter = new AdaptiveRateLimiter(settings.RateLimitPerSecond, settings.MaxRetryAfter, context.Time) { WindowQuota = true };
        _credentials = new HttpCredentials($"Okta {system.Id}", settings.Auth, context.Secrets, context.Time, settings.Timeout);
        _client = new OktaClient(system.Id, settings, _credentials, Limiter, context.Time);
        _privileged = [.. settings.PrivilegedGroups.Select(Wildcard.ToRegex)];
    }

    internal AdaptiveRateLimiter Limiter { get; }

    internal int TokensFetched => _credentials.TokensFetched;

    public ConnectorDescriptor Describe() => Descriptor;

    public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind switch
        {
            ActionKind.DisableAccount => DisableAsync(action, cancellationToken),
            ActionKind.EnableAccount => EnableAsync(action, cancellationToken),
            ActionKind.DeleteAccount => DeleteAsync(action, cancellationToken),
            ActionKind.RevokeSessions => RevokeSessionsAsync(action, cancellationToken),
            ActionKind.RevokeToken => RevokeGrantsAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement when IsRole(action.EntitlementExternalId) => ChangeRoleAsync(action, add: false, cancellationToken),
            ActionKind.AddEntitlement when IsRole(action.EntitlementExternalId) => ChangeRoleAsync(action, add: true, cancellationToken),
            ActionKind.RemoveEntitlement => ChangeMembershipAsync(action, add: false, cancellationToken),
            _ => ChangeMembershipAsync(action, add: true, cancellationToken),
        };
    }

    /// <summary>The user, or null when Okta answers 404 (E0000007: deleted, or never there).</summary>
    private async Task<OktaUser?> ReadUserAsync(string id, string what, CancellationToken cancellationToken)
    {
        var path = UserPath(id);
        var r = await _client.SendAsync(HttpMethod.Get, path, what, cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        return r.IsSuccess && r.Object is { } o ? OktaUser.From(o) : throw _client.Failure(r, HttpMethod.Get, path, what, OktaRights.Read);
    }

    /// <summary>Whether the user is a member of the group (from the user's group list), or null when the user is gone.</summary>
    private async Task<bool?> IsMemberAsync(string userId, string groupId, string what, CancellationToken cancellationToken)
    {
        var first = $"{UserPath(userId)}/groups?limit={_settings.PageSize}";
        var probe = await _client.SendAsync(HttpMethod.Get, first, what, cancellationToken);
        if (probe.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        if (!probe.IsSuccess || probe.Array is not { } page)
        {
            throw _client.Failure(probe, HttpMethod.Get, first, what, OktaRights.Read);
        }

        if (page.OfType<System.Text.Json.Nodes.JsonObject>().Any(g => OktaUser.Text(g, "id") == groupId))
        {
            return true;
        }

        if (probe.Next is { } next)
        {
            await foreach (var g in _client.PagesAsync(next.AbsoluteUri, what, cancellationToken))
            {
                if (OktaUser.Text(g, "id") == groupId)
                {
                    return true;
                }
            }
        }

        return false;
    }

    private void RequireSupported(ConnectorAction action)
    {
        if (!Descriptor.Supported.Contains(action.Kind))
        {
            throw new ConnectorException($"{_label}: this connector cannot {action.Kind.ToSnake()} ({action.Describe()}).", isTransient: false);
        }
    }

    private static ActionResult Already(OktaUser? user, string? detail = null) =>
        user is null
            ? new ActionResult(Absent, Absent, AlreadyInState: true, detail)
            : new ActionResult(user.ToMap(), user.ToMap(), AlreadyInState: true, detail);



    private static string UserPath(string id) => "api/v1/users/" + Uri.EscapeDataString(id);

    private static string MemberPath(string groupId, string userId) =>
        $"api/v1/groups/{Uri.EscapeDataString(groupId)}/users/{Uri.EscapeDataString(userId)}";

    public void Dispose()
    {
        _client.Dispose();
        _credentials.Dispose();
    }
}
