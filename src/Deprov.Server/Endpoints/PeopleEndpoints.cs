using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using Deprov.Server.Console;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>People: the list and the profile (everything the person has or had), as API and page.</summary>
public static class PeopleEndpoints
{
    public static IEndpointRouteBuilder MapPeopleEndpoints(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/people").RequireAuthorization(Policies.Read).WithTags("People");
        api.MapGet("/", async (IStore store, int? limit, int? offset, CancellationToken ct) =>
            TypedResults.Ok(await store.ListPeopleAsync(Math.Clamp(limit ?? 100, 1, 1000), Math.Max(0, offset ?? 0), ct)));
        api.MapGet("/{id}", GetAsync);
        app.MapGet("/people", ListPageAsync).RequireAuthorization(Policies.Read).ExcludeFromDescription();
        app.MapGet("/people/{id}", PageAsync).RequireAuthorization(Policies.Read).ExcludeFromDescription();
        return app;
    }

    /// <summary>How many of the newest cases, tasks and audit records a profile shows.</summary>
    public const int ProfileLimit = 50;

    private static async Task<Results<Ok<PersonProfile>, NotFound>> GetAsync(IStore store, string id, CancellationToken ct) =>
        await store.GetPersonProfileAsync(id, ProfileLimit, ct) is { } p ? TypedResults.Ok(p) : TypedResults.NotFound();

    private static async Task<ContentHttpResult> ListPageAsync(HttpContext ctx, IStore store, string? q, int? offset, CancellationToken ct)
    {
        if (!string.IsNullOrWhiteSpace(q) && await store.GetPersonAsync(q.Trim(), ct) is { } found)
        {
            ctx.Response.Headers.Location = $"/people/{Uri.EscapeDataString(found.Id)}";
            return TypedResults.Content(string.Empty, statusCode: StatusCodes.Status303SeeOther);
        }

        var from = Math.Max(0, offset ?? 0);
        var people = await store.ListPeopleAsync(50, from, ct);
        return Page.Render(ctx, "People", h =>
        {
            h.Add($"<form method=\"get\" action=\"/people\"><label for=\"q\">Person id</label><input id=\"q\" name=\"q\" value=\"{q}\"> <button type=\"submit\">Open</button></form>");
            h.Add($"<table><thead><tr><th>Id</th><th>Name</th><th>Email</th><th>Department</th><th>Status</th></tr></thead><tbody>");
            foreach (var p in people)
            {
                h.Add($"<tr><td><a href=\"/people/{Uri.EscapeDataString(p.Id)}\">{p.Id}</a></td><td>{p.DisplayName}</td><td>{p.Email}</td><td>{p.Department}</td><td>{Page.Snake(p.Status)}</td></tr>");
            }

            h.Add($"</tbody></table><p>");
            if (from > 0)
            {
                h.Add($"<a href=\"/people?offset={Math.Max(0, from - 50)}\">Previous</a> ");
            }

            if (people.Count == 50)
            {
                h.Add($"<a href=\"/people?offset={from + 50}\">Next</a>");
            }

            h.Add($"</p>");
        });
    }

    private static async Task<ContentHttpResult> PageAsync(HttpContext ctx, IStore store, string id, CancellationToken ct)
    {
        if (await store.GetPersonProfileAsync(id, ProfileLimit, ct) is not { } p)
        {
            return Page.Message(ctx, "Person not found", $"There is no person '{id}'.", 404);
        }

        var m = p.Access;
        return Page.Render(ctx, $"{m.Person.DisplayName} ({m.Person.Id})", h =>
        {
            h.Add($"<p>{m.Person.Email} · {m.Person.Title}, {m.Person.Department} · {m.Person.Location} · {Page.Snake(m.Person.WorkerType)} · <strong>{Page.Snake(m.Person.Status)}</strong></p>");
            if (Page.Can(ctx, Policies.Submit))
            {
                h.Add($"<p><a id=\"offboard\" href=\"/events/new?person={Uri.EscapeDataString(m.Person.Id)}\">Submit an event for this person (offboard, move…)</a></p>");
            }

            var ents = m.Entitlements.ToDictionary(e => e.Id, StringComparer.Ordinal);
            h.Add($"<h2>Accounts ({m.Accounts.Count})</h2><table><thead><tr><th>System</th><th>User name</th><th>Tied by</th><th>Kind</th><th>Status</th><th>Last sign-in</th><th>Entitlements</th></tr></thead><tbody>");
            foreach (var a in m.Accounts)
            {
                var held = string.Join(", ", m.Assignments.Where(x => x.AccountId == a.Id).Select(x => ents.TryGetValue(x.EntitlementId, out var e) ? (e.Privileged ? e.Name + " (privileged)" : e.Name) : x.EntitlementId));
                h.Add($"<tr><td>{a.SystemId}</td><td>{a.UserName}</td><td>{a.CorrelationRule ?? "—"}</td><td>{Page.Snake(a.Kind)}</td><td class=\"status-{Page.Snake(a.Status)}\">{Page.Snake(a.Status)}</td><td>{Page.When(a.LastSignInAt)}</td><td>{held}</td></tr>");
            }

            h.Add($"</tbody></table><h2>Devices ({m.Devices.Count})</h2><table><thead><tr><th>System</th><th>Serial</th><th>Model</th><th>Status</th></tr></thead><tbody>");
            foreach (var d in m.Devices)
            {
                h.Add($"<tr><td>{d.SystemId}</td><td>{d.SerialNumber}</td><td>{d.Model}</td><td>{Page.Snake(d.Status)}</td></tr>");
            }

            h.Add($"</tbody></table><h2>Credentials known ({m.CredentialsKnown.Count}) and tokens owned ({m.CredentialsOwned.Count})</h2><table><thead><tr><th>Relation</th><th>System</th><th>Name</th><th>Kind</th></tr></thead><tbody>");
            foreach (var (rel, c) in m.CredentialsKnown.Select(c => ("knows", c)).Concat(m.CredentialsOwned.Select(c => ("owns", c))))
            {
                h.Add($"<tr><td>{rel}</td><td>{c.SystemId}</td><td>{c.Name}</td><td>{Page.Snake(c.Kind)}</td></tr>");
            }

            h.Add($"</tbody></table><h2>Legal holds</h2><ul>");
            foreach (var hold in m.Holds)
            {
                h.Add($"<li>{hold.SystemId ?? "all systems"}: {hold.Reason} (set by {hold.SetBy}, {Page.When(hold.SetAt)})</li>");
            }

            h.Add($"</ul><h2>Cases</h2>");
            CaseEndpoints.CaseTable(h, p.Cases);
            h.Add($"<h2>Tasks</h2>");
            TaskEndpoints.TaskTable(ctx, h, p.Tasks);
            h.Add($"<h2>History (latest 50 audit records)</h2>");
            AuditEndpoints.AuditTable(h, p.History);
        });
    }
}
