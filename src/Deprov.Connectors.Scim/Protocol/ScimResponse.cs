using System.Net;
using System.Text.Json.Nodes;

namespace Deprov.Connectors.Scim.Protocol;

/// <summary>An HTTP answer after the resilience pipeline: status, parsed body (if JSON), ETag and Retry-After.</summary>
internal sealed record ScimResponse(HttpStatusCode Status, JsonNode? Body, string? ETag, TimeSpan? RetryAfter)
{
    public bool IsSuccess => (int)Status is >= 200 and < 300;

    /// <summary>The SCIM error <c>scimType</c> (RFC 7644 §3.12), if the body is an error.</summary>
    public string? ScimType => (Body as JsonObject)?["scimType"]?.GetValueKind() == System.Text.Json.JsonValueKind.String
        ? (string?)Body!["scimType"] : null;

    public string? Detail => Body is JsonObject o && o["detail"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public JsonObject? Object => Body as JsonObject;
}
