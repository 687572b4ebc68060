using System.Text.RegularExpressions;
using Spectre.Console;

namespace Deprov.Cli.Tests;

/// <summary>
/// Runs a command line through the real command tree in this process, capturing standard output, standard error and the
/// Spectre console. Console redirection is process-wide, so runs are serialised; the other test classes of this project
/// start the CLI as child processes and never touch this process's console.
/// </summary>
public static partial class InProcessCli
{
    /// <summary>The exit codes the README documents.</summary>
    public static readonly IReadOnlySet<int> DocumentedExitCodes = new HashSet<int> { 0, 1, 2, 3, 4, 5, 6, 7, 8, 64 };

    private static readonly SemaphoreSlim Gate = new(1, 1);

    public static async Task<CliResult> RunAsync(params string[] args)
    {
        await Gate.WaitAsync();
        var (stdout, stderr, stdin) = (Console.Out, Console.Error, Console.In);
        using var output = new StringWriter();
        using var error = new StringWriter();
        try
        {
            Console.SetOut(output);
            Console.SetError(error);
            Console.SetIn(new StringReader(string.Empty));
            var console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Out = new AnsiConsoleOutput(output),
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            });
            console.Profile.Width = 200;
            int code;
            try
            {
                code = await CliApp.RunAsync(new CliContext(TimeProvider.System, console, CliContext.DefaultFactories()), args);
            }
#pragma warning disable CA1031 // recorded as the result, so the assertion shows the command and the exception together
            catch (Exception ex)
#pragma warning restore CA1031
            {
                code = -1;
                await error.WriteLineAsync($"UNHANDLED: {ex}");
            }

            return new CliResult(code, output.ToString(), error.ToString());
        }
        finally
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
            Console.SetIn(stdin);
            Gate.Release();
        }
    }

    /// <summary>A stack trace, an escaped exception, or the CLI's own "this is a bug" line.</summary>
    public static bool LooksLikeACrash(string text) =>
        StackFrame().IsMatch(text) || text.Contains("Unhandled exception", StringComparison.OrdinalIgnoreCase) || text.Contains("UNHANDLED:", StringComparison.Ordinal)
        || text.Contains("internal error:", StringComparison.Ordinal);

    [GeneratedRegex(@"^\s+at \S+.*\(.*\)", RegexOptions.Multiline)]
    private static partial Regex StackFrame();
}
