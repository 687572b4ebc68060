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
    /// <summary>The smallest company the demo plays (documented in the README): four actors and two bystanders, with room to spare.</summary>
    public const int MinPeople = 20;

    public const int MaxPeople = 100_000;

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
        if (peopleCount is < MinPeople or > MaxPeople)
        {
            throw new ValidationException([new ValidationError(null, null, "--people", $"is {peopleCount}; must be between {MinPeople} and {MaxPeople}.", "pick a company size in that range.")]);
        }

        var config = ctx.LoadConfig(pr);
        var notSandbox = config.Systems.Where(s => s.System.Kind != "sandbox").Select(s => s.System.Id).ToList();
        if (notSandbox.Count > 0)
        {
            throw new ValidationException($"The demo only runs on sandbox systems, and {config.FilePath} connects real ones ({string.Join(", ", notSandbox)}). Fix: run it with the repository's deprov.yaml, or a copy whose systems all have 'kind: sandbox'.");
        }

        var c = ctx.Console;
        var dataDir = config.DataDirectory;
        c.Line($"[bold]Deprov demo[/] — sandbox store in {dataDir} (reset)");
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
        c.Line($"\n[bold]1. A company of {company.People.Count} people and {config.Systems.Count} connected systems[/] (directory, SSO, 4 paid SaaS apps, devices, badges, secrets vault)");
        await CaseCommands.DiscoverAsync(ctx, engine, [], quiet: false, acceptShrink: true, ct); // a new company: its size is not a shrink

        // 2. Four HR events.
        var people = company.People;
        var cast = DemoCast.Pick(people);
        var (involuntary, resigning, contractor, mover) = (cast.Involuntary, cast.Resigning, cast.Contractor, cast.Mover);
        var now = ctx.Time.GetUtcNow();
        var scenarios = new List<(string Title, LifecycleEvent Event)>
        {
            ($"Involuntary termination of {involuntary.DisplayName} ({involuntary.Title}): everything, now",
                Event(EventKind.Leave, involuntary, now, ExitReason.Involuntary, "HR ticket HR-1042: terminated for cause")),
            ($"Resignation of {resigning.DisplayName} ({resigning.Title}) with two weeks' notice: privileged access now, the rest on the last day",
                Event(EventKind.Leave, resigning, HrDates.EndOfLastDay(DateOnly.FromDateTime(now.UtcDateTime).AddDays(14), resigning.TimeZone), ExitReason.Voluntary, "resignation letter received")),
        };
        if (contractor is not null)
        {
            scenarios.Add(($"Contract of {contractor.DisplayName} ({contractor.Department}) ends today",
                Event(EventKind.ContractEnd, contractor, now, ExitReason.None, "contract CT-77 ends")));
        }

        if (mover is not null)
        {
            var to = mover.Department == "Sales" ? "Marketing" : "Sales";
            scenarios.Add(($"{mover.DisplayName} moves from {mover.Department} to {to}: only what the old role granted and the new one does not",
                Event(EventKind.Move, mover, now, ExitReason.None, "internal transfer") with { NewDepartment = to, NewTitle = to == "Sales" ? "Account Executive" : "Marketing Manager" }));
        }

        var n = 2;
        var caseIds = new List<string>();
        foreach (var (title, e) in scenarios)
        {
            c.Line($"\n[bold]{n++}. {title}[/]");
            var result = await engine.SubmitAsync(e, "admin:demo", ct);
            c.Line($"   event {result.Event.Id} → {result.Outcome.Snake()}: {result.Message}");
            if (result.Plan is null)
            {
                continue;
            }

            Views.Plan(c, result.Plan, ctx.Time.GetUtcNow());
            c.Line($"   [bold]executing[/] (each step is persisted before it runs, then read back):");
            engine.OnProgress = Views.LiveSteps(c);
            await engine.RunAsync(RunMode.UntilIdle, ct);
            engine.OnProgress = null;
            var kase = (await engine.Store.GetCaseAsync(result.Plan.Case.Id, ct))!;
            Views.Timeline(c, kase, await engine.Store.GetStepsAsync(kase.Id, ct), ctx.Time.GetUtcNow());
            caseIds.Add(kase.Id);
            if (e.Kind == EventKind.Move && mover is not null)
            {
                await engine.Store.UpsertPeopleAsync([mover with { Department = e.NewDepartment!, Title = e.NewTitle! }], ct);
            }
        }

        // 3. Where things stand, and the proof.
        c.Line($"\n[bold]{n++}. Status[/]");
        var stats = await engine.Store.GetStatisticsAsync(ctx.Time.GetUtcNow(), ct);
        c.Line($"cases: {string.Join(" · ", stats.CasesByStatus.Select(kv => $"{kv.Key.Snake()} {kv.Value}"))}; open tasks: {stats.OpenTasks}; failed steps: {stats.FailedSteps}");
        Views.Exposure(c, await engine.Store.GetExposureWindowsAsync(null, ct));
        var v = await new AuditService(engine.Store, ctx.Time).VerifyAsync(ct);
        Console.WriteLine(v.Ok ? $"audit verify: OK ({v.Records} records)" : $"audit verify: FAILED at record {v.FirstBadSeq}: {v.Problem}");

        c.Line($"\n[bold]Explore further[/] (same store, {Path.GetRelativePath(Environment.CurrentDirectory, config.FilePath)}):");
        c.Line($"  ./deprov person {involuntary.Id}                      everything {involuntary.DisplayName} had and has");
        c.Line($"  ./deprov case {caseIds.FirstOrDefault()}           the timeline of the first case");
        c.Line($"  ./deprov plan {cast.Bystanders[0].Id} --reason involuntary     what a termination of {cast.Bystanders[0].DisplayName} would do (dry run)");
        c.Line($"  ./deprov leave {cast.Bystanders[1].Id} --reason involuntary    offboard someone else, live");
        c.Line($"  ./deprov tasks                              manual work (laptops, badges, mailboxes) by team");
        c.Line($"  ./deprov tasks complete <task> --by <name>  record who did it");
        c.Line($"  ./deprov status                             cases, exposure p50/p95/p99, parked events, overdue tasks");
        c.Line($"  ./deprov audit export --person {involuntary.Id} --format html -o evidence.html");
        c.Line($"  ./deprov audit verify                       re-check the hash chain");
        c.Line($"  ./deprov run                                the worker: fires staged steps when they are due");
        c.Line($"  ./deprov bench engine                       the engine benchmark");
        return v.Ok ? ExitCodes.Ok : ExitCodes.AuditBroken;
    }

    internal static LifecycleEvent Event(EventKind kind, Person p, DateTimeOffset effective, ExitReason reason, string note) =>
        new(string.Empty, kind, p.Id, effective, reason, "demo", string.Empty, default, Note: note);
}

/// <summary>
/// Who the demo's events are about, chosen from any generated company: the preferred profile when the company has one
/// (an engineer with a manager, a security engineer, a contractor), otherwise someone close, so every size and seed plays.
/// </summary>
/// <param name="Contractor">Null when the company has no contractor: that scenario is left out.</param>
/// <param name="Mover">Null when no one else is left to move.</param>
/// <param name="Bystanders">Two people no scenario touches, for the commands suggested at the end.</param>
public sealed record DemoCast(Person Involuntary, Person Resigning, Person? Contractor, Person? Mover, IReadOnlyList<Person> Bystanders)
{
    public static DemoCast Pick(IReadOnlyList<Person> people)
    {
        if (people.Count < DemoCommand.MinPeople)
        {
            throw new ArgumentException($"The demo needs at least {DemoCommand.MinPeople} people; the company has {people.Count}.", nameof(people));
        }

        var used = new HashSet<string>(StringComparer.Ordinal);
        Person? Take(params Func<Person, bool>[] preferences)
        {
            foreach (var prefer in preferences)
            {
                if (people.FirstOrDefault(p => !used.Contains(p.Id) && prefer(p)) is { } found)
                {
                    used.Add(found.Id);
                    return found;
                }
            }

            return null;
        }

        static bool Managed(Person p) => p.WorkerType == WorkerType.Employee && p.ManagerId is not null;
        var involuntary = Take(p => p.Department == "Engineering" && Managed(p), Managed, _ => true)!;
        var resigning = Take(p => p.Title == "Security Engineer", p => p.Department == "Sales", Managed, _ => true)!;
        var contractor = Take(p => p.WorkerType == WorkerType.Contractor);
        var mover = Take(p => p.Department == "Engineering" && Managed(p), Managed);
        var bystanders = people.Where(p => !used.Contains(p.Id)).Take(2).ToList();
        return new DemoCast(involuntary, resigning, contractor, mover, bystanders);
    }
}
