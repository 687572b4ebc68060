using System.CommandLine;
using Deprov.Cli;
using Deprov.Cli.Commands;
using Spectre.Console;

var console = AnsiConsole.Console;
if (Console.IsOutputRedirected)
{
    // Piped output (CI logs, files): a readable fixed width instead of the 80-column default.
    console.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var cols) && cols >= 60 ? cols : 160;
}

var ctx = new CliContext(TimeProvider.System, console, CliContext.DefaultFactories());
var root = new RootCommand("Deprov: cut the access a person should no longer have — everywhere, within seconds — prove it, and keep it cut.");
root.Options.Add(ctx.ConfigOption);
root.Options.Add(ctx.JsonOption);
root.Options.Add(ctx.ActorOption);
root.Subcommands.Add(DemoCommand.Create(ctx));
root.Subcommands.Add(ImportCommand.Create(ctx));
foreach (var c in EventCommands.Create(ctx).Concat(CaseCommands.Create(ctx)).Concat(InfoCommands.Create(ctx)).Concat(ServeCommand.Create(ctx)).Concat(ReconcileCommands.Create(ctx)).Concat(CheckCommand.Create(ctx)))
{
    root.Subcommands.Add(c);
}

var parse = root.Parse(args);
if (parse.Errors.Count > 0 && parse.Action is not System.CommandLine.Help.HelpAction)
{
    foreach (var e in parse.Errors)
    {
        await Console.Error.WriteLineAsync($"error: {e.Message}");
    }

    await Console.Error.WriteLineAsync("Run 'deprov --help' (or 'deprov <command> --help') for usage.");
    return ExitCodes.Usage;
}

return await parse.InvokeAsync();
