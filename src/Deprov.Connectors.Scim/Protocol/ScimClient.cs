using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Deprov.Connectors.Scim.Auth;
using Deprov.Connectors.Scim.RateLimiting;
using Deprov.Core;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace Deprov.Connectors.Scim.Protocol;

/// <summary>
/// SCIM over HTTP for one system. Handler chain, outermost first: retry (bounded, honours <c>Retry-After</c>) →
/// adaptive rate limiter (paces every attempt) → per-attempt timeout → authentication → sockets.
/// Returns every answer as a <see cref="ScimResponse"/>; callers decide what a 404 or a 412 means for their action and
/// use <see cref="Failure"/> to turn the rest into a <see cref="ConnectorException"/>.
/// </summary>
internal sealed class ScimClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _systemId;
    private readonly ScimSettings _settings;
    private readonly TimeProvider _time;

    public ScimClient(string systemId, ScimSettings settings, ScimCredentials credentials, AdaptiveRateLimiter limiter, TimeProvider time)
    {
        _systemId = systemId;
        _settings = settings;
        _time = time;
        var sockets = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = settings.MaxConcurrency,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = settings.Timeout,
            AutomaticDecompression = DecompressionMethods.All,
        };
        var auth = new AuthenticationHandler(credentials) { InnerHandler = sockets };
        var attemptTimeout = new ResilienceHandler(new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time }
            .AddTimeout(settings.Timeout).Build()) { InnerHandler = auth };
        var paced = new RateLimitHandler(limiter) { InnerHandler = attemptTimeout };
        var retryBuilder = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        if (settings.MaxRetries > 0)
        {
            retryBuilder.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = settings.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context.CancellationToken)),
            });
        }

        var retry = new ResilienceHandler(retryBuilder.Build()) { InnerHandler = paced };
        _http = new HttpClient(retry) { BaseAddress = settings.BaseUrl, Timeout = Timeout.InfiniteTimeSpan };
        _http.DefaultRequestHeaders.UserAgent.ParseAdd(settings.UserAgent);
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue(ScimSchemas.MediaType));
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
    }

    /// <summary>
    /// 408/409/429/5xx (but 501: "not implemented" is an answer, not a hiccup) and lost connections are retried briefly;
    /// a <c>Retry-After</c> beyond <c>max_retry_after_seconds</c> is handed to the engine instead of slept through.
    /// </summary>
    private bool ShouldRetry(Outcome<HttpResponseMessage> outcome, CancellationToken cancellationToken)
    {
        if (outcome.Exception is not null)
        {
            return !cancellationToken.IsCancellationRequested && outcome.Exception is HttpRequestException or TimeoutRejectedException;
        }

        var response = outcome.Result!;
        var status = (int)response.StatusCode;
        if (status is 408 or 409 || (status >= 500 && status != 501))
        {
            return RetryAfterWithinCap(response);
        }

        return status == 429 && RetryAfterWithinCap(response);
    }

    private bool RetryAfterWithinCap(HttpResponseMessage response) =>
        AdaptiveRateLimiter.RetryAfter(response.Headers, _time) is not { } wait || wait <= _settings.MaxRetryAfter;

    public async Task<ScimResponse> SendAsync(HttpMethod method, string relative, JsonNode? body, string? ifMatch, string what, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, relative);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body.ToJsonString()));
            // A header value object per request: header instances are mutable and not safe to share across requests.
            request.Content.Headers.ContentType = new MediaTypeHeaderValue(ScimSchemas.MediaType) { CharSet = "utf-8" };
        }

        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new ConnectorException($"SCIM {_systemId}: {method} {relative} ({what}) failed: connection error: {e.Message}", isTransient: true, e);
        }
        catch (TimeoutRejectedException e)
        {
            throw new ConnectorException($"SCIM {_systemId}: {method} {relative} ({what}) timed out after {_settings.Timeout.TotalSeconds:0} s", isTransient: true, e);
        }

        using (response)
        {
            var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            JsonNode? json = null;
            if (bytes.Length > 0 && (bytes[0] == (byte)'{' || bytes[0] == (byte)'['))
            {
                try
                {
                    json = JsonNode.Parse(bytes);
                }
                catch (JsonException) when (!response.IsSuccessStatusCode)
                {
                    // An error page that is not JSON: the status code still says what happened.
                }
            }

            var etag = response.Headers.ETag?.ToString()
                ?? (response.Headers.TryGetValues("ETag", out var raw) ? raw.FirstOrDefault() : null);
            return new ScimResponse(response.StatusCode, json, etag, AdaptiveRateLimiter.RetryAfter(response.Headers, _time));
        }
    }

    /// <summary>Turns an unexpected answer into an exception classified by the retry rules.</summary>
    public ConnectorException Failure(ScimResponse response, HttpMethod method, string relative, string what)
    {
        ArgumentNullException.ThrowIfNull(response);
        var status = (int)response.Status;
        var transient = status is 408 or 409 or 412 or 429 || (status >= 500 && status != 501);
        var explanation = status switch
        {
            401 => "authentication failed; check the credentials the auth settings reference",
            403 => "forbidden; the credentials lack the right to do this",
            404 => "not found",
            412 => "the resource changed on the server while we were updating it (ETag mismatch)",
            429 => "rate limited",
            501 => "not implemented by this server",
            _ => response.Status.ToString(),
        };
        var scim = response.ScimType is { } t ? $" scimType={t}" : string.Empty;
        var detail = response.Detail is { } d ? $": {d}" : string.Empty;
        var retry = response.RetryAfter is { } ra ? $" (Retry-After {ra.TotalSeconds:0.###} s)" : string.Empty;
        return new ConnectorException(
            $"SCIM {_systemId}: {method} {relative} ({what}) failed: {status} {explanation}{scim}{detail}{retry}",
            transient,
            retryAfter: response.RetryAfter);
    }

    public void Dispose() => _http.Dispose();
}
