using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http;

namespace Deprov.Connectors.Graph.Protocol;

/// <summary>
/// An answer from Graph after the resilience pipeline: status, body, Retry-After. Error bodies have the shape
/// <c>{"error":{"code","message","innerError":{"request-id","date",...}}}</c>; <see cref="Code"/> and
/// <see cref="Message"/> read it.
/// </summary>
internal sealed class GraphResponse(HttpStatusCode status, byte[] body, TimeSpan? retryAfter) : JsonResponse(status, body, retryAfter)
{
    private JsonObject? Error => Object?["error"] as JsonObject;

    /// <summary>The Graph error code (<c>Request_ResourceNotFound</c>, <c>Authorization_RequestDenied</c>, ...).</summary>
    public string? Code => Text(Error, "code");

    public string? Message => Text(Error, "message");

    /// <summary>The <c>request-id</c> Microsoft support asks for.</summary>
    public string? RequestId => Text(Error?["innerError"] as JsonObject, "request-id");

    public static string? Text(JsonObject? o, string name) =>
        o?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
