using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http;

namespace Deprov.Connectors.Google.Protocol;

/// <summary>
/// An answer from the Admin SDK after the resilience pipeline. Error bodies have the shape
/// <c>{"error":{"code","message","errors":[{"domain","reason","message"}],"status"}}</c>; <see cref="Reason"/>,
/// <see cref="Message"/> and <see cref="StatusText"/> read it.
/// </summary>
internal sealed class GoogleResponse(HttpStatusCode status, byte[] body, TimeSpan? retryAfter) : JsonResponse(status, body, retryAfter)
{
    /// <summary>The <c>errors[].reason</c> values that mean "slow down", whatever the HTTP status (Google sends them with 403).</summary>
    private static readonly HashSet<string> RateReasons = new(StringComparer.Ordinal) { "userRateLimitExceeded", "rateLimitExceeded", "quotaExceeded" };

    private JsonObject? Error => Object?["error"] as JsonObject;

    /// <summary>The first <c>errors[].reason</c> (<c>notFound</c>, <c>forbidden</c>, <c>userRateLimitExceeded</c>, ...).</summary>
    public string? Reason => (Error?["errors"] as JsonArray)?.OfType<JsonObject>().Select(e => Text(e, "reason")).FirstOrDefault(r => r is not null);

    public string? Message => Text(Error, "message");

    /// <summary>The canonical status (<c>PERMISSION_DENIED</c>, <c>RESOURCE_EXHAUSTED</c>, ...), when sent.</summary>
    public string? StatusText => Text(Error, "status");

    /// <summary>A rate or quota answer: 429, <c>RESOURCE_EXHAUSTED</c>, or a 403 whose reason is a rate limit.</summary>
    public bool IsRateLimited =>
        (int)Status == 429 || StatusText == "RESOURCE_EXHAUSTED" || ((int)Status == 403 && Reason is { } r && RateReasons.Contains(r));

    public static string? Text(JsonObject? o, string name) =>
        o?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static bool Flag(JsonObject? o, string name) => o?[name] is JsonValue v && v.TryGetValue<bool>(out var b) && b;
}
