using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;

namespace Deprov.Connectors.Scim.Protocol;

/// <summary>
/// SCIM over HTTP for one system, on the shared <see cref="ResilientHttp"/> client (retry → adaptive rate limiter →
/// attempt timeout → authentication → sockets). Returns every answer as a <see cref="ScimResponse"/>; callers decide what a 404 or a 412 means for their
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

    private readonly HttpClient _http;
    private readonly string _systemId;
    private readonly ScimSettings _settings;
    private readonly TimeProvider _time;

    public ScimClient(string systemId, ScimSettings settings, HttpCredentials credentials, AdaptiveRateLimiter limiter, TimeProvider time)
    {
        _systemId = systemId;
        _settings = settings;
        _time = time;
        using (var probe = new HttpRequestMessage())
        {
            // Headers go out unvalidated per request; a malformed user_agent still fails here, at construction.
            probe.Headers.UserAgent.ParseAdd(settings.UserAgent);
        }

        _http = ResilientHttp.Create(
            new HttpEndpoint(settings.BaseUrl, settings.Timeout, settings.MaxConcurrency, settings.MaxRetries, settings.MaxRetryAfter)
            {
                // SCIM: a 409 can be a concurrent write; it is worth one more try.
                IsRetryableStatus = status => status == 409 || HttpEndpoint.IsTransientStatus(status),
            },
            credentials,
            limiter,
            time);
    }

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
            request.Headers.TryAddWithoutValidation("Accept-Encoding", HttpContentDecoder.AcceptEncoding);
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

        var answer = await HttpExchange.SendAsync(_http, request, $"SCIM {_systemId}", relative, what, _settings.Timeout, _time, cancellationToken);
        return new ScimResponse(answer.Status, answer.Body, answer.ETag, answer.RetryAfter);
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
            retryAfter: response.RetryAfter,
            rateLimited: HttpEndpoint.IsRateLimitStatus(status));
    }

    public void Dispose() => _http.Dispose();
}
