using System.IO.Compression;
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
/// SCIM over HTTP for one system. One resilience pipeline per request, outermost first: retry (bounded, honours
/// <c>Retry-After</c>) → adaptive rate limiter (paces every attempt) → per-attempt timeout; then authentication →
/// sockets. Returns every answer as a <see cref="ScimResponse"/>; callers decide what a 404 or a 412 means for their
/// action and use <see cref="Failure"/> to turn the rest into a <see cref="ConnectorException"/>.
/// </summary>
/// <remarks>
/// The client and the service provider may share a machine (the benchmark does), so the per-request path is kept lean:
/// the fixed headers are added as pre-formatted strings rather than parsed header objects cloned from
/// <c>DefaultRequestHeaders</c>, request bodies can be cached bytes, and responses are parsed only as far as the caller
/// needs (<see cref="ScimResponse"/>).
/// </remarks>
internal sealed class ScimClient : IDisposable
{
    private const string Accept = ScimSchemas.MediaType + ", application/json";
    private const string ContentType = ScimSchemas.MediaType + "; charset=utf-8";
    private const string AcceptEncoding = "gzip, deflate, br";

    private readonly HttpClient _http;
    private readonly string _systemId;
    private readonly ScimSettings _settings;
    private readonly TimeProvider _time;

    public ScimClient(string systemId, ScimSettings settings, ScimCredentials credentials, AdaptiveRateLimiter limiter, TimeProvider time)
    {
        _systemId = systemId;
        _settings = settings;
        _time = time;
        using (var probe = new HttpRequestMessage())
        {
            // Headers go out unvalidated per request; a malformed user_agent still fails here, at construction.
            probe.Headers.UserAgent.ParseAdd(settings.UserAgent);
        }

        var sockets = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = settings.MaxConcurrency,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            ConnectTimeout = settings.Timeout,
            // No AutomaticDecompression: it would advertise and check encodings on every request. Only reads ask for
            // compression (see SendUtf8Async); a PATCH answer is a few hundred bytes.
        };
        var auth = new AuthenticationHandler(credentials) { InnerHandler = sockets };
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage> { TimeProvider = time };
        if (settings.MaxRetries > 0)
        {
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = settings.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Outcome, args.Context.CancellationToken)),
            });
        }

        pipeline.AddStrategy(_ => new PacingStrategy(limiter), new PacingStrategyOptions());
        pipeline.AddTimeout(settings.Timeout);
        _http = new HttpClient(new ResilienceHandler(pipeline.Build()) { InnerHandler = auth })
        {
            BaseAddress = settings.BaseUrl,
            Timeout = Timeout.InfiniteTimeSpan,
        };
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

    public Task<ScimResponse> SendAsync(HttpMethod method, string relative, JsonNode? body, string? ifMatch, string what, CancellationToken cancellationToken) =>
        SendUtf8Async(method, relative, body is null ? null : Encoding.UTF8.GetBytes(body.ToJsonString()), ifMatch, what, cancellationToken);

    /// <param name="body">UTF-8 JSON; never modified, so callers may pass the same cached array to every request.</param>
    public async Task<ScimResponse> SendUtf8Async(HttpMethod method, string relative, byte[]? body, string? ifMatch, string what, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, relative);
        request.Headers.TryAddWithoutValidation("Accept", Accept);
        request.Headers.TryAddWithoutValidation("User-Agent", _settings.UserAgent);
        if (method == HttpMethod.Get)
        {
            // List pages and groups with members can be megabytes: worth compressing.
            request.Headers.TryAddWithoutValidation("Accept-Encoding", AcceptEncoding);
        }

        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.TryAddWithoutValidation("Content-Type", ContentType);
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
            if (FirstValue(response.Content.Headers, "Content-Encoding") is { } encoding)
            {
                bytes = await DecompressAsync(bytes, encoding, cancellationToken);
            }

            var status = response.StatusCode;
            var retryAfter = (int)status is >= 200 and < 300 ? null : AdaptiveRateLimiter.RetryAfter(response.Headers, _time);
            return new ScimResponse(status, bytes, FirstValue(response.Headers, "ETag"), retryAfter);
        }
    }

    private static async Task<byte[]> DecompressAsync(byte[] bytes, string encoding, CancellationToken cancellationToken)
    {
        using var input = new MemoryStream(bytes);
        await using Stream decoder = encoding.Trim().ToUpperInvariant() switch
        {
            "GZIP" or "X-GZIP" => new GZipStream(input, CompressionMode.Decompress),
            // HTTP's "deflate" is the zlib format (RFC 9110 §8.4.1.2).
            "DEFLATE" => new ZLibStream(input, CompressionMode.Decompress),
            "BR" => new BrotliStream(input, CompressionMode.Decompress),
            _ => input,
        };
        if (ReferenceEquals(decoder, input))
        {
            // "identity", or an encoding we never asked for: leave the bytes as they came.
            return bytes;
        }

        using var output = new MemoryStream(bytes.Length * 4);
        await decoder.CopyToAsync(output, cancellationToken);
        return output.ToArray();
    }

    /// <summary>The header as sent (an ETag is opaque: a vendor's unquoted one is kept as it came).</summary>
    private static string? FirstValue(HttpHeaders headers, string name)
    {
        if (headers.NonValidated.TryGetValues(name, out var values))
        {
            foreach (var value in values)
            {
                return value;
            }
        }

        return null;
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
