using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace Deprov.Testing.Ldap;

/// <summary>
/// A real OpenLDAP server (Debian's <c>slapd</c>) in a temp folder on a free loopback port: mdb backend, ppolicy
/// (default policy with <c>pwdLockout: TRUE</c>), memberof and refint overlays, and two service accounts — one that may
/// write people and groups, one that may only read. Killed and deleted on dispose.
/// </summary>
/// <remarks>Missing binaries fail with the command that installs them; nothing is skipped.</remarks>
public sealed class SlapdServer : IAsyncDisposable
{
    public const string Suffix = "dc=example,dc=com";
    public const string RootDn = "cn=admin," + Suffix;
    public const string ServiceDn = "cn=deprov,ou=services," + Suffix;
    public const string ReadOnlyDn = "cn=readonly,ou=services," + Suffix;
    public const string PolicyDn = "cn=default,ou=policies," + Suffix;
    private const string Slapd = "/usr/sbin/slapd";
    private const string Install = "install it with: apt-get install -y slapd ldap-utils (the list is in eng/apt-packages.txt)";

    private Process? _process;

    private SlapdServer(string directory, int port, TestCertificates? tls)
    {
        Directory = directory;
        Port = port;
        Tls = tls;
        TlsPort = tls is null ? 0 : FreePort.Next();
    }

    /// <summary>The certificate served for StartTLS on <see cref="Port"/> and LDAPS on <see cref="TlsPort"/>; null for plain LDAP only.</summary>
    public TestCertificates? Tls { get; }

    /// <summary>The LDAPS port when <see cref="Tls"/> is set.</summary>
    public int TlsPort { get; }

    /// <summary>The temp folder holding config, database and pid file.</summary>
    public string Directory { get; }

    public int Port { get; }

    public string Host => "127.0.0.1";

    public string Uri => $"ldap://{Host}:{Port}";

    public string RootPassword { get; } = "root-" + Guid.NewGuid().ToString("N");

    public string ServicePassword { get; } = "svc-" + Guid.NewGuid().ToString("N");

    public string ReadOnlyPassword { get; } = "ro-" + Guid.NewGuid().ToString("N");

    /// <summary>
    /// Creates the folder and config, bulk-loads <paramref name="initialLdif"/> (plus the base entries) with
    /// <c>slapadd</c> before the first start (overlays do not run for it: no memberOf, no refint), and starts slapd.
    /// </summary>
    public static Task<SlapdServer> StartAsync(string? initialLdif = null, CancellationToken cancellationToken = default) =>
        StartCoreAsync(initialLdif, null, cancellationToken);

    /// <summary>As <see cref="StartAsync(string?, CancellationToken)"/>, and the server also offers StartTLS on its port and
    /// LDAPS on <see cref="TlsPort"/> with the certificate in <paramref name="tls"/>.</summary>
    public static Task<SlapdServer> StartAsync(string? initialLdif, TestCertificates tls, CancellationToken cancellationToken = default) =>
        StartCoreAsync(initialLdif, tls, cancellationToken);

    private static async Task<SlapdServer> StartCoreAsync(string? initialLdif, TestCertificates? tls, CancellationToken cancellationToken)
    {
        foreach (var binary in new[] { Slapd, "/usr/sbin/slapadd", "/usr/bin/ldapmodify" })
        {
            if (!File.Exists(binary))
            {
                throw new InvalidOperationException($"{binary} is missing: {Install}.");
            }
        }

        var dir = Path.Combine(Path.GetTempPath(), "deprov-slapd-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "db"));
        var server = new SlapdServer(dir, FreePort.Next(), tls);
        try
        {
            await File.WriteAllTextAsync(server.ConfigPath, server.Config(), cancellationToken);
            await File.WriteAllTextAsync(Path.Combine(dir, "base.ldif"), server.BaseLdif() + (initialLdif ?? string.Empty), cancellationToken);
            await RunAsync("/usr/sbin/slapadd", ["-q", "-f", server.ConfigPath, "-l", Path.Combine(dir, "base.ldif")], null, cancellationToken);
            await server.StartAsync(cancellationToken);
            return server;
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    private string ConfigPath => Path.Combine(Directory, "slapd.conf");

    /// <summary>(Re)starts the server process on the same port and data.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        if (_process is { HasExited: false })
        {
            return;
        }

        var start = new ProcessStartInfo(Slapd)
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var urls = Tls is null ? $"ldap://{Host}:{Port}/" : $"ldap://{Host}:{Port}/ ldaps://{Host}:{TlsPort}/";
        foreach (var arg in new[] { "-d", "0", "-f", ConfigPath, "-h", urls })
        {
            start.ArgumentList.Add(arg);
        }

        var stderr = new StringBuilder();
        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {Slapd}.");
        process.ErrorDataReceived += (_, e) =>
        {
            lock (stderr)
            {
                stderr.AppendLine(e.Data);
            }
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        _process = process;
        await WaitForPortAsync(Host, Port, process, () =>
        {
            lock (stderr)
            {
                return stderr.ToString();
            }
        }, cancellationToken);
    }

    /// <summary>Kills the server (a crash, as far as clients can tell). <see cref="StartAsync(CancellationToken)"/> brings it back.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }

        _process?.Dispose();
        _process = null;
    }

    /// <summary>
    /// Freezes the server with SIGSTOP: it keeps accepting TCP connections (the kernel completes the handshake) but
    /// answers nothing until <see cref="ThawAsync"/>.
    /// </summary>
    public Task FreezeAsync(CancellationToken cancellationToken = default) => SignalAsync("-STOP", cancellationToken);

    /// <summary>Resumes a server frozen by <see cref="FreezeAsync"/> (SIGCONT).</summary>
    public Task ThawAsync(CancellationToken cancellationToken = default) => SignalAsync("-CONT", cancellationToken);

    private async Task SignalAsync(string signal, CancellationToken cancellationToken)
    {
        var process = _process is { HasExited: false } p ? p : throw new InvalidOperationException("slapd is not running.");
        await RunAsync("/bin/kill", [signal, process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)], null, cancellationToken);
    }

    /// <summary>Applies LDIF change records (or plain entries, which are added) as the root DN through <c>ldapmodify -a</c>.</summary>
    public Task ModifyAsync(string ldif, CancellationToken cancellationToken = default) =>
        RunAsync("/usr/bin/ldapmodify", ["-a", "-x", "-H", Uri, "-D", RootDn, "-w", RootPassword], ldif, cancellationToken);

    /// <summary>Searches as the root DN and returns the LDIF output of <c>ldapsearch -LLL</c>.</summary>
    public Task<string> SearchAsync(string baseDn, string filter, string[] attributes, CancellationToken cancellationToken = default) =>
        RunAsync("/usr/bin/ldapsearch", ["-LLL", "-o", "ldif-wrap=no", "-x", "-H", Uri, "-D", RootDn, "-w", RootPassword, "-b", baseDn, filter, .. attributes], null, cancellationToken);

    /// <summary>Tries a simple bind; returns ldapwhoami's exit code (0 = bound, 49 = invalid credentials).</summary>
    public async Task<int> TryBindAsync(string dn, string password, CancellationToken cancellationToken = default)
    {
        var (code, _, _) = await RunRawAsync("/usr/bin/ldapwhoami", ["-x", "-H", Uri, "-D", dn, "-w", password], null, cancellationToken);
        return code;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless; the process is already gone.
        }
    }

    private string Config() => $"""
        include /etc/ldap/schema/core.schema
        include /etc/ldap/schema/cosine.schema
        include /etc/ldap/schema/nis.schema
        include /etc/ldap/schema/inetorgperson.schema
        modulepath /usr/lib/ldap
        moduleload back_mdb
        moduleload ppolicy
        moduleload memberof
        moduleload refint
        pidfile {Directory}/slapd.pid
        {(Tls is null ? string.Empty : $"TLSCertificateFile {Tls.CertificateFile}\nTLSCertificateKeyFile {Tls.KeyFile}")}
        sizelimit 500
        threads 8

        database mdb
        suffix "{Suffix}"
        rootdn "{RootDn}"
        rootpw {RootPassword}
        directory {Directory}/db
        maxsize 4294967296
        index objectClass eq
        index entryUUID eq
        index uid,mail,cn eq
        index member,uniqueMember,memberUid eq
        limits dn.exact="{ServiceDn}" size=unlimited time=unlimited
        overlay memberof
        overlay refint
        refint_attributes member uniqueMember
        overlay ppolicy
        ppolicy_default "{PolicyDn}"
        access to attrs=userPassword
            by dn.exact="{ServiceDn}" write
            by self write
            by anonymous auth
            by * none
        access to *
            by dn.exact="{ServiceDn}" write
            by users read
            by * none

        """;

    private string BaseLdif() => $"""
        dn: {Suffix}
        objectClass: dcObject
        objectClass: organization
        o: Example
        dc: example

        dn: ou=policies,{Suffix}
        objectClass: organizationalUnit
        ou: policies

        dn: {PolicyDn}
        objectClass: device
        objectClass: pwdPolicy
        cn: default
        pwdAttribute: userPassword
        pwdLockout: TRUE

        dn: ou=services,{Suffix}
        objectClass: organizationalUnit
        ou: services

        dn: {ServiceDn}
        objectClass: applicationProcess
        objectClass: simpleSecurityObject
        cn: deprov
        userPassword: {ServicePassword}

        dn: {ReadOnlyDn}
        objectClass: applicationProcess
        objectClass: simpleSecurityObject
        cn: readonly
        userPassword: {ReadOnlyPassword}


        """;

    private static async Task WaitForPortAsync(string host, int port, Process process, Func<string> stderr, CancellationToken cancellationToken)
    {
        // Polling is unavoidable here: slapd has no readiness signal other than accepting connections.
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"slapd exited with code {process.ExitCode} before listening on {host}:{port}: {stderr()}");
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(host, port, cancellationToken);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50, cancellationToken);
            }
        }

        throw new InvalidOperationException($"slapd did not listen on {host}:{port} within 20 s: {stderr()}");
    }

    internal static async Task<string> RunAsync(string file, string[] args, string? stdin, CancellationToken cancellationToken)
    {
        var (code, stdout, stderr) = await RunRawAsync(file, args, stdin, cancellationToken);
        if (code != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} failed with exit code {code}: {stderr.Trim()} {stdout.Trim()}");
        }

        return stdout;
    }

    internal static async Task<(int Code, string Stdout, string Stderr)> RunRawAsync(string file, string[] args, string? stdin, CancellationToken cancellationToken)
    {
        if (!File.Exists(file))
        {
            throw new InvalidOperationException($"{file} is missing: {Install}.");
        }

        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdoutTask = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderrTask = process.StandardError.ReadToEndAsync(cancellationToken);
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin.AsMemory(), cancellationToken);
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await stdoutTask, await stderrTask);
    }
}
