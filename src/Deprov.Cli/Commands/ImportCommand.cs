using System.CommandLine;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Hosting;
using Deprov.Hosting.Execution;
using Deprov.Hosting.Roster;
using Spectre.Console;

namespace Deprov.Cli.Commands;

/// <summary><c>deprov import roster.csv</c>: the HR roster compared with what Deprov knows, and the events it implies.</summary>
public static class ImportCommand
{
    public static Command Create(CliContext ctx)
    {
        var file = new Argument<string>("file") { Description = "The roster CSV (columns and date formats: roster: in deprov.yaml)" };
        var full = new Option<bool>("--full") { Description = "The file lists everyone: report people Deprov knows who are missing from it" };
        var confirm = new Option<bool>("--confirm-missing") { Description = "With --full and missing_people: leave_after_confirmation, offboard the missing" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would happen; change nothing" };
        var cmd = new Command("import", "Import an HR roster: new people, termination dates, contract ends, department and title changes") { file, full, confirm, dryRun };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            var path = pr.GetValue(file)!;
            if (!File.Exists(path))
            {
                throw new NotFoundException($"There is no file '{path}'.");
            }

            await using var engine = await ctx.OpenAsync(pr, ct);
            RosterReport report;
            await using (var stream = File.OpenRead(path))
            {
                report = await new RosterImporter(engine).ImportAsync(stream, new ImportOptions(pr.GetValue(full), pr.GetValue(confirm), pr.GetValue(dryRun)), ctx.Actor(pr), ct);
            }

            if (!report.DryRun && report.Results.Any(r => r.Plan is not null))
            {
                using var workerLock = DeprovHost.TryAcquireWorkerLock(engine.Config);
                if (workerLock is not null)
                {
                    await engine.RunAsync(RunMode.UntilIdle, ct);
                }
            }

            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(new
                {
                    report.Rows,
                    report.GoodRows,
                    report.RejectedRows,
                    report.Errors,
                    report.Added,
                    report.Updated,
                    events = report.Events.Select(e => new { e.Kind, e.PersonId, e.EffectiveAt, e.IdempotencyKey }),
                    results = report.Results.Select(r => new { r.Outcome, r.Event.PersonId, r.Event.Kind, caseId = r.Plan?.Case.Id, status = r.Plan?.Case.Status, r.Message }),
                    report.Missing,
                    report.Replayed,
                    report.DryRun,
                    report.Notes,
                });
            }
            else
            {
                Render(ctx.Console, path, report);
            }

            // Any rejected row (or a refused file) is exit 2, even though the good rows were imported: the operator must look.
            return report.Errors.Count > 0 ? ExitCodes.InvalidInput : ExitCodes.Ok;
        }));
        return cmd;
    }

    private static void Render(IAnsiConsole c, string path, RosterReport r)
    {
        c.MarkupLine($"{(r.DryRun ? "[yellow]dry run[/] — " : string.Empty)}{Views.E(path)}: {r.Rows} row(s), {r.GoodRows} good, {(r.Errors.Count > 0 ? $"[red]{r.RejectedRows} rejected[/]" : "0 rejected")}; " +
            $"{r.Added.Count} new people, {r.Updated.Count} updated, {r.Events.Count} event(s)" + (r.Replayed > 0 ? $", {r.Replayed} parked event(s) replayed" : string.Empty));
        foreach (var e in r.Errors)
        {
            c.MarkupLine($"  [red]row {e.Row}[/]{(e.Column is null ? string.Empty : $", column '{Views.E(e.Column)}'")}: {Views.E(e.Problem)}");
        }

        foreach (var n in r.Notes)
        {
            c.MarkupLine($"  [grey]{Views.E(n)}[/]");
        }

        foreach (var e in r.Events)
        {
            c.MarkupLine($"  {e.Kind.Snake()} {Views.E(e.PersonId)} effective {e.EffectiveAt:u}");
        }

        foreach (var res in r.Results)
        {
            c.MarkupLine($"    → {res.Outcome.Snake()}: {Views.E(res.Message)}" + (res.Plan?.Case.Status == Core.Model.CaseStatus.AwaitingApproval ? " [yellow](held by the safety brake: deprov approve)[/]" : string.Empty));
        }

        if (r.Missing.Count > 0)
        {
            c.MarkupLine($"  [yellow]{r.Missing.Count} known people are missing from this full roster[/]: {Views.E(string.Join(", ", r.Missing.Take(20)))}{(r.Missing.Count > 20 ? ", …" : string.Empty)}");
            c.MarkupLine("  (policy roster.missing_people decides: ignore, or leave_after_confirmation with --confirm-missing)");
        }
    }
}
