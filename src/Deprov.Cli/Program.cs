using Deprov.Cli;
using Spectre.Console;

var console = AnsiConsole.Console;
if (Console.IsOutputRedirected)
{
    // Piped output (CI logs, files): a readable fixed width instead of the 80-column default.
    console.Profile.Width = int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var cols) && cols >= 60 ? cols : 160;
}

return await CliApp.RunAsync(new CliContext(TimeProvider.System, console, CliContext.DefaultFactories()), args);
