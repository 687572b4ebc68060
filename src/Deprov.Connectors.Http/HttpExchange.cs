using System.Net;
using Deprov.Connectors.Http.RateLimiting;
using Deprov.Core;
using Polly.Timeout;

namespace Deprov.Connectors.Http;

/// <summary>An answer after the resilience pipeline, read in full: status, body bytes (decoded), Retry-After, ETag.</summary>
/// <param name="RetryAfter">Only on an error answer: what the server asked the client to wait.</param>
/// <param name="ETag">The header as sent (an ETag is opaque: a vendor's unquoted one is kept as it came).</param>
public sealed record HttpAnswer(HttpStatusCode Status, byte[] Body, TimeSpan? RetryAfter, string? ETag)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;
}

/// <summary>
/// Sends one request through a <see cref="ResilientHttp"/> client and reads the whole answer. What every vendor client
/// does the same way: a lost connection or an attempt past its timeout (after the pipeline's retries) becomes a
/// transient <see cref="ConnectorException"/> naming the system, the request and the action; the body is decoded per
/// <c>Content-Encoding</c>; an error answer's <c>Retry-After</c> is read. Callers turn statuses into outcomes.
/// </summary>
public static class HttpExchange
{
    /// <param name="label">How messages name the system (<c>Graph entra</c>).</param>
    /// <param name="shown">The request target as messages show it (without query secrets).</param>
    /// <param name="what">The action, for messages (<c>disable</c>, <c>discover users</c>).</param>
    public static async Task<HttpAnswer> SendAsync(
        HttpClient http, HttpRequestMessage request, string label, string shown, string what, TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(http);
        ArgumentNullException.ThrowIfNull(request);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw new ConnectorException($"{label}: {request.Method} {shown} ({what}) failed: connection error: {e.Message}", isTransient: true, e);
        }
        catch (TimeoutRejectedException e)
        {
            throw new ConnectorException($"{label}: {request.Method} {shown} ({what}) timed out after {timeout.TotalSeconds:0} s", isTransient: true, e);
        }

        using (response)
        {
            var bytes = await HttpContentDecoder.ReadBytesAsync(response, cancellationToken);
            var retryAfter = response.IsSuccessStatusCode ? null : AdaptiveRateLimiter.RetryAfter(response.Headers, time);
            return new HttpAnswer(response.StatusCode, bytes, retryAfter, HttpContentDecoder.FirstValue(response.Headers, "ETag"));
        }
    }
}
