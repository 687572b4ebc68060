using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http;

namespace Deprov.Connectors.Okta.Protocol;

/// <summary>
/// An answer of the Okta API after the resilience pipeline: status, body, the <c>rel="next"</c> page link, and for a 429
/// how long until the rate-limit window resets. Error bodies are Okta's <c>{errorCode, errorSummary, errorCauses}</c>.
/// </summary>
internal sealed class OktaResponse(HttpStatusCode status, byte[] body, Uri? next, TimeSpan? retryAfter) : JsonResponse(status, body, retryAfter)
{
    /// <summary>The <c>Link: &lt;...&gt;; rel="next"</c> target, or null on the last page.</summary>
    public Uri? Next { get; } = next;

    public JsonArray? Array => Body as JsonArray;

    public string? ErrorCode => Text("errorCode");

    public string? ErrorSummary => Text("errorSummary");

    /// <summary>The <c>errorCauses[].errorSummary</c> texts (what exactly failed validation).</summary>
    public IReadOnlyList<string> ErrorCauses =>
        Object?["errorCauses"] is JsonArray causes
            ? [.. causes.OfType<JsonObject>().Select(c => c["errorSummary"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null).OfType<string>()]
            : [];

    private string? Text(string name) => Object?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
