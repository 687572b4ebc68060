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

    /// <summary>Keep a log of requests for wire-format assertions (the bench turns it off).</summary>
    public bool RecordRequests { get; init; } = true;
}
