using System.Globalization;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Deprov.Server.Console;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>The dashboard page and the statistics API.</summary>
public static class DashboardEndpoints
{
    public static IEndpointRouteBuilder MapDashboardEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/", DashboardAsync).RequireAuthorization(Policies.SignedIn).ExcludeFromDescription();
        app.MapGet("/api/stats", StatsAsync).RequireAuthorization(Policies.Read).WithTags("Status");
        return app;
    }

    /// <param name="Unplanned">Events recorded but not planned yet, and since when.</param>
    /// <param name="Worker">Whether this server runs the worker (plans events and runs steps); when not, another process must.</param>
    public sealed record Stats(StoreStatistics Store, Percentiles ExposureMs, UnplannedEvents Unplanned, bool Worker);

    public sealed record Percentiles(int Count, double? P50, double? P95, double? P99);

    public static Percentiles Of(IReadOnlyList<double> sorted) => sorted.Count == 0
        ? new Percentiles(0, null, null, null)
        : new Percentiles(sorted.Count, At(sorted, 0.50), At(sorted, 0.95), At(sorted, 0.99));

    private static double At(IReadOnlyList<double> sorted, double q) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(q * sorted.Count) - 1)];

    private static async Task<Ok<Stats>> StatsAsync(IStore store, TimeProvider time, Hosting.Execution.DeprovEngine engine, CancellationToken ct) =>
        TypedResults.Ok(new Stats(await store.GetStatisticsAsync(time.GetUtcNow(), ct), Of(await store.GetExposureWindowsAsync(null, ct)),
            await store.GetUnplannedEventsAsync(ct), engine.IsWorker));

    private static async Task<Results<ContentHttpResult, RedirectHttpResult>> DashboardAsync(HttpContext ctx, IStore store, TimeProvider time, CancellationToken ct)
    {
        if (!Page.Can(ctx, Policies.Read))
        {
            return TypedResults.Redirect("/events/new"); // hr: the only thing it can do
        }

        var now = time.GetUtcNow();
        var statsTask = store.GetStatisticsAsync(now, ct);
        var seriesTask = store.GetExposureSeriesAsync(now.AddDays(-30), ct);
        var brakedTask = store.ListCasesAsync(new CaseQuery(Statuses: [CaseStatus.AwaitingApproval], Limit: 20), ct);
        var openTask = store.ListCasesAsync(new CaseQuery(Statuses: [CaseStatus.Running, CaseStatus.Unverified], Limit: 20), ct);
        var tasksTask = store.ListTasksAsync(new TaskQuery(Limit: 200), ct);
        var parkedTask = store.ListParkedEventsAsync(ct);
        await Task.WhenAll(statsTask, seriesTask, brakedTask, openTask, tasksTask, parkedTask);
        var stats = await statsTask;
        var series = await seriesTask;
        var open = await openTask;
        var braked = await brakedTask;
        var overdue = (await tasksTask).Where(t => t.DueAt < now).Take(20).ToList();
        var parked = (await parkedTask).Take(20).ToList();

        return Page.Render(ctx, "Dashboard", h =>
        {
            int N(CaseStatus s) => stats.CasesByStatus.TryGetValue(s, out var n) ? n : 0;
            h.Add($"<section class=\"cards\" aria-label=\"Counts\">");
            Card(h, "Open cases", N(CaseStatus.Running) + N(CaseStatus.Scheduled) + N(CaseStatus.Unverified), "open-cases");
            Card(h, "Failed steps", stats.FailedSteps, "failed-steps");
            Card(h, "Parked events", stats.ParkedEvents, "parked-events");
            Card(h, "Overdue tasks", stats.OverdueTasks, "overdue-tasks");
            Card(h, "Open tasks", stats.OpenTasks, "open-tasks");
            Card(h, "Paused by safety brake", N(CaseStatus.AwaitingApproval), "braked");
            Card(h, "Verified cases", N(CaseStatus.Verified), "verified");
            h.Add($"</section><h2>Exposure window, last 30 days</h2>");
            Chart(h, series, now);
            h.Add($"<h2>Open cases</h2>");
            CaseEndpoints.CaseTable(h, open);
            h.Add($"<h2>Paused by the safety brake</h2>");
            CaseEndpoints.CaseTable(h, braked);
            h.Add($"<h2>Overdue tasks</h2>");
            TaskEndpoints.TaskTable(ctx, h, overdue);
            h.Add($"<h2>Parked events</h2><table><thead><tr><th>Event</th><th>Kind</th><th>Person</th><th>Reason</th><th>Parked</th></tr></thead><tbody>");
            foreach (var p in parked)
            {
                h.Add($"<tr><td>{p.Event.Id}</td><td>{(DeprovEngine.IsKnownEvent(p) ? Page.Snake(p.Event.Kind) : "unknown")}</td><td>{p.Event.PersonId}</td><td>{p.Reason}</td><td>{Page.When(p.ParkedAt)}</td></tr>");
            }

            h.Add($"</tbody></table>");
        });
    }

    private static void Card(Html h, string label, long n, string id) =>
        h.Add($"<div class=\"card\"><div class=\"n\" id=\"{id}\">{n}</div><div>{label}</div></div>");

    /// <summary>p50/p95/p99 per day as an inline SVG (no script, no CDN).</summary>
    private static void Chart(Html h, IReadOnlyList<ExposurePoint> series, DateTimeOffset now)
    {
        const int W = 720, Ht = 220, Pad = 40;
        var days = series.GroupBy(p => p.VerifiedAt.UtcDateTime.Date).OrderBy(g => g.Key)
            .Select(g => (Day: g.Key, P: Of(g.Select(p => p.WindowMs).Order().ToList()))).ToList();
        var max = Math.Max(1, days.Count == 0 ? 1 : days.Max(d => d.P.P99 ?? 0));
        var start = now.UtcDateTime.Date.AddDays(-29);
        string X(DateTime d) => (Pad + ((d - start).TotalDays / 29.0 * (W - 2 * Pad))).ToString("0.#", CultureInfo.InvariantCulture);
        string Y(double v) => (Ht - Pad - (v / max * (Ht - 2 * Pad))).ToString("0.#", CultureInfo.InvariantCulture);
        var summary = days.Count == 0 ? "No verified cuts in the last 30 days." :
            $"Latest day {days[^1].Day:yyyy-MM-dd}: p50 {days[^1].P.P50:0} ms, p95 {days[^1].P.P95:0} ms, p99 {days[^1].P.P99:0} ms over {days[^1].P.Count} cases.";
        h.Add($"<svg class=\"chart\" viewBox=\"0 0 {W} {Ht}\" width=\"{W}\" height=\"{Ht}\" role=\"img\" aria-label=\"{summary}\">");
        h.Add($"<line x1=\"{Pad}\" y1=\"{Ht - Pad}\" x2=\"{W - Pad}\" y2=\"{Ht - Pad}\" stroke=\"#57606a\"/><line x1=\"{Pad}\" y1=\"{Pad}\" x2=\"{Pad}\" y2=\"{Ht - Pad}\" stroke=\"#57606a\"/>");
        h.Add($"<text x=\"4\" y=\"{Pad - 8}\" font-size=\"11\">{max.ToString("0", CultureInfo.InvariantCulture)} ms</text><text x=\"{Pad}\" y=\"{Ht - 8}\" font-size=\"11\">{start:yyyy-MM-dd}</text><text x=\"{W - Pad - 60}\" y=\"{Ht - 8}\" font-size=\"11\">{now:yyyy-MM-dd}</text>");
        foreach (var (name, color, pick) in new (string, string, Func<Percentiles, double?>)[] { ("p50", "#1a7f37", p => p.P50), ("p95", "#9a6700", p => p.P95), ("p99", "#b3261e", p => p.P99) })
        {
            var pts = string.Join(' ', days.Select(d => $"{X(d.Day)},{Y(pick(d.P) ?? 0)}"));
            h.Add($"<polyline fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" points=\"{pts}\"><title>{name}</title></polyline>");
            foreach (var d in days)
            {
                h.Add($"<circle cx=\"{X(d.Day)}\" cy=\"{Y(pick(d.P) ?? 0)}\" r=\"3\" fill=\"{color}\"><title>{name} {d.Day:yyyy-MM-dd}: {pick(d.P) ?? 0:0} ms</title></circle>");
            }
        }

        h.Add($"</svg><p class=\"legend\"><span class=\"p50\">■ p50</span><span class=\"p95\">■ p95</span><span class=\"p99\">■ p99</span> {summary}</p>");
    }
}
