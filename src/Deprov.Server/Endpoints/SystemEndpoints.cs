using Deprov.Core.Store;
using Deprov.Hosting.Diagnostics;
using Deprov.Hosting.Execution;
using Deprov.Server.Console;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>Connected systems: connector, supported actions, rate-limit pause state and last discovery.</summary>
public static class SystemEndpoints
{
    public static IEndpointRouteBuilder MapSystemEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/systems", async (DeprovEngine engine, IStore store, CancellationToken ct) => TypedResults.Ok(await LoadAsync(engine, store, ct)))
            .RequireAuthorization(Policies.Read).WithTags("Systems");
        app.MapGet("/api/systems/{id}/check", CheckAsync).RequireAuthorization(Policies.Operate).WithTags("Systems");
        app.MapGet("/systems", PageAsync).RequireAuthorization(Policies.Read).ExcludeFromDescription();
        return app;
    }

    /// <summary>The doctor's read-only probes of one system (as <c>deprov check</c>): 200 with every probe, passed or not.</summary>
    private static async Task<Results<Ok<SystemCheck>, ProblemHttpResult>> CheckAsync(string id, DeprovEngine engine, CancellationToken ct) =>
        engine.Systems.TryGetValue(id, out var system)
            ? TypedResults.Ok(await SystemDoctor.CheckAsync(system, ct))
            : TypedResults.Problem(statusCode: 404, title: "No such system.",
                detail: $"There is no system '{id}'. Configured: {string.Join(", ", engine.Systems.Keys.Order(StringComparer.Ordinal))}.");

    public sealed record SystemView(string Id, string DisplayName, string Kind, string Role, string Risk, IReadOnlyList<string> Supports,
        DateTimeOffset? PausedUntil, int Concurrency, double RateLimitPerSecond, DateTimeOffset? LastDiscovery, string? LastDiscoveryResult);

    private static async Task<IReadOnlyList<SystemView>> LoadAsync(DeprovEngine engine, IStore store, CancellationToken ct)
    {
        var now = engine.Time.GetUtcNow();
        var list = new List<SystemView>();
        foreach (var s in engine.Config.Systems)
        {
            var rt = engine.Systems[s.System.Id];
            var last = (await store.SearchAuditAsync(new AuditQuery(Actor: "deprov", Action: "discovery", Limit: 200), ct)).FirstOrDefault(r => r.Entry.SystemId == s.System.Id);
            list.Add(new SystemView(s.System.Id, s.System.DisplayName, s.System.Kind, Page.Snake(s.System.Role), Page.Snake(s.System.Risk),
                rt.Descriptor.Supported.Select(a => Core.Model.ActionKinds.ToSnake(a)).Order(StringComparer.Ordinal).ToList(),
                rt.PausedUntil > now ? rt.PausedUntil : null, s.Concurrency, s.RateLimitPerSecond, last?.Entry.At, last?.Entry.Detail ?? last?.Entry.Outcome));
        }

        return list;
    }

    private static async Task<ContentHttpResult> PageAsync(HttpContext ctx, DeprovEngine engine, IStore store, CancellationToken ct)
    {
        var systems = await LoadAsync(engine, store, ct);
        return Page.Render(ctx, "Systems", h =>
        {
            h.Add($"<table><thead><tr><th>System</th><th>Connector</th><th>Role</th><th>Risk</th><th>Rate limit</th><th>Paused until (Retry-After)</th><th>Last discovery</th><th>Supports</th></tr></thead><tbody>");
            foreach (var s in systems)
            {
                h.Add($"<tr><td>{s.DisplayName} ({s.Id})</td><td>{s.Kind}</td><td>{s.Role}</td><td>{s.Risk}</td><td>{s.Concurrency} concurrent, {s.RateLimitPerSecond}/s</td>");
                h.Add($"<td>{(s.PausedUntil is null ? "not paused" : Page.When(s.PausedUntil))}</td><td>{Page.When(s.LastDiscovery)} {s.LastDiscoveryResult}</td><td>{string.Join(", ", s.Supports)}</td></tr>");
            }

            h.Add($"</tbody></table><p><a href=\"/links\">Accounts without an owner, and manual links</a></p>");
        });
    }
}
