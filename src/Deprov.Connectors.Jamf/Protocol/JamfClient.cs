using System.Text;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http;
using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;

namespace Deprov.Connectors.Jamf.Protocol;

/// <summary>
/// The Jamf Pro API over HTTP for one system, on the shared <see cref="ResilientHttp"/> client (retry → adaptive rate
/// limiter → attempt timeout → authentication → sockets). Returns every answer as a <see cref="JamfResponse"/>; callers
/// decide what a 404 means for their action and use <see cref="Failure"/> for the rest.
/// </summary>
internal sealed class JamfClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly string _label;
    private readonly JamfSettings _settings;
    private readonly TimeProvider _time;

    public JamfClient(string label, JamfSettings settings, HttpCredentials credentials, AdaptiveRateLimiter limiter, TimeProvider time)
    {
        _label = label;
        _settings = settings;
        _time = time;
        using (var probe = new HttpRequestMessage())
        {
            // Headers go out unvalidated per request; a malformed user_agent fails here, at construction.
            probe.Headers.UserAgent.ParseAdd(settings.UserAgent);
        }

        _http = ResilientHttp.Create(
            new HttpEndpoint(settings.BaseUrl, settings.Timeout, settings.MaxConcurrency, settings.MaxRetries, settings.MaxRetryAfter),
            credentials, limiter, time);
    }

    public async Task<JamfResponse> SendAsync(HttpMethod method, string relative, JsonNode? body, string what, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, relative);
        request.Headers.TryAddWithoutValidation("Accept", "application/json");
        request.Headers.TryAddWithoutValidation("User-Agent", _settings.UserAgent);
        if (method == HttpMethod.Get)
        {
            request.Headers.TryAddWithoutValidation("Accept-Encoding", HttpContentDecoder.AcceptEncoding);
        }

        if (body is not null)
        {
            // The body may hold a device PIN: it goes on the wire and nowhere else (never into a message or a log).
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body.ToJsonString()));
            request.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        }

        var answer = await HttpExchange.SendAsync(_http, request, _label, relative, what, _settings.Timeout, _time, cancellationToken);
        return new JamfResponse(answer.Status, answer.Body, answer.RetryAfter);
    }

    /// <summary>Turns an unexpected answer into an exception classified per the <c>IConnector</c> contract.</summary>
    public ConnectorException Failure(JamfResponse response, HttpMethod method, string relative, string what)
    {
        ArgumentNullException.ThrowIfNull(response);
        var status = (int)response.Status;
        var transient = HttpEndpoint.IsTransientStatus(status);
        var explanation = status switch
        {
            400 => "rejected as invalid",
            401 => "authentication failed; check the credentials the auth settings reference",
            403 => "forbidden; the API role lacks the privilege for this request (see docs/connectors/jamf.md)",
            404 => "not found",
            429 => "rate limited",
            503 => "unavailable",
            _ => response.Status.ToString(),
        };
        var summary = response.ErrorSummary();
        var detail = summary.Length > 0 ? $": {summary}" : string.Empty;
        var retry = response.RetryAfter is { } ra ? $" (Retry-After {ra.TotalSeconds:0.###} s)" : string.Empty;
        return new ConnectorException($"{_label}: {method} {relative} ({what}) failed: {status} {explanation}{detail}{retry}",
            transient, retryAfter: response.RetryAfter, rateLimited: HttpEndpoint.IsRateLimitStatus(status));
    }

    public void Dispose() => _http.Dispose();
}
