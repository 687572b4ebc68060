using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using Deprov.Core;

namespace Deprov.Connectors.Ldap.Connections;

/// <summary>
/// Finds out why a TLS connection (LDAPS or StartTLS) failed, when libldap only says "serverDown": it repeats the
/// handshake with .NET's TLS client, takes the certificate the server presents and checks it the way the connection
/// would (host name, trust in <c>trusted_ca_dir</c> or the OS store, validity dates).
/// </summary>
/// <remarks>
/// libldap (GnuTLS on Debian) reports a rejected certificate as the same client-side code 81 as an unreachable server,
/// and S.DS.P does not hand its diagnostic text on, so the error alone cannot tell a misconfiguration (which no retry
/// fixes) from an outage. The probe sends nothing but the handshake (and, for StartTLS, the StartTLS request), never
/// the bind credentials, and is bounded by the connection timeout.
/// </remarks>
internal static class TlsDiagnosis
{
    private const string StartTlsOid = "1.3.6.1.4.1.1466.20037";

    /// <summary>A permanent error describing the certificate problem, or null when the certificate is fine or the server could not be probed.</summary>
    public static ConnectorException? Diagnose(LdapSettings settings, TimeProvider time)
    {
        if (settings.Security == LdapSecurity.None)
        {
            return null;
        }

        X509Certificate2? certificate;
        try
        {
            certificate = Handshake(settings);
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or System.Security.Authentication.AuthenticationException)
        {
            return null;
        }

        if (certificate is null)
        {
            return null;
        }

        using (certificate)
        {
            return Check(settings, certificate, time.GetUtcNow().UtcDateTime);
        }
    }

    // The probe runs on a connection's own thread (see LdapConnectionPool), which has no synchronisation context and
    // must block until the answer like the libldap call it stands in for.
#pragma warning disable VSTHRD002
    private static X509Certificate2? Handshake(LdapSettings settings)
    {
        using var cancel = new CancellationTokenSource(settings.Timeout);
        using var client = new TcpClient();
        client.ConnectAsync(settings.Host, settings.Port, cancel.Token).AsTask().GetAwaiter().GetResult();
        var stream = client.GetStream();
        var ms = (int)settings.Timeout.TotalMilliseconds;
        stream.ReadTimeout = ms;
        stream.WriteTimeout = ms;
        if (settings.Security == LdapSecurity.StartTls && !StartTls(stream))
        {
            return null;
        }

        X509Certificate2? presented = null;
#pragma warning disable CA5359 // Accepts any certificate: the probe only wants to see it, and sends nothing over the connection.
        using var ssl = new SslStream(stream, leaveInnerStreamOpen: false, (_, cert, _, _) =>
        {
            presented = cert is null ? null : new X509Certificate2(cert);
            return true;
        });
#pragma warning restore CA5359
        try
        {
            ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = settings.Host }, cancel.Token).GetAwaiter().GetResult();
        }
        catch (System.Security.Authentication.AuthenticationException)
        {
            // The handshake failed for another reason (protocol, cipher); the certificate, if it came, is still worth checking.
        }

        return presented;
    }
#pragma warning restore VSTHRD002

    /// <summary>Sends the StartTLS extended request (message id 1) and reads the answer; true when the server agreed.</summary>
    private static bool StartTls(NetworkStream stream)
    {
        var oid = System.Text.Encoding.ASCII.GetBytes(StartTlsOid);
        byte[] extended = [0x77, (byte)(oid.Length + 2), 0x80, (byte)oid.Length, .. oid];
        byte[] message = [0x30, (byte)(extended.Length + 3), 0x02, 0x01, 0x01, .. extended];
        stream.Write(message);

        // LDAPMessage: SEQUENCE { messageID INTEGER, extendedResp [APPLICATION 24] { resultCode ENUMERATED, ... } }
        var header = ReadExactly(stream, 2);
        var length = (int)header[1];
        if ((length & 0x80) != 0)
        {
            var bytes = ReadExactly(stream, length & 0x7f);
            length = bytes.Aggregate(0, (a, b) => (a << 8) | b);
        }

        var body = ReadExactly(stream, length);
        var i = 2 + body[1]; // past messageID
        if (i >= body.Length || body[i] != 0x78)
        {
            return false;
        }

        i++;
        i += (body[i] & 0x80) != 0 ? 1 + (body[i] & 0x7f) : 1; // past the extendedResp length
        return i + 2 < body.Length && body[i] == 0x0a && body[i + 2] == 0; // resultCode success
    }

    private static byte[] ReadExactly(Stream stream, int count)
    {
        var buffer = new byte[count];
        stream.ReadExactly(buffer);
        return buffer;
    }

    private static ConnectorException? Check(LdapSettings settings, X509Certificate2 certificate, DateTime now)
    {
        var where = $"{settings.Host}:{settings.Port} ({settings.Security})";
        var names = Names(certificate);
        var shown = names.Count == 0 ? $"subject '{certificate.Subject}'" : string.Join(", ", names.Select(n => $"'{n}'"));
        if (!certificate.MatchesHostname(settings.Host, allowWildcards: true, allowCommonName: true))
        {
            return new ConnectorException(
                $"TLS to {where} failed: the server's certificate is for {shown}, not for '{settings.Host}'. "
                + $"Set 'host' to one of the names in the certificate (and make it resolve to the server), or give the server a certificate whose subjectAltName includes '{settings.Host}'. "
                + "This is a configuration error; retrying will not help.",
                isTransient: false);
        }

        if (now > certificate.NotAfter.ToUniversalTime() || now < certificate.NotBefore.ToUniversalTime())
        {
            return new ConnectorException(
                $"TLS to {where} failed: the server's certificate ({shown}) is valid from {Utc(certificate.NotBefore)} to {Utc(certificate.NotAfter)}, "
                + $"and it is now {Utc(now)}. Renew the server's certificate (or correct the clock of this machine or the server). This is a configuration error; retrying will not help.",
                isTransient: false);
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (settings.TrustedCaDirectory is { } dir)
        {
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            foreach (var ca in CertificatesIn(dir))
            {
                chain.ChainPolicy.CustomTrustStore.Add(ca);
            }
        }

        if (chain.Build(certificate))
        {
            return null;
        }

        var status = string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()).Where(s => s.Length > 0).Distinct(StringComparer.Ordinal));
        var fix = settings.TrustedCaDirectory is { } caDir
            ? !Directory.Exists(caDir) ? $"trusted_ca_dir '{caDir}' does not exist: create it with the PEM certificate of the CA that issued the server's certificate and run 'openssl rehash {caDir}', or correct the path"
            : $"Put the PEM certificate of the CA that issued it into trusted_ca_dir '{caDir}' and run 'openssl rehash {caDir}'"
            : "Set 'trusted_ca_dir' to a folder holding the PEM certificate of the CA that issued it (hashed with 'openssl rehash'), or add that CA to this machine's trust store";
        return new ConnectorException(
            $"TLS to {where} failed: the server's certificate ({shown}, issued by '{certificate.Issuer}') is not trusted ({(status.Length == 0 ? "unknown issuer" : status)}). "
            + fix + ". This is a configuration error; retrying will not help.",
            isTransient: false);
    }

    private static string Utc(DateTime time) => time.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The DNS names and IP addresses in the subjectAltName, else the subject's CN.</summary>
    private static List<string> Names(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (var extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames());
                names.AddRange(san.EnumerateIPAddresses().Select(a => a.ToString()));
            }
        }

        if (names.Count == 0 && certificate.GetNameInfo(X509NameType.SimpleName, forIssuer: false) is { Length: > 0 } cn)
        {
            names.Add(cn);
        }

        return names;
    }

    private static X509Certificate2Collection CertificatesIn(string directory)
    {
        var all = new X509Certificate2Collection();
        if (!Directory.Exists(directory))
        {
            return all;
        }

        foreach (var file in Directory.EnumerateFiles(directory))
        {
            try
            {
                all.ImportFromPemFile(file);
            }
            catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException)
            {
                // Not a PEM certificate (a hash link to one already read, a key, a readme): libldap would skip it too.
            }
        }

        return all;
    }
}
