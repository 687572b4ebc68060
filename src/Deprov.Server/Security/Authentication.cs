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

    public static bool OidcConfigured => Environment.GetEnvironmentVariable("DEPROV_OIDC_AUTHORITY") is { Length: > 0 };

    public static void Add(IServiceCollection services, TimeProvider time)
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

        if (OidcConfigured)
        {
            auth.AddOpenIdConnect(Oidc, o =>
            {
                o.Authority = Environment.GetEnvironmentVariable("DEPROV_OIDC_AUTHORITY");
                o.ClientId = Environment.GetEnvironmentVariable("DEPROV_OIDC_CLIENT_ID");
                o.ClientSecret = Environment.GetEnvironmentVariable("DEPROV_OIDC_CLIENT_SECRET");
                o.ResponseType = "code";
                o.UsePkce = true;
                o.SignInScheme = Cookie;
                o.SaveTokens = false;
                o.GetClaimsFromUserInfoEndpoint = true;
                o.CallbackPath = "/signin-oidc";
                var roleClaim = Environment.GetEnvironmentVariable("DEPROV_OIDC_ROLE_CLAIM") is { Length: > 0 } rc ? rc : "roles";
                o.Events.OnTokenValidated = ctx => MapOidcRole(ctx, roleClaim);
            });
        }
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
