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
        var dryRun = r.DryRun ? (SafeMarkup)$"[yellow]dry run[/] — " : SafeMarkup.Empty;
        var rejected = r.Errors.Count > 0 ? (SafeMarkup)$"[red]{r.RejectedRows} rejected[/]" : "0 rejected";
        var replayed = r.Replayed > 0 ? $", {r.Replayed} parked event(s) replayed" : string.Empty;
        c.Line($"{dryRun}{path}: {r.Rows} row(s), {r.GoodRows} good, {rejected}; {r.Added.Count} new people, {r.Updated.Count} updated, {r.Events.Count} event(s){replayed}");
        foreach (var e in r.Errors)
        {
            c.Line($"  [red]row {e.Row}[/]{(e.Column is null ? string.Empty : $", column '{e.Column}'")}: {e.Problem}");
        }

        foreach (var n in r.Notes)
        {
            c.Line($"  [grey]{n}[/]");
        }

        foreach (var e in r.Events)
        {
            c.Line($"  {e.Kind.Snake()} {e.PersonId} effective {e.EffectiveAt:u}");
        }

        foreach (var res in r.Results)
        {
            var braked = res.Plan?.Case.Status == Core.Model.CaseStatus.AwaitingApproval ? (SafeMarkup)$" [yellow](held by the safety brake: deprov approve)[/]" : SafeMarkup.Empty;
            c.Line($"    → {res.Outcome.Snake()}: {res.Message}{braked}");
        }

        if (r.Missing.Count > 0)
        {
            c.Line($"  [yellow]{r.Missing.Count} known people are missing from this full roster[/]: {string.Join(", ", r.Missing.Take(20))}{(r.Missing.Count > 20 ? ", …" : string.Empty)}");
            c.Line($"  (policy roster.missing_people decides: ignore, or leave_after_confirmation with --confirm-missing)");
        }
    }
}
