using System.CommandLine;
using Deprov.Cli.Commands;

namespace Deprov.Cli;

/// <summary>The command tree and how a command line runs through it (Program only composes).</summary>
public static class CliApp
{
    public static RootCommand Build(CliContext ctx)
    {
        var root = new RootCommand("Deprov: cut the access a person should no longer have — everywhere, within seconds — prove it, and keep it cut.");
        root.Options.Add(ctx.ConfigOption);
        root.Options.Add(ctx.JsonOption);
        root.Options.Add(ctx.ActorOption);
        root.Subcommands.Add(DemoCommand.Create(ctx));
        root.Subcommands.Add(ImportCommand.Create(ctx));
        foreach (var c in EventCommands.Create(ctx).Concat(CaseCommands.Create(ctx)).Concat(InfoCommands.Create(ctx)).Concat(ServeCommand.Create(ctx)).Concat(ReconcileCommands.Create(ctx)).Concat(CheckCommand.Create(ctx)).Concat(SourceCommands.Create(ctx)))
        {
            root.Subcommands.Add(c);
        }

        return root;
    }

    public static async Task<int> RunAsync(CliContext ctx, string[] args)
    {
        var parse = Build(ctx).Parse(args);
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
    }
}
