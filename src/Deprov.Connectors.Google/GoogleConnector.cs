using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Deprov.Connectors.Google.Auth;
using Deprov.Connectors.Google.Protocol;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Policy;

namespace Deprov.Connectors.Google;

/// <summary>
/// Google Workspace through the Admin SDK Directory API v1: users (suspend, restore, sign-out, password reset, delete), their OAuth
/// grants, app passwords and backup codes, group memberships, mobile devices (account wipe), and licences through the
/// Enterprise License Manager API (when <see cref="GoogleSettings.Licences"/> lists SKUs). Authenticates as a
/// service account with domain-wide delegation, impersonating <see cref="GoogleSettings.AdminEmail"/>. Follows the
/// <see cref="IConnector"/> error contract: every failure is a <see cref="ConnectorException"/> whose message names the
/// system, the request, Google's reason and message and, for a 403, the scope to delegate — never a key or token.
/// Split by concern: accounts, passwords, tokens, groups, devices, licences, discovery.
/// </summary>
internal sealed partial class GoogleConnector : IConnector, IDisposable
{
    /// <summary>The least-privileged scope each request needs, named in 403 messages and in docs/connectors/google.md.</summary>
    internal static class Scopes
    {
        private const string Prefix = "https://www.googleapis.com/auth/";
        public const string User = Prefix + "admin.directory.user";
        public const string Security = Prefix + "admin.directory.user.security";
        public const string ReadGroups = Prefix + "admin.directory.group.readonly";
        public const string Members = Prefix + "admin.directory.group.member";
        public const string ReadDevices = Prefix + "admin.directory.device.mobile.readonly";
        public const string DeviceAction = Prefix + "admin.directory.device.mobile.action";
        public const string Licensing = GoogleSettings.LicensingScope;
    }

    internal const string Users = "admin/directory/v1/users";

    private static readonly IReadOnlyDictionary<string, string> Absent =
        new Dictionary<string, string>(StringComparer.Ordinal) { ["present"] = "false" };

    private readonly ConnectedSystem _system;
    private readonly string _label;
    private readonly GoogleSettings _settings;
    private readonly TimeProvider _time;
    private readonly GoogleServiceAccount _account;
    private readonly HttpCredentials _credentials;
    private readonly Regex[] _privileged;
    private readonly HashSet<ActionKind> _supported;
    private readonly ConnectorDescriptor _descriptor;

    public GoogleConnector(ConnectedSystem system, GoogleSettings settings, ConnectorContext context)
    {
        _system = system;
        _label = $"Google {system.Id}";
        _settings = settings;
        _time = context.Time;
        Limiter = new AdaptiveRateLimiter(settings.RateLimitPerSecond, settings.MaxRetryAfter, context.Time);
        var label = $"Google {system.Id}";
        _account = new GoogleServiceAccount(label, settings, context.Secrets, context.Time);
        _credentials = HttpCredentials.FromExchange(label, _account.ExchangeAsync, context.Time);
        Client = new GoogleClient(system.Id, settings, settings.BaseUrl, _credentials, Limiter, context.Time);
        if (settings.Licences.Count > 0)
        {
            // Another API with its own quota: its own rate limiter, so its throttling does not slow the Directory API.
            LicensingClient = new GoogleClient(system.Id, settings, settings.LicensingBaseUrl, _credentials,
                new AdaptiveRateLimiter(settings.RateLimitPerSecond, settings.MaxRetryAfter, context.Time), context.Time);
        }

        _privileged = [.. settings.PrivilegedGroups.Select(Wildcard.ToRegex)];
        _supported =
        [
            ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.DeleteAccount, ActionKind.RevokeSessions,
            ActionKind.RevokeToken, ActionKind.RemoveEntitlement, ActionKind.AddEntitlement,
        ];
        if (settings.Devices)
        {
            _supported.Add(ActionKind.WipeDevice);
        }

        if (settings.ResetPassword)
        {
            _supported.Add(ActionKind.ResetPassword);
        }

        if (settings.Licences.Count > 0)
        {
            _supported.Add(ActionKind.ReclaimLicence);
            _supported.Add(ActionKind.AssignLicence);
        }

        _descriptor = new ConnectorDescriptor("google", _supported, IncrementalDiscovery: false, ReportsSignIns: true);
    }

    internal AdaptiveRateLimiter Limiter { get; }

    internal GoogleClient Client { get; }

    /// <summary>The Enterprise License Manager API; null unless <see cref="GoogleSettings.Licences"/> lists a SKU.</summary>
    internal GoogleClient? LicensingClient { get; }

    internal int TokensFetched => _credentials.TokensFetched;

    public ConnectorDescriptor Describe() => _descriptor;

    public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind switch
        {
            ActionKind.DisableAccount => SetSuspendedAsync(action, suspend: true, cancellationToken),
            ActionKind.EnableAccount => SetSuspendedAsync(action, suspend: false, cancellationToken),
            ActionKind.RevokeSessions => SignOutAsync(action, cancellationToken),
            ActionKind.ResetPassword => ResetPasswordAsync(action, cancellationToken),
            ActionKind.DeleteAccount => DeleteAsync(action, cancellationToken),
            ActionKind.RevokeToken => RevokeCredentialsAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement => ChangeMembershipAsync(action, add: false, cancellationToken),
            ActionKind.AddEntitlement => ChangeMembershipAsync(action, add: true, cancellationToken),
            ActionKind.ReclaimLicence => ChangeLicenceAsync(action, assign: false, cancellationToken),
            ActionKind.AssignLicence => ChangeLicenceAsync(action, assign: true, cancellationToken),
            _ => WipeAsync(action, cancellationToken),
        };
    }

    public Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind switch
        {
            ActionKind.DisableAccount or ActionKind.EnableAccount => ReadBackSuspendedAsync(action, cancellationToken),
            ActionKind.RevokeSessions => ReadBackSignOutAsync(action, cancellationToken),
            ActionKind.ResetPassword => ReadBackPasswordResetAsync(action, cancellationToken),
            ActionKind.DeleteAccount => ReadBackDeletedAsync(action, cancellationToken),
            ActionKind.RevokeToken => ReadBackCredentialsAsync(action, cancellationToken),
            ActionKind.RemoveEntitlement or ActionKind.AddEntitlement => ReadBackMembershipAsync(action, cancellationToken),
            ActionKind.ReclaimLicence or ActionKind.AssignLicence => ReadBackLicenceAsync(action, cancellationToken),
            _ => ReadBackWipeAsync(action, cancellationToken),
        };
    }

    private void RequireSupported(ConnectorAction action)
    {
        if (!_supported.Contains(action.Kind))
        {
            throw new ConnectorException($"{_label}: cannot {action.Kind.ToSnake()} ({action.Describe()}).", isTransient: false);
        }
    }

    /// <summary>GETs one object: null on 404, the object on 2xx, a <see cref="ConnectorException"/> otherwise.</summary>
    private Task<JsonObject?> GetAsync(string path, string what, string scope, CancellationToken cancellationToken) =>
        GetAsync(Client, path, what, scope, cancellationToken);

    private static async Task<JsonObject?> GetAsync(GoogleClient client, string path, string what, string scope, CancellationToken cancellationToken)
    {
        var r = await client.SendAsync(HttpMethod.Get, path, null, what, cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return null;
        }

        return r.IsSuccess && r.Object is { } o ? o : throw client.Failure(r, HttpMethod.Get, path, what, scope);
    }




    private static string Escape(string id) => Uri.EscapeDataString(id);

    private static string Bool(bool value) => value ? "true" : "false";

    public void Dispose()
    {
        Client.Dispose();
        LicensingClient?.Dispose();
        _credentials.Dispose();
        _account.Dispose();
    }
}
