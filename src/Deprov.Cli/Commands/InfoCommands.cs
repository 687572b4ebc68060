using System.CommandLine;
using Deprov.Core;
using Deprov.Core.Execution;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Audit;
using Spectre.Console;

namespace Deprov.Cli.Commands;

/// <summary>person, status, tasks, audit.</summary>
public static class InfoCommands
{
    public static IEnumerable<Command> Create(CliContext ctx)
    {
        yield return Person(ctx);
        yield return Status(ctx);
        yield return Tasks(ctx);
        yield return Audit(ctx);
    }

    private static Command Person(CliContext ctx)
    {
        var id = new Argument<string>("person") { Description = "HR id of the person" };
        var cmd = new Command("person", "Everything a person has: accounts, entitlements, devices, credentials known, tokens owned, cases, tasks") { id };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var maps = await engine.Store.GetAccessMapsAsync([pr.GetValue(id)!], ct);
            if (maps.Count == 0)
            {
                throw new NotFoundException($"There is no person '{pr.GetValue(id)}'. Check the HR id; 'deprov status' lists parked events for unknown people.");
            }

            var cases = await engine.Store.ListCasesAsync(new CaseQuery(pr.GetValue(id)), ct);
            var tasks = await engine.Store.ListTasksAsync(new TaskQuery(OpenOnly: false, PersonId: pr.GetValue(id)), ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(new { access = maps[0], cases, tasks });
            }
            else
            {
                Views.Person(ctx.Console, maps[0], cases, tasks, ctx.Time.GetUtcNow());
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Status(CliContext ctx)
    {
        var cmd = new Command("status", "Cases by status, exposure-window percentiles, parked events, failed steps, open and overdue tasks");
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var now = ctx.Time.GetUtcNow();
            var stats = await engine.Store.GetStatisticsAsync(now, ct);
            var windows = await engine.Store.GetExposureWindowsAsync(null, ct);
            var parked = await engine.Store.ListParkedEventsAsync(ct);
            var unplanned = await engine.Store.GetUnplannedEventsAsync(ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(new
                {
                    cases = stats.CasesByStatus,
                    exposure = new { count = windows.Count, p50Ms = Pct(windows, 50), p95Ms = Pct(windows, 95), p99Ms = Pct(windows, 99) },
                    parked = parked.Select(p => new { p.Event.Id, p.Event.Kind, p.Event.PersonId, p.Reason, p.ParkedAt }),
                    unplanned = new { count = unplanned.Count, since = unplanned.Since },
                    stats.OpenTasks,
                    stats.OverdueTasks,
                    stats.FailedSteps,
                    stats.PendingSteps,
                    stats.HeldSteps,
                    stats.AuditRecords,
                });
                return ExitCodes.Ok;
            }

            var c = ctx.Console;
            c.Line($"cases: {string.Join(" · ", Enum.GetValues<CaseStatus>().Select(s => $"{s.Snake()} {stats.CasesByStatus.GetValueOrDefault(s)}"))}");
            Views.Exposure(c, windows);
            c.Line($"steps: {stats.PendingSteps} pending · {(stats.FailedSteps > 0 ? (SafeMarkup)$"[red]{stats.FailedSteps} failed[/]" : "0 failed")} · {stats.HeldSteps} held by legal hold");
            c.Line($"tasks: {stats.OpenTasks} open · {(stats.OverdueTasks > 0 ? (SafeMarkup)$"[red]{stats.OverdueTasks} overdue[/]" : "0 overdue")}");
            c.Line(unplanned.Since is { } since
                ? $"[yellow]events recorded, not planned: {unplanned.Count}[/] (oldest received {since:u}); a worker plans them: 'deprov serve' or 'deprov run'"
                : (SafeMarkup)$"events recorded, not planned: 0");
            c.Line($"parked events: {parked.Count}");
            foreach (var p in parked)
            {
                c.Line($"  [yellow]{p.Event.Id}[/] {(Deprov.Hosting.Execution.DeprovEngine.IsKnownEvent(p) ? p.Event.Kind.Snake() : "unknown event")} for {p.Event.PersonId} from {p.Event.Source}: {p.Reason}");
            }

            c.Line($"audit records: {stats.AuditRecords}");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static double? Pct(IReadOnlyList<double> windows, double p) => windows.Count == 0 ? null : Percentiles.Of(windows, p);

    private static Command Tasks(CliContext ctx)
    {
        var team = new Option<string>("--team") { Description = "it | hr | security | facilities" };
        var all = new Option<bool>("--all") { Description = "Include completed tasks" };
        var person = new Option<string>("--person") { Description = "Only this person's tasks" };
        var cmd = new Command("tasks", "Manual work: list tasks (open ones by default)") { team, all, person };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            Team? t = null;
            if (pr.GetValue(team) is { } text)
            {
                t = Naming.TryParseEnum<Team>(text, out var v) ? v
                    : throw new ValidationException([new ValidationError(null, null, "--team", $"'{text}' is not a team.", $"use one of: {Naming.AllowedValues<Team>()}.")]);
            }

            await using var engine = await ctx.OpenAsync(pr, ct);
            var tasks = await engine.Store.ListTasksAsync(new TaskQuery(!pr.GetValue(all), t, pr.GetValue(person)), ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(tasks);
                return ExitCodes.Ok;
            }

            var now = ctx.Time.GetUtcNow();
            var table = new Table().Border(TableBorder.Simple);
            table.AddColumns("task", "team", "person", "title", "due", "status");
            foreach (var x in tasks)
            {
                var overdue = x.Status == Core.Model.TaskStatus.Open && x.DueAt < now;
                table.Row(x.Id, x.Team.Snake(), x.PersonId, Views.Truncate(x.Title, 70),
                    overdue ? (SafeMarkup)$"[red]{Views.When(x.DueAt, now)} OVERDUE[/]" : Views.When(x.DueAt, now),
                    x.Status switch { Core.Model.TaskStatus.Open => "open", Core.Model.TaskStatus.Cancelled => "cancelled", _ => $"done by {x.CompletedBy}" });
            }

            ctx.Console.Write(table);
            return ExitCodes.Ok;
        }));

        var id = new Argument<string>("task") { Description = "Task id (T-...)" };
        var by = new Option<string>("--by") { Description = "Who did the work (required)", Required = true };
        var note = new Option<string>("--note") { Description = "What was done (e.g. 'laptop received, asset tag 1234')" };
        var complete = new Command("complete", "Mark a task done, recording who and when") { id, by, note };
        complete.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var done = await engine.Store.CompleteTaskAsync(pr.GetValue(id)!, $"admin:{pr.GetValue(by)}", pr.GetValue(note), ctx.Time.GetUtcNow(), ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(done);
            }
            else
            {
                ctx.Console.Line($"task {done.Id} done by {done.CompletedBy} at {done.CompletedAt:u}");
            }

            return ExitCodes.Ok;
        }));
        cmd.Subcommands.Add(complete);
        return cmd;
    }

    private static Command Audit(CliContext ctx)
    {
        var audit = new Command("audit", "The tamper-evident audit trail");
        var verify = EvidenceCommands.Verify(ctx);
        audit.Subcommands.Add(verify);

        var person = new Option<string>("--person") { Description = "Whose evidence (HR id)", Required = true };
        var format = new Option<string>("--format") { Description = "csv | json | html", DefaultValueFactory = _ => "html" };
        var output = new Option<string>("--out", "-o") { Description = "Write to this file (default: standard output)" };
        var export = new Command("export", "Evidence of when each access ended and by whom, for SOX / HIPAA / GDPR reviews") { person, format, output };
        export.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            if (!Naming.TryParseEnum<EvidenceFormat>(pr.GetValue(format)!, out var f))
            {
                throw new ValidationException([new ValidationError(null, null, "--format", $"'{pr.GetValue(format)}' is not a format.", "use csv, json or html.")]);
            }

            await using var engine = await ctx.OpenAsync(pr, ct);
            if (await engine.Store.GetPersonAsync(pr.GetValue(person)!, ct) is null)
            {
                throw new NotFoundException($"There is no person '{pr.GetValue(person)}'.");
            }

            var service = new AuditService(engine.Store, ctx.Time);
            // Every export is also a signing point, so the evidence handed out is covered by a checkpoint.
            if (await EvidenceCommands.SignAsync(engine.Config, engine.Store, ctx.Time, required: false, ct) is { } signed)
            {
                await Console.Error.WriteLineAsync($"signed {signed}");
            }

            if (pr.GetValue(output) is { } path)
            {
                await using var writer = new StreamWriter(path);
                await service.ExportPersonAsync(pr.GetValue(person)!, f, writer, ct);
                await Console.Error.WriteLineAsync($"wrote {path}");
            }
            else
            {
                await service.ExportPersonAsync(pr.GetValue(person)!, f, Console.Out, ct);
            }

            return ExitCodes.Ok;
        }));
        audit.Subcommands.Add(export);
        audit.Subcommands.Add(EvidenceCommands.Keygen());
        audit.Subcommands.Add(EvidenceCommands.SignNow(ctx));
        audit.Subcommands.Add(EvidenceCommands.Bundle(ctx));
        audit.Subcommands.Add(EvidenceCommands.VerifyBundle(ctx));
        return audit;
    }
}
