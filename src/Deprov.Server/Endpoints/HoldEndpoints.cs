using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Deprov.Server.Console;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>Legal holds: list (read) and set or release (operators, through the engine as events).</summary>
public static class HoldEndpoints
{
    public static IEndpointRouteBuilder MapHoldEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/holds", async (IStore store, CancellationToken ct) => TypedResults.Ok(await store.ListLegalHoldsAsync(500, ct)))
            .RequireAuthorization(Policies.Read).WithTags("Legal holds");
        app.MapGet("/holds", PageAsync).RequireAuthorization(Policies.Read).ExcludeFromDescription();
        app.MapPost("/holds", SetFormAsync).RequireAuthorization(Policies.Operate).ExcludeFromDescription();
        return app;
    }

    private static async Task<ContentHttpResult> PageAsync(HttpContext ctx, IStore store, CancellationToken ct)
    {
        var holds = await store.ListLegalHoldsAsync(500, ct);
        return Page.Render(ctx, "Legal holds", h =>
        {
            h.Add($"<table><thead><tr><th>Person</th><th>System</th><th>Reason</th><th>Set by</th><th>Since</th></tr></thead><tbody>");
            foreach (var x in holds)
            {
                h.Add($"<tr><td><a href=\"/people/{Uri.EscapeDataString(x.PersonId)}\">{x.PersonId}</a></td><td>{x.SystemId ?? "all systems"}</td><td>{x.Reason}</td><td>{x.SetBy}</td><td>{Page.When(x.SetAt)}</td></tr>");
            }

            h.Add($"</tbody></table>");
            if (Page.Can(ctx, Policies.Operate))
            {
                h.Add($"<h2>Set or release a hold</h2><form method=\"post\" action=\"/holds\">{Page.Csrf(ctx)}<label for=\"personId\">Person id</label><input id=\"personId\" name=\"personId\" required>");
                h.Add($"<label for=\"system\">System (empty = all)</label><input id=\"system\" name=\"system\"><label for=\"note\">Reason</label><input id=\"note\" name=\"note\" required>");
                h.Add($"<p><button type=\"submit\" name=\"op\" value=\"set\">Set hold</button> <button type=\"submit\" name=\"op\" value=\"release\">Release hold</button></p></form>");
            }
        });
    }

    private static async Task<Results<RedirectHttpResult, ContentHttpResult>> SetFormAsync(HttpContext ctx, DeprovEngine engine, CancellationToken ct)
    {
        var f = await ctx.Request.ReadFormAsync(ct);
        var now = engine.Time.GetUtcNow();
        var id = engine.NewId("E");
        var kind = f["op"].ToString() == "release" ? EventKind.LegalHoldReleased : EventKind.LegalHoldSet;
        try
        {
            await engine.SubmitAsync(new LifecycleEvent(id, kind, f["personId"].ToString().Trim(), now, ExitReason.None, "console:" + ctx.User.Actor(), id, now,
                HoldSystemId: f["system"].ToString() is { Length: > 0 } s ? s : null, Note: f["note"].ToString()), ctx.User.Actor(), ct);
            return TypedResults.Redirect("/holds");
        }
        catch (ValidationException ex)
        {
            return Page.Message(ctx, "Hold refused", ex.Message, 400);
        }
    }
}
