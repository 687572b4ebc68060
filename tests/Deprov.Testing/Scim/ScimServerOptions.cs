namespace Deprov.Testing.Scim;

public enum ScimAuthMode
{
    None,
    Bearer,
    Basic,
    OAuthClientCredentials,
}

/// <summary>How the fake behaves; vendor quirks are switches here, faults are in <see cref="ScimFaults"/>.</summary>
public sealed record ScimServerOptions
{
    public ScimAuthMode Auth { get; init; } = ScimAuthMode.None;

    /// <summary>The bearer token (mode Bearer).</summary>
    public string Token { get; init; } = "test-token";

    /// <summary>The scheme the static token must come with (mode Bearer): <c>Bearer</c>, or e.g. Okta's <c>SSWS</c>.</summary>
    public string TokenScheme { get; init; } = "Bearer";

    public string Username { get; init; } = "scim-user";

    public string Password { get; init; } = "scim-password";

    public string ClientId { get; init; } = "deprov";

    public string ClientSecret { get; init; } = "client-secret";

    public TimeSpan TokenLifetime { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Advertised in ServiceProviderConfig; when false PATCH answers 501.</summary>
    public bool PatchSupported { get; init; } = true;

    /// <summary>Advertised; when false no ETag header, no meta.version, If-Match ignored.</summary>
    public bool EtagSupported { get; init; } = true;

    /// <summary>When true PATCH answers 204 No Content (Entra groups) instead of 200 with the resource.</summary>
    public bool PatchReturnsNoContent { get; init; }

    /// <summary>Slack: DELETE /Users/{id} deactivates instead of deleting.</summary>
    public bool DeleteDeactivates { get; init; }

    /// <summary>GitHub organisation SCIM: no /Groups endpoint.</summary>
    public bool NoGroups { get; init; }

    /// <summary>GitHub: "Complicated SCIM path selectors that include filters are not supported" in PATCH.</summary>
    public bool RejectFilterInPatchPath { get; init; }

    /// <summary>GitHub requires a User-Agent header.</summary>
    public bool RequireUserAgent { get; init; }

    /// <summary>Where the ServiceProviderConfig lives (Slack v1 spells it ServiceProviderConfigs).</summary>
    public string ServiceProviderConfigPath { get; init; } = "ServiceProviderConfig";

    /// <summary>Servers may return fewer than asked (RFC 7644 §3.4.2.4).</summary>
    public int MaxPageSize { get; init; } = 200;

    /// <summary>Gzip JSON answers for requests that accept gzip (counted in <see cref="ScimTestServer.GzippedResponses"/>).</summary>
    public bool GzipResponses { get; init; }

    /// <summary>
    /// Bad habit of several real servers (and of scimmy for a malformed filter): a filter it does not support (a value
    /// path <c>attr[...]</c>, anything on <c>members</c> or <c>groups</c>) or cannot parse answers 200 with an empty list.
    /// </summary>
    public bool LenientFilters { get; init; }

    /// <summary>Bad habit: PATCH and PUT answer 200 with the resource as it would be, and store nothing.</summary>
    public bool IgnoreWrites { get; init; }

    /// <summary>Bad habit: group reads (by id and listed) never include <c>members</c>, whatever is asked.</summary>
    public bool GroupReadsOmitMembers { get; init; }

    /// <summary>Bad habit: a group read shows at most this many members (the first ones), without saying so.</summary>
    public int? MembersCap { get; init; }

    /// <summary>scimmy's habit (RFC 7643 §2.5 allows it): a group without members has no <c>members</c> attribute.</summary>
    public bool OmitEmptyMembers { get; init; }

    /// <summary>Users carry the read-only <c>groups</c> attribute (RFC 7643 §4.1.2), derived from group membership.</summary>
    public bool UserGroups { get; init; }

    /// <summary>Keep a log of requests for wire-format assertions (the bench turns it off).</summary>
    public bool RecordRequests { get; init; } = true;
}
