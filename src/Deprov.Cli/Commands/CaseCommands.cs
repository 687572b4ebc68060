using System.CommandLine;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting;
using Deprov.Hosting.Diagnostics;
using Deprov.Hosting.Discovery;
using Deprov.Hosting.Execution;
using Spectre.Console;

namespace Deprov.Cli.Commands;

/// <summary>Commands that look at or drive cases: case, cases, run, discover.</summary>
public static class CaseCommands
{
    public static IEnumerable<Command> Create(CliContext ctx)
    {
        yield return Case(ctx);
        yield return Cases(ctx);
        yield return Run(ctx);
        yield return Discover(ctx);
        yield return Approve(ctx);
    }

    private static Command Approve(CliContext ctx)
    {
        var cases = new Argument<string[]>("case") { Description = "Cases to decide (default with --all: every case the brake holds)", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Every case the safety brake holds" };
        var reject = new Option<bool>("--reject") { Description = "Cancel them instead (bad HR data)" };
        var by = new Option<string>("--by") { Description = "Who decides (required)", Required = true };
        var cmd = new Command("approve", "Release (or --reject) leaver cases held by the safety brake") { cases, all, reject, by };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            var ids = pr.GetValue(cases) ?? [];
            if (ids.Length == 0 && !pr.GetValue(all))
            {
                throw new ValidationException([new ValidationError(null, null, "case", "no case given.", "name the cases (deprov cases --status awaiting_approval) or pass --all.")]);
            }

            await using var engine = await ctx.OpenAsync(pr, ct);
            var changed = await engine.Store.DecideBrakedCasesAsync(ids.Length == 0 ? null : ids, !pr.GetValue(reject), $"admin:{pr.GetValue(by)}", ctx.Time.GetUtcNow(), ct);
            var missing = ids.Except(changed, StringComparer.Ordinal).ToList();
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(new { decided = changed, notHeld = missing });
            }
            else
            {
                var notHeld = missing.Count > 0 ? $"; not held by the brake: {string.Join(", ", missing)}" : string.Empty;
                ctx.Console.Line($"{(pr.GetValue(reject) ? "rejected" : "approved")} {changed.Count} case(s){notHeld}");
            }

            if (!pr.GetValue(reject) && changed.Count > 0)
            {
                using var workerLock = DeprovHost.TryAcquireWorkerLock(engine.Config);
                if (workerLock is not null)
                {
                    engine.OnProgress = ctx.IsJson(pr) ? null : Views.LiveSteps(ctx.Console);
                    await engine.RunAsync(RunMode.UntilIdle, ct);
                }
            }

            return missing.Count > 0 ? ExitCodes.NotFound : ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Case(CliContext ctx)
    {
        var id = new Argument<string>("case") { Description = "Case id (C-...)" };
        var cmd = new Command("case", "Show a case's timeline: every step with status, times, evidence and retries") { id };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var kase = await engine.Store.GetCaseAsync(pr.GetValue(id)!, ct) ?? throw new NotFoundException($"There is no case '{pr.GetValue(id)}'. List cases with 'deprov cases'.");
            var steps = await engine.Store.GetStepsAsync(kase.Id, ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(new { kase, exposureMs = kase.ExposureWindow?.TotalMilliseconds, steps, dependencies = await engine.Store.GetDependenciesAsync(kase.Id, ct) });
            }
            else
            {
                Views.Timeline(ctx.Console, kase, steps, ctx.Time.GetUtcNow());
            }

            return kase.Status == CaseStatus.Unverified ? ExitCodes.NotVerified : ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Cases(CliContext ctx)
    {
        var person = new Option<string>("--person") { Description = "Only this person's cases" };
        var status = new Option<string>("--status") { Description = "Only cases in this status (running, scheduled, verified, unverified, cancelled)" };
        var limit = new Option<int>("--limit") { Description = "At most this many (newest first)", DefaultValueFactory = _ => 50 };
        var cmd = new Command("cases", "List cases, newest first") { person, status, limit };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            CaseStatus? s = null;
            if (pr.GetValue(status) is { } text)
            {
                s = Naming.TryParseEnum<CaseStatus>(text, out var v) ? v
                    : throw new ValidationException([new ValidationError(null, null, "--status", $"'{text}' is not a case status.", $"use one of: {Naming.AllowedValues<CaseStatus>()}.")]);
            }

            await using var engine = await ctx.OpenAsync(pr, ct);
            var cases = await engine.Store.ListCasesAsync(new CaseQuery(pr.GetValue(person), s is null ? null : [s.Value], pr.GetValue(limit)), ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(cases.Select(c => new { c.Id, c.PersonId, c.Kind, c.Status, c.PolicyRule, c.CreatedAt, c.CutAt, c.CutVerifiedAt, exposureMs = c.ExposureWindow?.TotalMilliseconds, c.StatusDetail }));
                return ExitCodes.Ok;
            }

            var table = new Table().Border(TableBorder.Simple);
            table.AddColumns("case", "person", "kind", "status", "rule", "created", "exposure", "detail");
            var now = ctx.Time.GetUtcNow();
            foreach (var c in cases)
            {
                table.Row(c.Id, c.PersonId, c.Kind.Snake(), Views.Status(c.Status), c.PolicyRule, Views.When(c.CreatedAt, now),
                    c.ExposureWindow is { } w ? $"{w.TotalMilliseconds:0} ms" : "-", c.StatusDetail);
            }

            ctx.Console.Write(table);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Run(CliContext ctx)
    {
        var untilIdle = new Option<bool>("--until-idle") { Description = "Exit when nothing is due now (default: run until Ctrl-C, waking for staged steps)" };
        var cmd = new Command("run", "Run the worker: execute due steps, staged steps when their time comes, and recover after a crash") { untilIdle };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            using var workerLock = DeprovHost.TryAcquireWorkerLock(engine.Config);
            if (workerLock is null)
            {
                await Console.Error.WriteLineAsync("error: another Deprov worker already runs on this store (only one may execute steps at a time).");
                return ExitCodes.Error;
            }

            if (!ctx.IsJson(pr))
            {
                engine.OnProgress = Views.LiveSteps(ctx.Console);
                ctx.Console.Line($"worker started on {engine.Config.Store.Where}{(pr.GetValue(untilIdle) ? " (until idle)" : "; Ctrl-C to stop")}");
            }

            try
            {
                await engine.RunAsync(pr.GetValue(untilIdle) ? RunMode.UntilIdle : RunMode.Forever, ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                ctx.Console.Line($"worker stopped");
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Discover(CliContext ctx)
    {
        var systems = new Argument<string[]>("system") { Description = "Systems to discover (default: all)", Arity = ArgumentArity.ZeroOrMore };
        var acceptShrink = new Option<bool>("--accept-shrink")
        {
            Description = "Write a listing even when it holds far fewer accounts than the inventory (more than reconciliation.max_shrink, default 20 %)",
        };
        var cmd = new Command("discover", "Read accounts, groups, devices and credentials from connected systems, tie them to people, then probe each system (as 'deprov check')")
        {
            systems, acceptShrink,
        };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var run = await DiscoverAsync(ctx, engine, pr.GetValue(systems) ?? [], ctx.IsJson(pr), pr.GetValue(acceptShrink), ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(new { discoveries = run.Reports, checks = run.Checks, failures = run.Failures });
            }

            return run.ExitCode;
        }));
        return cmd;
    }

    /// <summary>What <c>discover</c> did: the systems written, their probes, and the systems that failed (with the exit code that says how).</summary>
    internal sealed record DiscoverRun(List<DiscoveryReport> Reports, List<SystemCheck> Checks, List<CheckCommand.SystemFailure> Failures, int ExitCode);

    internal static async Task<DiscoverRun> DiscoverAsync(CliContext ctx, DeprovEngine engine, IReadOnlyList<string> only, bool quiet, bool acceptShrink, CancellationToken ct)
    {
        var unknown = only.Where(s => !engine.Systems.ContainsKey(s)).ToList();
        if (unknown.Count > 0)
        {
            throw new NotFoundException($"There is no system '{unknown[0]}'. Configured systems: {string.Join(", ", engine.Systems.Keys)}.");
        }

        var service = new DiscoveryService(engine.Store, ctx.Time);
        var reports = new List<DiscoveryReport>();
        var checks = new List<SystemCheck>();
        var failures = new List<CheckCommand.SystemFailure>();
        foreach (var (id, rt) in engine.Systems.Where(s => only.Count == 0 || only.Contains(s.Key)))
        {
            DiscoveryResult result;
            try
            {
                result = await service.DiscoverAsync(rt, acceptShrink ? null : engine.Config.Reconciliation.MaxShrinkFor(id), null, ct);
            }
            catch (InventoryShrinkException ex)
            {
                failures.Add(new CheckCommand.SystemFailure(id, rt.Descriptor.Kind, ex.Message, $"run 'deprov check {id}'; if the accounts really are gone: deprov discover {id} --accept-shrink",
                    ExitCodes.InvalidInput));
                continue;
            }
            catch (Exception ex) when (ex is DeprovException and not StoreException)
            {
                // One system's failure (its connector or its configuration) is reported with its fix; the others go on.
                failures.Add(CheckCommand.SystemFailure.Of(rt, ex));
                continue;
            }

            reports.Add(result.Report);
            if (result.Snapshot is { } snapshot)
            {
                checks.Add(await SystemDoctor.ProbeListingAsync(rt, ListingSample.Of(id, snapshot, result.Report.Memberships), ct));
            }
        }

        if (!quiet)
        {
            var table = new Table().Border(TableBorder.Simple).Titled($"discovery");
            table.AddColumns("system", "accounts", "tied to people", "orphans", "conflicts", "entitlements", "memberships", "devices", "credentials", "took");
            foreach (var r in reports)
            {
                table.Row(r.SystemId, $"{r.Accounts}", $"{r.Correlated}", r.Orphans > 0 ? (SafeMarkup)$"[yellow]{r.Orphans}[/]" : "0", r.Conflicts > 0 ? (SafeMarkup)$"[red]{r.Conflicts}[/]" : "0",
                    $"{r.Entitlements}", $"{r.Memberships}", $"{r.Devices}", $"{r.Credentials}", $"{r.Took.TotalMilliseconds:0} ms");
            }

            ctx.Console.Write(table);
            CheckCommand.Print(ctx, checks, failures);
        }
        else
        {
            CheckCommand.PrintFailures(failures);
        }

        var exit = failures.Count > 0 ? failures.Max(f => f.ExitCode) : checks.Any(c => !c.Passed) ? ExitCodes.CheckFailed : ExitCodes.Ok;
        return new DiscoverRun(reports, checks, failures, exit);
    }
}
