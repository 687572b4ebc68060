using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;

namespace Deprov.Connectors.Google.Protocol;

/// <summary>
/// The Admin SDK over HTTP for one system, on the shared <see cref="ResilientHttp"/> client (retry → adaptive rate
/// limiter → attempt timeout → authentication → sockets). The shared retry sees only status codes, so it retries 429 and
/// 5xx; Google also throttles with a <b>403</b> whose reason is <c>userRateLimitExceeded</c>, <c>rateLimitExceeded</c> or
/// <c>quotaExceeded</c>, which only the body tells from a real refusal: this client retries those itself (bounded,
/// exponential) and tells the rate limiter, as it would be told of a 429.
/// </summary>
internal sealed class GoogleClient : IDisposable
{
    private const string UserAgent = "Deprov-Google/1.0";

    private readonly HttpClient _http;
    private readonly string _systemId;
    private readonly GoogleSettings _settings;
    private readonly AdaptiveRateLimiter _limiter;
    private readonly TimeProvider _time;

    /// <param name="baseUrl">The API root: the Admin SDK's (<see cref="GoogleSettings.BaseUrl"/>) or the Licensing API's.</param>
    public GoogleClient(string systemId, GoogleSettings settings, Uri baseUrl, HttpCredentials credentials, AdaptiveRateLimiter limiter, TimeProvider time)
    {
        _systemId = systemId;
        _settings = settings;
        _limiter = limiter;
        _time = time;
        _http = ResilientHttp.Create(
            new HttpEndpoint(baseUrl, settings.Timeout, settings.MaxConcurrency, settings.MaxRetries, settings.MaxRetryAfter),
            credentials,
            limiter,
            time);
    }

    /// <summary>The first wait after a rate-limit 403; doubled on each retry (Google asks for exponential backoff from 1 s).</summary>
    internal TimeSpan RateLimitBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How many rate-limit 403s this client waited out and retried (for tests and diagnostics).</summary>
    public int RateLimitRetries { get; private set; }

    public async Task<GoogleResponse> SendAsync(HttpMethod method, string relative, JsonNode? body, string what, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            var response = await SendOnceAsync(method, relative, body, what, cancellationToken);
            if ((int)response.Status != 403 || !response.IsRateLimited || attempt >= _settings.MaxRetries)
            {
                return response;
            }

            // A 403 rate limit: slow the whole system down as a 429 would, then wait and try again.
            _limiter.OnResponse(429, null, null, null);
            RateLimitRetries++;
            var wait = RateLimitBackoff * Math.Pow(2, attempt);
            await Task.Delay(wait > _settings.MaxRetryAfter ? _settings.MaxRetryAfter : wait, _time, cancellationToken);
        }
    }

    private async Task<GoogleResponse> SendOnceAsync(HttpMethod method, string relative, JsonNode? body, string what, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(relative, UriKind.Relative));
        request.Headers.TryAddWithoutValidation("Accept", "application/json");
        request.Headers.TryAddWithoutValidation("User-Agent", UserAgent);
        if (method == HttpMethod.Get)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", HttpContentDecoder.AcceptEncoding);
        }

        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body.ToJsonString()));
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        }

        var answer = await HttpExchange.SendAsync(_http, request, $"Google {_systemId}", Show(relative), what, _settings.Timeout, _time, cancellationToken);
        return new GoogleResponse(answer.Status, answer.Body, answer.RetryAfter);
    }

    /// <summary>
    /// Turns an unexpected answer into an exception. Transient: 408, 429, 5xx but 501, and any rate or quota answer
    /// (a 403 <c>userRateLimitExceeded</c>, <c>RESOURCE_EXHAUSTED</c>). Permanent: the rest; a 403 names
    /// <paramref name="scope"/>, the OAuth scope the request needs delegated.
    /// </summary>
    public ConnectorException Failure(GoogleResponse response, HttpMethod method, string relative, string what, string scope)
    {
        ArgumentNullException.ThrowIfNull(response);
        var status = (int)response.Status;
        var rate = response.IsRateLimited;
        var transient = rate || HttpEndpoint.IsTransientStatus(status);
        var explanation = status switch
        {
            _ when rate => "rate limit or quota exceeded; retry later",
            400 => "bad request",
            401 => "authentication failed; check the service account key and its domain-wide delegation",
            403 => $"forbidden; the service account needs the scope {scope} delegated, and admin_email '{_settings.AdminEmail}' an admin role that allows it",
            404 => "not found",
            409 => "conflict",
            501 => "not implemented",
            503 => "service unavailable",
            _ => response.Status.ToString(),
        };
        var reason = response.Reason is { } r ? $" {r}" : string.Empty;
        var message = response.Message is { } m ? $": {m}" : string.Empty;
        var retry = response.RetryAfter is { } ra ? $" (Retry-After {ra.TotalSeconds:0.###} s)" : string.Empty;
        return new ConnectorException(
            $"Google {_systemId}: {method} {Show(relative)} ({what}) failed: {status} {explanation}{reason}{message}{retry}",
            transient,
            retryAfter: transient ? response.RetryAfter : null,
            rateLimited: rate || HttpEndpoint.IsRateLimitStatus(status));
    }

    /// <summary>The path without its query (page tokens are long and say nothing).</summary>
    private static string Show(string relative) => relative.Split('?')[0];

    public void Dispose() => _http.Dispose();
}
