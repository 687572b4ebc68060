using System.Diagnostics;
using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json.Nodes;

namespace Deprov.Testing.Scim;

/// <summary>
/// An independent SCIM 2.0 server: <c>scimmy</c> + <c>scimmy-routers</c> + <c>express</c> from the npm registry, run
/// by Node.js from <c>scimmy-server/</c> beside this file, on 127.0.0.1 and a free port, in memory. The library, not
/// our code, parses filters and applies PATCH. It starts empty: tests create users and groups through the SCIM API
/// (<see cref="CreateUserAsync"/>, <see cref="CreateGroupAsync"/>). Killed on dispose.
/// </summary>
/// <remarks>Needs <c>node</c> and <c>npm</c> on the PATH (Debian packages <c>nodejs</c> and <c>npm</c>); runs
/// <c>npm ci</c> once when <c>node_modules</c> is missing, which needs the npm registry. Nothing is skipped: a missing
/// prerequisite fails with what to install.</remarks>
public sealed class ScimmyServer : IAsyncDisposable
{
    private const string Install = "install the Debian packages: apt-get install -y nodejs npm";
    private static readonly SemaphoreSlim InstallLock = new(1, 1);

    private readonly Process _process;
    private readonly HttpClient _http;

    private ScimmyServer(Process process, int port, string token)
    {
        _process = process;
        Token = token;
        BaseUrl = new Uri($"http://127.0.0.1:{port}/scim/v2/");
        _http = new HttpClient { BaseAddress = BaseUrl };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>The SCIM base URL, e.g. <c>http://127.0.0.1:41234/scim/v2/</c>.</summary>
    public Uri BaseUrl { get; }

    /// <summary>The bearer token the server accepts.</summary>
    public string Token { get; }

    /// <summary>The folder holding package.json, package-lock.json and server.js.</summary>
    public static string Folder { get; } = FolderOf();

    private static string FolderOf([CallerFilePath] string source = "") =>
        Path.Combine(Path.GetDirectoryName(source) ?? ".", "scimmy-server");

    public static async Task<ScimmyServer> StartAsync(CancellationToken cancellationToken = default)
    {
        var node = FindOnPath("node") ?? throw new InvalidOperationException($"'node' is not on the PATH: {Install}.");
        await EnsureInstalledAsync(cancellationToken);

        var token = "scimmy-" + Guid.NewGuid().ToString("N");
        var start = new ProcessStartInfo(node)
        {
            WorkingDirectory = Folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("server.js");
        start.Environment["SCIMMY_TOKEN"] = token;
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {node} server.js in {Folder}.");
        var stderr = new StringBuilder();
        var listening = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is { } line && line.StartsWith("listening ", StringComparison.Ordinal) && int.TryParse(line.AsSpan(10), out var port))
            {
                listening.TrySetResult(port);
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.Exited += (_, _) => listening.TrySetException(new InvalidOperationException($"node server.js exited with {process.ExitCode}: {Stderr()}"));
        process.EnableRaisingEvents = true;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        string Stderr()
        {
            lock (stderr)
            {
                return stderr.ToString();
            }
        }

        try
        {
            var port = await listening.Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            var server = new ScimmyServer(process, port, token);
            using var answer = await server._http.GetAsync(new Uri("ServiceProviderConfig", UriKind.Relative), cancellationToken);
            if (!answer.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"scimmy server answered ServiceProviderConfig with {(int)answer.StatusCode}: {Stderr()}");
            }

            return server;
        }
        catch
        {
            process.Kill(entireProcessTree: true);
            process.Dispose();
            throw;
        }
    }

    /// <summary>Runs <c>npm ci</c> when <c>node_modules</c> is missing (once per process; a lock file guards other processes).</summary>
    private static async Task EnsureInstalledAsync(CancellationToken cancellationToken)
    {
        var modules = Path.Combine(Folder, "node_modules");
        var marker = Path.Combine(modules, ".package-lock.json");
        await InstallLock.WaitAsync(cancellationToken);
        try
        {
            if (File.Exists(marker))
            {
                return;
            }

            var npm = FindOnPath("npm") ?? throw new InvalidOperationException($"'npm' is not on the PATH and {modules} is missing: {Install}.");
            var flock = FindOnPath("flock") ?? throw new InvalidOperationException("'flock' is not on the PATH: apt-get install -y util-linux.");

            // flock serialises npm ci across test processes sharing this folder; the second one finds it installed.
            var start = new ProcessStartInfo(flock)
            {
                WorkingDirectory = Folder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { Path.Combine(Path.GetTempPath(), "deprov-scimmy-npm.lock"), "sh", "-c", $"test -f '{marker}' || '{npm}' ci --no-audit --no-fund --loglevel=error" })
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {npm} ci.");
            var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var error = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"npm ci in {Folder} failed ({process.ExitCode}); it needs the npm registry. {await output}{await error}");
            }
        }
        finally
        {
            InstallLock.Release();
        }
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    /// <summary>Creates a user through the SCIM API; returns its id.</summary>
    public async Task<string> CreateUserAsync(string userName, bool active = true, string? email = null, CancellationToken cancellationToken = default)
    {
        var user = new JsonObject
        {
            ["schemas"] = new JsonArray("urn:ietf:params:scim:schemas:core:2.0:User"),
            ["userName"] = userName,
            ["active"] = active,
            ["emails"] = new JsonArray(new JsonObject { ["value"] = email ?? userName, ["type"] = "work", ["primary"] = true }),
        };
        return (string)(await SendAsync(HttpMethod.Post, "Users", user, cancellationToken))!["id"]!;
    }

    /// <summary>Creates a group with these members through the SCIM API; returns its id.</summary>
    public async Task<string> CreateGroupAsync(string displayName, IEnumerable<string> memberIds, CancellationToken cancellationToken = default)
    {
        var group = new JsonObject
        {
            ["schemas"] = new JsonArray("urn:ietf:params:scim:schemas:core:2.0:Group"),
            ["displayName"] = displayName,
            ["members"] = new JsonArray([.. memberIds.Select(m => (JsonNode)new JsonObject { ["value"] = m })]),
        };
        return (string)(await SendAsync(HttpMethod.Post, "Groups", group, cancellationToken))!["id"]!;
    }

    /// <summary>The user as the server holds it, or null when it answers 404.</summary>
    public Task<JsonObject?> GetUserAsync(string id, CancellationToken cancellationToken = default) => GetAsync("Users/" + id, cancellationToken);

    /// <summary>Whether the server's own group read lists the user as a member.</summary>
    public async Task<bool> IsMemberAsync(string groupId, string userId, CancellationToken cancellationToken = default) =>
        (await GetAsync("Groups/" + groupId, cancellationToken))?["members"] is JsonArray members
        && members.OfType<JsonObject>().Any(m => (string?)m["value"] == userId);

    private async Task<JsonObject?> GetAsync(string path, CancellationToken cancellationToken)
    {
        using var answer = await _http.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
        if (answer.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }

        var text = await answer.Content.ReadAsStringAsync(cancellationToken);
        return answer.IsSuccessStatusCode ? JsonNode.Parse(text)!.AsObject() : throw new InvalidOperationException($"GET {path}: {(int)answer.StatusCode} {text}");
    }

    private async Task<JsonObject?> SendAsync(HttpMethod method, string path, JsonObject body, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/scim+json"),
        };
        using var answer = await _http.SendAsync(request, cancellationToken);
        var text = await answer.Content.ReadAsStringAsync(cancellationToken);
        return answer.IsSuccessStatusCode ? JsonNode.Parse(text)?.AsObject() : throw new InvalidOperationException($"{method} {path}: {(int)answer.StatusCode} {text}");
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }
}
