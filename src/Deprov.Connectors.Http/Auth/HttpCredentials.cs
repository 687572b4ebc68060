using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Http.Auth;

/// <summary>A token obtained by a vendor-specific exchange, and when it stops being valid.</summary>
/// <remarks>Not a record: a generated <c>ToString</c> would print the token.</remarks>
public sealed class ExchangedToken(string token, DateTimeOffset expiresAt)
{
    public string Token { get; } = token;

    public DateTimeOffset ExpiresAt { get; } = expiresAt;
}

/// <summary>
/// Obtains a bearer token the vendor's own way (e.g. Jamf Pro's <c>POST /api/v1/auth/token</c> with basic credentials).
/// </summary>
/// <param name="current">The token about to expire, so the exchange can extend it (a keep-alive); null when there is
/// none or the server refused it with a 401 (then a fresh token is needed).</param>
public delegate Task<ExchangedToken> TokenExchange(string? current, CancellationToken cancellationToken);

/// <summary>
/// Produces the <c>Authorization</c> header for a system: a bearer token, basic credentials, an OAuth 2.0
/// client-credentials token, or a token from a vendor's own <see cref="TokenExchange"/>; fetched tokens are cached until
/// shortly before they expire and fetched again after a 401.
/// Secrets are resolved lazily through <see cref="ISecretResolver"/>, on first use, so a missing variable fails the steps
/// of that one system instead of the whole process.
/// </summary>
public sealed class HttpCredentials : IDisposable
{
    private static readonly TimeSpan ExpirySafetyMargin = TimeSpan.FromSeconds(60);

    private readonly HttpAuthSettings _settings;
    private readonly ISecretResolver _secrets;
    private readonly TimeProvider _time;
    private readonly string _label;
    private readonly HttpClient? _tokenClient;
    private readonly TokenExchange? _exchange;
    private readonly SemaphoreSlim _refresh = new(1, 1);
    private AuthenticationHeaderValue? _static;
    private (AuthenticationHeaderValue Header, DateTimeOffset ExpiresAt)? _token;

    /// <param name="label">How messages name the system: the connector kind and the system id (<c>SCIM slack</c>).</param>
    public HttpCredentials(string label, HttpAuthSettings settings, ISecretResolver secrets, TimeProvider time, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(settings);
        _label = label;
        _settings = settings;
        _secrets = secrets;
        _time = time;
        if (settings.Type is HttpAuthType.OauthClientCredentials)
        {
            _tokenClient = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = timeout };
        }
    }

    private HttpCredentials(string label, TokenExchange exchange, TimeProvider time)
    {
        _label = label;
        _exchange = exchange;
        _time = time;
        _secrets = NoSecrets.Instance;
        // Unused with an exchange; kept so the fields stay non-null for the other types.
        _settings = new HttpAuthSettings(HttpAuthType.Bearer, null, null, null, null, null, null, null);
    }

    /// <summary>
    /// Credentials whose bearer token comes from <paramref name="exchange"/>: cached until a minute before it expires
    /// (then the exchange is called with the current token, to extend it), and fetched afresh once after a 401.
    /// </summary>
    /// <param name="label">How messages name the system (<c>Jamf prod</c>).</param>
    public static HttpCredentials FromExchange(string label, TokenExchange exchange, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(exchange);
        return new HttpCredentials(label, exchange, time);
    }

    /// <summary>How many tokens were fetched from the token endpoint or the exchange (for tests and diagnostics).</summary>
    public int TokensFetched { get; private set; }

    public bool CanRefresh => _exchange is not null || _settings.Type is HttpAuthType.OauthClientCredentials;

    public async ValueTask<AuthenticationHeaderValue> GetAsync(CancellationToken cancellationToken)
    {
        switch (_exchange is null ? _settings.Type : HttpAuthType.OauthClientCredentials)
        {
            case HttpAuthType.Bearer:
                return _static ??= new AuthenticationHeaderValue(_settings.Scheme, Resolve(_settings.TokenRef!, "auth.token"));
            case HttpAuthType.Basic:
                return _static ??= new AuthenticationHeaderValue("Basic", Convert.ToBase64String(
                    Encoding.UTF8.GetBytes($"{_settings.Username}:{Resolve(_settings.PasswordRef!, "auth.password")}")));
            default:
                var current = _token;
                if (current is { } t && t.ExpiresAt > _time.GetUtcNow())
                {
                    return t.Header;
                }

                return await FetchTokenAsync(current?.Header, cancellationToken);
        }
    }

    /// <summary>Forgets <paramref name="rejected"/> after a 401 so the next call fetches a new token.</summary>
    public void Invalidate(AuthenticationHeaderValue rejected)
    {
        if (_token is { } t && ReferenceEquals(t.Header, rejected))
        {
            _token = null;
        }
    }

    private async Task<AuthenticationHeaderValue> FetchTokenAsync(AuthenticationHeaderValue? stale, CancellationToken cancellationToken)
    {
        await _refresh.WaitAsync(cancellationToken);
        try
        {
            // Another caller may have refreshed while we waited.
            if (_token is { } t && !ReferenceEquals(t.Header, stale) && t.ExpiresAt > _time.GetUtcNow())
            {
                return t.Header;
            }

            if (_exchange is not null)
            {
                var exchanged = await _exchange(stale?.Parameter, cancellationToken);
                var header = new AuthenticationHeaderValue("Bearer", exchanged.Token);
                _token = (header, SafeExpiry(exchanged.ExpiresAt - _time.GetUtcNow()));
                TokensFetched++;
                return header;
            }

            var secret = Resolve(_settings.ClientSecretRef!, "auth.client_secret");
            var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials" };
            if (_settings.Scope is { } scope)
            {
                form["scope"] = scope;
            }

            if (_settings.ClientAuth is OAuthClientAuth.Post)
            {
                form["client_id"] = _settings.ClientId!;
                form["client_secret"] = secret;
            }

            using var request = new HttpRequestMessage(HttpMethod.Post, _settings.TokenUrl) { Content = new FormUrlEncodedContent(form) };
            if (_settings.ClientAuth is OAuthClientAuth.Basic)
            {
                // RFC 6749 §2.3.1: client_secret_basic is the method servers must support.
                request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(
                    Encoding.UTF8.GetBytes($"{Uri.EscapeDataString(_settings.ClientId!)}:{Uri.EscapeDataString(secret)}")));
            }
            HttpResponseMessage response;
            try
            {
                response = await _tokenClient!.SendAsync(request, cancellationToken);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                throw new ConnectorException($"{_label}: token endpoint {_settings.TokenUrl} did not answer: {e.Message}", isTransient: true, e);
            }

            using (response)
            {
                var body = await response.Content.ReadAsStringAsync(cancellationToken);
                if (!response.IsSuccessStatusCode)
                {
                    var transient = (int)response.StatusCode >= 500 || response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout;
                    throw new ConnectorException(
                        $"{_label}: token endpoint {_settings.TokenUrl} refused client '{_settings.ClientId}': {(int)response.StatusCode} {OAuthError(body)}",
                        transient);
                }

                using var doc = JsonDocument.Parse(body);
                var root = doc.RootElement;
                if (!root.TryGetProperty("access_token", out var at) || at.GetString() is not { Length: > 0 } accessToken)
                {
                    throw new ConnectorException($"{_label}: token endpoint {_settings.TokenUrl} answered without an access_token.", isTransient: false);
                }

                var lifetime = root.TryGetProperty("expires_in", out var exp) && exp.TryGetInt32(out var s) ? TimeSpan.FromSeconds(s) : TimeSpan.FromMinutes(5);
                var header = new AuthenticationHeaderValue("Bearer", accessToken);
                _token = (header, SafeExpiry(lifetime));
                TokensFetched++;
                return header;
            }
        }
        finally
        {
            _refresh.Release();
        }
    }

    /// <summary>Refresh a minute early (or at half-life for short tokens) so a token never expires mid-request.</summary>
    private DateTimeOffset SafeExpiry(TimeSpan lifetime)
    {
        var margin = lifetime > 2 * ExpirySafetyMargin ? ExpirySafetyMargin : lifetime / 2;
        return _time.GetUtcNow() + lifetime - margin;
    }

    private static string OAuthError(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var error = doc.RootElement.TryGetProperty("error", out var e) ? e.GetString() : null;
            var description = doc.RootElement.TryGetProperty("error_description", out var d) ? d.GetString() : null;
            return string.Join(": ", new[] { error, description }.Where(x => x is not null));
        }
        catch (JsonException)
        {
            return "(no OAuth error body)";
        }
    }

    private string Resolve(string reference, string key)
    {
        try
        {
            return _secrets.Resolve(reference, $"{_label} {key}");
        }
        catch (ValidationException e)
        {
            throw new ConnectorException($"{_label}: cannot read {key}: {e.Message}", isTransient: false, e);
        }
    }

    public void Dispose()
    {
        _tokenClient?.Dispose();
        _refresh.Dispose();
    }

    /// <summary>An exchange resolves its own secrets; nothing is resolved through this.</summary>
    private sealed class NoSecrets : ISecretResolver
    {
        public static readonly NoSecrets Instance = new();

        public string Resolve(string reference, string usedFor) =>
            throw new InvalidOperationException($"{usedFor}: no secret is resolved by credentials built from a token exchange.");
    }
}
