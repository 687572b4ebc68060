using System.Globalization;
using Deprov.Core.Execution;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Spectre.Console;

namespace Deprov.Cli;

/// <summary>How things look on a terminal. Every line and cell is <see cref="SafeMarkup"/>: data is escaped by construction.</summary>
public static class Views
{
    public static string When(DateTimeOffset t, DateTimeOffset now) =>
        Math.Abs((t - now).TotalSeconds) < 1 ? "now" : t < now ? $"{t:yyyy-MM-dd HH:mm:ss}Z ({Ago(now - t)} ago)" : $"{t:yyyy-MM-dd HH:mm}Z (in {Ago(t - now)})";

    public static string Ago(TimeSpan d) => d.TotalDays >= 1 ? $"{d.TotalDays:0}d" : d.TotalHours >= 1 ? $"{d.TotalHours:0}h" : d.TotalMinutes >= 1 ? $"{d.TotalMinutes:0}m" : $"{d.TotalSeconds:0}s";

    public static SafeMarkup Status(StepStatus s) => s switch
    {
        StepStatus.Verified => $"[green]verified[/]",
        StepStatus.DoneManually => $"[green]done manually[/]",
        StepStatus.Running => $"[yellow]running[/]",
        StepStatus.Pending or StepStatus.Waiting => $"[grey]scheduled[/]",
        StepStatus.Held => $"[blue]held[/]",
        StepStatus.Failed or StepStatus.Unconfirmed or StepStatus.Blocked => $"[red bold]{s.Snake()}[/]",
        _ => SafeMarkup.Plain(s.Snake()),
    };

    public static SafeMarkup Status(CaseStatus s) => s switch
    {
        CaseStatus.Verified => $"[green bold]verified[/]",
        CaseStatus.Scheduled => $"[blue]scheduled[/]",
        CaseStatus.Running => $"[yellow]running[/]",
        CaseStatus.Unverified => $"[red bold]NOT VERIFIED[/]",
        _ => SafeMarkup.Plain(s.Snake()),
    };

    public static void Plan(IAnsiConsole console, Plan plan, DateTimeOffset now)
    {
        var table = new Table().Border(TableBorder.Rounded).Titled($"plan for case [bold]{plan.Case.Id}[/] ({plan.Case.Kind.Snake()}, rule [bold]{plan.Case.PolicyRule}[/])");
        table.AddColumns("#", "stage", "due", "phase", "action", "system:target", "state");
        var phases = DefaultPhaseOrder();
        foreach (var s in plan.Steps.OrderBy(s => s.DueAt).ThenBy(s => phases.IndexOf(s.Category)).ThenBy(s => s.Seq))
        {
            table.Row(s.Seq.ToString(CultureInfo.InvariantCulture), s.Stage, When(s.DueAt, now), s.Category.Snake(), s.Action.ToSnake(), $"{s.SystemId ?? "-"}:{s.Target}",
                s.Action == ActionKind.Manual ? (SafeMarkup)$"[grey]task[/]" : s.Status == StepStatus.Held ? (SafeMarkup)$"[blue]held: {s.WaitReason}[/]" : (SafeMarkup)$"[grey]planned[/]");
        }

        console.Write(table);
        foreach (var n in plan.Notes)
        {
            console.Line($"  [grey]· {n}[/]");
        }

        var hard = plan.Dependencies.Count(d => d.Hard);
        console.Line($"  [grey]{plan.Steps.Count} steps, {plan.Dependencies.Count} ordering edges ({hard} hard), {plan.Tasks.Count} manual task(s)[/]");
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

            var took = p.Step.StartedAt is { } s && p.Step.FinishedAt is { } f ? (SafeMarkup)$" [grey]{(f - s).TotalMilliseconds:0} ms[/]" : SafeMarkup.Empty;
            var err = p.Detail is null ? SafeMarkup.Empty : (SafeMarkup)$" [red]{p.Detail}[/]";
            lock (gate)
            {
                console.Line($"  {Status(p.Status),-12} {p.Step.Action.ToSnake(),-22} {p.Step.SystemId ?? "-"}:{p.Step.Target}{took}{err}");
            }
        };
    }

    public static void Timeline(IAnsiConsole console, Case kase, IReadOnlyList<Step> steps, DateTimeOffset now)
    {
        var detail = kase.StatusDetail is null ? SafeMarkup.Empty : (SafeMarkup)$" [grey]({kase.StatusDetail})[/]";
        console.Line($"[bold]case {kase.Id}[/] — {kase.Kind.Snake()} of [bold]{kase.PersonId}[/], rule {kase.PolicyRule}, plan {kase.Plan}: {Status(kase.Status)}{detail}");
        console.Line($"  effective {When(kase.EffectiveAt, now)} · received {When(kase.ReceivedAt, now)} · access must end {When(kase.CutAt, now)}");
        var table = new Table().Border(TableBorder.Simple);
        table.AddColumns("#", "stage", "action", "system:target", "status", "started", "finished", "tries/calls", "evidence / reason");
        foreach (var s in steps.OrderBy(s => s.Action == ActionKind.Manual).ThenBy(s => s.StartedAt ?? s.DueAt).ThenBy(s => s.Seq))
        {
            if (s.Action == ActionKind.Manual)
            {
                table.Row(s.Seq.ToString(CultureInfo.InvariantCulture), s.Stage, "manual", s.Target, s.Status == StepStatus.DoneManually ? (SafeMarkup)$"[green]task done[/]" : (SafeMarkup)$"[grey]task open[/]",
                    "-", s.FinishedAt is { } done ? done.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) : "-", "-", $"task T-{s.Id}");
                continue;
            }

            var evidence = s.Error ?? s.WaitReason ?? (s.After is null ? string.Empty : $"{s.Before} → {s.After}");
            table.Row(s.Seq.ToString(CultureInfo.InvariantCulture), s.Stage, s.Action.ToSnake(), $"{s.SystemId ?? "-"}:{s.Target}", Status(s.Status),
                s.StartedAt is { } st ? st.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) : (s.Status is StepStatus.Pending or StepStatus.Waiting ? When(s.DueAt, now) : "-"),
                s.FinishedAt is { } fi ? fi.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture) : "-",
                Tries(s), Truncate(evidence, 70));
        }

        console.Write(table);
        console.Line(kase.ExposureWindow is { } w
            ? (SafeMarkup)$"  exposure window: [bold]{w.TotalMilliseconds:0} ms[/] (from {kase.CutAt:HH:mm:ss.fff} to the last cut verified at {kase.CutVerifiedAt:HH:mm:ss.fff} UTC)"
            : kase.CutAt > now ? (SafeMarkup)$"  exposure window: starts when access must end ({When(kase.CutAt, now)})" : (SafeMarkup)$"  exposure window: [red]still open[/] — access not yet verified as cut");
    }

    private static List<StepCategory> DefaultPhaseOrder() => [.. Core.Policy.DeprovPolicy.PhaseCategories, StepCategory.Manual, StepCategory.Delete];

    public static string Truncate(string s, int n) => s.Length <= n ? s : s[..(n - 1)] + "…";

    public static void Exposure(IAnsiConsole console, IReadOnlyList<double> windows)
    {
        if (windows.Count == 0)
        {
            console.Line($"exposure window: no case has reached a verified cut yet");
            return;
        }

        console.Line($"exposure window over {windows.Count} case(s): p50 [bold]{Percentiles.Of(windows, 50):0} ms[/] · p95 [bold]{Percentiles.Of(windows, 95):0} ms[/] · p99 [bold]{Percentiles.Of(windows, 99):0} ms[/]");
    }

    public static void Person(IAnsiConsole console, AccessMap map, IReadOnlyList<Case> cases, IReadOnlyList<TaskItem> tasks, DateTimeOffset now)
    {
        var p = map.Person;
        var manager = p.ManagerId is null ? string.Empty : $", manager {p.ManagerId}";
        var endDate = p.EndDate is { } end ? $", end date {end:yyyy-MM-dd}" : string.Empty;
        console.Line($"[bold]{p.DisplayName}[/] ({p.Id}) <{p.Email}> — {p.Title}, {p.Department}, {p.Location}; {p.WorkerType.Snake()}, {p.Status.Snake()}{manager}{endDate}");
        var accounts = new Table().Border(TableBorder.Simple).Titled($"accounts and entitlements");
        accounts.AddColumns("system", "account", "status", "last sign-in", "entitlements");
        foreach (var a in map.Accounts)
        {
            var ents = map.Assignments.Where(x => x.AccountId == a.Id).Select(x => map.FindEntitlement(x.EntitlementId)).OfType<Entitlement>()
                .Select(e => e.Privileged ? (SafeMarkup)$"[red]{e.Name}*[/]" : e.Kind == EntitlementKind.Licence ? (SafeMarkup)$"[blue]{e.Name}$[/]" : SafeMarkup.Plain(e.Name));
            accounts.Row(a.SystemId, a.UserName, a.Status == AccountStatus.Active ? (SafeMarkup)$"[green]active[/]" : a.Status.Snake(),
                a.LastSignInAt is { } l ? When(l, now) : "-", SafeMarkup.Join(", ", ents));
        }

        console.Write(accounts);
        console.Line($"  [grey](* privileged, $ paid licence)[/]");
        foreach (var d in map.Devices)
        {
            console.Line($"  device: {d.Model} {d.SerialNumber} in {d.SystemId} — {d.Status.Snake()}");
        }

        foreach (var c in map.CredentialsKnown)
        {
            console.Line($"  knows shared secret: {c.Name} in {c.SystemId} (last rotated {(c.LastRotatedAt is { } r ? When(r, now) : "never")})");
        }

        foreach (var c in map.CredentialsOwned)
        {
            console.Line($"  owns {c.Kind.Snake()}: {c.Name} in {c.SystemId} — {c.Status.Snake()}");
        }

        foreach (var h in map.Holds)
        {
            console.Line($"  [blue]legal hold {h.Id}[/]{(h.SystemId is null ? string.Empty : $" on {h.SystemId}")}: {h.Reason} (set by {h.SetBy})");
        }

        foreach (var k in cases)
        {
            var exposure = k.ExposureWindow is { } w ? $", exposure {w.TotalMilliseconds:0} ms" : string.Empty;
            console.Line($"  case {k.Id}: {k.Kind.Snake()}, {Status(k.Status)}, created {When(k.CreatedAt, now)}{exposure}");
        }

        foreach (var t in tasks)
        {
            console.Line($"  task {t.Id} [[{t.Team.Snake()}]] {t.Title} — {(t.Status switch { Core.Model.TaskStatus.Open => $"open, due {When(t.DueAt, now)}", Core.Model.TaskStatus.Cancelled => "cancelled", _ => $"done by {t.CompletedBy}" })}");
        }
    }

    /// <summary>Tries of the retry schedule (and claims a restart cut short), then the calls that reached the system:
    /// "1/3" is one try that read, changed and read back.</summary>
    private static string Tries(Step s) => string.Create(CultureInfo.InvariantCulture,
        $"{s.Claims}/{s.Attempts}{(s.RecoveredClaims > 0 ? $" (+{s.RecoveredClaims} cut short)" : string.Empty)}");
}
