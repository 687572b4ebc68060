using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http;

namespace Deprov.Connectors.Jamf.Protocol;

/// <summary>An HTTP answer after the resilience pipeline: status, body (parsed on demand) and Retry-After.</summary>
internal sealed class JamfResponse(HttpStatusCode status, byte[] body, TimeSpan? retryAfter) : JsonResponse(status, body, retryAfter)
{
    /// <summary>
    /// The Jamf Pro API error body (<c>{"httpStatus":..,"errors":[{"code","field","description","id"}]}</c>) as one line:
    /// <c>INVALID_FIELD pin: must be 6 digits</c>; empty when the body is not one.
    /// </summary>
    public string ErrorSummary()
    {
        if (Body is not JsonObject o || o["errors"] is not JsonArray errors)
        {
            return string.Empty;
        }

        var parts = new List<string>();
        foreach (var e in errors.OfType<JsonObject>())
        {
            var code = Text(e, "code");
            var field = Text(e, "field");
            var description = Text(e, "description");
            parts.Add(string.Join(' ', new[] { code, field is null ? null : field + ":", description }.Where(x => !string.IsNullOrEmpty(x))));
        }

        return string.Join("; ", parts.Where(p => p.Length > 0));
    }

    public static string? Text(JsonObject? o, string name) => o?[name] is JsonValue v
        ? v.GetValueKind() switch
        {
            JsonValueKind.String => v.GetValue<string>(),
            JsonValueKind.Number => v.ToJsonString(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => null,
        }
        : null;
}
