using System.Globalization;
using Deprov.Core.Security;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Console;

/// <summary>The console's layout: navigation for the signed-in role, the CSRF token for forms and scripts, and strict headers.</summary>
public static class Page
{
    private static readonly (string Href, string Label, string Policy)[] Nav =
    [
        ("/", "Dashboard", Policies.Read),
        ("/people", "People", Policies.Read),
        ("/tasks", "Tasks", Policies.Read),
        ("/systems", "Systems", Policies.Read),
        ("/audit", "Audit", Policies.Read),
        ("/holds", "Legal holds", Policies.Read),
        ("/events/new", "Submit event", Policies.Submit),
        ("/admin", "Admin", Policies.Admin),
        ("/scalar/v1", "API", Policies.Read),
    ];

    public static ContentHttpResult Render(HttpContext ctx, string title, Action<Html> body, int status = 200)
    {
        var h = new Html();
        var token = ctx.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(ctx).RequestToken;
        var role = ctx.User.Role();
        h.Add($"<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
        h.Add($"<meta name=\"csrf-token\" content=\"{token}\"><title>{title} · Deprov</title><link rel=\"stylesheet\" href=\"/assets/console.css\">");
        h.Add($"<script src=\"/assets/console.js\" defer></script></head><body><a class=\"skip\" href=\"#main\">Skip to content</a><header><span class=\"brand\">Deprov</span>");
        if (role is { } r)
        {
            h.Add($"<nav aria-label=\"Main\"><ul>");
            foreach (var (href, label, policy) in Nav)
            {
                if (Policies.Allows(policy, r))
                {
                    var current = ctx.Request.Path.Equals(href, StringComparison.Ordinal) ? new Raw(" aria-current=\"page\"") : new Raw(string.Empty);
                    h.Add($"<li><a href=\"{href}\"{current}>{label}</a></li>");
                }
            }

            h.Add($"</ul></nav><form method=\"post\" action=\"/logout\" class=\"signout\"><input type=\"hidden\" name=\"__RequestVerificationToken\" value=\"{token}\">");
            h.Add($"<span>{ctx.User.Identity?.Name} ({r.ClaimValue()})</span> <button type=\"submit\">Sign out</button></form>");
        }

        h.Add($"</header><main id=\"main\" tabindex=\"-1\"><h1>{title}</h1>");
        body(h);
        h.Add($"</main></body></html>");
        ctx.Response.Headers.ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'";
        ctx.Response.Headers.XContentTypeOptions = "nosniff";
        ctx.Response.Headers["Referrer-Policy"] = "no-referrer";
        ctx.Response.Headers.CacheControl = "no-store";
        return TypedResults.Content(h.ToString(), "text/html; charset=utf-8", statusCode: status);
    }

    /// <summary>A hidden CSRF field for a form.</summary>
    public static Raw Csrf(HttpContext ctx) =>
        new($"<input type=\"hidden\" name=\"__RequestVerificationToken\" value=\"{Html.Encode(ctx.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(ctx).RequestToken)}\">");

    public static string When(DateTimeOffset? at) => at?.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "—";

    public static string Snake<T>(T value)
        where T : struct, Enum => Core.Model.Naming.Snake(value);

    public static bool Can(HttpContext ctx, string policy) => ctx.User.Role() is { } r && Policies.Allows(policy, r);

    public static ContentHttpResult Message(HttpContext ctx, string title, string message, int status) =>
        Render(ctx, title, h => h.Add($"<p role=\"alert\">{message}</p>"), status);
}
