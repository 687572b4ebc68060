namespace Deprov.Connectors.Okta.Tests.Fake;

public enum OktaFakeAuth
{
    /// <summary><c>Authorization: SSWS &lt;api token&gt;</c>.</summary>
    Ssws,

    /// <summary><c>Authorization: Bearer &lt;access token&gt;</c> from the fake's client-credentials token endpoint.</summary>
    OAuthClientCredentials,
}

/// <summary>How the fake Okta org behaves. Defaults: SSWS auth, generous quota, lifecycle answers <c>200 {}</c>.</summary>
public sealed class OktaFakeOptions
{
    public OktaFakeAuth Auth { get; init; } = OktaFakeAuth.Ssws;

    public string ApiToken { get; init; } = "00ssws-test-token-value";

    public string ClientId { get; init; } = "0oadeprov";

    public string ClientSecret { get; init; } = "client-secret-value";

    /// <summary>A read-only admin's token: every write answers <c>403 E0000006</c>.</summary>
    public bool ReadOnlyAdmin { get; init; }

    /// <summary>
    /// Whether the token's admin may assign and unassign admin roles (a Super Admin's token, or a service app granted
    /// <c>okta.roles.manage</c>); when false, role writes answer <c>403 E0000006</c> and role reads still work.
    /// </summary>
    public bool SuperAdmin { get; init; } = true;

    /// <summary>Lifecycle calls answer <c>200</c> with an empty body instead of <c>{}</c> (the docs and SDKs disagree).</summary>
    public bool EmptyLifecycleBodies { get; init; }

    /// <summary>When set, next-page links point at this origin instead of the fake's own (a misbehaving proxy).</summary>
    public Uri? NextLinkOrigin { get; init; }
}
