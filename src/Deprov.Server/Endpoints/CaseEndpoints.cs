using System.Text.Json;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Server.Console;
using Deprov.Server.Live;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>Cases: list and timeline (API and page) and the live timeline feed (server-sent events).</summary>
public static class CaseEndpoints
{
    public static IEndpointRouteBuilder MapCaseEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/cases").RequireAuthorization(Policies.Read).WithTags("Cases");
        api.MapGet("/", ListAsync);
        api.MapGet("/{id}", GetAsync);
        app.MapGet("/cases/{id}", PageAsync).RequireAuthorization(Policies.Read).ExcludeFromDescription();
        app.MapGet("/live/cases/{id}", LiveAsync).RequireAuthorization(Policies.Read).ExcludeFromDescription();
        return app;
    }

    public sealed record CaseView(Case Case, IReadOnlyList<Step> Steps);

    private static async Task<Results<Ok<IReadOnlyList<Case>>, ProblemHttpResult>> ListAsync(IStore store, string? person, string? status, int? limit, CancellationToken ct)
    {
        IReadOnlyList<CaseStatus>? statuses = null;
        if (status is not null)
        {
            if (!Naming.TryParseEnum<CaseStatus>(status, out var s))
            {
                return TypedResults.Problem(statusCode: 400, title: $"'{status}' is not a case status.", detail: $"Use one of: {Naming.AllowedValues<CaseStatus>()}.");
            }

            statuses = [s];
        }

        return TypedResults.Ok(await store.ListCasesAsync(new CaseQuery(person, statuses, Math.Clamp(limit ?? 100, 1, 1000)), ct));
    }

    private static async Task<Results<Ok<CaseView>, NotFound>> GetAsync(IStore store, string id, CancellationToken ct) =>
        await store.GetCaseAsync(id, ct) is { } c ? TypedResults.Ok(new CaseView(c, await store.GetStepsAsync(id, ct))) : TypedResults.NotFound();

    private static async Task<ContentHttpResult> PageAsync(HttpContext ctx, IStore store, string id, CancellationToken ct)
    {
        if (await store.GetCaseAsync(id, ct) is not { } c)
        {
            return Page.Message(ctx, "Case not found", $"There is no case '{id}'.", 404);
        }

        var steps = await store.GetStepsAsync(id, ct);
        return Page.Render(ctx, $"Case {c.Id}", h =>
        {
            var status = Page.Snake(c.Status);
            h.Add($"<section data-live-case=\"{c.Id}\"><p>Person <a href=\"/people/{Uri.EscapeDataString(c.PersonId)}\">{c.PersonId}</a> · {Page.Snake(c.Kind)} · rule {c.PolicyRule} · plan {c.Plan}</p>");
            h.Add($"<p>Status: <strong id=\"case-status\" class=\"status-{status}\" aria-live=\"polite\">{status}</strong> {c.StatusDetail}</p>");
            h.Add($"<p>Cut due {Page.When(c.CutAt)} · cut verified <span id=\"cut-verified\" aria-live=\"polite\">{Page.When(c.CutVerifiedAt)}</span> · exposure window {(c.ExposureWindow is { } w ? $"{w.TotalMilliseconds:0} ms" : "—")}</p></section>");
            h.Add($"<table><caption>Steps</caption><thead><tr><th>#</th><th>Action</th><th>System</th><th>Target</th><th>Status</th><th>Due</th><th>Started</th><th>Finished</th><th>Tries / calls</th><th>Before</th><th>After</th><th>Error</th></tr></thead><tbody>");
            foreach (var s in steps)
            {
                var st = Page.Snake(s.Status);
                h.Add($"<tr><td>{s.Seq}</td><td>{s.Action.ToSnake()}</td><td>{s.SystemId}</td><td>{s.Target}</td><td id=\"step-status-{s.Id}\" class=\"status-{st}\">{st}</td>");
                h.Add($"<td>{Page.When(s.DueAt)}</td><td>{Page.When(s.StartedAt)}</td><td id=\"step-finished-{s.Id}\">{Page.When(s.FinishedAt)}</td><td>{s.Claims} / {s.Attempts}</td><td><pre>{s.Before}</pre></td><td><pre>{s.After}</pre></td><td>{s.Error ?? s.WaitReason}</td></tr>");
            }

            h.Add($"</tbody></table>");
        });
    }

    /// <summary>Sends the case's status and steps now, then again whenever a step changes (woken by the engine, or every
    /// 2 s for a worker in another process), until the case closes or the client leaves.</summary>
    private static async Task LiveAsync(HttpContext ctx, IStore store, CaseFeed feed, string id, CancellationToken ct)
    {
        ctx.Response.ContentType = "text/event-stream";
        ctx.Response.Headers.CacheControl = "no-store";
        await ctx.Response.Body.FlushAsync(ct);
        using var sub = feed.Subscribe(id);
        var last = string.Empty;
        while (!ct.IsCancellationRequested)
        {
            if (await store.GetCaseAsync(id, ct) is not { } c)
            {
                return;
            }

            var steps = await store.GetStepsAsync(id, ct);
            var closed = c.Status is CaseStatus.Verified or CaseStatus.Cancelled && steps.All(s => s.Status.IsTerminal());
            var json = JsonSerializer.Serialize(new
            {
                status = Page.Snake(c.Status),
                closed,
                cutVerified = c.CutVerifiedAt is null ? null : Page.When(c.CutVerifiedAt),
                steps = steps.Select(s => new { id = s.Id, status = Page.Snake(s.Status), finished = s.FinishedAt is null ? null : Page.When(s.FinishedAt) }),
            });
            if (json != last)
            {
                await ctx.Response.WriteAsync($"event: case\ndata: {json}\n\n", ct);
                await ctx.Response.Body.FlushAsync(ct);
                last = json;
            }

            if (closed)
            {
                return;
            }

            using var tick = CancellationTokenSource.CreateLinkedTokenSource(ct);
            tick.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await sub.Channel.Reader.WaitToReadAsync(tick.Token);
                sub.Channel.Reader.TryRead(out _);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // The periodic re-read.
            }
        }
    }

    public static void CaseTable(Html h, IReadOnlyList<Case> cases)
    {
        h.Add($"<table><thead><tr><th>Case</th><th>Person</th><th>Kind</th><th>Status</th><th>Cut due</th><th>Verified</th></tr></thead><tbody>");
        foreach (var c in cases)
        {
            var st = Page.Snake(c.Status);
            h.Add($"<tr><td><a href=\"/cases/{Uri.EscapeDataString(c.Id)}\">{c.Id}</a></td><td><a href=\"/people/{Uri.EscapeDataString(c.PersonId)}\">{c.PersonId}</a></td><td>{Page.Snake(c.Kind)}</td><td class=\"status-{st}\">{st}</td><td>{Page.When(c.CutAt)}</td><td>{Page.When(c.CutVerifiedAt)}</td></tr>");
        }

        h.Add($"</tbody></table>");
    }
}
