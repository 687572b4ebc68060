using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Reconciliation;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Deprov.Server.Console;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>
/// Manual correlation links: tie a discovered account to a person by hand, as <c>deprov link</c> does. The link
/// is recorded as <c>manual (by &lt;actor&gt;)</c>, audited as <c>correlation_link</c> and kept across discoveries.
/// </summary>
public static class LinkEndpoints
{
    public static IEndpointRouteBuilder MapLinkEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/links", async (IStore store, string? system, CancellationToken ct) => TypedResults.Ok(await store.ListLinksAsync(system, ct)))
            .RequireAuthorization(Policies.Read).WithTags("Links");
        app.MapPost("/api/links", CreateAsync).RequireAuthorization(Policies.Operate).WithTags("Links");
        app.MapGet("/links", PageAsync).RequireAuthorization(Policies.Read).ExcludeFromDescription();
        app.MapPost("/links", CreateFormAsync).RequireAuthorization(Policies.Operate).ExcludeFromDescription();
        return app;
    }

    /// <param name="System">The system id, as configured in <c>deprov.yaml</c>.</param>
    /// <param name="Account">The account's id in that system (its external id: DN, SCIM id, ...).</param>
    /// <param name="Person">The owner's HR id.</param>
    public sealed record LinkRequest(string? System, string? Account, string? Person);

    /// <summary>Why a link was refused: the HTTP status and a message that says what, where and how to fix it.</summary>
    private sealed record Refusal(int Status, string Title, string Detail);

    private static async Task<Results<Created<CorrelationLink>, ProblemHttpResult>> CreateAsync(LinkRequest? body, HttpContext ctx, DeprovEngine engine, CancellationToken ct)
    {
        var (link, refusal) = await LinkAsync(engine, ctx.User.Actor(), body?.System, body?.Account, body?.Person, ct);
        return link is not null
            ? TypedResults.Created($"/api/links?system={Uri.EscapeDataString(link.SystemId)}", link)
            : TypedResults.Problem(statusCode: refusal!.Status, title: refusal.Title, detail: refusal.Detail);
    }

    private static async Task<ContentHttpResult> CreateFormAsync(HttpContext ctx, DeprovEngine engine, CancellationToken ct)
    {
        var f = await ctx.Request.ReadFormAsync(ct);
        var (system, account, person) = (f["system"].ToString(), f["account"].ToString(), f["person"].ToString());
        var (link, refusal) = await LinkAsync(engine, ctx.User.Actor(), system, account, person, ct);
        return await RenderAsync(ctx, engine, link, refusal, link is null ? (system, account, person) : default, ct);
    }

    private static Task<ContentHttpResult> PageAsync(HttpContext ctx, DeprovEngine engine, string? system, string? account, CancellationToken ct) =>
        RenderAsync(ctx, engine, null, null, (system, account, null), ct);

    /// <summary>Checks the input, then links; an unknown system, account or person is refused (404) before anything is written.</summary>
    private static async Task<(CorrelationLink? Link, Refusal? Refusal)> LinkAsync(DeprovEngine engine, string actor, string? system, string? account, string? person,
        CancellationToken ct)
    {
        system = system?.Trim();
        account = account?.Trim();
        person = person?.Trim();
        var missing = new[] { ("system", system), ("account", account), ("person", person) }.Where(x => string.IsNullOrEmpty(x.Item2)).Select(x => x.Item1).ToList();
        if (missing.Count > 0)
        {
            return (null, new Refusal(400, "The link is incomplete.",
                $"Missing {string.Join(", ", missing)}. A link needs the system id, the account's external id in that system and the owner's HR id."));
        }

        try
        {
            return (await engine.LinkAccountAsync(system!, account!, person!, actor, requireDiscovered: true, ct), null);
        }
        catch (NotFoundException ex)
        {
            return (null, new Refusal(404, "Not found.", $"{ex.Message} The Systems page lists the systems, the People page the HR ids."));
        }
        catch (ValidationException ex)
        {
            return (null, new Refusal(400, "The link was refused.", ex.Message));
        }
    }

    private static async Task<ContentHttpResult> RenderAsync(HttpContext ctx, DeprovEngine engine, CorrelationLink? done, Refusal? refusal,
        (string? System, string? Account, string? Person) form, CancellationToken ct)
    {
        var orphans = await engine.Store.ListFindingsAsync(new FindingQuery(Kind: FindingKind.Orphan, OpenOnly: true, Limit: 500), ct);
        var links = await engine.Store.ListLinksAsync(null, ct);
        var canLink = Page.Can(ctx, Policies.Operate);
        return Page.Render(ctx, "Account links", h =>
        {
            if (done is not null)
            {
                h.Add($"<p role=\"status\">Linked {done.SystemId}/{done.AccountExternalId} to <a href=\"/people/{Uri.EscapeDataString(done.PersonId)}\">{done.PersonId}</a>, ");
                h.Add($"recorded as {CorrelationLink.RuleFor(done.LinkedBy)}. The link applies now and to every later discovery.</p>");
            }

            if (refusal is not null)
            {
                h.Add($"<div role=\"alert\"><p><strong>{refusal.Title}</strong></p><p>{refusal.Detail}</p></div>");
            }

            h.Add($"<p>Accounts no person owns (no correlation rule matched, or more than one person did). A manual link settles it and is audited as correlation_link.</p>");
            if (canLink)
            {
                h.Add($"<h2 id=\"link-form\">Link an account to a person</h2><form method=\"post\" action=\"/links\">{Page.Csrf(ctx)}");
                h.Add($"<label for=\"system\">System id</label><input id=\"system\" name=\"system\" required value=\"{form.System}\" list=\"systems\">");
                h.Add($"<datalist id=\"systems\">");
                foreach (var s in engine.Systems.Keys.Order(StringComparer.Ordinal))
                {
                    h.Add($"<option value=\"{s}\">");
                }

                h.Add($"</datalist><label for=\"account\">Account external id</label><input id=\"account\" name=\"account\" required value=\"{form.Account}\">");
                h.Add($"<label for=\"person\">Person id (HR id)</label><input id=\"person\" name=\"person\" required value=\"{form.Person}\">");
                h.Add($"<p><button type=\"submit\">Link</button></p></form>");
            }

            h.Add($"<h2>Open orphan and conflict findings</h2>");
            if (orphans.Count == 0)
            {
                h.Add($"<p>None: every discovered active account has an owner.</p>");
            }
            else
            {
                h.Add($"<table><thead><tr><th>System</th><th>Account</th><th>Why</th><th>First seen</th>{(canLink ? new Raw("<th>Link</th>") : new Raw(string.Empty))}</tr></thead><tbody>");
                foreach (var o in orphans)
                {
                    var external = o.AccountId is { } id && id.StartsWith(o.SystemId + "/", StringComparison.Ordinal) ? id[(o.SystemId.Length + 1)..] : o.Target;
                    h.Add($"<tr id=\"finding-{o.Id}\"><td>{o.SystemId}</td><td>{external}</td><td>{o.Evidence}</td><td>{Page.When(o.FirstSeenAt)}</td>");
                    if (canLink)
                    {
                        h.Add($"<td><form method=\"post\" action=\"/links\" class=\"inline\">{Page.Csrf(ctx)}<input type=\"hidden\" name=\"system\" value=\"{o.SystemId}\">");
                        h.Add($"<input type=\"hidden\" name=\"account\" value=\"{external}\"><label for=\"person-{o.Id}\" class=\"sr\">Person id for {external}</label>");
                        h.Add($"<input id=\"person-{o.Id}\" name=\"person\" required placeholder=\"person id\"> <button type=\"submit\">Link</button></form></td>");
                    }

                    h.Add($"</tr>");
                }

                h.Add($"</tbody></table>");
            }

            h.Add($"<h2>Manual links</h2><table><thead><tr><th>System</th><th>Account</th><th>Person</th><th>Linked by</th><th>When</th></tr></thead><tbody>");
            foreach (var l in links)
            {
                h.Add($"<tr><td>{l.SystemId}</td><td>{l.AccountExternalId}</td><td><a href=\"/people/{Uri.EscapeDataString(l.PersonId)}\">{l.PersonId}</a></td><td>{l.LinkedBy}</td><td>{Page.When(l.LinkedAt)}</td></tr>");
            }

            h.Add($"</tbody></table><p>To remove a manual link, link the account to its right owner (a link replaces the previous one).</p>");
        }, refusal?.Status ?? 200);
    }
}
