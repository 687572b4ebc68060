using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Deprov.Connectors.Graph.Protocol;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Policy;

namespace Deprov.Connectors.Graph;

/// <summary>
/// Microsoft Entra ID (users and their passwords, groups, licences, directory role assignments) and Intune (managed devices) through Microsoft Graph v1.0. Follows the
/// <see cref="IConnector"/> error contract: every failure is a <see cref="ConnectorException"/> whose message names the
/// system, the request, Graph's error code and message and, for a 403, the application permission to grant — never a
/// credential. Split by concern: accounts, entitlements (groups and licences), directory roles, devices, discovery.
/// </summary>
internal sealed partial class GraphConnector : IConnector, IDisposable
{
    /// <summary>Least-privileged application permissions, named in 403 messages and in docs/connectors/graph.md.</summary>
    internal static class Permissions
    {
        public const string ReadUsers = "User.Read.All";
        public const string EnableDisable = "User.EnableDisableAccount.All and User.Read.All";
        public const string RevokeSessions = "User.RevokeSessions.All";
        public const string DeleteUsers = "User.DeleteRestore.All";
        public const string ReadMembers = "GroupMember.Read.All";
        public const string WriteMembers = "GroupMember.ReadWrite.All (RoleManagement.ReadWrite.Directory too for a role-assignable group)";
        public const string ReadLicences = "LicenseAssignment.Read.All";
        public const string WriteLicences = "LicenseAssignment.ReadWrite.All";
        public const string SignInActivity = "AuditLog.Read.All (on a tenant with Microsoft Entra ID P1 or P2)";
        public const string ReadDevices = "DeviceManagementManagedDevices.Read.All";
        public const string DeviceActions = "DeviceManagementManagedDevices.PrivilegedOperations.All";
        public const string ReadRoles = "RoleManagement.Read.Directory";
        public const string WriteRoles = "RoleManagement.ReadWrite.Directory";

        // Graph checks a Microsoft Entra role of the app's service principal on top of the permission, with a 403 for either.
        public const string ResetPassword = "User-PasswordProfile.ReadWrite.All (and, for its service principal, the Microsoft Entra role "
            + "User Administrator; Privileged Authentication Administrator to reset the password of a user who holds an admin role)";
    }

    private static readonly HashSet<ActionKind> AlwaysSupported = new()
    {
        ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.DeleteAccount, ActionKind.RevokeSessions,
        ActionKind.RemoveEntitlement, ActionKind.AddEntitlement, ActionKind.ReclaimLicence, ActionKind.AssignLicence,
        ActionKind.LockDevice, ActionKind.WipeDevice,
    };

    private static readonly IReadOnlyDictionary<string, string> Absent =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["present"] = "false" };

    private readonly ConnectedSystem _system;
    private readonly string _label;
    private readonly GraphSettings _settings;
    private readonly TimeProvider _time;
    private readonly HttpCredentials _credentials;
    private readonly GraphClient _client;
    private readonly Regex[] _privileged;
    private readonly ConnectorDescriptor _descriptor;

    public GraphConnector(ConnectedSystem system, GraphSettings settings, ConnectorContext context)
    {
        _system = system;
        _label = $"Graph {system.Id}";
        _settings = settings;
        _time = context.Time;
        Limiter = new AdaptiveRateLimiter(settings.RateLimitPerSecond, settings.MaxRetryAfter, context.Time);
        _credentials = new HttpCredentials($"Graph {system.Id}", settings.Auth, context.Secrets, context.Time, settings.Timeout);
        _client = new GraphClient(system.Id, settings, _credentials, Limiter, context.Time);
        _privileged = [.. settings.PrivilegedGroups.Select(Wildcard.ToRegex)];
        // reset_password needs a permission and an Entra role the other actions do not: it is advertised (and so planned)
        // only when the settings say the app holds them.
        var supported = new HashSet<ActionKind>(AlwaysSupported);
        if (settings.ResetPassword)
        {
            supported.Add(ActionKind.ResetPassword);
        }

        _descriptor = new ConnectorDescriptor("graph", supported, IncrementalDiscovery: false, ReportsSignIns: settings.SignInActivity);
    }

    internal AdaptiveRateLimiter Limiter { get; }

    internal int TokensFetched => _credentials.TokensFetched;

    public ConnectorDescriptor Describe() => _descriptor;

    public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind switch
        {
            ActionKind.DisableAccount => SetEnabledAsync(action, enabled: false, cancellationToken),
            ActionKind.EnableAccount => SetEnabledAsync(action, enabled: true, cancellationToken),
            ActionKind.RevokeSessions => RevokeSessionsAsync(action, cancellationToken),
            ActionKind.ResetPassword => ResetPasswordAsync(action, cancellationToken),
            ActionKind.DeleteAccount => DeleteAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement when IsRole(action.EntitlementExternalId) => ChangeRoleAsync(action, add: false, cancellationToken),
            ActionKind.AddEntitlement when IsRole(action.EntitlementExternalId) => ChangeRoleAsync(action, add: true, cancellationToken),
            ActionKind.RemoveEntitlement => ChangeMembershipAsync(action, add: false, cancellationToken),
            ActionKind.AddEntitlement => ChangeMembershipAsync(action, add: true, cancellationToken),
            ActionKind.ReclaimLicence => ChangeLicenceAsync(action, assign: false, cancellationToken),
            ActionKind.AssignLicence => ChangeLicenceAsync(action, assign: true, cancellationToken),
            ActionKind.LockDevice => LockAsync(action, cancellationToken),
            _ => WipeAsync(action, cancellationToken),
        };
    }

    public Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind switch
        {
            ActionKind.DisableAccount or ActionKind.EnableAccount => ReadBackEnabledAsync(action, cancellationToken),
            ActionKind.RevokeSessions => ReadBackSessionsAsync(action, cancellationToken),
            ActionKind.ResetPassword => ReadBackPasswordAsync(action, cancellationToken),
            ActionKind.DeleteAccount => ReadBackDeletedAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement or ActionKind.AddEntitlement when IsRole(action.EntitlementExternalId) => ReadBackRoleAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement or ActionKind.AddEntitlement => ReadBackMembershipAsync(action, cancellationToken),
            ActionKind.ReclaimLicence or ActionKind.AssignLicence => ReadBackLicenceAsync(action, cancellationToken),
            _ => ReadBackDeviceAsync(action, cancellationToken),
        };
    }

    private void RequireSupported(ConnectorAction action)
    {
        if (!_descriptor.Supported.Contains(action.Kind))
        {
            throw new ConnectorException($"{_label}: cannot {action.Kind.ToSnake()} ({action.Describe()}).", isTransient: false);
        }
    }

    /// <summary>GETs one object: null on 404, the object on 2xx, a <see cref="ConnectorException"/> otherwise.</summary>
    private async Task<JsonObject?> GetAsync(string path, string what, string permission, CancellationToken cancellationToken)
    {
        var r = await _client.SendAsync(HttpMethod.Get, path, null, what, cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        return r.IsSuccess && r.Object is { } o ? o : throw _client.Failure(r, HttpMethod.Get, path, what, permission);
    }




    private static string Escape(string id) => Uri.EscapeDataString(id);

    private static string Bool(bool value) => value ? "true" : "false";

    private static string Iso(DateTimeOffset value) => value.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    public void Dispose()
    {
        _client.Dispose();
        _credentials.Dispose();
    }
}
