using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Http;

namespace Deprov.Connectors.Vault.Protocol;

/// <summary>
/// An answer from Vault after the resilience pipeline: status, body, Retry-After. Every error (status ≥ 400) has the
/// body <c>{"errors":["message", ...]}</c>; a LIST of nothing answers 404 with <c>{"errors":[]}</c>.
/// </summary>
internal sealed class VaultResponse(HttpStatusCode status, byte[] body, TimeSpan? retryAfter) : JsonResponse(status, body, retryAfter)
{
    /// <summary>The <c>data</c> object of a successful answer.</summary>
    public JsonObject? Data => Object?["data"] as JsonObject;

    /// <summary>Vault's error messages; empty for a 404 that means "nothing here".</summary>
    public IReadOnlyList<string> Errors =>
        Object?["errors"] is JsonArray a ? [.. a.OfType<JsonValue>().Select(v => v.TryGetValue<string>(out var s) ? s : v.ToJsonString())] : [];

    public bool HasError(string fragment) => Errors.Any(e => e.Contains(fragment, StringComparison.OrdinalIgnoreCase));

    public static string? Text(JsonObject? o, string name) =>
        o?[name] is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
