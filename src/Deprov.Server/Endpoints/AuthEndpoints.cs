using Deprov.Core.Audit;
using Deprov.Core.Security;
using Deprov.Core.Store;
using Deprov.Server.Console;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>Sign-in, sign-out and first-admin setup.</summary>
public static class AuthEndpoints
{
    public static IEndpointRouteBuilder MapAuthEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/login", (HttpContext ctx) => LoginPage(ctx, null, 200)).AllowAnonymous().ExcludeFromDescription();
        app.MapPost("/login", LoginAsync).AllowAnonymous().ExcludeFromDescription();
        app.MapPost("/logout", async (HttpContext ctx) =>
        {
            await ctx.SignOutAsync(Authentication.Cookie);
            return TypedResults.Redirect("/login");
        }).RequireAuthorization(Policies.SignedIn).ExcludeFromDescription();
        app.MapGet("/setup", (HttpContext ctx, SetupToken setup, string? token) => setup.Matches(token)
            ? SetupPage(ctx, token!, null)
            : Page.Message(ctx, "Setup", "This setup link is invalid or was already used.", 404)).AllowAnonymous().ExcludeFromDescription();
        app.MapPost("/setup", SetupAsync).AllowAnonymous().ExcludeFromDescription();
        if (app.ServiceProvider.GetRequiredService<ServerOptions>().Oidc is not null)
        {
            app.MapGet("/login/oidc", () => TypedResults.Challenge(new AuthenticationProperties { RedirectUri = "/login/oidc/done" }, [Authentication.Oidc]))
                .AllowAnonymous().ExcludeFromDescription();

            // The provider's redirect makes the callback a cross-site navigation, and a browser does not send the
            // SameSite=Strict session cookie anywhere along that redirect chain: redirecting straight to the console would
            // show it signed out until a reload. This page ends the chain; its refresh is a same-site navigation, which does.
            app.MapGet("/login/oidc/done", (HttpContext ctx) => Page.Render(ctx, "Signed in", h =>
                    h.Add($"<meta http-equiv=\"refresh\" content=\"0;url=/\"><p>Signed in. <a href=\"/\" id=\"continue\">Continue to the console</a>.</p>")))
                .AllowAnonymous().ExcludeFromDescription();
        }

        return app;
    }

    private static ContentHttpResult LoginPage(HttpContext ctx, string? error, int status) => Page.Render(ctx, "Sign in", h =>
    {
        if (error is not null)
        {
            h.Add($"<p role=\"alert\" id=\"login-error\">{error}</p>");
        }

        var returnUrl = SafeReturnUrl(ctx.Request.Query["ReturnUrl"].ToString());
        h.Add($"<form method=\"post\" action=\"/login\">{Page.Csrf(ctx)}<input type=\"hidden\" name=\"returnUrl\" value=\"{returnUrl}\">");
        h.Add($"<label for=\"user\">User name</label><input id=\"user\" name=\"user\" autocomplete=\"username\" required autofocus>");
        h.Add($"<label for=\"password\">Password</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>");
        h.Add($"<p><button type=\"submit\" class=\"primary\">Sign in</button></p></form>");
        if (ctx.RequestServices.GetRequiredService<ServerOptions>().Oidc is not null)
        {
            h.Add($"<p><a href=\"/login/oidc\">Sign in with your company account</a></p>");
        }
    }, status);

    private static async Task<Results<RedirectHttpResult, ContentHttpResult>> LoginAsync(HttpContext ctx, IStore store, LoginThrottle throttle, ILogger<LoginThrottle> logger, CancellationToken ct)
    {
        var form = await ctx.Request.ReadFormAsync(ct);
        var user = form["user"].ToString().Trim();
        var password = form["password"].ToString();
        var address = ctx.Connection.RemoteIpAddress?.ToString() ?? "unknown";
        if (throttle.RetryAfter(user, address) is { } wait)
        {
            var seconds = (int)Math.Ceiling(wait.TotalSeconds);
            Log.SignInThrottled(logger, user, address, seconds);
            ctx.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return LoginPage(ctx, $"Too many failed sign-ins. Try again in {seconds / 60 + 1} minute(s).", StatusCodes.Status429TooManyRequests);
        }

        var account = user.Length == 0 ? null : await store.FindUserAsync(user, ct);
        if (!Secrets.VerifyPassword(account, password))
        {
            throttle.Failed(user, address);
            Log.SignInFailed(logger, user, address);
            return LoginPage(ctx, "The user name or password is wrong.", StatusCodes.Status401Unauthorized);
        }

        throttle.Succeeded(user);
        Log.SignInSucceeded(logger, account!.Name);
        await ctx.SignInAsync(Authentication.Cookie, PrincipalExtensions.ForUser(account, Authentication.Cookie));
        return TypedResults.Redirect(SafeReturnUrl(form["returnUrl"].ToString()));
    }

    private static ContentHttpResult SetupPage(HttpContext ctx, string token, string? error) => Page.Render(ctx, "Create the first admin", h =>
    {
        if (error is not null)
        {
            h.Add($"<p role=\"alert\">{error}</p>");
        }

        h.Add($"<form method=\"post\" action=\"/setup\">{Page.Csrf(ctx)}<input type=\"hidden\" name=\"token\" value=\"{token}\">");
        h.Add($"<label for=\"user\">User name</label><input id=\"user\" name=\"user\" required autofocus>");
        h.Add($"<label for=\"password\">Password (at least {Secrets.MinPasswordLength} characters)</label><input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"new-password\" required>");
        h.Add($"<p><button type=\"submit\" class=\"primary\">Create admin</button></p></form>");
    });

    private static async Task<Results<RedirectHttpResult, ContentHttpResult>> SetupAsync(HttpContext ctx, IStore store, SetupToken setup, TimeProvider time, CancellationToken ct)
    {
        var form = await ctx.Request.ReadFormAsync(ct);
        var token = form["token"].ToString();
        if (!setup.Matches(token) || await store.CountUsersAsync(ct) > 0)
        {
            return Page.Message(ctx, "Setup", "This setup link is invalid or was already used.", 404);
        }

        var name = form["user"].ToString().Trim();
        try
        {
            var user = new UserAccount(name, Role.Admin, Secrets.HashPassword(form["password"].ToString()), time.GetUtcNow(), "setup");
            await store.CreateUserAsync(user, new AuditEntry(time.GetUtcNow(), "admin:" + name, "user_created", null, name, null, null, null, null, "role=admin", "ok", "first admin, via the one-time setup link"), ct);
            setup.Consume();
            await ctx.SignInAsync(Authentication.Cookie, PrincipalExtensions.ForUser(user, Authentication.Cookie));
            return TypedResults.Redirect("/");
        }
        catch (Core.ValidationException ex)
        {
            return SetupPage(ctx, token, ex.Message);
        }
    }

    /// <summary>Only local paths: an open redirect after sign-in would be a phishing aid.</summary>
    private static string SafeReturnUrl(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal) ? url : "/";
}
