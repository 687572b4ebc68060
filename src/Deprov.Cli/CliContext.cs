using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Hosting;
using Deprov.Hosting.Configuration;
using Deprov.Hosting.Execution;
using Spectre.Console;

namespace Deprov.Cli;

/// <summary>What every command shares: global options, how to open the engine, how to print.</summary>
public sealed class CliContext
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) } };

    public CliContext(TimeProvider time, IAnsiConsole console, IReadOnlyList<IConnectorFactory> factories)
    {
        Time = time;
        Console = console;
        Factories = factories;
    }

    public Option<string> ConfigOption { get; } = new("--config", "-c")
    {
        Description = "Path to deprov.yaml (default: $DEPROV_CONFIG or ./deprov.yaml)",
        Recursive = true,
    };

    public Option<bool> JsonOption { get; } = new("--json")
    {
        Description = "Print machine-readable JSON",
        Recursive = true,
    };

    public Option<string> ActorOption { get; } = new("--actor")
    {
        Description = "Who is acting, for the audit trail (default: $DEPROV_ACTOR or $USER)",
        Recursive = true,
    };

    public TimeProvider Time { get; }

    public IAnsiConsole Console { get; }

    public IReadOnlyList<IConnectorFactory> Factories { get; }

    /// <summary>The HR source kinds <c>hr_sources:</c> may use.</summary>
    public IReadOnlyList<Core.HrSources.IHrSourceFactory> HrSourceFactories { get; init; } = [new Connectors.BambooHr.BambooHrSourceFactory()];

    public static IReadOnlyList<IConnectorFactory> DefaultFactories() => [new SandboxConnectorFactory(), new Connectors.Scim.ScimConnectorFactory(), new Connectors.Ldap.LdapConnectorFactory(), new Connectors.Okta.OktaConnectorFactory(), new Connectors.Graph.GraphConnectorFactory(), new Connectors.Jamf.JamfConnectorFactory(), new Connectors.Vault.VaultConnectorFactory(), new Connectors.Google.GoogleConnectorFactory(), new Connectors.Aws.AwsIamConnectorFactory()];

    public string ConfigPath(ParseResult pr) =>
        pr.GetValue(ConfigOption) ?? Environment.GetEnvironmentVariable("DEPROV_CONFIG") ?? "deprov.yaml";

    public string Actor(ParseResult pr)
    {
        var name = pr.GetValue(ActorOption) ?? Environment.GetEnvironmentVariable("DEPROV_ACTOR") ?? Environment.GetEnvironmentVariable("USER") ?? "unknown";
        return name.StartsWith("admin:", StringComparison.Ordinal) ? name : $"admin:{name}";
    }

    public bool IsJson(ParseResult pr) => pr.GetValue(JsonOption);

    public DeprovConfig LoadConfig(ParseResult pr) => ConfigLoader.Load(ConfigPath(pr), DeprovHost.Factories(Factories));

    public Task<DeprovEngine> OpenAsync(ParseResult pr, CancellationToken ct) =>
        DeprovHost.OpenAsync(LoadConfig(pr), Factories, HrSourceFactories, Time, null, null, ct);

    public Task<DeprovEngine> OpenAsync(DeprovConfig config, CancellationToken ct) =>
        DeprovHost.OpenAsync(config, Factories, HrSourceFactories, Time, null, null, ct);

    public static void WriteJson<T>(T value) => System.Console.Out.WriteLine(JsonSerializer.Serialize(value, Json));

    /// <summary>
    /// Parses an effective moment: 'now', an ISO date-time with offset, or a date (the end of that day in the person's
    /// time zone: access ends when the day ends).
    /// </summary>
    public DateTimeOffset ParseWhen(string? text, string timeZone, string option) => ParseWhenNoted(text, timeZone, option).At;

    /// <summary>
    /// 'now', an ISO date (the end of that day in <paramref name="timeZone"/>), an ISO timestamp with an offset, or one
    /// without (read in <paramref name="timeZone"/>, and <c>ReadAs</c> says so). Anything else is refused with the accepted forms.
    /// </summary>
    public (DateTimeOffset At, string? ReadAs) ParseWhenNoted(string? text, string timeZone, string option)
    {
        if (string.IsNullOrWhiteSpace(text) || text.Trim() == "now")
        {
            return (Time.GetUtcNow(), null);
        }

        if (HrDates.TryParse(text, HrDates.IsoFormats, timeZone, out var moment, out var problem))
        {
            return (moment!.At, moment.ReadAs);
        }

        throw new ValidationException([new ValidationError(null, null, option, problem!.StartsWith($"'{text.Trim()}' is not a date", StringComparison.Ordinal) ? $"'{text}' is not a date or time Deprov reads." : problem,
            "write 'now', a date like 2026-12-31 (the end of that day in the person's time zone), 2026-12-31T17:00 (read in the person's time zone) or 2026-12-31T17:00:00+01:00.")]);
    }

    /// <summary>Runs a command body, mapping errors to exit codes and clear messages (never a stack trace for bad input).</summary>
    public static async Task<int> RunAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (ValidationException ex)
        {
            await System.Console.Error.WriteLineAsync($"error: {ex.Message}");
            return ex is NotFoundException ? ExitCodes.NotFound : ExitCodes.InvalidInput;
        }
        catch (Hosting.Discovery.InventoryShrinkException ex)
        {
            await System.Console.Error.WriteLineAsync($"refused: {ex.Message}");
            return ExitCodes.InvalidInput;
        }
        catch (ConnectorException ex)
        {
            // A connector error that escaped a command's own per-system handling: still one message, never a stack trace.
            await System.Console.Error.WriteLineAsync($"error: {Hosting.Diagnostics.SystemDoctor.Diagnosis(ex)}");
            await System.Console.Error.WriteLineAsync("  fix: 'deprov check' probes each system and says what to change.");
            return ExitCodes.SystemError;
        }
        catch (StoreException ex)
        {
            await System.Console.Error.WriteLineAsync($"store error: {ex.Message}");
            return ExitCodes.StoreError;
        }
        catch (OperationCanceledException)
        {
            await System.Console.Error.WriteLineAsync("cancelled");
            return ExitCodes.Error;
        }
        catch (DeprovException ex)
        {
            await System.Console.Error.WriteLineAsync($"error: {ex.Message}");
            return ExitCodes.Error;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            await System.Console.Error.WriteLineAsync($"error: {ex.Message} Fix: check the path and its permissions.");
            return ExitCodes.InvalidInput;
        }
#pragma warning disable CA1031 // the CLI's boundary: whatever escaped is a bug, reported as one line and exit 1, never a stack trace on the user's terminal
        catch (Exception ex)
#pragma warning restore CA1031
        {
            await System.Console.Error.WriteLineAsync($"internal error: {ex.GetType().Name}: {ex.Message} — this is a bug in Deprov; please report it with the command you ran.");
            if (Environment.GetEnvironmentVariable("DEPROV_DEBUG") == "1")
            {
                await System.Console.Error.WriteLineAsync(ex.ToString());
            }

            return ExitCodes.Error;
        }
    }
}
