using System.CommandLine;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting;
using Deprov.Hosting.Execution;
using Spectre.Console;

namespace Deprov.Cli.Commands;

/// <summary>Commands that submit HR events: leave, contract-end, move, rehire, cancel, hold; and plan (dry run).</summary>
public static class EventCommands
{
    public static IEnumerable<Command> Create(CliContext ctx)
    {
        yield return Leave(ctx, "leave", EventKind.Leave, "Offboard a person (termination or resignation)");
        yield return Leave(ctx, "contract-end", EventKind.ContractEnd, "End a contractor's access when the contract ends");
        yield return Move(ctx);
        yield return Simple(ctx, "rehire", EventKind.Rehire, "Rehire: cancel pending steps and restore what Deprov cut (within retention)");
        yield return Simple(ctx, "cancel", EventKind.TerminationCancelled, "The termination was cancelled: cancel pending steps and restore");
        yield return Hold(ctx);
        yield return Plan(ctx);
    }

    private static Argument<string> PersonArg() => new("person") { Description = "HR id of the person (e.g. p0042)" };

    private static Command Leave(CliContext ctx, string name, EventKind kind, string description)
    {
        var person = PersonArg();
        var reason = new Option<string>("--reason") { Description = "voluntary | involuntary", DefaultValueFactory = _ => kind == EventKind.Leave ? "voluntary" : "none" };
        var effective = new Option<string>("--effective") { Description = "When access must end: now (default), 2026-12-31 (end of that day in the person's time zone), 2026-12-31T17:00 (person's time zone) or 2026-12-31T17:00:00+01:00" };
        var cmd = new Command(name, description) { person, reason, effective };
        var (note, key, noWait) = Common(cmd);
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            if (!Naming.TryParseEnum<ExitReason>(pr.GetValue(reason)!, out var r))
            {
                throw new ValidationException([new ValidationError(null, null, "--reason", $"'{pr.GetValue(reason)}' is not a reason.", $"use one of: {Naming.AllowedValues<ExitReason>()}.")]);
            }

            return await SubmitAsync(ctx, pr, kind, pr.GetValue(person)!, r, pr.GetValue(effective), null, null, null, pr.GetValue(note), pr.GetValue(key), pr.GetValue(noWait), ct);
        }));
        return cmd;
    }

    private static Command Move(CliContext ctx)
    {
        var person = PersonArg();
        var dept = new Option<string>("--department") { Description = "The new department" };
        var title = new Option<string>("--title") { Description = "The new title" };
        var effective = new Option<string>("--effective") { Description = "When the move takes effect (default now)" };
        var cmd = new Command("move", "Role change: remove what the old role granted and the new one does not") { person, dept, title, effective };
        var (note, key, noWait) = Common(cmd);
        cmd.SetAction((pr, ct) => CliContext.RunAsync(() => SubmitAsync(ctx, pr, EventKind.Move, pr.GetValue(person)!, ExitReason.None, pr.GetValue(effective),
            pr.GetValue(dept), pr.GetValue(title), null, pr.GetValue(note), pr.GetValue(key), pr.GetValue(noWait), ct)));
        return cmd;
    }

    private static Command Simple(CliContext ctx, string name, EventKind kind, string description)
    {
        var person = PersonArg();
        var cmd = new Command(name, description) { person };
        var (note, key, noWait) = Common(cmd);
        cmd.SetAction((pr, ct) => CliContext.RunAsync(() => SubmitAsync(ctx, pr, kind, pr.GetValue(person)!, ExitReason.None, null, null, null, null, pr.GetValue(note), pr.GetValue(key), pr.GetValue(noWait), ct)));
        return cmd;
    }

    private static Command Hold(CliContext ctx)
    {
        var hold = new Command("hold", "Legal holds: block deletes and licence removal for a person");
        foreach (var (name, kind, description) in new[] { ("set", EventKind.LegalHoldSet, "Put a person (or one system) under legal hold"), ("release", EventKind.LegalHoldReleased, "Release a legal hold") })
        {
            var person = PersonArg();
            var system = new Option<string>("--system") { Description = "Limit to one system (default: all systems)" };
            var cmd = new Command(name, description) { person, system };
            var (note, key, _) = Common(cmd);
            cmd.SetAction((pr, ct) => CliContext.RunAsync(() => SubmitAsync(ctx, pr, kind, pr.GetValue(person)!, ExitReason.None, null, null, null, pr.GetValue(system),
                pr.GetValue(note), pr.GetValue(key), noWait: false, ct)));
            hold.Subcommands.Add(cmd);
        }

        return hold;
    }

    private static (Option<string> Note, Option<string> Key, Option<bool> NoWait) Common(Command cmd)
    {
        var note = new Option<string>("--note") { Description = "Free text kept with the event (e.g. a ticket number; never a secret)" };
        var key = new Option<string>("--key") { Description = "Idempotency key: the same key twice is handled once (default: derived from the event)" };
        var noWait = new Option<bool>("--no-wait") { Description = "Record and plan only; a running worker (deprov run) executes it" };
        cmd.Options.Add(note);
        cmd.Options.Add(key);
        cmd.Options.Add(noWait);
        return (note, key, noWait);
    }

    private static async Task<int> SubmitAsync(CliContext ctx, ParseResult pr, EventKind kind, string personId, ExitReason reason, string? effective,
        string? department, string? title, string? system, string? note, string? key, bool noWait, CancellationToken ct)
    {
        await using var engine = await ctx.OpenAsync(pr, ct);
        var person = await engine.Store.GetPersonAsync(personId, ct);
        var (when, readAs) = ctx.ParseWhenNoted(effective, person?.TimeZone ?? "UTC", "--effective");
        var e = new LifecycleEvent(string.Empty, kind, personId, when, reason, "cli", key ?? string.Empty, default, department, title, system, note);
        var result = await engine.SubmitAsync(e, ctx.Actor(pr), ct);
        var json = ctx.IsJson(pr);
        if (result.Outcome == SubmitOutcome.Conflict)
        {
            // The key names another event: nothing was done, and the answer says which two events collided.
            if (json)
            {
                CliContext.WriteJson(new { result.Outcome, eventId = result.Event.Id, result.Message });
            }

            await Console.Error.WriteLineAsync($"error: {result.Message}");
            return ExitCodes.InvalidInput;
        }

        if (!json)
        {
            if (readAs is not null)
            {
                ctx.Console.Line($"[grey]--effective {effective!}: {readAs} ({when:yyyy-MM-dd'T'HH:mm}Z)[/]");
            }

            ctx.Console.Line($"{kind.Snake()} {personId}: [bold]{result.Outcome.Snake()}[/] — {result.Message}");
            if (result.Plan is not null)
            {
                Views.Plan(ctx.Console, result.Plan, ctx.Time.GetUtcNow());
            }
        }

        if (result.Plan is null || noWait)
        {
            if (json)
            {
                CliContext.WriteJson(new { result.Outcome, eventId = result.Event.Id, result.Message, caseId = result.Plan?.Case.Id, effectiveAt = when, readAs });
            }

            return ExitCodes.Ok;
        }

        var kase = await RunCaseAsync(ctx, engine, result.Plan.Case.Id, json, ct);
        if (json)
        {
            CliContext.WriteJson(new { result.Outcome, eventId = result.Event.Id, result.Message, caseId = kase?.Id, status = kase?.Status, exposureMs = kase?.ExposureWindow?.TotalMilliseconds, effectiveAt = when, readAs });
        }

        return kase?.Status == CaseStatus.Unverified ? ExitCodes.NotVerified : ExitCodes.Ok;
    }

    /// <summary>Executes what is due now (if no other worker holds the store), then shows the case.</summary>
    internal static async Task<Case?> RunCaseAsync(CliContext ctx, DeprovEngine engine, string caseId, bool json, CancellationToken ct)
    {
        using (var workerLock = DeprovHost.TryAcquireWorkerLock(engine.Config))
        {
            if (workerLock is null)
            {
                if (!json)
                {
                    ctx.Console.Line($"[yellow]another Deprov worker (deprov run / deprov serve) holds this store: it will execute the case.[/]");
                }
            }
            else
            {
                if (!json)
                {
                    engine.OnProgress = Views.LiveSteps(ctx.Console);
                }

                await engine.RunAsync(RunMode.UntilIdle, ct);
                engine.OnProgress = null;
            }
        }

        var kase = await engine.Store.GetCaseAsync(caseId, ct);
        if (kase is not null && !json)
        {
            Views.Timeline(ctx.Console, kase, await engine.Store.GetStepsAsync(caseId, ct), ctx.Time.GetUtcNow());
        }

        return kase;
    }

    private static Command Plan(CliContext ctx)
    {
        var person = PersonArg();
        var evt = new Option<string>("--event") { Description = "leave | contract_end | move | rehire", DefaultValueFactory = _ => "leave" };
        var reason = new Option<string>("--reason") { Description = "voluntary | involuntary", DefaultValueFactory = _ => "voluntary" };
        var effective = new Option<string>("--effective") { Description = "When (default now)" };
        var dept = new Option<string>("--department") { Description = "For a move: the new department" };
        var title = new Option<string>("--title") { Description = "For a move: the new title" };
        var cmd = new Command("plan", "Show the plan an event would get, without doing anything (dry run)") { person, evt, reason, effective, dept, title };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            if (!Naming.TryParseEnum<EventKind>(pr.GetValue(evt)!, out var kind) || kind is EventKind.LegalHoldSet or EventKind.LegalHoldReleased)
            {
                throw new ValidationException([new ValidationError(null, null, "--event", $"'{pr.GetValue(evt)}' cannot be planned.", "use leave, contract_end, move, rehire or termination_cancelled.")]);
            }

            if (!Naming.TryParseEnum<ExitReason>(pr.GetValue(reason)!, out var r))
            {
                throw new ValidationException([new ValidationError(null, null, "--reason", $"'{pr.GetValue(reason)}' is not a reason.", $"use one of: {Naming.AllowedValues<ExitReason>()}.")]);
            }

            await using var engine = await ctx.OpenAsync(pr, ct);
            var p = await engine.Store.GetPersonAsync(pr.GetValue(person)!, ct)
                ?? throw new NotFoundException($"There is no person '{pr.GetValue(person)}'. Check the id (deprov person <id>).");
            var now = ctx.Time.GetUtcNow();
            var e = new LifecycleEvent("E-preview", kind, p.Id, ctx.ParseWhen(pr.GetValue(effective), p.TimeZone, "--effective"), r, "cli", "preview", now,
                pr.GetValue(dept), pr.GetValue(title));
            var plan = await engine.PreviewAsync(e, ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(new { plan.Case, plan.Steps, plan.Dependencies, plan.Tasks, plan.Notes });
            }
            else
            {
                ctx.Console.Line($"[grey]dry run: nothing is recorded or executed[/]");
                Views.Plan(ctx.Console, plan, now);
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }
}
