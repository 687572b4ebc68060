using Microsoft.AspNetCore.Antiforgery;

namespace Deprov.Server.Security;

/// <summary>
/// CSRF protection for everything a browser can send: every unsafe request that is not authenticated by an API key (so
/// cookie sessions, and the anonymous sign-in and setup forms) must carry the antiforgery token in the form field or the
/// <see cref="HeaderName"/> header. API-key requests are exempt: a browser never attaches an API key on its own.
/// </summary>
public sealed class Csrf
{
    public const string HeaderName = "X-CSRF-TOKEN";

    private readonly RequestDelegate _next;
    private readonly IAntiforgery _antiforgery;
    private readonly ILogger<Csrf> _logger;

    public Csrf(RequestDelegate next, IAntiforgery antiforgery, ILogger<Csrf> logger)
    {
        _next = next;
        _antiforgery = antiforgery;
        _logger = logger;
    }

    public async Task InvokeAsync(HttpContext ctx)
    {
        var safe = HttpMethods.IsGet(ctx.Request.Method) || HttpMethods.IsHead(ctx.Request.Method) || HttpMethods.IsOptions(ctx.Request.Method);
        // Signed webhooks carry no cookie and no session: their HMAC signature is the proof, CSRF does not apply.
        var signedHook = ctx.Request.Path.StartsWithSegments("/hooks", StringComparison.Ordinal);
        if (!safe && !signedHook && ApiKeyAuthenticationHandler.ReadKey(ctx.Request) is null && !await _antiforgery.IsRequestValidAsync(ctx))
        {
            Log.CsrfRejected(_logger, ctx.Request.Method, ctx.Request.Path);
            await Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: "CSRF token missing or invalid.",
                detail: $"Send the token from the page's csrf-token meta tag in the {HeaderName} header, or use an API key.").ExecuteAsync(ctx);
            return;
        }

        await _next(ctx);
    }
}
