using System.Text.Json.Nodes;

namespace Deprov.Connectors.Scim.Protocol;

/// <summary>What <c>ServiceProviderConfig</c> (RFC 7643 §5) says the server supports, after settings overrides.</summary>
internal sealed record ServerCapabilities(bool Patch, bool Etag, bool Filter, int? MaxResults)
{
    /// <summary>RFC defaults when a server has no ServiceProviderConfig: PATCH and filter are near-universal, ETags are not.</summary>
    public static readonly ServerCapabilities Assumed = new(Patch: true, Etag: false, Filter: true, MaxResults: null);

    public static ServerCapabilities From(JsonObject config) => new(
        Supported(config, "patch") ?? true,
        Supported(config, "etag") ?? false,
        Supported(config, "filter") ?? true,
        config["filter"] is JsonObject f ? ScimResource.Int(f["maxResults"]) : null);

    private static bool? Supported(JsonObject config, string feature) =>
        config[feature] is JsonObject o ? ScimResource.Bool(o["supported"]) : null;

    public ServerCapabilities With(ScimCapability patch, ScimCapability etag) => this with
    {
        Patch = patch switch { ScimCapability.On => true, ScimCapability.Off => false, _ => Patch },
        Etag = etag switch { ScimCapability.On => true, ScimCapability.Off => false, _ => Etag },
    };
}
