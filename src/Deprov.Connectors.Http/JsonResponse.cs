using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deprov.Connectors.Http;

/// <summary>
/// A JSON API's answer after the resilience pipeline: status, Retry-After and the body, parsed once and only when a
/// caller asks. Vendor responses derive from it and add how their error bodies read.
/// </summary>
public class JsonResponse(HttpStatusCode status, byte[] body, TimeSpan? retryAfter)
{
    private JsonNode? _parsed;
    private bool _isParsed;

    public HttpStatusCode Status { get; } = status;

    /// <summary>What the server asked the client to wait (error answers only).</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public bool IsSuccess => (int)Status is >= 200 and < 300;

    /// <summary>The body as JSON; null when empty (204) or, for an error, not JSON (a proxy's HTML page).</summary>
    public JsonNode? Body
    {
        get
        {
            if (!_isParsed)
            {
                _parsed = Parse();
                _isParsed = true;
            }

            return _parsed;
        }
    }

    public JsonObject? Object => Body as JsonObject;

    private JsonNode? Parse()
    {
        if (body.Length == 0 || (body[0] != (byte)'{' && body[0] != (byte)'['))
        {
            return null;
        }

        try
        {
            return JsonNode.Parse(body);
        }
        catch (JsonException) when (!IsSuccess)
        {
            // An error page that is not JSON: the status code still says what happened.
            return null;
        }
    }
}
