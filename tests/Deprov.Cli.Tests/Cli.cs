using System.Diagnostics;
using System.Text;

namespace Deprov.Cli.Tests;

public sealed record CliResult(int ExitCode, string Out, string Err)
{
    public string All => Out + Err;
}

/// <summary>Runs the built deprov CLI as a child process.</summary>
public static class Cli
{
    private static readonly Lazy<string> Dll = new(() =>
    {
        // artifacts/bin/Deprov.Cli.Tests/<config>/ → artifacts/bin/Deprov.Cli/<config>/deprov.dll
        var here = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        var config = Path.GetFileName(here);
        var bin = Path.GetDirectoryName(Path.GetDirectoryName(here))!;
        var dll = Path.Combine(bin, "Deprov.Cli", config, "deprov.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"The CLI was not built at {dll}; build the solution first (dotnet build Deprov.slnx).");
    });

    public static string DllPath => Dll.Value;

    public static async Task<CliResult> RunAsync(string workingDirectory, IReadOnlyDictionary<string, string>? env, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll.Value);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment["DEPROV_ACTOR"] = "cli-test";
        psi.Environment["COLUMNS"] = "200";
        psi.Environment.Remove("DEPROV_CONFIG");
        psi.Environment.Remove("DEPROV_FAULT_KILL");
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        using var p = Process.Start(psi)!;
        p.StandardInput.Close(); // a command that reads standard input (admin create) sees its end, as from /dev/null
        var stdout = new StringBuilder();
        var stderr = new StringBuilder();
        var outTask = Task.Run(async () => stdout.Append(await p.StandardOutput.ReadToEndAsync()));
        var errTask = Task.Run(async () => stderr.Append(await p.StandardError.ReadToEndAsync()));
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        try
        {
            await p.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"deprov {string.Join(' ', args)} did not finish in 3 minutes.\n{stdout}\n{stderr}");
        }

        await Task.WhenAll(outTask, errTask);
        return new CliResult(p.ExitCode, stdout.ToString(), stderr.ToString());
    }

    public static Task<CliResult> RunAsync(string workingDirectory, params string[] args) => RunAsync(workingDirectory, null, args);
}
