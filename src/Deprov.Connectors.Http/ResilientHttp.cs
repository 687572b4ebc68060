using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace Deprov.Connectors.Http;

/// <summary>The connection and retry settings every HTTP connector has.</summary>
/// <param name="BaseUrl">Relative request paths resolve against it (end it with <c>/</c>).</param>
/// <param name="Timeout">Per attempt; waiting for a rate-limit slot does not count.</param>
/// <param name="MaxRetries">Brief retries of transient answers inside one action; the engine retries after that.</param>
/// <param name="MaxRetryAfter">A <c>Retry-After</c> longer than this is not slept through: the action fails transiently
/// with it and the engine reschedules the step durably.</param>
public sealed record HttpEndpoint(Uri BaseUrl, TimeSpan Timeout, int MaxConcurrency, int MaxRetries, TimeSpan MaxRetryAfter)
{
    /// <summary>Statuses worth retrying at once. Default: 408, 429 and 5xx except 501 ("not implemented" is an answer).</summary>
    public Func<int, bool> IsRetryableStatus { get; init; } = IsTransientStatus;

    public static bool IsTransientStatus(int status) => status is 408 or 429 || (status >= 500 && status != 501);

    /// <summary>"Too many requests" (429) and "unavailable" (503): with a <c>Retry-After</c>, the server pacing its
    /// clients, which connectors report as <c>ConnectorException(rateLimited: true)</c> so the engine waits without
    /// counting an attempt.</summary>
    public static bool IsRateLimitStatus(int status) => status is 429 or 503;
}

/// <summary>
/// Builds the <see cref="HttpClient"/> of one connected system. One resilience pipeline per request, outermost first:
/// retry (bounded, jittered, honours <c>Retry-After</c>) → adaptive rate limiter (paces every attempt, learns from 429s
/// and rate-limit headers) → per-attempt timeout; then authentication (one token refresh after a 401) → sockets.
/// </summary>
/// <remarks>
/// A lost connection surfaces as <see cref="HttpRequestException"/>, an attempt past its timeout as
/// <see cref="TimeoutRejectedException"/>, both after the retries: connectors turn them into transient
/// <c>ConnectorException</c>s naming the request.
/// </remarks>
public static class ResilientHttp
{
    public static HttpClient Create(HttpEndpoint endpoint, HttpCredentials credentials, AdaptiveRateLimiter limiter, TimeProvider time) =>
        Create(endpoint, new AuthenticationHandler(credentials), limiter, time);

    /// <summary>
    /// The same client with another authentication step: <paramref name="authentication"/> runs once per attempt, under the
    /// retry and the timeout, so a scheme that signs each request (AWS Signature Version 4 signs the time and the body)
    /// signs every retry afresh. It must not have an inner handler: the sockets handler is set here.
    /// </summary>
    public static HttpClient Create(HttpEndpoint endpoint, DelegatingHandler authentication, AdaptiveRateLimiter limiter, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(endpoint);
        ArgumentNullException.ThrowIfNull(authentication);
        var sockets = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = endpoint.MaxConcurrency,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = endpoint.Timeout,
            // No AutomaticDecompression: it would advertise and check encodings on every request. Callers ask for
            // compression where it pays (large reads) and decode with HttpContentDecoder.
        };
        var auth = authentication;
        auth.InnerHandler = sockets;
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        if (endpoint.MaxRetries > 0)
        {
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = endpoint.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(endpoint, args.Outcome, time, args.Context.CancellationToken)),
            });
        }

        pipeline.AddStrategy(_ => new PacingStrategy(limiter), new PacingStrategyOptions());
        pipeline.AddTimeout(endpoint.Timeout);
        return new HttpClient(new ResilienceHandler(pipeline.Build()) { InnerHandler = auth })
        {
            BaseAddress = endpoint.BaseUrl,
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>
    /// Retryable statuses and lost connections are retried briefly; a <c>Retry-After</c> beyond
    /// <see cref="HttpEndpoint.MaxRetryAfter"/> is handed to the engine instead of slept through.
    /// </summary>
    private static bool ShouldRetry(HttpEndpoint endpoint, Outcome<HttpResponseMessage> outcome, TimeProvider time, CancellationToken cancellationToken)
    {
        if (outcome.Exception is not null)
        {
            return !cancellationToken.IsCancellationRequested && outcome.Exception is HttpRequestException or TimeoutRejectedException;
        }

        var response = outcome.Result!;
        return endpoint.IsRetryableStatus((int)response.StatusCode)
            && (AdaptiveRateLimiter.RetryAfter(response.Headers, time) is not { } wait || wait <= endpoint.MaxRetryAfter);
    }
}
