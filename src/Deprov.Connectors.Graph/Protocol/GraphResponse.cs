using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deprov.Connectors.Graph.Protocol;

/// <summary>
/// An answer from Graph after the resilience pipeline: status, body, Retry-After. Error bodies have the shape
/// <c>{"error":{"code","message","innerError":{"request-id","date",...}}}</c>; <see cref="Code"/> and
/// <see cref="Message"/> read it.
/// </summary>
internal sealed class GraphResponse(HttpStatusCode status, byte[] body, TimeSpan? retryAfter)
{
    private JsonNode? _parsed;
    private bool _isParsed;

    public HttpStatusCode Status { get; } = status;

    public TimeSpan? RetryAfter { get; } = retryAfter;

    public bool IsSuccess => (int)Status is >= 200 and < 300;

    /// <summary>The body as JSON; null when empty (204) or, for an error, not JSON (a gateway's HTML page).</summary>
    public JsonObject? Object
    {
        get
        {
            if (!_isParsed)
            {
                _parsed = Parse();
                _isParsed = true;
            }

            return _parsed as JsonObject;
        }
    }

    private JsonObject? Error => Object?["error"] as JsonObject;

    /// <summary>The Graph error code (<c>Request_ResourceNotFound</c>, <c>Authorization_RequestDenied</c>, ...).</summary>
    public string? Code => Text(Error, "code");

    public string? Message => Text(Error, "message");

    /// <summary>The <c>request-id</c> Microsoft support asks for.</summary>
    public string? RequestId => Text(Error?["innerError"] as JsonObject, "request-id");

    public static string? Text(JsonObject? o, string name) =>
        o?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

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
