using System.Text.Json.Nodes;

namespace Deprov.Testing.Scim;

/// <summary>Attribute lookup: case-insensitive names, <c>a.b</c> sub-attributes, URN-qualified extension attributes.</summary>
public static class ScimPaths
{
    public const string EnterpriseUser = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    /// <summary>Splits a URN-qualified path into (container, attribute): "urn:...:User:employeeNumber" → (urn, employeeNumber).</summary>
    public static (JsonObject Container, string Path) Scope(JsonObject resource, string path, bool create = false)
    {
        if (path.StartsWith("urn:", StringComparison.OrdinalIgnoreCase))
        {
            var core = "urn:ietf:params:scim:schemas:core:2.0:";
            if (path.StartsWith(core, StringComparison.OrdinalIgnoreCase))
            {
                var rest = path[core.Length..];
                var colon = rest.IndexOf(':', StringComparison.Ordinal);
                return (resource, colon < 0 ? rest : rest[(colon + 1)..]);
            }

            var last = path.LastIndexOf(':');
            var urn = path[..last];
            var key = Key(resource, urn) ?? urn;
            if (resource[key] is not JsonObject ext)
            {
                ext = [];
                if (create)
                {
                    resource[key] = ext;
                }
            }

            return (ext, path[(last + 1)..]);
        }

        return (resource, path);
    }

    public static string? Key(JsonObject o, string name) =>
        o.Select(kv => kv.Key).FirstOrDefault(k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));

    public static JsonNode? Get(JsonObject resource, string path)
    {
        var (container, p) = Scope(resource, path);
        var dot = p.IndexOf('.', StringComparison.Ordinal);
        var name = dot < 0 ? p : p[..dot];
        var key = Key(container, name);
        return key is null ? null : container[key];
    }

    /// <summary>All values at a path; multi-valued attributes and sub-attributes of them are flattened.</summary>
    public static IEnumerable<JsonNode?> Values(JsonObject resource, string path)
    {
        var (container, p) = Scope(resource, path);
        var dot = p.IndexOf('.', StringComparison.Ordinal);
        var name = dot < 0 ? p : p[..dot];
        var sub = dot < 0 ? null : p[(dot + 1)..];
        var key = Key(container, name);
        if (key is null)
        {
            yield break;
        }

        var node = container[key];
        var items = node is JsonArray a ? a.ToList() : [node];
        foreach (var item in items)
        {
            if (sub is null)
            {
                yield return item;
            }
            else if (item is JsonObject o && Key(o, sub) is { } sk)
            {
                yield return o[sk];
            }
        }
    }
}
