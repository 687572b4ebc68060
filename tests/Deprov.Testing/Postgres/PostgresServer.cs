using System.Diagnostics;
using System.Globalization;
using System.Text;
using Npgsql;

namespace Deprov.Testing.Postgres;

/// <summary>
/// A real, throw-away PostgreSQL server (Debian's <c>postgresql</c> binaries): <c>initdb</c> into a temp folder, then
/// <c>postgres</c> run in the foreground as a child process, listening only on a Unix socket in that folder (no TCP
/// port to collide with). Run as the <c>postgres</c> system user when the tests run as root (PostgreSQL refuses root).
/// Trust authentication: only this machine's users can reach the socket. Killed and deleted on dispose.
/// </summary>
/// <remarks>
/// <see cref="SharedAsync"/> gives one server per test process (databases are cheap: each test takes its own with
/// <see cref="CreateDatabaseAsync"/>); <see cref="StartDedicatedAsync"/> gives a dedicated server a test may stop and restart.
/// Missing binaries fail with the command that installs them; nothing is skipped.
/// </remarks>
public sealed class PostgresServer : IAsyncDisposable
{
    public const string SuperUser = "deprov";
    private const string Install = "install it with: apt-get install -y postgresql (the list is in eng/apt-packages.txt)";
    private static readonly SemaphoreSlim SharedGate = new(1, 1);
    private static PostgresServer? _shared;
    private static int _databases;

    private readonly bool _fast;
    private Process? _process;
    private readonly StringBuilder _log = new();

    private PostgresServer(string binDirectory, string directory, int port, bool fast)
    {
        BinDirectory = binDirectory;
        Directory = directory;
        Port = port;
        _fast = fast;
    }

    /// <summary>The folder of the server binaries (initdb, postgres, pg_ctl).</summary>
    public string BinDirectory { get; }

    /// <summary>The temp folder: <c>data/</c> holds the cluster, the folder itself the Unix socket.</summary>
    public string Directory { get; }

    /// <summary>The port number in the socket's name (<c>.s.PGSQL.port</c>); nothing listens on TCP.</summary>
    public int Port { get; }

    /// <summary>A connection string for <paramref name="database"/> as the superuser.</summary>
    public string ConnectionString(string database = "postgres") => new NpgsqlConnectionStringBuilder
    {
        Host = Directory,
        Port = Port,
        Username = SuperUser,
        Database = database,
        Pooling = true,
        MaxPoolSize = 100,
    }.ConnectionString;

    /// <summary>The server all tests of this process share, started on first use and killed when the process exits.</summary>
    /// <remarks>Durability is off (<c>fsync=off</c>) on the shared server: tests check behaviour, not power-loss safety.</remarks>
    public static async Task<PostgresServer> SharedAsync(CancellationToken cancellationToken = default)
    {
        await SharedGate.WaitAsync(cancellationToken);
        try
        {
            if (_shared is null)
            {
                _shared = await StartCoreAsync(fast: true, cancellationToken);
                var server = _shared;
                AppDomain.CurrentDomain.ProcessExit += (_, _) => server.Kill(deleteFolder: true);
            }

            return _shared;
        }
        finally
        {
            SharedGate.Release();
        }
    }

    /// <summary>A dedicated server (default durability settings), for tests that stop and restart the database.</summary>
    public static Task<PostgresServer> StartDedicatedAsync(CancellationToken cancellationToken = default) => StartCoreAsync(fast: false, cancellationToken);

    /// <summary>Creates an empty database with a fresh name and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(CancellationToken cancellationToken = default)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"t{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}");
        await using var connection = new NpgsqlConnection(ConnectionString());
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionString(name);
    }

    private static async Task<PostgresServer> StartCoreAsync(bool fast, CancellationToken cancellationToken)
    {
        var bin = FindBinDirectory();
        var dir = Path.Combine(Path.GetTempPath(), "deprov-pg-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(dir);
        var server = new PostgresServer(bin, dir, 40000 + Random.Shared.Next(20000), fast);
        try
        {
            if (RunningAsRoot)
            {
                // The server runs as the postgres system user, which must own its folder.
                await RunAsIsAsync("/bin/chown", ["postgres:postgres", dir], cancellationToken);
            }

            await RunAsync(Path.Combine(bin, "initdb"), ["-D", server.DataDirectory, "-U", SuperUser, "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C.UTF-8"], cancellationToken);
            await server.StartAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private string DataDirectory => Path.Combine(Directory, "data");

    /// <summary>(Re)starts the server process on the same data and socket; returns once it accepts connections.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_process is { HasExited: false })
        {
            return;
        }

        var args = new List<string>
        {
            "-D", DataDirectory, "-k", Directory, "-p", Port.ToString(CultureInfo.InvariantCulture),
            "-c", "listen_addresses=", "-c", "max_connections=300", "-c", "shared_buffers=128MB",
        };
        if (_fast)
        {
            args.AddRange(["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]);
        }

        // A watchdog shell runs the server and shuts it down (SIGQUIT: immediate shutdown, children included) when this
        // test process is gone, however it ended; for the shared server it also deletes the folder.
        var server = Launch(Path.Combine(BinDirectory, "postgres"), args);
        var watchdog = new ProcessStartInfo("/bin/sh")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        watchdog.ArgumentList.Add("-c");
        watchdog.ArgumentList.Add(
            "\"$@\" & child=$!; trap 'kill -QUIT $child 2>/dev/null' TERM INT; " +
            $"while kill -0 {Environment.ProcessId} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done; " +
            "kill -QUIT $child 2>/dev/null; wait $child; " +
            (_fast ? $"rm -rf '{Directory}'" : "true"));
        watchdog.ArgumentList.Add("postgres-watchdog");
        watchdog.ArgumentList.Add(server.FileName);
        foreach (var a in server.ArgumentList)
        {
            watchdog.ArgumentList.Add(a);
        }

        var process = Process.Start(watchdog) ?? throw new InvalidOperationException("Could not start postgres.");
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;

        var started = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (process.HasExited)
            {
                // After a kill, backends of the old postmaster may hold its shared memory for a moment: start again.
                if (started.Elapsed < TimeSpan.FromSeconds(60) && (Log.Contains("already exists", StringComparison.Ordinal) || Log.Contains("shared memory", StringComparison.Ordinal)))
                {
                    lock (_log)
                    {
                        _log.Clear();
                    }

                    process.Dispose();
                    await Task.Delay(100, cancellationToken);
                    process = Process.Start(watchdog) ?? throw new InvalidOperationException("Could not start postgres.");
                    process.ErrorDataReceived += (_, e) => Append(e.Data);
                    process.OutputDataReceived += (_, e) => Append(e.Data);
                    process.BeginErrorReadLine();
                    process.BeginOutputReadLine();
                    _process = process;
                    continue;
                }

                throw new InvalidOperationException($"postgres exited with {process.ExitCode} at start: {Log}");
            }

            try
            {
                await using var connection = new NpgsqlConnection(ConnectionString() + ";Pooling=false;Timeout=2");
                await connection.OpenAsync(cancellationToken);
                return;
            }
            catch (NpgsqlException) when (started.Elapsed < TimeSpan.FromSeconds(60))
            {
                // Still starting (socket not yet there, or "the database system is starting up").
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    /// <summary>Kills the server with SIGKILL (a crash, as far as clients can tell). <see cref="StartAsync(CancellationToken)"/> brings it back.</summary>
    public async Task StopAsync()
    {
        Kill(deleteFolder: false);
        if (_process is not null)
        {
            await _process.WaitForExitAsync();
            _process.Dispose();
            _process = null;
        }

        // A killed postmaster leaves its children to notice and exit; the next start waits for the shared memory they hold.
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>What the server printed (its log goes to stderr).</summary>
    public string Log
    {
        get
        {
            lock (_log)
            {
                return _log.ToString();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        DeleteFolder();
    }

    private void Kill(bool deleteFolder)
    {
        // SIGKILL to the postmaster itself: the watchdog shell, its parent, reaps it (no zombie keeps the pid file
        // "in use") and exits. Backends notice their postmaster is gone and exit on their own.
        if (_process is { HasExited: false } p)
        {
            try
            {
                var pidFile = Path.Combine(DataDirectory, "postmaster.pid");
                if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).FirstOrDefault(), CultureInfo.InvariantCulture, out var pid))
                {
                    using var postmaster = Process.GetProcessById(pid);
                    postmaster.Kill();
                }

                if (!p.WaitForExit(10_000))
                {
                    p.Kill(entireProcessTree: true);
                }
            }
            catch (Exception e) when (e is InvalidOperationException or ArgumentException or IOException or System.ComponentModel.Win32Exception)
            {
                // Already gone.
            }
        }

        if (deleteFolder)
        {
            DeleteFolder();
        }
    }

    private void DeleteFolder()
    {
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; the process is already gone.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_log)
        {
            _log.AppendLine(line);
        }
    }

    private static bool RunningAsRoot => Environment.UserName == "root";

    private static string FindBinDirectory()
    {
        const string root = "/usr/lib/postgresql";
        var candidates = System.IO.Directory.Exists(root)
            ? System.IO.Directory.GetDirectories(root)
                .Select(d => Path.Combine(d, "bin"))
                .Where(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "postgres")))
                .OrderByDescending(d => int.TryParse(Path.GetFileName(Path.GetDirectoryName(d)), out var v) ? v : 0)
                .ToList()
            : [];
        return candidates.FirstOrDefault()
            ?? throw new InvalidOperationException($"PostgreSQL server binaries (initdb, postgres under {root}/<version>/bin) are missing: {Install}.");
    }

    /// <summary>Runs <paramref name="file"/> directly, or as the postgres user (setpriv, which execs without forking) under root.</summary>
    private static ProcessStartInfo Launch(string file, IEnumerable<string> args)
    {
        var start = new ProcessStartInfo(RunningAsRoot ? "/usr/bin/setpriv" : file)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        if (RunningAsRoot)
        {
            foreach (var a in new[] { "--reuid=postgres", "--regid=postgres", "--clear-groups", "--reset-env", file })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }

    /// <summary>Runs a PostgreSQL tool (as the postgres user under root) and fails with its output.</summary>
    private static Task RunAsync(string file, IReadOnlyList<string> args, CancellationToken cancellationToken) =>
        RunAsync(Launch(file, args), cancellationToken);

    /// <summary>Runs a system command as the current user and fails with its output.</summary>
    private static Task RunAsIsAsync(string file, IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        return RunAsync(start, cancellationToken);
    }

    private static async Task RunAsync(ProcessStartInfo start, CancellationToken cancellationToken)
    {
        var file = start.ArgumentList.Count > 0 && start.FileName == "/usr/bin/setpriv" ? start.ArgumentList[4] : start.FileName;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} exited with {process.ExitCode}: {await stderr}{await stdout}");
        }
    }
}
