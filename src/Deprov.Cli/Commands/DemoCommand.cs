using System.CommandLine;
using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting;
using Deprov.Hosting.Audit;
using Deprov.Hosting.Configuration;
using Deprov.Hosting.Execution;
using Spectre.Console;

namespace Deprov.Cli.Commands;

/// <summary>
/// The guided tour: a sandbox company, then four HR events — an involuntary termination, a resignation with notice, a
/// contract that ends today and a role change — each planned, executed live and verified, then the audit chain checked.
/// </summary>
public static class DemoCommand
{
    public static Command Create(CliContext ctx)
    {
        var people = new Option<int>("--people") { Description = "Size of the sandbox company", DefaultValueFactory = _ => 200 };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated company", DefaultValueFactory = _ => 7 };
        var cmd = new Command("demo", "Create a sandbox company and play four HR events end to end (resets the sandbox store)") { people, seed };
        cmd.SetAction((pr, ct) => CliContext.RunAsync(() => RunAsync(ctx, pr, pr.GetValue(people), pr.GetValue(seed), ct)));
        return cmd;
    }

    private static async Task<int> RunAsync(CliContext ctx, ParseResult pr, int peopleCount, int seed, CancellationToken ct)
    {
        if (peopleCount is < 20 or > 100_000)
        {
            throw new ValidationException([new ValidationError(null, null, "--people", $"is {peopleCount}; must be between 20 and 100000.", "pick a company size in that range.")]);
        }

        var config = ctx.LoadConfig(pr);
        var notSandbox = config.Systems.Where(s => s.System.Kind != "sandbox").Select(s => s.System.Id).ToList();
        if (notSandbox.Count > 0)
        {
            throw new ValidationException($"The demo only runs on sandbox systems, and {config.FilePath} connects real ones ({string.Join(", ", notSandbox)}). Fix: run it with the repository's deprov.yaml, or a copy whose systems all have 'kind: sandbox'.");
        }

        var c = ctx.Console;
        var dataDir = config.DataDirectory;
        c.MarkupLine($"[bold]Deprov demo[/] — sandbox store in {Views.E(dataDir)} (reset)");
        foreach (var f in Directory.Exists(dataDir) ? Directory.GetFiles(dataDir) : [])
        {
            if (Path.GetFileName(f).StartsWith(Path.GetFileName(config.Store.Path), StringComparison.Ordinal) || Path.GetFileName(f).StartsWith("sandbox.db", StringComparison.Ordinal))
            {
                File.Delete(f);
            }
        }

        await using var engine = await ctx.OpenAsync(config, ct);
        using var workerLock = DeprovHost.TryAcquireWorkerLock(config)
            ?? throw new ValidationException("Another Deprov worker runs on the demo store. Fix: stop it (deprov run / deprov serve) and run the demo again.");

        // 1. The company.
        var flavours = config.Systems.ToDictionary(s => s.System.Id, s => Enum.Parse<SandboxFlavour>(s.Settings["flavour"].Scalar ?? "app", ignoreCase: true), StringComparer.Ordinal);
        var company = SandboxCompany.Generate(peopleCount, seed, flavours, DateOnly.FromDateTime(ctx.Time.GetUtcNow().UtcDateTime));
        var world = SandboxWorld.Acquire(Path.Combine(dataDir, "sandbox.db"));
        await using (world)
        {
            await world.ResetAsync(company.Systems, ct);
        }

        await engine.Store.UpsertPeopleAsync(company.People, ct);
        c.MarkupLine($"\n[bold]1. A company of {company.People.Count} people and {config.Systems.Count} connected systems[/] (directory, SSO, 4 paid SaaS apps, devices, badges, secrets vault)");
        await CaseCommands.DiscoverAsync(ctx, engine, [], quiet: false, acceptShrink: true, ct); // a new company: its size is not a shrink

        // 2. Four HR events.
        var people = company.People;
        var involuntary = people.First(p => p.Department == "Engineering" && p.WorkerType == WorkerType.Employee && p.ManagerId is not null);
        var maps = await engine.Store.GetAccessMapsAsync(people.Where(p => p.Department == "IT").Select(p => p.Id).ToList(), ct);
        var resigning = maps.Select(m => m.Person).FirstOrDefault(p => p.Title == "Security Engineer") ?? people.First(p => p.Department == "Sales");
        var contractor = people.First(p => p.WorkerType == WorkerType.Contractor && p.Id != involuntary.Id && p.Id != resigning.Id);
        var mover = people.First(p => p.Department == "Engineering" && p.Id != involuntary.Id && p.WorkerType == WorkerType.Employee && p.ManagerId is not null && p.Id != contractor.Id);
        var now = ctx.Time.GetUtcNow();
        var scenarios = new (string Title, LifecycleEvent Event)[]
        {
            ($"Involuntary termination of {involuntary.DisplayName} ({involuntary.Title}): everything, now",
                Event(EventKind.Leave, involuntary, now, ExitReason.Involuntary, "HR ticket HR-1042: terminated for cause")),
            ($"Resignation of {resigning.DisplayName} ({resigning.Title}) with two weeks' notice: privileged access now, the rest on the last day",
                Event(EventKind.Leave, resigning, HrDates.EndOfLastDay(DateOnly.FromDateTime(now.UtcDateTime).AddDays(14), resigning.TimeZone), ExitReason.Voluntary, "resignation letter received")),
            ($"Contract of {contractor.DisplayName} ({contractor.Department}) ends today",
                Event(EventKind.ContractEnd, contractor, now, ExitReason.None, "contract CT-77 ends")),
            ($"{mover.DisplayName} moves from Engineering to Sales: only what the old role granted and the new one does not",
                Event(EventKind.Move, mover, now, ExitReason.None, "internal transfer") with { NewDepartment = "Sales", NewTitle = "Account Executive" }),
        };

        var n = 2;
        var caseIds = new List<string>();
        foreach (var (title, e) in scenarios)
        {
            c.MarkupLine($"\n[bold]{n++}. {Views.E(title)}[/]");
            var result = await engine.SubmitAsync(e, "admin:demo", ct);
            c.MarkupLine($"   event {Views.E(result.Event.Id)} → {result.Outcome.Snake()}: {Views.E(result.Message)}");
            if (result.Plan is null)
            {
                continue;
            }

            Views.Plan(c, result.Plan, ctx.Time.GetUtcNow());
            c.MarkupLine("   [bold]executing[/] (each step is persisted before it runs, then read back):");
            engine.OnProgress = Views.LiveSteps(c);
            await engine.RunAsync(RunMode.UntilIdle, ct);
            engine.OnProgress = null;
            var kase = (await engine.Store.GetCaseAsync(result.Plan.Case.Id, ct))!;
            Views.Timeline(c, kase, await engine.Store.GetStepsAsync(kase.Id, ct), ctx.Time.GetUtcNow());
            caseIds.Add(kase.Id);
            if (e.Kind == EventKind.Move)
            {
                await engine.Store.UpsertPeopleAsync([mover with { Department = "Sales", Title = "Account Executive" }], ct);
            }
        }

        // 3. Where things stand, and the proof.
        c.MarkupLine($"\n[bold]{n++}. Status[/]");
        var stats = await engine.Store.GetStatisticsAsync(ctx.Time.GetUtcNow(), ct);
        c.MarkupLine($"cases: {string.Join(" · ", stats.CasesByStatus.Select(kv => $"{kv.Key.Snake()} {kv.Value}"))}; open tasks: {stats.OpenTasks}; failed steps: {stats.FailedSteps}");
        Views.Exposure(c, await engine.Store.GetExposureWindowsAsync(null, ct));
        var v = await new AuditService(engine.Store, ctx.Time).VerifyAsync(ct);
        Console.WriteLine(v.Ok ? $"audit verify: OK ({v.Records} records)" : $"audit verify: FAILED at record {v.FirstBadSeq}: {v.Problem}");

        c.MarkupLine($"\n[bold]Explore further[/] (same store, {Views.E(Path.GetRelativePath(Environment.CurrentDirectory, config.FilePath))}):");
        c.MarkupLine($"  ./deprov person {involuntary.Id}                      everything {Views.E(involuntary.DisplayName)} had and has");
        c.MarkupLine($"  ./deprov case {caseIds.FirstOrDefault()}           the timeline of the first case");
        c.MarkupLine($"  ./deprov plan {people[20].Id} --reason involuntary     what a termination of {Views.E(people[20].DisplayName)} would do (dry run)");
        c.MarkupLine($"  ./deprov leave {people[21].Id} --reason involuntary    offboard someone else, live");
        c.MarkupLine("  ./deprov tasks                              manual work (laptops, badges, mailboxes) by team");
        c.MarkupLine("  ./deprov tasks complete <task> --by <name>  record who did it");
        c.MarkupLine("  ./deprov status                             cases, exposure p50/p95/p99, parked events, overdue tasks");
        c.MarkupLine($"  ./deprov audit export --person {involuntary.Id} --format html -o evidence.html");
        c.MarkupLine("  ./deprov audit verify                       re-check the hash chain");
        c.MarkupLine("  ./deprov run                                the worker: fires staged steps when they are due");
        c.MarkupLine("  ./deprov bench engine                       the engine benchmark");
        return v.Ok ? ExitCodes.Ok : ExitCodes.AuditBroken;
    }

    private static LifecycleEvent Event(EventKind kind, Person p, DateTimeOffset effective, ExitReason reason, string note) =>
        new(string.Empty, kind, p.Id, effective, reason, "demo", string.Empty, default, Note: note);
}
