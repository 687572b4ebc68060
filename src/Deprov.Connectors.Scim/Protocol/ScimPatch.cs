using System.Text.Json.Nodes;
using Deprov.Connectors.Scim.Profiles;

namespace Deprov.Connectors.Scim.Protocol;

/// <summary>Builds the PATCH bodies each profile puts on the wire (RFC 7644 §3.5.2 and the vendor dialects).</summary>
internal static class ScimPatch
{
    public static JsonObject SetActive(ScimProfile profile, bool active)
    {
        var value = profile.StringBooleans ? (JsonNode)JsonValue.Create(active ? "True" : "False") : JsonValue.Create(active);
        var op = profile.Disable is DisableWire.PatchNoPath
            ? new JsonObject { ["op"] = Op(profile, "replace"), ["value"] = new JsonObject { ["active"] = value } }
            : new JsonObject { ["op"] = Op(profile, "replace"), ["path"] = "active", ["value"] = value };
        return Body(op);
    }

    public static JsonObject RemoveMember(ScimProfile profile, string userId) => profile.Members switch
    {
        MemberWire.ValueFilterPath => Body(new JsonObject
        {
            ["op"] = Op(profile, "remove"),
            ["path"] = $"members[value eq {ScimResource.Quote(userId)}]",
        }),
        _ => Body(new JsonObject
        {
            ["op"] = Op(profile, "remove"),
            ["path"] = "members",
            ["value"] = new JsonArray(new JsonObject { ["value"] = userId }),
        }),
    };

    public static JsonObject AddMember(ScimProfile profile, string userId) => Body(new JsonObject
    {
        ["op"] = Op(profile, "add"),
        ["path"] = "members",
        ["value"] = new JsonArray(new JsonObject { ["value"] = userId }),
    });

    private static string Op(ScimProfile profile, string op) =>
        profile.CapitalisedOps ? char.ToUpperInvariant(op[0]) + op[1..] : op;

    private static JsonObject Body(JsonObject operation) => new()
    {
        ["schemas"] = new JsonArray(ScimSchemas.PatchOp),
        ["Operations"] = new JsonArray(operation),
    };
}
