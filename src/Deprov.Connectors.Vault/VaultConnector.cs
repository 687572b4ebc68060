using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Connectors.Vault.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Vault;

/// <summary>
/// HashiCorp Vault through its HTTP API (<c>/v1/</c>): shared secrets in a KV version 2 mount (discovered with who knows
/// them, rotated by writing a new version) and the tokens and leases people obtained by logging in through configured
/// auth mounts (discovered from the lease tree, revoked by prefix). Follows the <see cref="IConnector"/> error contract:
/// every failure is a <see cref="ConnectorException"/> naming the system, the request, Vault's error messages and, for a
/// 403, the policy capability to grant — never a token or a secret value. Split by concern: secrets, logins.
/// </summary>
internal sealed partial class VaultConnector : IConnector, IDisposable
{
    /// <summary>The policy rules each request needs, named in 403 messages and in docs/connectors/vault.md.</summary>
    internal static class Capabilities
    {
        public const string ListMetadata = "'list' and 'read' on <kv_mount>/metadata/*";
        public const string ReadData = "'read' on <kv_mount>/data/*";
        public const string WriteData = "'create' and 'update' on <kv_mount>/data/*";
        public const string WriteMetadata = "'create' and 'update' on <kv_mount>/metadata/* (custom_metadata)";
        public const string ListLeases = "'list' and 'sudo' on sys/leases/lookup/auth/*";
        public const string RevokePrefix = "'update' and 'sudo' on sys/leases/revoke-prefix/auth/*";
        public const string LookupSelf = "'read' on auth/token/lookup-self (in Vault's default policy)";
        public const string ListAccessors = "'list' and 'sudo' on auth/token/accessors";
        public const string LookupAccessor = "'update' on auth/token/lookup-accessor";
    }

    private static readonly HashSet<ActionKind> SupportedKinds = [ActionKind.RotateCredential, ActionKind.RevokeToken];

    private readonly ConnectedSystem _system;
    private readonly VaultSettings _settings;
    private readonly ISecretResolver _secrets;
    private readonly TimeProvider _time;
    private readonly HttpCredentials _credentials;
    private readonly HttpClient? _loginHttp;
    private readonly VaultClient _client;
    private readonly ConnectorDescriptor _descriptor;

    public VaultConnector(ConnectedSystem system, VaultSettings settings, ConnectorContext context)
    {
        _system = system;
        _settings = settings;
        _secrets = context.Secrets;
        _time = context.Time;
        Limiter = new AdaptiveRateLimiter(settings.RateLimitPerSecond, settings.MaxRetryAfter, context.Time);
        if (settings.Auth.Type == VaultAuthType.Approle)
        {
            // The login goes around the authenticated pipeline (it is how the token is obtained).
            _loginHttp = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = settings.Timeout, BaseAddress = settings.ApiBase };
            _credentials = HttpCredentials.FromExchange($"Vault {system.Id}", AppRoleLoginAsync, context.Time);
        }
        else
        {
            _credentials = new HttpCredentials($"Vault {system.Id}", settings.BearerSettings(), context.Secrets, context.Time, settings.Timeout);
        }

        _client = new VaultClient(system.Id, settings, _credentials, Limiter, context.Time);
        _descriptor = new ConnectorDescriptor("vault", SupportedKinds, IncrementalDiscovery: false, ReportsSignIns: false);
    }

    internal AdaptiveRateLimiter Limiter { get; }

    internal int TokensFetched => _credentials.TokensFetched;

    public ConnectorDescriptor Describe() => _descriptor;

    public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await foreach (var secret in DiscoverSecretsAsync(cancellationToken))
        {
            yield return secret;
        }

        foreach (var mount in _settings.AuthMounts)
        {
            await foreach (var login in DiscoverLoginsAsync(mount, cancellationToken))
            {
                yield return login;
            }
        }
    }

    public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind == ActionKind.RotateCredential ? RotateAsync(action, cancellationToken) : RevokeLoginsAsync(action, cancellationToken);
    }

    public Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        return action.Kind == ActionKind.RotateCredential ? ReadBackRotationAsync(action, cancellationToken) : ReadBackLoginsAsync(action, cancellationToken);
    }

    /// <summary>
    /// The second read path. A person's logins: the token store (every token's accessor looked up for its login path)
    /// rather than the lease tree. A rotation: the secret's data endpoint (its current version) rather than its metadata.
    /// </summary>
    public async Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(action);
        RequireSupported(action);
        if (action.Kind == ActionKind.RotateCredential)
        {
            return await RotationByDataAsync(action, cancellationToken);
        }

        var (mount, user) = Login(action);
        return await ScanLoginTokensAsync(mount, user, cancellationToken);
    }

    private void RequireSupported(ConnectorAction action)
    {
        if (!SupportedKinds.Contains(action.Kind))
        {
            throw new ConnectorException($"Vault {_system.Id}: cannot {action.Kind.ToSnake()} ({action.Describe()}).", isTransient: false);
        }
    }

    private string CredentialId(ConnectorAction action, string prefix)
    {
        var id = action.CredentialExternalId;
        return id is not null && id.StartsWith(prefix, StringComparison.Ordinal) && id.Length > prefix.Length
            ? id[prefix.Length..]
            : throw new ConnectorException($"Vault {_system.Id}: {action.Describe()} needs a credential id starting with '{prefix}', not '{id}'.", isTransient: false);
    }

    /// <summary>A user name as people are correlated: bare names get <see cref="VaultSettings.EmailDomain"/> appended.</summary>
    private string? Person(string? userName)
    {
        var name = userName?.Trim();
        return string.IsNullOrEmpty(name) ? null
            : _settings.EmailDomain is { } d && !name.Contains('@', StringComparison.Ordinal) ? $"{name}@{d}"
            : name;
    }

    /// <summary>
    /// AppRole login: <c>POST /v1/auth/&lt;mount&gt;/login</c> with role_id and secret_id → <c>auth.client_token</c> and
    /// <c>auth.lease_duration</c>. Always a fresh login (no renew-self): a login is as cheap and needs no extra policy.
    /// </summary>
    private async Task<ExchangedToken> AppRoleLoginAsync(string? current, CancellationToken cancellationToken)
    {
        string secretId;
        try
        {
            secretId = _secrets.Resolve(_settings.Auth.SecretIdRef!, $"Vault {_system.Id} auth.secret_id");
        }
        catch (ValidationException e)
        {
            throw new ConnectorException($"Vault {_system.Id}: cannot read auth.secret_id: {e.Message}", isTransient: false, e);
        }

        var path = $"auth/{_settings.Auth.AppRoleMount}/login";
        var body = new JsonObject { ["role_id"] = _settings.Auth.RoleId, ["secret_id"] = secretId };
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative))
        {
            Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body.ToJsonString())),
        };
        request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        if (_settings.Namespace is { } ns)
        {
            request.Headers.TryAddWithoutValidation("X-Vault-Namespace", ns);
        }

        HttpResponseMessage response;
        try
        {
            response = await _loginHttp!.SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new ConnectorException($"Vault {_system.Id}: AppRole login at /v1/{path} failed: {e.Message}", isTransient: true, e);
        }

        using (response)
        {
            var r = new VaultResponse(response.StatusCode, await response.Content.ReadAsByteArrayAsync(cancellationToken), null);
            if (!r.IsSuccess)
            {
                // Vault's messages here ("invalid role or secret ID") never echo the secret id.
                throw new ConnectorException(
                    $"Vault {_system.Id}: AppRole login at /v1/{path} failed: {(int)r.Status} {string.Join("; ", r.Errors)}; check auth.role_id and the secret auth.secret_id references",
                    VaultClient.IsTransient((int)r.Status));
            }

            var auth = r.Object?["auth"] as JsonObject;
            var token = VaultResponse.Text(auth, "client_token")
                ?? throw new ConnectorException($"Vault {_system.Id}: AppRole login at /v1/{path} answered without auth.client_token.", isTransient: false);
            var seconds = auth?["lease_duration"] is JsonValue v && v.TryGetValue<long>(out var s) && s > 0 ? s : 3600;
            return new ExchangedToken(token, _time.GetUtcNow().AddSeconds(seconds));
        }
    }

    private static string Escape(string path) => string.Join('/', path.Split('/').Select(Uri.EscapeDataString));

    private static string Int(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Iso(DateTimeOffset value) => value.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static bool IsEmptyList(VaultResponse r) => r.Status == HttpStatusCode.NotFound;

    public void Dispose()
    {
        _client.Dispose();
        _credentials.Dispose();
        _loginHttp?.Dispose();
    }
}
