using System.CommandLine;
using Deprov.Core;
using Deprov.Hosting.Diagnostics;
using Deprov.Hosting.Execution;
using Spectre.Console;

namespace Deprov.Cli.Commands;

/// <summary>check: the doctor for each connected system (read-only probes, each with its fix).</summary>
public static class CheckCommand
{
    /// <summary>A system a command could not work with: its connector's (or configuration's) diagnosis, whole, and the fix.</summary>
    public sealed record SystemFailure(string SystemId, string Kind, string Cause, string Fix, int ExitCode)
    {
        public static SystemFailure Of(SystemRuntime system, Exception ex) =>
            new(system.Config.System.Id, system.Descriptor.Kind, SystemDoctor.Diagnosis(ex), SystemDoctor.ConnectFix(system, ex),
                SystemDoctor.IsConfiguration(ex) ? ExitCodes.InvalidInput : ExitCodes.SystemError);
    }

    public static IEnumerable<Command> Create(CliContext ctx)
    {
        var systems = new Argument<string[]>("system") { Description = "Systems to check (default: all)", Arity = ArgumentArity.ZeroOrMore };
        var cmd = new Command("check", "Probe each system, read-only: credentials, reachability and TLS, that its base holds accounts, and that its confirmation " +
            "read agrees with its listing (a membership and an enabled account it lists must not read back as already cut)") { systems };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var checks = await new SystemDoctor(engine).CheckAsync(pr.GetValue(systems), ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(checks.Select(c => new { c.SystemId, c.Kind, c.Passed, c.Probes }));
            }
            else
            {
                Print(ctx, checks, []);
            }

            return checks.All(c => c.Passed) ? ExitCodes.Ok : ExitCodes.CheckFailed;
        }));
        yield return cmd;
    }

    /// <summary>The probes as a table, then each failure in full (the cause is never cut short) with its fix.</summary>
    public static void Print(CliContext ctx, IReadOnlyList<SystemCheck> checks, IReadOnlyList<SystemFailure> failures)
    {
        if (checks.Count > 0)
        {
            var t = new Table().Border(TableBorder.Simple).Titled("checks").AddColumns("system", "probe", "result", "detail");
            foreach (var c in checks)
            {
                foreach (var p in c.Probes)
                {
                    t.Row(c.SystemId, p.Probe, p.Status switch
                    {
                        ProbeStatus.Pass => (SafeMarkup)$"[green]pass[/]",
                        ProbeStatus.Fail => (SafeMarkup)$"[red bold]FAIL[/]",
                        _ => (SafeMarkup)$"[grey]skipped[/]",
                    }, p.Detail);
                }
            }

            ctx.Console.Write(t);
            foreach (var (c, p) in checks.SelectMany(c => c.Probes.Where(p => p.Status == ProbeStatus.Fail).Select(p => (c, p))))
            {
                ctx.Console.Line($"[red bold]FAIL[/] {c.SystemId} {p.Probe}: {p.Detail}");
                ctx.Console.Line($"  fix: {p.Fix}");
            }
        }

        PrintFailures(failures);
    }

    /// <summary>Failures go to stderr, whole: one message per system with the system, the cause and the fix.</summary>
    public static void PrintFailures(IReadOnlyList<SystemFailure> failures)
    {
        foreach (var f in failures)
        {
            Console.Error.WriteLine($"error: {f.Kind} system '{f.SystemId}': {f.Cause}");
            Console.Error.WriteLine($"  fix: {f.Fix}");
        }
    }
}
