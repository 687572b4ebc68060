using System.CommandLine;
using System.Globalization;
using Deprov.Core.HrSources;
using Deprov.Hosting.Execution;
using Deprov.Hosting.HrSources;
using Spectre.Console;

namespace Deprov.Cli.Commands;

/// <summary>sources, sources sync: the HR systems Deprov pulls from (<c>hr_sources:</c>).</summary>
public static class SourceCommands
{
    /// <summary>One source as <c>deprov sources</c> shows it.</summary>
    public sealed record SourceView(string Id, string Kind, string Interval, DateTimeOffset? LastRun, DateTimeOffset? LastSuccess, string? Cursor, double? LagSeconds,
        int? LastFullCount, string? LastError);

    public static IEnumerable<Command> Create(CliContext ctx)
    {
        var list = new Command("sources", "List the HR sources Deprov pulls from: kind, last run, cursor, lag (time since the last successful pull) and last error");
        list.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var now = engine.Time.GetUtcNow();
            var views = new List<SourceView>();
            foreach (var s in engine.HrSources.Values.OrderBy(s => s.Config.Id, StringComparer.Ordinal))
            {
                var st = await engine.Store.GetHrSourceStateAsync(s.Config.Id, ct);
                views.Add(new SourceView(s.Config.Id, s.Source.Kind, s.Config.Interval == TimeSpan.Zero ? "on demand" : Duration(s.Config.Interval), st?.LastRunAt,
                    st?.LastSuccessAt, st?.Cursor, st?.LagAt(now)?.TotalSeconds, st?.LastFullCount, st?.LastError));
            }

            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(views);
                return ExitCodes.Ok;
            }

            if (views.Count == 0)
            {
                ctx.Console.Line($"No HR sources: add an 'hr_sources:' list to deprov.yaml (see docs/hr-triggers.md).");
                return ExitCodes.Ok;
            }

            var t = new Table().AddColumns("id", "kind", "every", "last run", "cursor", "lag", "last full listing", "last error");
            foreach (var v in views)
            {
                t.Row(v.Id, v.Kind, v.Interval, v.LastRun?.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "never", v.Cursor ?? "-",
                    v.LagSeconds is { } lag ? Duration(TimeSpan.FromSeconds(lag)) : "-",
                    v.LastFullCount is { } n ? n.ToString("N0", CultureInfo.InvariantCulture) + " records" : "-",
                    v.LastError is null ? (SafeMarkup)$"[green]none[/]" : (SafeMarkup)$"[red]{Views.Truncate(v.LastError, 80)}[/]");
            }

            ctx.Console.Write(t);
            return views.Any(v => v.LastError is not null) ? ExitCodes.SystemError : ExitCodes.Ok;
        }));

        var id = new Argument<string>("source") { Description = "The HR source's id (hr_sources[].id)" };
        var full = new Option<bool>("--full") { Description = "Read every record (default: the changes since the cursor; a full listing when there is no cursor yet or one is due)" };
        var noRun = new Option<bool>("--no-run") { Description = "Plan what the pull implies but do not execute it now (the worker will)" };
        var sync = new Command("sync", "Pull one HR source now and act on what it says, as the schedule would") { id, full, noRun };
        sync.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var report = await new HrSourceRunner(engine).SyncAsync(pr.GetValue(id)!, pr.GetValue(full) ? true : null, ctx.Actor(pr), ct);
            if (report.Results.Count > 0 && !pr.GetValue(noRun))
            {
                await engine.RunAsync(RunMode.UntilIdle, ct);
            }

            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(report);
            }
            else
            {
                ctx.Console.Line($"{report.SourceId}: {(report.Full ? "full listing" : "changes since the cursor")}: read {report.Read} record(s) in {report.Calls} call(s)");
                foreach (var r in report.Results)
                {
                    ctx.Console.Line($"  {r.Event.Kind.ToString().ToLowerInvariant()} {r.Event.PersonId}: {r.Outcome.ToString().ToLowerInvariant()} ({Views.Truncate(r.Message, 100)})");
                }

                ctx.Console.Line($"  {report.Added.Count} added, {report.Updated.Count} updated, {report.Problems.Count} not used; cursor {report.Cursor ?? "-"}");
                foreach (var p in report.Problems.Concat(report.Notes))
                {
                    ctx.Console.Line($"  [grey]{p}[/]");
                }
            }

            if (report.Refused is not null)
            {
                await Console.Error.WriteLineAsync($"refused: {report.Refused}");
                return ExitCodes.InvalidInput;
            }

            if (report.Error is not null)
            {
                await Console.Error.WriteLineAsync($"error: {report.Error}");
                return ExitCodes.SystemError;
            }

            return report.Problems.Count > 0 ? ExitCodes.InvalidInput : ExitCodes.Ok;
        }));
        list.Subcommands.Add(sync);
        yield return list;
    }

    private static string Duration(TimeSpan t) =>
        t.TotalDays >= 1 ? $"{(int)t.TotalDays}d {t.Hours}h"
        : t.TotalHours >= 1 ? $"{(int)t.TotalHours}h {t.Minutes}m"
        : t.TotalMinutes >= 1 ? $"{(int)t.TotalMinutes}m {t.Seconds}s"
        : string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, t.TotalSeconds):0}s");
}
