using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deprov.Testing.Scim;

/// <summary>
/// Applies RFC 7644 §3.5.2 PATCH operations to a resource, atomically (on a copy). Accepts the vendor dialects a real
/// server must: Entra's capitalised ops and "True"/"False" strings, Okta's path-less value objects, value filters in
/// paths (<c>members[value eq "id"]</c>, <c>emails[type eq "work"].value</c>) and the non-RFC member removal
/// <c>{"op":"remove","path":"members","value":[{"value":"id"}]}</c>.
/// </summary>
public static class ScimPatchEngine
{
    private static readonly HashSet<string> ReadOnly = new(StringComparer.OrdinalIgnoreCase) { "id", "meta", "schemas" };

    public static JsonObject Apply(JsonObject resource, JsonNode? body)
    {
        if (body is not JsonObject b || b["Operations"] is not JsonArray ops || ops.Count == 0)
        {
            throw new ScimProtocolException(400, "invalidSyntax", "PATCH body must be a PatchOp with a non-empty 'Operations' array");
        }

        var copy = resource.DeepClone().AsObject();
        foreach (var node in ops)
        {
            if (node is not JsonObject op || op["op"] is not JsonValue opv || opv.GetValueKind() != JsonValueKind.String)
            {
                throw new ScimProtocolException(400, "invalidSyntax", "each operation needs an 'op'");
            }

            var name = opv.GetValue<string>().ToLowerInvariant();
            var path = op["path"] is JsonValue pv && pv.GetValueKind() == JsonValueKind.String ? pv.GetValue<string>() : null;
            var value = op["value"]?.DeepClone();
            switch (name)
            {
                case "add" or "replace" when path is null:
                    if (value is not JsonObject values)
                    {
                        throw ScimProtocolException.InvalidValue($"'{name}' without a path needs an object value");
                    }

                    foreach (var (k, v) in values.ToList())
                    {
                        Set(copy, k, v?.DeepClone(), name == "add");
                    }

                    break;
                case "add" or "replace":
                    Set(copy, path!, value, name == "add");
                    break;
                case "remove" when path is null:
                    throw ScimProtocolException.NoTarget("'remove' requires a path");
                case "remove":
                    Remove(copy, path!, value);
                    break;
                default:
                    throw new ScimProtocolException(400, "invalidSyntax", $"unknown op '{name}'");
            }
        }

        return copy;
    }

    private static void Set(JsonObject resource, string path, JsonNode? value, bool add)
    {
        var (attr, filter, sub) = Split(path);
        var (container, name) = ScimPaths.Scope(resource, attr, create: true);
        if (ReadOnly.Contains(name))
        {
            throw ScimProtocolException.Mutability($"'{name}' is read-only");
        }

        var key = ScimPaths.Key(container, name) ?? name;
        var dot = name.IndexOf('.', StringComparison.Ordinal);
        if (dot > 0 && filter is null)
        {
            // name.givenName: set a sub-attribute of a single-valued complex attribute.
            var parentKey = ScimPaths.Key(container, name[..dot]) ?? name[..dot];
            if (container[parentKey] is not JsonObject parent)
            {
                parent = [];
                container[parentKey] = parent;
            }

            parent[ScimPaths.Key(parent, name[(dot + 1)..]) ?? name[(dot + 1)..]] = Coerce(name[(dot + 1)..], value);
            return;
        }

        if (filter is not null)
        {
            var matches = Matching(container, key, filter);
            if (matches.Count == 0)
            {
                throw ScimProtocolException.NoTarget($"no value of '{attr}' matches '{path}'");
            }

            foreach (var item in matches)
            {
                if (sub is null)
                {
                    if (value is not JsonObject obj)
                    {
                        throw ScimProtocolException.InvalidValue($"'{path}' needs an object value");
                    }

                    foreach (var (k, v) in obj.ToList())
                    {
                        item[k] = v?.DeepClone();
                    }
                }
                else
                {
                    item[ScimPaths.Key(item, sub) ?? sub] = value?.DeepClone();
                }
            }

            return;
        }

        if (add && container[key] is JsonArray existing)
        {
            foreach (var v in value is JsonArray arr ? arr.ToList() : [value])
            {
                var id = (v as JsonObject)?["value"]?.ToJsonString();
                if (id is null || !existing.OfType<JsonObject>().Any(e => e["value"]?.ToJsonString() == id))
                {
                    existing.Add(v?.DeepClone());
                }
            }

            return;
        }

        if (add && value is JsonArray && container[key] is null)
        {
            container[key] = value;
            return;
        }

        container[key] = Coerce(name, value);
    }

    private static void Remove(JsonObject resource, string path, JsonNode? value)
    {
        var (attr, filter, sub) = Split(path);
        var (container, name) = ScimPaths.Scope(resource, attr);
        if (ReadOnly.Contains(name))
        {
            throw ScimProtocolException.Mutability($"'{name}' is read-only");
        }

        var key = ScimPaths.Key(container, name);
        if (filter is not null)
        {
            var matches = key is null ? [] : Matching(container, key, filter);
            if (matches.Count == 0)
            {
                throw ScimProtocolException.NoTarget($"no value of '{attr}' matches '{path}'");
            }

            var array = (JsonArray)container[key!]!;
            foreach (var item in matches)
            {
                if (sub is null)
                {
                    array.Remove(item);
                }
                else
                {
                    item.Remove(ScimPaths.Key(item, sub) ?? sub);
                }
            }

            return;
        }

        if (key is null)
        {
            return;
        }

        if (value is JsonArray toRemove && container[key] is JsonArray items)
        {
            // Entra / Salesforce: remove the listed values only.
            var ids = toRemove.OfType<JsonObject>().Select(v => v["value"]?.ToJsonString()).ToHashSet();
            foreach (var item in items.OfType<JsonObject>().Where(i => ids.Contains(i["value"]?.ToJsonString())).ToList())
            {
                items.Remove(item);
            }

            return;
        }

        container.Remove(key);
    }

    private static List<JsonObject> Matching(JsonObject container, string key, string filter)
    {
        if (container[key] is not JsonArray items)
        {
            return [];
        }

        ScimFilter f;
        try
        {
            f = ScimFilter.Parse(filter);
        }
        catch (ScimProtocolException e)
        {
            throw ScimProtocolException.InvalidPath(e.Message);
        }

        return [.. items.OfType<JsonObject>().Where(f.Matches)];
    }

    /// <summary>Splits <c>attr[filter].sub</c>.</summary>
    private static (string Attr, string? Filter, string? Sub) Split(string path)
    {
        var open = path.IndexOf('[', StringComparison.Ordinal);
        if (open < 0)
        {
            return (path, null, null);
        }

        var close = path.LastIndexOf(']');
        if (close < open)
        {
            throw ScimProtocolException.InvalidPath($"unbalanced brackets in path '{path}'");
        }

        var sub = close + 1 < path.Length && path[close + 1] == '.' ? path[(close + 2)..] : null;
        return (path[..open], path[(open + 1)..close], sub);
    }

    /// <summary>Entra sends <c>"active":"False"</c>; a boolean attribute takes a boolean whatever the casing.</summary>
    private static JsonNode? Coerce(string name, JsonNode? value)
    {
        if (string.Equals(name, "active", StringComparison.OrdinalIgnoreCase) && value is JsonValue v && v.GetValueKind() == JsonValueKind.String)
        {
            return bool.TryParse(v.GetValue<string>(), out var b) ? JsonValue.Create(b) : throw ScimProtocolException.InvalidValue($"'active' must be a boolean, got '{v}'");
        }

        return value;
    }
}
