using Deprov.Testing;
using Spectre.Console;

namespace Deprov.Cli.Tests;

/// <summary>
/// People, notes and events whose text is console markup, HTML, quotes, bidi overrides, emoji, control characters or
/// simply very long: every view shows the text as written and none crashes (a '[' in a name used to throw in Spectre).
/// </summary>
public sealed class HostileDataTests
{
    private const string Markup = "[red]Eve[/] [/] [bold";
    private const string Html = "<script>alert(1)</script> & \"quoted\" 'single'";
    private static readonly string Hostile = $"{Markup} {Html} \u202Egnp.exe \u001b[31m 🙂👩‍💻 {new string('W', 600)}";

    [Fact]
    public void SafeMarkup_InterpolatedData_EscapedLiteralMarkupKept()
    {
        SafeMarkup m = $"[bold]{Hostile}[/] {42,4} {(SafeMarkup)$"[green]ok[/]"}";
        var text = Render(m);
        Assert.Contains(Markup, text, StringComparison.Ordinal);
        Assert.Contains(Html, text, StringComparison.Ordinal);
        Assert.Contains("  42 ok", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\u202E", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b", text, StringComparison.Ordinal);
        Assert.Contains("🙂", text, StringComparison.Ordinal);
    }

    [Fact]
    public void SafeMarkup_PlainStringConverts_Escaped()
    {
        SafeMarkup plain = Markup;
        Assert.Equal(Markup, Render(plain).TrimEnd());
        Assert.Equal("[[red]]Eve[[/]] [[/]] [[bold", plain.Text);
    }

    [Fact]
    public async Task Views_HostilePersonNotesAndEvents_ShownAsWrittenNoCrash()
    {
        var env = await TestEnvironment.CreateAsync(policy: """
            policy:
              tasks:
                manual:
                  - { name: exit-checklist, title: "[red]Exit[/] checklist <b>", team: hr, when: { event: [leave] } }
            """);
        var person = Some.Person() with { DisplayName = Hostile, Title = Markup, Department = Html, Location = "[" };
        var other = Some.Person();
        await env.SeedAsync([person, other], Some.Systems([person, other]));
        var leave = Some.Leave(person.Id, env.Time.GetUtcNow()) with { Note = Hostile };
        var result = await env.Engine.SubmitAsync(leave, "admin:[red]mallory[/]", CancellationToken.None);
        await env.RunUntilIdleAsync();
        await env.Engine.SubmitAsync(Some.Leave("[/]<b>ghost", env.Time.GetUtcNow()), "admin:test", CancellationToken.None); // parked: unknown person
        await env.Engine.DisposeAsync();
        var config = env.ConfigPath;
        var evidence = Path.Combine(env.Directory, "evidence.html");

        foreach (var args in new[]
        {
            new[] { "person", person.Id }, ["case", result.Plan!.Case.Id], ["cases"], ["tasks", "--all"], ["status"], ["plan", person.Id, "--reason", "involuntary"],
            ["plan", other.Id], ["findings"], ["access", "--person", person.Id], ["audit", "export", "--person", person.Id, "--format", "html", "-o", evidence],
        })
        {
            var r = await InProcessCli.RunAsync([.. args, "--config", config]);
            Assert.False(InProcessCli.LooksLikeACrash(r.All), $"deprov {string.Join(' ', args)}:\n{r.All}");
            Assert.True(r.ExitCode is 0 or 6, $"deprov {string.Join(' ', args)} → {r.ExitCode}:\n{r.All}");
            Assert.DoesNotContain("\u202E", r.Out, StringComparison.Ordinal);
        }

        var shown = await InProcessCli.RunAsync("person", person.Id, "--config", config);
        Assert.Contains(Markup, shown.Out, StringComparison.Ordinal);
        Assert.Contains(Html, shown.Out, StringComparison.Ordinal);
        Assert.Contains("[hr] [red]Exit[/] checklist <b>", shown.Out, StringComparison.Ordinal); // the team, in the brackets that once crashed it
        var status = await InProcessCli.RunAsync("status", "--config", config);
        Assert.Contains("[/]<b>ghost", status.Out, StringComparison.Ordinal);
        var html = await File.ReadAllTextAsync(evidence);
        Assert.DoesNotContain("<script>", html, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
    }

    private static string Render(SafeMarkup m)
    {
        using var w = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(w), Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        console.Profile.Width = 4000;
        console.Line(m);
        return w.ToString();
    }
}
