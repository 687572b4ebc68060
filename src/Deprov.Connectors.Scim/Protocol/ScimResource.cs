using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deprov.Connectors.Scim.Protocol;

/// <summary>Lenient readers for SCIM resources: vendors send booleans as strings and integers as strings.</summary>
internal static class ScimResource
{
    public static string? String(JsonObject? o, string name) =>
        o?[name] is JsonValue v && v.GetValueKind() is JsonValueKind.String ? v.GetValue<string>()
        : o?[name] is JsonValue n && n.GetValueKind() is JsonValueKind.Number ? n.ToJsonString() : null;

    /// <summary>The <c>active</c> attribute; absent means active (RFC 7643 leaves the default to the provider; every vendor we know defaults to true).</summary>
    public static bool Active(JsonObject o) => Bool(o["active"]) ?? true;

    public static bool? Bool(JsonNode? node) => node switch
    {
        JsonValue v when v.GetValueKind() is JsonValueKind.True => true,
        JsonValue v when v.GetValueKind() is JsonValueKind.False => false,
        JsonValue v when v.GetValueKind() is JsonValueKind.String && bool.TryParse(v.GetValue<string>(), out var b) => b,
        _ => null,
    };

    public static int? Int(JsonNode? node) => node switch
    {
        JsonValue v when v.GetValueKind() is JsonValueKind.Number && v.TryGetValue<int>(out var i) => i,
        JsonValue v when v.GetValueKind() is JsonValueKind.String && int.TryParse(v.GetValue<string>(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var i) => i,
        _ => null,
    };

    public static string? Version(JsonObject o, string? etagHeader) =>
        etagHeader ?? (o["meta"] is JsonObject meta ? String(meta, "version") : null);

    /// <summary>The work email, else the primary one, else the first.</summary>
    public static string? Email(JsonObject o)
    {
        if (o["emails"] is not JsonArray emails || emails.Count == 0)
        {
            return null;
        }

        var items = emails.OfType<JsonObject>().ToList();
        var pick = items.FirstOrDefault(e => string.Equals(String(e, "type"), "work", StringComparison.OrdinalIgnoreCase))
            ?? items.FirstOrDefault(e => Bool(e["primary"]) == true)
            ?? items.FirstOrDefault();
        return String(pick, "value");
    }

    public static string? EmployeeNumber(JsonObject o) =>
        o[ScimSchemas.EnterpriseUser] is JsonObject ext ? String(ext, "employeeNumber") : null;

    public static bool HasMember(JsonObject group, string userId) =>
        group["members"] is JsonArray members
        && members.OfType<JsonObject>().Any(m => string.Equals(String(m, "value"), userId, StringComparison.Ordinal));

    /// <summary>Quotes a value as a SCIM filter string literal (JSON string rules).</summary>
    public static string Quote(string value) => JsonSerializer.Serialize(value);
}
