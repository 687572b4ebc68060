using System.CommandLine;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Spectre.Console;

namespace Deprov.Cli.Tests;

/// <summary>
/// Every command and subcommand of the CLI, read from its System.CommandLine tree (a new command is covered without
/// touching this test), run with <c>--help</c> and for real against the demo store, a broken configuration and a
/// configuration whose systems cannot be reached. Nothing may print a stack trace or exit with an undocumented code, and
/// every command the demo suggests at its end must run cleanly. One demo store serves the whole class.
/// </summary>
public sealed class SmokeTests : IClassFixture<SmokeTests.DemoStore>
{
    private readonly DemoStore _demo;

    public SmokeTests(DemoStore demo) => _demo = demo;

    /// <summary>Commands whose real run is tested elsewhere in this class: demo resets the store, serve runs until stopped.</summary>
    private static readonly HashSet<string> NotInTheLoop = new(StringComparer.Ordinal) { "demo", "serve" };

    // Commands that read no deprov.yaml by design: making a key pair, and checking a bundle offline.
    private static readonly HashSet<string> NoConfiguration = new(StringComparer.Ordinal) { "keygen", "verify-bundle" };

    public static IReadOnlyList<Command[]> LeafCommands()
    {
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) });
        var root = CliApp.Build(new CliContext(TimeProvider.System, console, []));
        var found = new List<Command[]>();
        void Walk(Command c, Command[] path)
        {
            var here = c == root ? path : [.. path, c];
            if (here.Length > 0 && (c.Action is not null || c.Subcommands.Count == 0))
            {
                found.Add(here);
            }

            foreach (var sub in c.Subcommands)
            {
                Walk(sub, here);
            }
        }

        Walk(root, []);
        return found;
    }

    [Fact]
    public void CommandTree_HasTheCommandsTheReadmeDocuments()
    {
        var names = LeafCommands().Select(p => string.Join(' ', p.Select(c => c.Name))).ToHashSet(StringComparer.Ordinal);
        foreach (var expected in new[] { "demo", "person", "case", "cases", "leave", "plan", "tasks complete", "audit verify", "audit export", "serve", "admin key-create", "reconcile", "hold set" })
        {
            Assert.Contains(expected, names);
        }
    }

    [Fact]
    public async Task EveryCommand_Help_ExitZeroNoCrash()
    {
        var problems = new List<string>();
        var root = await InProcessCli.RunAsync("--help");
        Check(problems, ["--help"], root, expectOk: true);
        foreach (var path in LeafCommands())
        {
            string[] args = [.. path.Select(c => c.Name), "--help"];
            Check(problems, args, await InProcessCli.RunAsync(args), expectOk: true);
        }

        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
    }

    [Fact]
    public async Task EveryCommand_OnTheDemoStore_DocumentedExitCodeNoCrash()
    {
        var problems = new List<string>();
        foreach (var path in LeafCommands().Where(p => !NotInTheLoop.Contains(p[0].Name)))
        {
            var args = ArgsFor(path, _demo.Values, ["--config", _demo.Config]);
            Check(problems, args, await InProcessCli.RunAsync(args), expectOk: false);
        }

        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
    }

    [Fact]
    public async Task EveryCommand_BrokenConfig_ExitInvalidInputWithFileAndLine()
    {
        var broken = Path.Combine(_demo.Directory, "broken.yaml");
        await File.WriteAllTextAsync(broken, "store:\n  path: .deprov/broken.db\nsystems: [\n  - id: a\npolicy:\n  rules: [\n");
        var problems = new List<string>();
        foreach (var path in LeafCommands().Where(p => p[0].Name != "serve" && !NoConfiguration.Contains(p[^1].Name)))
        {
            var args = ArgsFor(path, _demo.Values, ["--config", broken]);
            var r = await InProcessCli.RunAsync(args);
            Check(problems, args, r, expectOk: false);
            if (r.ExitCode != 2 || !r.Err.Contains("broken.yaml:", StringComparison.Ordinal))
            {
                problems.Add($"deprov {string.Join(' ', args)} → exit {r.ExitCode} (expected 2 naming broken.yaml:line:column)\n{r.All}");
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
    }

    [Fact]
    public async Task EveryCommand_UnreachableSystems_DocumentedExitCodeNoCrash()
    {
        var dir = Path.Combine(_demo.Directory, "unreachable");
        Directory.CreateDirectory(dir);
        var port = ClosedPort();
        var config = Path.Combine(dir, "deprov.yaml");
        Environment.SetEnvironmentVariable("DEPROV_SMOKE_SECRET", "not-a-real-secret");
        await File.WriteAllTextAsync(config, $$"""
            store:
              path: .deprov/deprov.db
            systems:
              - id: app
                kind: scim
                role: application
                settings:
                  base_url: "http://127.0.0.1:{{port}}/scim/v2/"
                  profile: generic
                  auth: { type: bearer, token: env:DEPROV_SMOKE_SECRET }
              - id: dir
                kind: ldap
                role: directory
                settings:
                  host: 127.0.0.1
                  port: {{port}}
                  security: none
                  bind_dn: cn=deprov,dc=example,dc=com
                  bind_password: env:DEPROV_SMOKE_SECRET
                  flavour: openldap
                  users: { base: "ou=people,dc=example,dc=com" }
                  timeout_seconds: 2
            policy:
              rules:
                - name: default
                  plan: immediate
            """);
        var problems = new List<string>();
        foreach (var path in LeafCommands().Where(p => !NotInTheLoop.Contains(p[0].Name)))
        {
            var args = ArgsFor(path, _demo.Values, ["--config", config]);
            Check(problems, args, await InProcessCli.RunAsync(args), expectOk: false);
        }

        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
    }

    [Fact]
    public async Task DemoSuggestions_AllRunCleanly()
    {
        Assert.NotEmpty(_demo.Suggestions);
        var problems = new List<string>();
        foreach (var line in _demo.Suggestions)
        {
            var args = line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(a => a switch
            {
                "<task>" => _demo.Values["task"],
                "<name>" => "smoke",
                "evidence.html" => Path.Combine(_demo.Directory, "evidence.html"),
                _ => a,
            }).ToList();
            if (args[0] == "run")
            {
                args.Add("--until-idle"); // the plain worker runs until Ctrl-C
            }

            string[] full = [.. args, "--config", _demo.Config];
            var r = await InProcessCli.RunAsync(full);
            Check(problems, full, r, expectOk: true);
        }

        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
    }

    [Fact]
    public async Task Demo_BelowTheMinimum_ExitInvalidInput()
    {
        var r = await InProcessCli.RunAsync("demo", "--people", "19", "--config", _demo.Config);
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--people", r.Err, StringComparison.Ordinal);
        Assert.Contains("between 20 and", r.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_StartsAnswersReadyAndAnAuthenticatedCallThenStops()
    {
        var key = await InProcessCli.RunAsync("admin", "key-create", "--name", "smoke", "--role", "auditor", "--config", _demo.Config);
        Assert.True(key.ExitCode == 0, key.All);
        var secret = key.Out.Trim().Split(' ')[1];
        var port = ClosedPort();
        var url = $"http://127.0.0.1:{port}";
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false };
        foreach (var a in new[] { Cli.DllPath, "serve", "--urls", url, "--config", _demo.Config })
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("DEPROV_CONFIG");
        using var server = Process.Start(psi)!;
        var output = new StringBuilder();
        var listening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
            {
                listening.TrySetException(new InvalidOperationException($"serve ended before listening:\n{output}"));
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            if (line.Contains("Now listening on", StringComparison.Ordinal))
            {
                listening.TrySetResult();
            }
        }

        var readOut = Task.Run(async () =>
        {
            while (true)
            {
                var line = await server.StandardOutput.ReadLineAsync();
                OnLine(line);
                if (line is null)
                {
                    return;
                }
            }
        });
        var readErr = Task.Run(async () =>
        {
            string? line;
            while ((line = await server.StandardError.ReadLineAsync()) is not null)
            {
                lock (output)
                {
                    output.AppendLine(line);
                }
            }
        });
        try
        {
            await listening.Task.WaitAsync(TimeSpan.FromMinutes(2));
            using var http = new HttpClient { BaseAddress = new Uri(url) };
            var ready = await http.GetAsync(new Uri("/ready", UriKind.Relative));
            Assert.True(ready.StatusCode == HttpStatusCode.OK, $"/ready answered {ready.StatusCode}\n{output}");
            using var anonymous = await http.GetAsync(new Uri("/api/stats", UriKind.Relative));
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/stats");
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
            using var stats = await http.SendAsync(request);
            Assert.True(stats.StatusCode == HttpStatusCode.OK, $"/api/stats answered {stats.StatusCode}\n{output}");
            using var body = JsonDocument.Parse(await stats.Content.ReadAsStringAsync());
            Assert.Equal(JsonValueKind.Object, body.RootElement.ValueKind);
        }
        finally
        {
            // SIGTERM, as a service manager stops it: the host shuts down cleanly.
            using (var kill = Process.Start("kill", ["-TERM", server.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill.WaitForExitAsync();
            }

            using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            try
            {
                await server.WaitForExitAsync(guard.Token);
            }
            catch (OperationCanceledException)
            {
                server.Kill(entireProcessTree: true);
            }

            await Task.WhenAll(readOut, readErr);
        }

        Assert.False(InProcessCli.LooksLikeACrash(output.ToString()), output.ToString());
        Assert.Equal(0, server.ExitCode);
    }

    private static void Check(List<string> problems, IReadOnlyList<string> args, CliResult r, bool expectOk)
    {
        var what = $"deprov {string.Join(' ', args)} → exit {r.ExitCode}";
        if (InProcessCli.LooksLikeACrash(r.All))
        {
            problems.Add($"{what}: crashed\n{r.All}");
        }
        else if (!InProcessCli.DocumentedExitCodes.Contains(r.ExitCode))
        {
            problems.Add($"{what}: not a documented exit code\n{r.All}");
        }
        else if (expectOk && r.ExitCode != 0)
        {
            problems.Add($"{what}: expected 0\n{r.All}");
        }
    }

    /// <summary>The command's path, a value for each argument (by its name) and for each required option, then the extras.</summary>
    private static string[] ArgsFor(Command[] path, IReadOnlyDictionary<string, string> values, string[] extra)
    {
        var args = path.Select(c => c.Name).ToList();
        var leaf = path[^1];
        foreach (var a in leaf.Arguments)
        {
            args.Add(values.GetValueOrDefault(a.Name, "x"));
        }

        foreach (var o in leaf.Options.Where(o => o.Required))
        {
            args.Add(o.Name);
            args.Add(values.GetValueOrDefault(o.Name, "x"));
        }

        if (leaf.Name == "run")
        {
            args.Add("--until-idle"); // the plain worker runs until Ctrl-C
        }

        return [.. args, .. extra];
    }

    private static int ClosedPort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port; // closed again when the listener is disposed
    }

    /// <summary>The repository's deprov.yaml in a folder of its own, after one <c>deprov demo --people 20</c> (the smallest company).</summary>
    public sealed class DemoStore : IAsyncLifetime
    {
        public string Directory { get; } = Path.Combine(Path.GetTempPath(), "deprov-smoke-" + Guid.NewGuid().ToString("N")[..8]);

        public string Config => Path.Combine(Directory, "deprov.yaml");

        public Dictionary<string, string> Values { get; } = new(StringComparer.Ordinal);

        public List<string> Suggestions { get; } = [];

        public async Task InitializeAsync()
        {
            System.IO.Directory.CreateDirectory(Directory);
            File.Copy(Path.Combine(RepositoryRoot(), "deprov.yaml"), Config);
            var demo = await InProcessCli.RunAsync("demo", "--people", "20", "--config", Config);
            if (demo.ExitCode != 0 || InProcessCli.LooksLikeACrash(demo.All))
            {
                throw new InvalidOperationException($"deprov demo --people 20 failed (exit {demo.ExitCode}):\n{demo.All}");
            }

            var lines = demo.Out.Split('\n');
            Suggestions.AddRange(lines.Select(l => l.Trim()).Where(l => l.StartsWith("./deprov ", StringComparison.Ordinal))
                .Select(l => l["./deprov ".Length..].Split("  ", StringSplitOptions.RemoveEmptyEntries)[0].Trim())
                .Where(l => !l.StartsWith("bench", StringComparison.Ordinal))); // ./deprov bench runs the benchmark project, not the CLI
            var person = Suggestions.First(s => s.StartsWith("person ", StringComparison.Ordinal)).Split(' ')[1];
            var kase = Suggestions.First(s => s.StartsWith("case ", StringComparison.Ordinal)).Split(' ')[1];
            var tasks = await InProcessCli.RunAsync("tasks", "--json", "--config", Config);
            using var json = JsonDocument.Parse(tasks.Out);
            var task = json.RootElement.EnumerateArray().First().GetProperty("id").GetString()!;
            var roster = Path.Combine(Directory, "roster.csv");
            await File.WriteAllTextAsync(roster, "employee_id,email,name\n");
            foreach (var (k, v) in new Dictionary<string, string>
            {
                ["person"] = person,
                ["--person"] = person,
                ["--dir"] = Path.Combine(Directory, "keys"),
                ["--out"] = Path.Combine(Directory, "evidence.zip"),
                ["bundle"] = Path.Combine(Directory, "evidence.zip"),
                ["case"] = kase,
                ["task"] = task,
                ["system"] = "directory",
                ["account"] = "nobody",
                ["file"] = roster,
                ["id"] = "key_missing",
                ["--by"] = "smoke",
                ["--name"] = "smoke",
                ["--role"] = "auditor",
            })
            {
                Values[k] = v;
            }
        }

        public Task DisposeAsync()
        {
            try
            {
                System.IO.Directory.Delete(Directory, recursive: true);
            }
            catch (IOException)
            {
                // left to the OS temp cleaner
            }

            return Task.CompletedTask;
        }

        private static string RepositoryRoot()
        {
            for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
            {
                if (File.Exists(Path.Combine(d.FullName, "Deprov.slnx")))
                {
                    return d.FullName;
                }
            }

            throw new InvalidOperationException($"No Deprov.slnx above {AppContext.BaseDirectory}.");
        }
    }
}
