using System.Security.Claims;
using Deprov.Core.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Authentication.OpenIdConnect;

namespace Deprov.Server.Security;

/// <summary>
/// Sign-in schemes: session cookies for the console (local accounts or OpenID Connect), API keys for machines. A policy
/// scheme picks the API-key handler when a key is presented and the cookie otherwise.
/// </summary>
public static class Authentication
{
    public const string Default = "Deprov";
    public const string Cookie = CookieAuthenticationDefaults.AuthenticationScheme;
    public const string Oidc = "oidc";

    public static void Add(IServiceCollection services, TimeProvider time, OidcSettings? oidc)
    {
        var auth = services.AddAuthentication(Default)
            .AddPolicyScheme(Default, "API key or session", o => o.ForwardDefaultSelector = ctx =>
                ApiKeyAuthenticationHandler.ReadKey(ctx.Request) is not null ? ApiKeyAuthenticationHandler.SchemeName : Cookie)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddCookie(Cookie, o =>
            {
                o.Cookie.Name = "deprov.session";
                o.Cookie.HttpOnly = true;
                o.Cookie.SameSite = SameSiteMode.Strict;
                // Secure whenever the request is HTTPS; deployments terminate TLS in front (docs/server.md).
                o.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.ExpireTimeSpan = TimeSpan.FromHours(8);
                o.SlidingExpiration = true;
                o.TimeProvider = time;
                o.LoginPath = "/login";
                o.Events.OnRedirectToLogin = ctx => Refuse(ctx, StatusCodes.Status401Unauthorized);
                o.Events.OnRedirectToAccessDenied = ctx => Refuse(ctx, StatusCodes.Status403Forbidden);
            });

        if (oidc is not null)
        {
            auth.AddOpenIdConnect(Oidc, o =>
            {
                o.Authority = oidc.Authority;
                o.ClientId = oidc.ClientId;
                o.ClientSecret = oidc.ClientSecret;
                // Plain HTTP only for an identity provider on this machine (tests, a local dev IdP).
                o.RequireHttpsMetadata = !IsLoopbackHttp(oidc.Authority);
                o.ResponseType = "code";
                o.UsePkce = true;
                // The code comes back in the query of a top-level GET, so the nonce and correlation cookies can be
                // SameSite=Lax (a form_post callback is a cross-site POST, which only SameSite=None cookies survive).
                o.ResponseMode = "query";
                o.NonceCookie.SameSite = o.CorrelationCookie.SameSite = SameSiteMode.Lax;
                o.NonceCookie.SecurePolicy = o.CorrelationCookie.SecurePolicy = CookieSecurePolicy.SameAsRequest;
                o.SignInScheme = Cookie;
                o.SaveTokens = false;
                // Roles are read from the id_token; keep claim names as the provider sends them ("roles", not the
                // long Microsoft role URI), or the role claim is never found.
                o.MapInboundClaims = false;
                o.GetClaimsFromUserInfoEndpoint = false;
                o.CallbackPath = "/signin-oidc";
                o.TimeProvider = time;
                o.Events.OnTokenValidated = ctx => MapOidcRole(ctx, oidc.RoleClaim);
                o.Events.OnRemoteFailure = RefuseOidc;
            });
        }
    }

    private static bool IsLoopbackHttp(string authority) =>
        Uri.TryCreate(authority, UriKind.Absolute, out var u) && u.Scheme == Uri.UriSchemeHttp && u.IsLoopback;

    /// <summary>
    /// A sign-in the identity provider or the token checks refused (wrong issuer or audience, expired or unsigned token,
    /// no Deprov role): no session, a 401 page that says so, the reason in the log (never a token).
    /// </summary>
    private static async Task RefuseOidc(RemoteFailureContext ctx)
    {
        ctx.HandleResponse();
        Log.OidcRefused(ctx.HttpContext.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Deprov.Server.Oidc"), ctx.Failure?.Message ?? "unknown");
        await Console.Page.Message(ctx.HttpContext, "Sign-in refused", "Your company account could not be used to sign in to Deprov. Ask an administrator to check your role, or sign in with a Deprov account.",
            StatusCodes.Status401Unauthorized).ExecuteAsync(ctx.HttpContext);
    }

    /// <summary>Browsers are sent to the sign-in page (or shown a 403 page); API clients get a bare status and ProblemDetails.</summary>
    private static Task Refuse(RedirectContext<CookieAuthenticationOptions> ctx, int status)
    {
        var wantsHtml = ctx.Request.Headers.Accept.ToString().Contains("text/html", StringComparison.Ordinal) && !ctx.Request.Path.StartsWithSegments("/api");
        if (wantsHtml && status == StatusCodes.Status401Unauthorized)
        {
            ctx.Response.Redirect(ctx.RedirectUri);
            return Task.CompletedTask;
        }

        ctx.Response.StatusCode = status;
        if (wantsHtml)
        {
            return Console.Page.Message(ctx.HttpContext, "403 Forbidden", "Your role does not allow this page.", status).ExecuteAsync(ctx.HttpContext);
        }

        return Results.Problem(statusCode: status, title: status == 401 ? "Sign in or present an API key." : "Your role does not allow this.").ExecuteAsync(ctx.HttpContext);
    }

    /// <summary>
    /// Maps the identity provider's role claim (<c>admin</c>, <c>operator</c>, <c>auditor</c>, <c>hr</c>, optionally prefixed
    /// <c>deprov-</c>) to one Deprov role; a sign-in without one is refused.
    /// </summary>
    private static Task MapOidcRole(Microsoft.AspNetCore.Authentication.OpenIdConnect.TokenValidatedContext ctx, string roleClaim)
    {
        var values = ctx.Principal?.FindAll(roleClaim).Select(c => c.Value) ?? [];
        Role? best = null;
        foreach (var v in values)
        {
            var name = v.StartsWith("deprov-", StringComparison.OrdinalIgnoreCase) ? v["deprov-".Length..] : v;
            if (Enum.TryParse<Role>(name, ignoreCase: true, out var r) && (best is null || r < best))
            {
                best = r;
            }
        }

        if (best is null)
        {
            ctx.Fail($"The identity provider gave no Deprov role in claim '{roleClaim}'.");
            return Task.CompletedTask;
        }

        var name2 = ctx.Principal!.FindFirst("preferred_username")?.Value ?? ctx.Principal.FindFirst(ClaimTypes.Email)?.Value ?? ctx.Principal.Identity?.Name ?? "oidc-user";
        ctx.Principal = new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.Name, name2), new Claim(ClaimTypes.Role, best.Value.ClaimValue())], Cookie));
        return Task.CompletedTask;
    }
}

/// <summary>OpenID Connect settings. The client secret comes from the environment, never from <c>deprov.yaml</c>.</summary>
/// <param name="RoleClaim">The id_token claim holding the Deprov role (<c>admin</c>, <c>operator</c>, <c>auditor</c>, <c>hr</c>, optionally prefixed <c>deprov-</c>).</param>
public sealed record OidcSettings(string Authority, string ClientId, string? ClientSecret, string RoleClaim = "roles")
{
    /// <summary>From <c>DEPROV_OIDC_AUTHORITY</c>, <c>_CLIENT_ID</c>, <c>_CLIENT_SECRET</c>, <c>_ROLE_CLAIM</c>; null when no authority is set.</summary>
    public static OidcSettings? FromEnvironment()
    {
        var authority = Environment.GetEnvironmentVariable("DEPROV_OIDC_AUTHORITY");
        if (string.IsNullOrEmpty(authority))
        {
            return null;
        }

        var roleClaim = Environment.GetEnvironmentVariable("DEPROV_OIDC_ROLE_CLAIM");
        return new OidcSettings(authority, Environment.GetEnvironmentVariable("DEPROV_OIDC_CLIENT_ID") ?? string.Empty, Environment.GetEnvironmentVariable("DEPROV_OIDC_CLIENT_SECRET"),
            string.IsNullOrEmpty(roleClaim) ? "roles" : roleClaim);
    }
}
