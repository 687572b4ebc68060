using System.CommandLine;
using System.Globalization;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Reconciliation;
using Deprov.Hosting.Csv;
using Deprov.Hosting.Execution;
using Deprov.Hosting.Reconciliation;
using Spectre.Console;

namespace Deprov.Cli.Commands;

/// <summary>reconcile, findings, link, licences, access: finding and closing the access HR events do not cover.</summary>
public static class ReconcileCommands
{
    public static IEnumerable<Command> Create(CliContext ctx)
    {
        yield return Reconcile(ctx);
        yield return Findings(ctx);
        yield return Link(ctx);
        yield return Licences(ctx);
        yield return Access(ctx);
    }

    private static Command Reconcile(CliContext ctx)
    {
        var systems = new Argument<string[]>("system") { Description = "Systems to reconcile (default: all)", Arity = ArgumentArity.ZeroOrMore };
        var force = new Option<bool>("--force") { Description = "Re-write and re-detect even when nothing changed since the last run" };
        var noRun = new Option<bool>("--no-run") { Description = "Plan remediations but do not execute them now (the worker will)" };
        var acceptShrink = new Option<bool>("--accept-shrink")
        {
            Description = "Write a listing even when it holds far fewer accounts than the inventory (more than reconciliation.max_shrink, default 20 %)",
        };
        var cmd = new Command("reconcile", "Discover systems, correlate accounts to people, record findings and react (report, task, remediate)") { systems, force, noRun, acceptShrink };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var json = ctx.IsJson(pr);
            var reconciler = new Reconciler(engine);
            IReadOnlyList<SystemReconciliation> results;
            if (json || Console.IsErrorRedirected)
            {
                results = await reconciler.ReconcileAsync(pr.GetValue(systems), ctx.Actor(pr), pr.GetValue(force), pr.GetValue(acceptShrink), null, ct);
            }
            else
            {
                results = await ctx.Console.Status().StartAsync("reconciling…", async status =>
                    await reconciler.ReconcileAsync(pr.GetValue(systems), ctx.Actor(pr), pr.GetValue(force), pr.GetValue(acceptShrink),
                        new Progress<ReconcileProgress>(p => status.Status(((SafeMarkup)$"{p.SystemId}: {p.Phase} ({p.Objects:N0})").Text)), ct));
            }

            var remediations = results.Sum(r => r.Remediations);
            if (remediations > 0 && !pr.GetValue(noRun))
            {
                await engine.RunAsync(RunMode.UntilIdle, ct);
            }

            if (json)
            {
                CliContext.WriteJson(results);
            }
            else
            {
                var t = new Table().AddColumns("system", "accounts", "orphans", "conflicts", "memberships", "new findings", "open", "resolved", "reactions", "took");
                foreach (var r in results)
                {
                    var d = r.Discovery;
                    t.Row(r.SystemId, d?.Accounts.ToString("N0", CultureInfo.InvariantCulture) ?? "-",
                        r.Unchanged ? (SafeMarkup)$"[grey]unchanged[/]" : d?.Orphans.ToString(CultureInfo.InvariantCulture) ?? "-",
                        d?.Conflicts.ToString(CultureInfo.InvariantCulture) ?? "-", d?.Memberships.ToString("N0", CultureInfo.InvariantCulture) ?? "-",
                        r.Error is null ? r.NewFindings.ToString(CultureInfo.InvariantCulture) : (SafeMarkup)$"[red]failed: {Views.Truncate(r.Error, 60)}[/]",
                        r.OpenFindings.ToString(CultureInfo.InvariantCulture), r.Resolved.ToString(CultureInfo.InvariantCulture),
                        $"{r.Remediations} case(s), {r.Tasks} task(s)", d is null ? "-" : $"{d.Took.TotalSeconds:0.00}s");
                }

                ctx.Console.Write(t);
                ctx.Console.Line($"'deprov findings' lists what was found; 'deprov link <system> <account> <person>' ties an account by hand.");
            }

            // Each failure in full on stderr (the table cuts it short), with the fix.
            foreach (var r in results.Where(r => r.Error is not null))
            {
                var kind = engine.Systems[r.SystemId].Descriptor.Kind;
                if (r.Shrink is { } shrink)
                {
                    await Console.Error.WriteLineAsync($"refused: {r.Error}");
                    await Console.Error.WriteLineAsync($"  fix: run 'deprov check {r.SystemId}'; if the accounts really are gone: deprov reconcile {r.SystemId} --accept-shrink " +
                        $"(or deprov findings accept {shrink.FindingId})");
                }
                else
                {
                    await Console.Error.WriteLineAsync($"error: {kind} system '{r.SystemId}': {r.Error}");
                    await Console.Error.WriteLineAsync($"  fix: run 'deprov check {r.SystemId}': it probes credentials, reachability, TLS and the base, and says what to change.");
                }
            }

            return results.Any(r => r.Shrink is not null) ? ExitCodes.InvalidInput : results.Any(r => r.Error is not null) ? ExitCodes.SystemError : ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Findings(CliContext ctx)
    {
        var kind = new Option<string>("--kind") { Description = $"Only this kind: {Naming.AllowedValues<FindingKind>()}" };
        var system = new Option<string>("--system") { Description = "Only this system" };
        var all = new Option<bool>("--all") { Description = "Include resolved findings" };
        var cmd = new Command("findings", "Findings from reconciliation, oldest first, with their evidence and first-seen time") { kind, system, all };
        cmd.Subcommands.Add(AcceptFinding(ctx));
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            FindingKind? k = null;
            if (pr.GetValue(kind) is { } text)
            {
                if (!Naming.TryParseEnum<FindingKind>(text, out var parsed))
                {
                    throw new ValidationException([new ValidationError(null, null, "--kind", $"'{text}' is not a finding kind.", $"use one of: {Naming.AllowedValues<FindingKind>()}.")]);
                }

                k = parsed;
            }

            await using var engine = await ctx.OpenAsync(pr, ct);
            var list = await engine.Store.ListFindingsAsync(new FindingQuery(k, pr.GetValue(system), !pr.GetValue(all), 10_000), ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(list);
                return ExitCodes.Ok;
            }

            var now = ctx.Time.GetUtcNow();
            var t = new Table().AddColumns("id", "kind", "system", "target", "person", "first seen", "reaction", "evidence");
            foreach (var f in list)
            {
                t.Row(f.Id, f.ResolvedAt is null ? f.Kind.Snake() : (SafeMarkup)$"[grey]{f.Kind.Snake()} (resolved)[/]", f.SystemId, f.Target, f.PersonId ?? "-",
                    Views.When(f.FirstSeenAt, now), f.Reaction is { } r ? $"{r.Snake()} {f.ReactionRef}" : "-", Views.Truncate(f.Evidence, 90));
            }

            ctx.Console.Write(t);
            ctx.Console.Line($"{list.Count} finding(s)");
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command AcceptFinding(CliContext ctx)
    {
        var id = new Argument<string>("finding") { Description = "The inventory_shrink finding's id (deprov findings --kind inventory_shrink)" };
        var cmd = new Command("accept", "Accept the listing an inventory_shrink finding refused: reconcile its system again with the shrink guard lifted (audited)") { id };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var r = await new Reconciler(engine).AcceptShrinkAsync(pr.GetValue(id)!, ctx.Actor(pr), ct);
            if (r.Remediations > 0)
            {
                await engine.RunAsync(RunMode.UntilIdle, ct);
            }

            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(r);
            }
            else if (r.Error is null)
            {
                ctx.Console.Line($"accepted: {r.SystemId} now holds {r.Discovery?.Accounts.ToString("N0", CultureInfo.InvariantCulture) ?? "?"} account(s); {r.NewFindings} new finding(s), {r.Resolved} resolved");
            }

            if (r.Error is not null)
            {
                await Console.Error.WriteLineAsync($"error: system '{r.SystemId}': {r.Error}");
                await Console.Error.WriteLineAsync($"  fix: run 'deprov check {r.SystemId}'; the finding stays open until a discovery of the system is written.");
                return ExitCodes.SystemError;
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Link(CliContext ctx)
    {
        var system = new Argument<string>("system") { Description = "System id" };
        var account = new Argument<string>("account") { Description = "The account's id in that system (external id)" };
        var person = new Argument<string>("person") { Description = "HR id of the owner" };
        var cmd = new Command("link", "Tie an account to a person by hand (overrides the correlation rules; audited)") { system, account, person };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var sys = pr.GetValue(system)!;
            var link = await engine.LinkAccountAsync(sys, pr.GetValue(account)!, pr.GetValue(person)!, ctx.Actor(pr), requireDiscovered: false, ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(link);
            }
            else
            {
                ctx.Console.Line($"linked {sys}/{link.AccountExternalId} to {link.PersonId} (applies to every later discovery)");
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Licences(CliContext ctx)
    {
        var csv = new Option<string>("--csv") { Description = "Also write the report to this CSV file" };
        var cmd = new Command("licences", "Licence reclaim report: seats freed by revocations and held by dormant accounts, with monthly cost per system") { csv };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var rows = await engine.Store.GetLicenceUsageAsync(ct);
            if (pr.GetValue(csv) is { } path)
            {
                await using var file = new StreamWriter(path, append: false, new System.Text.UTF8Encoding(false));
                await CsvExport.WriteLicencesAsync(file, rows, ct);
            }

            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(new { systems = rows, monthlyFreed = rows.Sum(r => r.MonthlyFreed), monthlyReclaimable = rows.Sum(r => r.MonthlyReclaimable) });
                return ExitCodes.Ok;
            }

            var t = new Table().AddColumns("system", "cost/seat", "active", "freed by revocation", "freed/month", "dormant", "reclaimable/month");
            foreach (var r in rows)
            {
                t.Row(r.SystemId, Money(r.CostPerSeat), r.ActiveAccounts.ToString("N0", CultureInfo.InvariantCulture), r.RevokedSeats.ToString("N0", CultureInfo.InvariantCulture),
                    Money(r.MonthlyFreed), r.DormantSeats.ToString("N0", CultureInfo.InvariantCulture), Money(r.MonthlyReclaimable));
            }

            t.Row($"[bold]total[/]", string.Empty, string.Empty, string.Empty, $"[bold]{Money(rows.Sum(r => r.MonthlyFreed))}[/]", string.Empty, $"[bold]{Money(rows.Sum(r => r.MonthlyReclaimable))}[/]");
            ctx.Console.Write(t);
            if (pr.GetValue(csv) is { } written)
            {
                ctx.Console.Line($"written to {written}");
            }

            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static Command Access(CliContext ctx)
    {
        var person = new Option<string>("--person") { Description = "HR id of the person", Required = true };
        var at = new Option<string>("--at") { Description = "The moment: an ISO date-time (2026-11-01T09:00:00Z), a date (its end, UTC) or 'now'" };
        var cmd = new Command("access", "A person's access as of any past moment, from the recorded history") { person, at };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(async () =>
        {
            await using var engine = await ctx.OpenAsync(pr, ct);
            var id = pr.GetValue(person)!;
            if (await engine.Store.GetPersonAsync(id, ct) is null)
            {
                throw new NotFoundException($"There is no person '{id}'. Check the HR id.");
            }

            var when = ctx.ParseWhen(pr.GetValue(at), "UTC", "--at");
            var rows = await engine.Store.GetAccessAtAsync(id, when, ct);
            if (ctx.IsJson(pr))
            {
                CliContext.WriteJson(new { person = id, at = when, access = rows });
                return ExitCodes.Ok;
            }

            ctx.Console.Line($"access of {id} at {when:yyyy-MM-dd HH:mm:ss}Z");
            var t = new Table().AddColumns("system", "account", "entitlement", "status", "since", "until");
            foreach (var r in rows)
            {
                t.Row(r.SystemId, r.AccountId, r.EntitlementId ?? "-", r.EntitlementId is null ? r.Status.Snake() : "member",
                    r.From is { } f ? $"{f:yyyy-MM-dd HH:mm:ss}Z" : "(before records)", r.To is { } u ? $"{u:yyyy-MM-dd HH:mm:ss}Z" : "(still)");
            }

            ctx.Console.Write(t);
            return ExitCodes.Ok;
        }));
        return cmd;
    }

    private static string Money(decimal d) => d.ToString("N2", CultureInfo.InvariantCulture);
}
