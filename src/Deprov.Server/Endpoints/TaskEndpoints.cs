using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Server.Console;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>The task queue and task completion.</summary>
public static class TaskEndpoints
{
    public static IEndpointRouteBuilder MapTaskEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/tasks", async (IStore store, bool? all, string? person, CancellationToken ct) =>
            TypedResults.Ok(await store.ListTasksAsync(new TaskQuery(OpenOnly: all != true, PersonId: person), ct))).RequireAuthorization(Policies.Read).WithTags("Tasks");
        app.MapPost("/api/tasks/{id}/complete", CompleteAsync).RequireAuthorization(Policies.Operate).WithTags("Tasks");
        app.MapGet("/tasks", PageAsync).RequireAuthorization(Policies.Read).ExcludeFromDescription();
        app.MapPost("/tasks/{id}/complete", CompleteFormAsync).RequireAuthorization(Policies.Operate).ExcludeFromDescription();
        return app;
    }

    public sealed record CompleteRequest(string? Note);

    private static async Task<Results<Ok<TaskItem>, ProblemHttpResult>> CompleteAsync(string id, CompleteRequest? body, HttpContext ctx, IStore store, TimeProvider time, CancellationToken ct)
    {
        try
        {
            return TypedResults.Ok(await store.CompleteTaskAsync(id, ctx.User.Actor(), body?.Note, time.GetUtcNow(), ct));
        }
        catch (ValidationException ex)
        {
            return TypedResults.Problem(statusCode: ex.Message.StartsWith("There is no", StringComparison.Ordinal) ? 404 : 409, title: "The task was not completed.", detail: ex.Message);
        }
    }

    private static async Task<Results<RedirectHttpResult, ContentHttpResult>> CompleteFormAsync(string id, HttpContext ctx, IStore store, TimeProvider time, CancellationToken ct)
    {
        var f = await ctx.Request.ReadFormAsync(ct);
        try
        {
            await store.CompleteTaskAsync(id, ctx.User.Actor(), f["note"].ToString() is { Length: > 0 } n ? n : null, time.GetUtcNow(), ct);
            return TypedResults.Redirect("/tasks");
        }
        catch (ValidationException ex)
        {
            return Page.Message(ctx, "Task not completed", ex.Message, 409);
        }
    }

    private static async Task<ContentHttpResult> PageAsync(HttpContext ctx, IStore store, bool? all, CancellationToken ct)
    {
        var tasks = await store.ListTasksAsync(new TaskQuery(OpenOnly: all != true), ct);
        return Page.Render(ctx, all == true ? "All tasks" : "Open tasks", h =>
        {
            h.Add($"<p><a href=\"/tasks{(all == true ? string.Empty : "?all=true")}\">{(all == true ? "Show open tasks only" : "Show all tasks")}</a></p>");
            TaskTable(ctx, h, tasks);
        });
    }

    public static void TaskTable(HttpContext ctx, Html h, IReadOnlyList<TaskItem> tasks)
    {
        var canComplete = Page.Can(ctx, Policies.Operate);
        h.Add($"<table><thead><tr><th>Task</th><th>Team</th><th>Title</th><th>Person</th><th>Case</th><th>Due</th><th>Status</th><th>Action</th></tr></thead><tbody>");
        foreach (var t in tasks)
        {
            h.Add($"<tr id=\"task-{t.Id}\"><td>{t.Id}</td><td>{Page.Snake(t.Team)}</td><td>{t.Title}<br><small>{t.Detail}</small></td><td>{t.PersonId}</td>");
            h.Add($"<td>{(t.CaseId is null ? new Raw(string.Empty) : new Raw($"<a href=\"/cases/{Html.Encode(Uri.EscapeDataString(t.CaseId))}\">{Html.Encode(t.CaseId)}</a>"))}</td><td>{Page.When(t.DueAt)}</td><td>{Page.Snake(t.Status)}</td><td>");
            if (canComplete && t.Status == Core.Model.TaskStatus.Open)
            {
                h.Add($"<form method=\"post\" action=\"/tasks/{t.Id}/complete\" class=\"inline\">{Page.Csrf(ctx)}<label for=\"note-{t.Id}\" class=\"sr\">Note</label><input id=\"note-{t.Id}\" name=\"note\" placeholder=\"note\"> <button type=\"submit\">Complete</button></form>");
            }
            else if (t.CompletedBy is not null)
            {
                h.Add($"{t.CompletedBy}, {Page.When(t.CompletedAt)}");
            }

            h.Add($"</td></tr>");
        }

        h.Add($"</tbody></table>");
    }
}
