using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;

namespace Deprov.Connectors.Vault.Protocol;

/// <summary>
/// Vault's HTTP API for one system, on the shared <see cref="ResilientHttp"/> client (retry → adaptive rate limiter →
/// attempt timeout → authentication → sockets). The token travels as <c>Authorization: Bearer</c>, which Vault accepts
/// like <c>X-Vault-Token</c>, so the shared authentication handler is used as it is. Vault answers a bad or expired token
/// with 403 (not 401): with AppRole, one 403 makes the connector log in again and resend once.
/// </summary>
internal sealed class VaultClient : IDisposable
{
    private const string UserAgent = "Deprov-Vault/1.0";

    private readonly HttpClient _http;
    private readonly string _systemId;
    private readonly VaultSettings _settings;
    private readonly HttpCredentials _credentials;
    private readonly TimeProvider _time;

    public VaultClient(string systemId, VaultSettings settings, HttpCredentials credentials, AdaptiveRateLimiter limiter, TimeProvider time)
    {
        _systemId = systemId;
        _settings = settings;
        _credentials = credentials;
        _time = time;
        // 412 is Vault Enterprise's "this node has not caught up yet": worth the same brief retries as 429 and 5xx.
        _http = ResilientHttp.Create(
            new HttpEndpoint(settings.ApiBase, settings.Timeout, settings.MaxConcurrency, settings.MaxRetries, settings.MaxRetryAfter)
            {
                IsRetryableStatus = IsTransient,
            },
            credentials,
            limiter,
            time);
    }

    public static bool IsTransient(int status) => status == 412 || HttpEndpoint.IsTransientStatus(status);

    /// <summary>A LIST, sent as <c>GET ...?list=true</c> (what proxies pass through).</summary>
    public Task<VaultResponse> ListAsync(string path, string what, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, path.TrimEnd('/') + "/?list=true", null, what, cancellationToken);

    public async Task<VaultResponse> SendAsync(HttpMethod method, string path, JsonNode? body, string what, CancellationToken cancellationToken)
    {
        var response = await SendOnceAsync(method, path, body, what, cancellationToken);
        if (response.Status == HttpStatusCode.Forbidden && _credentials.CanRefresh && (response.HasError("invalid token") || response.HasError("permission denied")))
        {
            // An AppRole token that expired or was revoked answers 403: log in again once. A second 403 is a real refusal.
            _credentials.Invalidate(await _credentials.GetAsync(cancellationToken));
            response = await SendOnceAsync(method, path, body, what, cancellationToken);
        }

        return response;
    }

    private async Task<VaultResponse> SendOnceAsync(HttpMethod method, string path, JsonNode? body, string what, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Accept", "application/json");
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        if (_settings.Namespace is { } ns)
        {
            request.Headers.TryAddWithoutValidation("X-Vault-Namespace", ns);
        }

        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body.ToJsonString()));
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        }

        var answer = await HttpExchange.SendAsync(_http, request, $"Vault {_systemId}", Show(path), what, _settings.Timeout, _time, cancellationToken);
        return new VaultResponse(answer.Status, answer.Body, answer.RetryAfter);
    }

    /// <summary>
    /// Turns an unexpected answer into an exception: 412/429/5xx (but 501) transient, everything else permanent. A 403
    /// names <paramref name="capability"/>, the policy rule the request needs.
    /// </summary>
    public ConnectorException Failure(VaultResponse response, HttpMethod method, string path, string what, string capability)
    {
        ArgumentNullException.ThrowIfNull(response);
        var status = (int)response.Status;
        var transient = IsTransient(status);
        var explanation = status switch
        {
            400 => "bad request",
            403 => $"permission denied; the token's policy needs {capability} (or the token is invalid or expired)",
            404 => "not found (or the policy does not allow reading it)",
            405 => "method not allowed",
            412 => "this Vault node has not caught up yet (eventual consistency)",
            429 => "rate limited (or a standby answered)",
            501 => "Vault is not initialized",
            502 => "upstream error",
            503 => "Vault is sealed or in maintenance",
            _ => response.Status.ToString(),
        };
        var errors = response.Errors.Count > 0 ? ": " + string.Join("; ", response.Errors) : string.Empty;
        var retry = response.RetryAfter is { } ra ? $" (Retry-After {ra.TotalSeconds:0.###} s)" : string.Empty;
        return new ConnectorException(
            $"Vault {_systemId}: {method} {Show(path)} ({what}) failed: {status} {explanation}{errors}{retry}",
            transient,
            retryAfter: transient ? response.RetryAfter : null,
            rateLimited: HttpEndpoint.IsRateLimitStatus(status));
    }

    private static string Show(string path) => "/v1/" + path;

    public void Dispose() => _http.Dispose();
}
