using System.Globalization;
using Deprov.Core.Execution;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Spectre.Console;

namespace Deprov.Cli;

/// <summary>How things look on a terminal.</summary>
public static class Views
{
    public static string E(string? s) => Markup.Escape(s ?? string.Empty);

    public static string When(DateTimeOffset t, DateTimeOffset now) =>
        Math.Abs((t - now).TotalSeconds) < 1 ? "now" : t < now ? $"{t:yyyy-MM-dd HH:mm:ss}Z ({Ago(now - t)} ago)" : $"{t:yyyy-MM-dd HH:mm}Z (in {Ago(t - now)})";

    public static string Ago(TimeSpan d) => d.TotalDays >= 1 ? $"{d.TotalDays:0}d" : d.TotalHours >= 1 ? $"{d.TotalHours:0}h" : d.TotalMinutes >= 1 ? $"{d.TotalMinutes:0}m" : $"{d.TotalSeconds:0}s";

    public static string Status(StepStatus s) => s switch
    {
        StepStatus.Verified => "[green]verified[/]",
        StepStatus.DoneManually => "[green]done manually[/]",
        StepStatus.Running => "[yellow]running[/]",
        StepStatus.Pending or StepStatus.Waiting => "[grey]scheduled[/]",
        StepStatus.Held => "[blue]held[/]",
        StepStatus.Failed or StepStatus.Unconfirmed or StepStatus.Blocked => $"[red bold]{s.Snake()}[/]",
        _ => s.Snake(),
    };

    public static string Status(CaseStatus s) => s switch
    {
        CaseStatus.Verified => "[green bold]verified[/]",
        CaseStatus.Scheduled => "[blue]scheduled[/]",
        CaseStatus.Running => "[yellow]running[/]",
        CaseStatus.Unverified => "[red bold]NOT VERIFIED[/]",
        _ => s.Snake(),
    };

    public static void Plan(IAnsiConsole console, Plan plan, DateTimeOffset now)
    {
        var table = new Table().Border(TableBorder.Rounded).Title($"plan for case [bold]{E(plan.Case.Id)}[/] ({plan.Case.Kind.Snake()}, rule [bold]{E(plan.Case.PolicyRule)}[/])");
        table.AddColumns("#", "stage", "due", "phase", "action", "system:target", "state");
        var phases = DefaultPhaseOrder();
        foreach (var s in plan.Steps.OrderBy(s => s.DueAt).ThenBy(s => phases.IndexOf(s.Category)).ThenBy(s => s.Seq))
        {
            table.AddRow(s.Seq.ToString(CultureInfo.InvariantCulture), E(s.Stage), E(When(s.DueAt, now)), s.Category.Snake(), E(s.Action.ToSnake()), E($"{s.SystemId ?? "-"}:{s.Target}"),
                s.Action == ActionKind.Manual ? "[grey]task[/]" : s.Status == StepStatus.Held ? $"[blue]held: {E(s.WaitReason)}[/]" : "[grey]planned[/]");
        }

        console.Write(table);
        foreach (var n in plan.Notes)
        {
            console.MarkupLine($"  [grey]· {E(n)}[/]");
        }

        var hard = plan.Dependencies.Count(d => d.Hard);
        console.MarkupLine($"  [grey]{plan.Steps.Count} steps, {plan.Dependencies.Count} ordering edges ({hard} hard), {plan.Tasks.Count} manual task(s)[/]");
    }

    /// <summary>Prints each step as it starts and finishes.</summary>
    public static Action<StepProgress> LiveSteps(IAnsiConsole console)
    {
        var gate = new Lock();
        return p =>
        {
            if (p.Status == StepStatus.Running)
            {
                return;
            }

            var took = p.Step.StartedAt is { } s && p.Step.FinishedAt is { } f ? $" [grey]{(f - s).TotalMilliseconds:0} ms[/]" : string.Empty;
            var err = p.Detail is null ? string.Empty : $" [red]{E(p.Detail)}[/]";
            lock (gate)
            {
                console.MarkupLine($"  {Status(p.Status),-12} {E(p.Step.Action.ToSnake()),-22} {E(p.Step.SystemId ?? "-")}:{E(p.Step.Target)}{took}{err}");
            }
        };
    }

    public static void Timeline(IAnsiConsole console, Case kase, IReadOnlyList<Step> steps, DateTimeOffset now)
    {
        console.MarkupLine($"[bold]case {E(kase.Id)}[/] — {kase.Kind.Snake()} of [bold]{E(kase.PersonId)}[/], rule {E(kase.PolicyRule)}, plan {E(kase.Plan)}: {Status(kase.Status)}"
            + (kase.StatusDetail is null ? string.Empty : $" [grey]({E(kase.StatusDetail)})[/]"));
        console.MarkupLine($"  effective {E(When(kase.EffectiveAt, now))} · received {E(When(kase.ReceivedAt, now))} · access must end {E(When(kase.CutAt, now))}");
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumns("#", "stage", "action", "system:target", "status", "started", "finished", "tries", "evidence / reason");
        foreach (var s in steps.OrderBy(s => s.Action == ActionKind.Manual).ThenBy(s => s.StartedAt ?? s.DueAt).ThenBy(s => s.Seq))
        {
            if (s.Action == ActionKind.Manual)
            {
                table.AddRow(s.Seq.ToString(CultureInfo.InvariantCulture), E(s.Stage), "manual", E(s.Target), s.Status == StepStatus.DoneManually ? "[green]task done[/]" : "[grey]task open[/]",
                    "-", s.FinishedAt is { } done ? done.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) : "-", "-", E($"task T-{s.Id}"));
                continue;
            }

            var evidence = s.Error ?? s.WaitReason ?? (s.After is null ? string.Empty : $"{s.Before} → {s.After}");
            table.AddRow(s.Seq.ToString(CultureInfo.InvariantCulture), E(s.Stage), E(s.Action.ToSnake()), E($"{s.SystemId ?? "-"}:{s.Target}"), Status(s.Status),
                s.StartedAt is { } st ? st.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) : (s.Status is StepStatus.Pending or StepStatus.Waiting ? E(When(s.DueAt, now)) : "-"),
                s.FinishedAt is { } fi ? fi.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) : "-",
                s.Attempts.ToString(CultureInfo.InvariantCulture), E(Truncate(evidence, 70)));
        }

        console.Write(table);
        console.MarkupLine(kase.ExposureWindow is { } w
            ? $"  exposure window: [bold]{w.TotalMilliseconds:0} ms[/] (from {kase.CutAt:HH:mm:ss.fff} to the last cut verified at {kase.CutVerifiedAt:HH:mm:ss.fff} UTC)"
            : kase.CutAt > now ? $"  exposure window: starts when access must end ({E(When(kase.CutAt, now))})" : "  exposure window: [red]still open[/] — access not yet verified as cut");
    }

    private static List<StepCategory> DefaultPhaseOrder() => [.. Core.Policy.DeprovPolicy.PhaseCategories, StepCategory.Manual, StepCategory.Delete];

    public static string Truncate(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

    public static void Exposure(IAnsiConsole console, IReadOnlyList<double> windows)
    {
        if (windows.Count == 0)
        {
            console.MarkupLine("exposure window: no case has reached a verified cut yet");
            return;
        }

        console.MarkupLine($"exposure window over {windows.Count} case(s): p50 [bold]{Percentiles.Of(windows, 50):0} ms[/] · p95 [bold]{Percentiles.Of(windows, 95):0} ms[/] · p99 [bold]{Percentiles.Of(windows, 99):0} ms[/]");
    }

    public static void Person(IAnsiConsole console, AccessMap map, IReadOnlyList<Case> cases, IReadOnlyList<TaskItem> tasks, DateTimeOffset now)
    {
        var p = map.Person;
        console.MarkupLine($"[bold]{E(p.DisplayName)}[/] ({E(p.Id)}) <{E(p.Email)}> — {E(p.Title)}, {E(p.Department)}, {E(p.Location)}; {p.WorkerType.Snake()}, {p.Status.Snake()}"
            + (p.ManagerId is null ? string.Empty : $", manager {E(p.ManagerId)}") + (p.EndDate is { } end ? $", end date {end:yyyy-MM-dd}" : string.Empty));
        var accounts = new Table().Border(TableBorder.Simple).Title("accounts and entitlements");
        accounts.AddColumns("system", "account", "status", "last sign-in", "entitlements");
        foreach (var a in map.Accounts)
        {
            var ents = map.Assignments.Where(x => x.AccountId == a.Id).Select(x => map.FindEntitlement(x.EntitlementId)).OfType<Entitlement>()
                .Select(e => e.Privileged ? $"[red]{E(e.Name)}*[/]" : e.Kind == EntitlementKind.Licence ? $"[blue]{E(e.Name)}$[/]" : E(e.Name));
            accounts.AddRow(E(a.SystemId), E(a.UserName), a.Status == AccountStatus.Active ? "[green]active[/]" : E(a.Status.Snake()),
                a.LastSignInAt is { } l ? E(When(l, now)) : "-", string.Join(", ", ents));
        }

        console.Write(accounts);
        console.MarkupLine("  [grey](* privileged, $ paid licence)[/]");
        foreach (var d in map.Devices)
        {
            console.MarkupLine($"  device: {E(d.Model)} {E(d.SerialNumber)} in {E(d.SystemId)} — {d.Status.Snake()}");
        }

        foreach (var c in map.CredentialsKnown)
        {
            console.MarkupLine($"  knows shared secret: {E(c.Name)} in {E(c.SystemId)} (last rotated {(c.LastRotatedAt is { } r ? E(When(r, now)) : "never")})");
        }

        foreach (var c in map.CredentialsOwned)
        {
            console.MarkupLine($"  owns {c.Kind.Snake()}: {E(c.Name)} in {E(c.SystemId)} — {c.Status.Snake()}");
        }

        foreach (var h in map.Holds)
        {
            console.MarkupLine($"  [blue]legal hold {E(h.Id)}[/]{(h.SystemId is null ? string.Empty : $" on {E(h.SystemId)}")}: {E(h.Reason)} (set by {E(h.SetBy)})");
        }

        foreach (var k in cases)
        {
            console.MarkupLine($"  case {E(k.Id)}: {k.Kind.Snake()}, {Status(k.Status)}, created {E(When(k.CreatedAt, now))}"
                + (k.ExposureWindow is { } w ? $", exposure {w.TotalMilliseconds:0} ms" : string.Empty));
        }

        foreach (var t in tasks)
        {
            console.MarkupLine($"  task {E(t.Id)} [{t.Team.Snake()}] {E(t.Title)} — {(t.Status == Core.Model.TaskStatus.Open ? $"open, due {E(When(t.DueAt, now))}" : $"done by {E(t.CompletedBy)}")}");
        }
    }
}
