using System.Globalization;
using System.Text;
using Deprov.Core.Store;
using Deprov.Server.Metrics;
using Deprov.Server.Security;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Deprov.Server.Endpoints;

/// <summary>
/// Prometheus text exposition (version 0.0.4), written here: the OpenTelemetry Prometheus exporter is prerelease only.
/// Requires the read policy (an auditor API key for the scraper): queue depth and case counts are not public.
/// </summary>
public static class MetricsEndpoints
{
    public static IEndpointRouteBuilder MapMetricsEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", RenderAsync).RequireAuthorization(Policies.Read).ExcludeFromDescription();
        return app;
    }

    private static async Task<ContentHttpResult> RenderAsync(IStore store, DeprovMetrics metrics, TimeProvider time, CancellationToken ct)
    {
        var sb = new StringBuilder();
        var stats = await store.GetStatisticsAsync(time.GetUtcNow(), ct);
        var windows = await store.GetExposureWindowsAsync(null, ct);

        Header(sb, "deprov_exposure_window_seconds", "histogram", "Time from when access had to end to when its end was verified, per case");
        var exposure = new DeprovMetrics.Buckets(DeprovMetrics.ExposureBuckets);
        foreach (var w in windows)
        {
            exposure.Observe(w / 1000.0);
        }

        Histogram(sb, "deprov_exposure_window_seconds", string.Empty, exposure);

        Header(sb, "deprov_steps_total", "counter", "Finished step attempts by outcome since this server started");
        foreach (var (outcome, n) in metrics.StepCounts.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            sb.Append(CultureInfo.InvariantCulture, $"deprov_steps_total{{outcome=\"{outcome}\"}} {n}\n");
        }

        Header(sb, "deprov_connector_latency_seconds", "histogram", "Connector time per step attempt, by system");
        foreach (var (system, b) in metrics.Latency.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            Histogram(sb, "deprov_connector_latency_seconds", $"system=\"{Escape(system)}\",", b);
        }

        Header(sb, "deprov_queue_depth", "gauge", "Steps waiting, pending or running");
        sb.Append(CultureInfo.InvariantCulture, $"deprov_queue_depth {stats.PendingSteps}\n");
        Header(sb, "deprov_cases", "gauge", "Cases by status");
        foreach (var (status, n) in stats.CasesByStatus.OrderBy(kv => kv.Key))
        {
            sb.Append(CultureInfo.InvariantCulture, $"deprov_cases{{status=\"{Core.Model.Naming.Snake(status)}\"}} {n}\n");
        }

        Header(sb, "deprov_failed_steps", "gauge", "Steps failed, unconfirmed or blocked");
        sb.Append(CultureInfo.InvariantCulture, $"deprov_failed_steps {stats.FailedSteps}\n");
        Header(sb, "deprov_open_tasks", "gauge", "Open manual tasks");
        sb.Append(CultureInfo.InvariantCulture, $"deprov_open_tasks {stats.OpenTasks}\n");
        Header(sb, "deprov_overdue_tasks", "gauge", "Open manual tasks past due");
        sb.Append(CultureInfo.InvariantCulture, $"deprov_overdue_tasks {stats.OverdueTasks}\n");
        Header(sb, "deprov_parked_events", "gauge", "Events waiting for an unknown person");
        sb.Append(CultureInfo.InvariantCulture, $"deprov_parked_events {stats.ParkedEvents}\n");
        return TypedResults.Text(sb.ToString(), "text/plain; version=0.0.4; charset=utf-8");
    }

    private static void Header(StringBuilder sb, string name, string type, string help) =>
        sb.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} {type}\n");

    private static void Histogram(StringBuilder sb, string name, string labels, DeprovMetrics.Buckets b)
    {
        var (counts, count, sum) = b.Snapshot();
        for (var i = 0; i < b.Bounds.Length; i++)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels}le=\"{b.Bounds[i]}\"}} {counts[i]}\n");
        }

        sb.Append(CultureInfo.InvariantCulture, $"{name}_bucket{{{labels}le=\"+Inf\"}} {count}\n");
        var bare = labels.TrimEnd(',');
        sb.Append(CultureInfo.InvariantCulture, $"{name}_sum{(bare.Length > 0 ? "{" + bare + "}" : string.Empty)} {sum}\n");
        sb.Append(CultureInfo.InvariantCulture, $"{name}_count{(bare.Length > 0 ? "{" + bare + "}" : string.Empty)} {count}\n");
    }

    private static string Escape(string s) => s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal);
}
