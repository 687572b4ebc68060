using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deprov.Connectors.Okta.Protocol;

/// <summary>
/// An answer of the Okta API after the resilience pipeline: status, body, the <c>rel="next"</c> page link, and for a 429
/// how long until the rate-limit window resets. Error bodies are Okta's <c>{errorCode, errorSummary, errorCauses}</c>.
/// </summary>
internal sealed class OktaResponse(HttpStatusCode status, byte[] body, Uri? next, TimeSpan? retryAfter)
{
    private JsonNode? _parsed;
    private bool _isParsed;

    public HttpStatusCode Status { get; } = status;

    public bool IsSuccess => (int)Status is >= 200 and < 300;

    /// <summary>The <c>Link: &lt;...&gt;; rel="next"</c> target, or null on the last page.</summary>
    public Uri? Next { get; } = next;

    /// <summary>For a 429: time until <c>X-Rate-Limit-Reset</c> (or <c>Retry-After</c>); otherwise null.</summary>
    public TimeSpan? RetryAfter { get; } = retryAfter;

    /// <summary>The body as JSON; null when empty or not JSON (Okta answers some lifecycle calls with no body at all).</summary>
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

    public JsonArray? Array => Body as JsonArray;

    public string? ErrorCode => Text("errorCode");

    public string? ErrorSummary => Text("errorSummary");

    /// <summary>The <c>errorCauses[].errorSummary</c> texts (what exactly failed validation).</summary>
    public IReadOnlyList<string> ErrorCauses =>
        Object?["errorCauses"] is JsonArray causes
            ? [.. causes.OfType<JsonObject>().Select(c => c["errorSummary"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null).OfType<string>()]
            : [];

    private string? Text(string name) => Object?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

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
            // An error page that is not JSON (a proxy's HTML): the status code still says what happened.
            return null;
        }
    }
}
