using System.Diagnostics;
using System.DirectoryServices.Protocols;
using System.Net;
using System.Net.Sockets;
using System.Runtime.Versioning;
using System.Text;

namespace Deprov.Testing.Ldap;

/// <summary>
/// A real Active Directory domain controller: Debian's <c>samba-ad-dc</c> provisions <c>DEPROV.TEST</c> into a temp
/// folder (about 5-8 s) and serves LDAP on 127.0.0.1:389 and LDAPS on 127.0.0.1:636 with a certificate issued by a CA
/// made for this run (<see cref="CaDirectory"/> holds it, hashed for libldap). Only the LDAP service runs.
/// </summary>
/// <remarks>
/// Needs root and free ports 389/636 on 127.0.0.1 (samba cannot listen on another port). Start it once per test run.
/// Simple binds over plain LDAP are allowed (<c>ldap server require strong auth = no</c>); password writes need LDAPS.
/// </remarks>
[UnsupportedOSPlatform("windows")]
public sealed class SambaAdDc : IAsyncDisposable
{
    public const string Realm = "DEPROV.TEST";
    public const string DomainDn = "DC=deprov,DC=test";
    public const string AdministratorDn = "CN=Administrator,CN=Users," + DomainDn;

    /// <summary>The OU whose users and groups <see cref="ServiceDn"/> may deprovision (see <see cref="DelegateAsync"/>).</summary>
    public const string StaffOu = "OU=Staff," + DomainDn;

    /// <summary>A least-privilege service account: no group memberships beyond Domain Users, rights delegated on <see cref="StaffOu"/> only.</summary>
    public const string ServiceDn = "CN=svc-deprov,CN=Users," + DomainDn;

    /// <summary>
    /// The ACEs delegated to the service account on <see cref="StaffOu"/>, inherited by the objects below it
    /// (<c>CIIO</c>: container inherit, inherit only; the second GUID limits an ACE to one object class).
    /// </summary>
    public static readonly (string Right, string Ace)[] Delegation =
    [
        ("Reset Password (extended right) on user objects", "(OA;CIIO;CR;00299570-246d-11d0-a768-00aa006e0529;bf967aba-0de6-11d0-a285-00aa003049e2;{0})"),
        ("write userAccountControl on user objects", "(OA;CIIO;WP;bf967a68-0de6-11d0-a285-00aa003049e2;bf967aba-0de6-11d0-a285-00aa003049e2;{0})"),
        ("write member on group objects", "(OA;CIIO;WP;bf9679c0-0de6-11d0-a285-00aa003049e2;bf967a9c-0de6-11d0-a285-00aa003049e2;{0})"),
        ("delete and delete subtree of user objects (delete_account)", "(OA;CIIO;SDDT;;bf967aba-0de6-11d0-a285-00aa003049e2;{0})"),
    ];
    private const string Install = "install it with: apt-get install -y --no-install-recommends samba samba-ad-dc samba-ad-provision openssl (the list is in eng/apt-packages.txt)";

    /// <summary>What <c>samba-tool domain provision</c> reads the AD schema from. It comes in <c>samba-ad-provision</c>, a
    /// Recommends of <c>samba-ad-dc</c> that an install without Recommends leaves out; provisioning then fails deep inside
    /// Python, so the fixture names the package first.</summary>
    private const string AdSchema = "/usr/share/samba/setup/ad-schema";

    private Process? _process;

    private SambaAdDc(string directory) => Directory = directory;

    public string Directory { get; }

    public string Host => "127.0.0.1";

    public string AdministratorPassword { get; } = "Adm-" + Guid.NewGuid().ToString("N")[..12] + "!9a";

    public string ServicePassword { get; } = "Svc-" + Guid.NewGuid().ToString("N")[..12] + "!7b";

    /// <summary>A folder with the test CA certificate, hashed (<c>openssl rehash</c>) for <c>TrustedCertificatesDirectory</c>.</summary>
    public string CaDirectory => Path.Combine(Directory, "ca");

    public static async Task<SambaAdDc> StartAsync(CancellationToken cancellationToken = default)
    {
        foreach (var binary in new[] { "/usr/bin/samba-tool", "/usr/sbin/samba", "/usr/bin/openssl" })
        {
            if (!File.Exists(binary))
            {
                throw new InvalidOperationException($"{binary} is missing: {Install}.");
            }
        }

        if (!System.IO.Directory.Exists(AdSchema))
        {
            throw new InvalidOperationException($"{AdSchema} is missing (package samba-ad-provision, which samba-ad-dc only recommends): {Install}.");
        }

        if (!string.Equals(Environment.UserName, "root", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"samba-ad-dc must run as root (current user: {Environment.UserName}); run the AD tests as root, as CI does.");
        }

        foreach (var port in new[] { 389, 636 })
        {
            if (IsListening(port))
            {
                throw new InvalidOperationException($"Port {port} on 127.0.0.1 is already in use (a system slapd or samba?); stop it (service slapd stop) so the test domain controller can listen there.");
            }
        }

        var dir = Path.Combine(Path.GetTempPath(), "deprov-samba-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(dir);
        var dc = new SambaAdDc(dir);
        try
        {
            await dc.ProvisionAsync(cancellationToken);
            await dc.StartProcessAsync(cancellationToken);
            await dc.DelegateAsync(cancellationToken);
            return dc;
        }
        catch
        {
            await dc.DisposeAsync();
            throw;
        }
    }

    private async Task ProvisionAsync(CancellationToken cancellationToken)
    {
        await SlapdServer.RunAsync("/usr/bin/samba-tool",
        [
            "domain", "provision", $"--realm={Realm}", "--domain=DEPROV", "--server-role=dc", "--dns-backend=NONE", "--use-rfc2307",
            $"--adminpass={AdministratorPassword}", $"--targetdir={Directory}", "--host-name=dc1",
            "--option=interfaces=lo", "--option=bind interfaces only=yes",
        ], null, cancellationToken);

        var tls = Path.Combine(Directory, "tls");
        System.IO.Directory.CreateDirectory(tls);
        System.IO.Directory.CreateDirectory(CaDirectory);
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "run"));
        await SlapdServer.RunAsync("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", $"{tls}/ca.key", "-out", $"{tls}/ca.pem", "-days", "2", "-subj", "/CN=Deprov Test CA"], null, cancellationToken);
        await SlapdServer.RunAsync("/usr/bin/openssl", ["req", "-newkey", "rsa:2048", "-nodes", "-keyout", $"{tls}/key.pem", "-out", $"{tls}/server.csr", "-subj", "/CN=dc1.deprov.test"], null, cancellationToken);
        await File.WriteAllTextAsync($"{tls}/ext.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:dc1.deprov.test\n", cancellationToken);
        await SlapdServer.RunAsync("/usr/bin/openssl", ["x509", "-req", "-in", $"{tls}/server.csr", "-CA", $"{tls}/ca.pem", "-CAkey", $"{tls}/ca.key", "-CAcreateserial", "-out", $"{tls}/cert.pem", "-days", "2", "-extfile", $"{tls}/ext.cnf"], null, cancellationToken);
        File.SetUnixFileMode($"{tls}/key.pem", UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.Copy($"{tls}/ca.pem", Path.Combine(CaDirectory, "ca.pem"));
        await SlapdServer.RunAsync("/usr/bin/openssl", ["rehash", CaDirectory], null, cancellationToken);

        var conf = Path.Combine(Directory, "etc", "smb.conf");
        var text = await File.ReadAllTextAsync(conf, cancellationToken);
        var lines = text.Split('\n').Where(l => !l.TrimStart().StartsWith("server services", StringComparison.Ordinal) && !l.TrimStart().StartsWith("log file", StringComparison.Ordinal));
        var global = new StringBuilder()
            .AppendLine("[global]")
            .AppendLine($"\ttls enabled = yes\n\ttls keyfile = {tls}/key.pem\n\ttls certfile = {tls}/cert.pem\n\ttls cafile = {tls}/ca.pem")
            .AppendLine("\tldap server require strong auth = no")
            .AppendLine("\tldb:nosync = true") // a throw-away test database: no fsync per write (bulk loads are several times faster)
            .AppendLine("\told password allowed period = 0")
            .AppendLine("\tserver services = ldap")
            .AppendLine($"\tlog file = {Directory}/log.%m")
            .AppendLine($"\tpid directory = {Directory}/run\n\tncalrpc dir = {Directory}/run/ncalrpc\n\twinbindd socket directory = {Directory}/run/winbindd")
            .ToString();
        await File.WriteAllTextAsync(conf, string.Join('\n', lines).Replace("[global]\n", global, StringComparison.Ordinal), cancellationToken);
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("/usr/sbin/samba")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-i", "-s", Path.Combine(Directory, "etc", "smb.conf") })
        {
            start.ArgumentList.Add(arg);
        }

        var output = new StringBuilder();
        var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start samba.");
        DataReceivedEventHandler collect = (_, e) =>
        {
            lock (output)
            {
                output.AppendLine(e.Data);
            }
        };
        process.OutputDataReceived += collect;
        process.ErrorDataReceived += collect;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        // Polling is unavoidable: samba has no readiness signal other than accepting connections.
        var clock = Stopwatch.StartNew();
        while (!IsListening(636) || !IsListening(389))
        {
            if (process.HasExited || clock.Elapsed > TimeSpan.FromSeconds(60))
            {
                string log;
                lock (output)
                {
                    log = output.ToString();
                }

                throw new InvalidOperationException($"samba did not start serving LDAP on 127.0.0.1:389/636 (exited: {process.HasExited}): {log}");
            }

            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>
    /// Creates <see cref="StaffOu"/> and the service account <see cref="ServiceDn"/>, and grants it <see cref="Delegation"/>
    /// on the OU with <c>samba-tool dsacl set</c> (what "Delegate Control" in ADUC writes). Reads need no grant:
    /// Authenticated Users may read users and groups by default.
    /// </summary>
    private async Task DelegateAsync(CancellationToken cancellationToken)
    {
        // Samba, freshly started on a loaded machine, now and then drops a connection mid-request (serverDown): connect
        // again and carry on, taking what the dropped attempt already created as done.
        string sid;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                using var admin = AdminConnection();
                Created(attempt, () => AddOu(admin, "Staff"));
                if (!Created(attempt, () => AddUser(admin, "svc-deprov", ServicePassword, userAccountControl: 0x10200, parentDn: $"CN=Users,{DomainDn}")))
                {
                    admin.SendRequest(new ModifyRequest(ServiceDn, DirectoryAttributeOperation.Replace, "userAccountControl", "66048"));
                }

                var response = (SearchResponse)admin.SendRequest(new SearchRequest(ServiceDn, "(objectClass=*)", SearchScope.Base, "objectSid"));
                sid = SidToString((byte[])response.Entries[0].Attributes["objectSid"].GetValues(typeof(byte[]))[0]);
                break;
            }
            catch (LdapException e) when (e.ErrorCode == ServerDown && attempt < 4)
            {
            }
        }

        var sddl = string.Concat(Delegation.Select(d => string.Format(System.Globalization.CultureInfo.InvariantCulture, d.Ace, sid)));
        await SlapdServer.RunAsync("/usr/bin/samba-tool",
        [
            "dsacl", "set", "-H", Path.Combine(Directory, "private", "sam.ldb"), "-s", Path.Combine(Directory, "etc", "smb.conf"),
            $"--objectdn={StaffOu}", $"--sddl={sddl}",
        ], null, cancellationToken);
    }

    /// <summary>Runs an add; after a dropped attempt, an entry that already exists counts as created. False when it existed.</summary>
    private static bool Created(int attempt, Action add)
    {
        try
        {
            add();
            return true;
        }
        catch (DirectoryOperationException e) when (attempt > 1 && e.Response?.ResultCode == ResultCode.EntryAlreadyExists)
        {
            return false;
        }
    }

    /// <summary>The S-1-… form of a binary SID (revision, sub-authority count, 48-bit authority, little-endian sub-authorities).</summary>
    public static string SidToString(byte[] sid)
    {
        ArgumentNullException.ThrowIfNull(sid);
        var authority = 0L;
        for (var i = 2; i < 8; i++)
        {
            authority = (authority << 8) | sid[i];
        }

        var text = new StringBuilder($"S-{sid[0]}-{authority}");
        for (var i = 0; i < sid[1]; i++)
        {
            text.Append('-').Append(BitConverter.ToUInt32(sid, 8 + (4 * i)));
        }

        return text.ToString();
    }

    /// <summary>
    /// Opens an LDAPS connection bound as Administrator (for test setup and inspection). Samba on a loaded two-core machine
    /// now and then drops a connection during the TLS handshake or the bind (<c>serverDown</c>, 81): the fixture connects
    /// again, a few times, with a short pause growing each time, before it gives up.
    /// </summary>
    public LdapConnection AdminConnection()
    {
        for (var attempt = 1; ; attempt++)
        {
            var connection = new LdapConnection(new LdapDirectoryIdentifier(Host, 636), new NetworkCredential(AdministratorDn, AdministratorPassword), AuthType.Basic);
            try
            {
                connection.SessionOptions.ProtocolVersion = 3;
                connection.SessionOptions.SecureSocketLayer = true;
                connection.SessionOptions.TrustedCertificatesDirectory = CaDirectory;
                connection.SessionOptions.StartNewTlsSessionContext();
                connection.Bind();
                return connection;
            }
            catch (LdapException e) when (e.ErrorCode == ServerDown && attempt < 5)
            {
                connection.Dispose();
                Thread.Sleep(TimeSpan.FromMilliseconds(250 * attempt));
            }
            catch
            {
                connection.Dispose();
                throw;
            }
        }
    }

    /// <summary>
    /// Creates an enabled user (<c>userAccountControl</c> = <paramref name="userAccountControl"/>) with a password, in
    /// <paramref name="parentDn"/> (default <see cref="StaffOu"/>, where the service account has its rights).
    /// </summary>
    public static string AddUser(LdapConnection admin, string name, string password, int userAccountControl = 512, string? mail = null, string parentDn = StaffOu)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var dn = $"CN={name},{parentDn}";
        var add = new AddRequest(dn,
            new DirectoryAttribute("objectClass", "user"),
            new DirectoryAttribute("sAMAccountName", name),
            new DirectoryAttribute("mail", mail ?? $"{name}@deprov.test"),
            new DirectoryAttribute("unicodePwd", Encoding.Unicode.GetBytes($"\"{password}\"")));
        admin.SendRequest(add);
        admin.SendRequest(new ModifyRequest(dn, DirectoryAttributeOperation.Replace, "userAccountControl", userAccountControl.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return dn;
    }

    // libldap's LDAP_SERVER_DOWN: the connection is gone.
    private const int ServerDown = 81;

    /// <summary>Creates an organizational unit under <paramref name="parentDn"/> (default: the domain).</summary>
    public static string AddOu(LdapConnection admin, string name, string parentDn = DomainDn)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var dn = $"OU={name},{parentDn}";
        admin.SendRequest(new AddRequest(dn, new DirectoryAttribute("objectClass", "organizationalUnit"), new DirectoryAttribute("ou", name)));
        return dn;
    }

    /// <summary>
    /// Creates <paramref name="count"/> users <c>{prefix}00000…</c> under <paramref name="parentDn"/> fast: no password,
    /// so they are created disabled (<c>userAccountControl</c> 514), and the adds are pipelined on
    /// <paramref name="connections"/> LDAPS connections (password hashing and one round trip per user dominate otherwise).
    /// </summary>
    public string[] AddUsersInBulk(string parentDn, string prefix, int count, int connections = 4)
    {
        var dns = Enumerable.Range(0, count).Select(i => $"CN={prefix}{i:D5},{parentDn}").ToArray();
        Parallel.For(0, connections, new ParallelOptions { MaxDegreeOfParallelism = connections }, c =>
        {
            var connection = AdminConnection();
            try
            {
                for (var i = c; i < count; i += connections)
                {
                    var name = $"{prefix}{i:D5}";
                    var add = new AddRequest(dns[i],
                        new DirectoryAttribute("objectClass", "user"),
                        new DirectoryAttribute("sAMAccountName", name),
                        new DirectoryAttribute("mail", $"{name}@deprov.test"),
                        new DirectoryAttribute("userAccountControl", "514"));
                    for (var attempt = 1; ; attempt++)
                    {
                        try
                        {
                            connection.SendRequest(add);
                            break;
                        }
                        catch (LdapException e) when (e.ErrorCode == ServerDown && attempt < 3)
                        {
                            // Samba drops a busy connection now and then on a loaded 2-core machine: reconnect and
                            // send the add again (it may have been applied before the drop).
                            connection.Dispose();
                            connection = AdminConnection();
                        }
                        catch (DirectoryOperationException e) when (attempt > 1 && e.Response?.ResultCode == ResultCode.EntryAlreadyExists)
                        {
                            break;
                        }
                    }
                }
            }
            finally
            {
                connection.Dispose();
            }
        });
        return dns;
    }

    /// <summary>Creates a global security group with these members in <see cref="StaffOu"/>.</summary>
    public static string AddGroup(LdapConnection admin, string name, params string[] memberDns) =>
        AddGroupIn(admin, StaffOu, name, memberDns);

    public static string AddGroupIn(LdapConnection admin, string parentDn, string name, params string[] memberDns)
    {
        ArgumentNullException.ThrowIfNull(admin);
        var dn = $"CN={name},{parentDn}";
        var attributes = new List<DirectoryAttribute> { new("objectClass", "group"), new("sAMAccountName", name) };
        if (memberDns.Length > 0)
        {
            attributes.Add(new DirectoryAttribute("member", memberDns));
        }

        admin.SendRequest(new AddRequest(dn, [.. attributes]));
        return dn;
    }

    /// <summary>Tries a simple bind over LDAPS; true when the server accepted the credentials.</summary>
    /// <remarks>A busy Samba sometimes drops a new LDAPS connection ("server unavailable", 81) while it is serving others;
    /// that is not an answer about the credentials, so the bind is tried again (up to five times).</remarks>
    public bool CanBind(string dn, string password)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return TryBind(dn, password);
            }
            catch (LdapException ex) when (ex.ErrorCode == 81 && attempt < 5)
            {
                Thread.Sleep(200 * attempt);
            }
        }
    }

    private bool TryBind(string dn, string password)
    {
        using var connection = new LdapConnection(new LdapDirectoryIdentifier(Host, 636), new NetworkCredential(dn, password), AuthType.Basic);
        connection.SessionOptions.ProtocolVersion = 3;
        connection.SessionOptions.SecureSocketLayer = true;
        connection.SessionOptions.TrustedCertificatesDirectory = CaDirectory;
        connection.SessionOptions.StartNewTlsSessionContext();
        try
        {
            connection.Bind();
            return true;
        }
        catch (LdapException ex) when (ex.ErrorCode == 49)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }

        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A leftover temp folder is harmless once the process is gone.
        }
    }

    private static bool IsListening(int port)
    {
        try
        {
            using var client = new TcpClient();
            client.Connect(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
