using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;

namespace Deprov.Connectors.Graph.Protocol;

/// <summary>
/// Graph over HTTP for one system, on the shared <see cref="ResilientHttp"/> client (retry → adaptive rate limiter →
/// attempt timeout → authentication → sockets). Returns every answer as a <see cref="GraphResponse"/>; callers decide
/// what a 404 or a 400 means for their action and use <see cref="Failure"/> for the rest.
/// </summary>
internal sealed class GraphClient : IDisposable
{
    private const string UserAgent = "Deprov-Graph/1.0";

    private readonly HttpClient _http;
    private readonly string _systemId;
    private readonly GraphSettings _settings;
    private readonly TimeProvider _time;

    public GraphClient(string systemId, GraphSettings settings, HttpCredentials credentials, AdaptiveRateLimiter limiter, TimeProvider time)
    {
        _systemId = systemId;
        _settings = settings;
        _time = time;
        // Graph throttles with 429, and answers 503/504 (with Retry-After) when a service is busy: the default retryable set.
        _http = ResilientHttp.Create(
            new HttpEndpoint(settings.BaseUrl, settings.Timeout, settings.MaxConcurrency, settings.MaxRetries, settings.MaxRetryAfter),
            credentials,
            limiter,
            time);
    }

    public Task<GraphResponse> SendAsync(HttpMethod method, string relative, JsonNode? body, string what, CancellationToken cancellationToken) =>
        SendAsync(method, new Uri(relative, UriKind.Relative), body, what, cancellationToken);

    /// <param name="target">A path relative to the base URL, or an absolute <c>@odata.nextLink</c> on the same host.</param>
    public async Task<GraphResponse> SendAsync(HttpMethod method, Uri target, JsonNode? body, string what, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, target);
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

        var answer = await HttpExchange.SendAsync(_http, request, $"Graph {_systemId}", Show(target), what, _settings.Timeout, _time, cancellationToken);
        return new GraphResponse(answer.Status, answer.Body, answer.RetryAfter);
    }

    /// <summary>True when <paramref name="link"/> (an <c>@odata.nextLink</c>) points at the configured Graph host.</summary>
    /// <remarks>The link is followed with the app's token: a link to any other host is refused rather than sent a credential.</remarks>
    public bool IsOwnLink(Uri link) =>
        link.IsAbsoluteUri && string.Equals(link.GetLeftPart(UriPartial.Authority), _settings.BaseUrl.GetLeftPart(UriPartial.Authority), StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Turns an unexpected answer into an exception: 408/429/5xx (but 501) transient with the Retry-After the service sent,
    /// everything else permanent. A 403 names <paramref name="permission"/>, the least-privileged application permission
    /// the request needs.
    /// </summary>
    public ConnectorException Failure(GraphResponse response, HttpMethod method, string relative, string what, string permission)
    {
        ArgumentNullException.ThrowIfNull(response);
        var status = (int)response.Status;
        var transient = HttpEndpoint.IsTransientStatus(status);
        var explanation = status switch
        {
            400 => "bad request",
            401 => "authentication failed; check the tenant, client id and the secret the auth settings reference",
            403 => $"forbidden; the app needs the application permission {permission}, admin-consented",
            404 => "not found",
            429 => "throttled",
            501 => "not implemented",
            _ => response.Status.ToString(),
        };
        var code = response.Code is { } c ? $" {c}" : string.Empty;
        var message = response.Message is { } m ? $": {m}" : string.Empty;
        var requestId = response.RequestId is { } id ? $" (request-id {id})" : string.Empty;
        var retry = response.RetryAfter is { } ra ? $" (Retry-After {ra.TotalSeconds:0.###} s)" : string.Empty;
        return new ConnectorException(
            $"Graph {_systemId}: {method} {relative} ({what}) failed: {status} {explanation}{code}{message}{requestId}{retry}",
            transient,
            retryAfter: transient ? response.RetryAfter : null,
            rateLimited: HttpEndpoint.IsRateLimitStatus(status));
    }

    private static string Show(Uri target) => target.IsAbsoluteUri ? target.PathAndQuery : target.OriginalString;

    public void Dispose() => _http.Dispose();
}
