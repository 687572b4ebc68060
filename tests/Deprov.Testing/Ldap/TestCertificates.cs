using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Deprov.Testing.Ldap;

/// <summary>
/// A throw-away CA and a server certificate it signs, written as PEM files into a folder: for a TLS slapd whose
/// certificate is wrong in one chosen way (names, dates, issuer).
/// </summary>
public sealed class TestCertificates
{
    private TestCertificates(string directory) => Directory = directory;

    public string Directory { get; }

    /// <summary>The server certificate (PEM).</summary>
    public string CertificateFile => Path.Combine(Directory, "server.pem");

    /// <summary>The server's private key (PKCS#8 PEM).</summary>
    public string KeyFile => Path.Combine(Directory, "server.key");

    /// <summary>A folder holding only the issuing CA's certificate, for <c>trusted_ca_dir</c> (run <c>openssl rehash</c> on it for libldap).</summary>
    public string CaDirectory => Path.Combine(Directory, "ca");

    /// <param name="dnsNames">subjectAltName DNS names.</param>
    /// <param name="ipAddresses">subjectAltName IP addresses.</param>
    /// <param name="notBefore">Start of validity.</param>
    /// <param name="notAfter">End of validity (in the past for an expired certificate).</param>
    public static async Task<TestCertificates> CreateAsync(string[] dnsNames, string[] ipAddresses, DateTimeOffset notBefore, DateTimeOffset notAfter)
    {
        var dir = Path.Combine(Path.GetTempPath(), "deprov-certs-" + Guid.NewGuid().ToString("N")[..12]);
        System.IO.Directory.CreateDirectory(Path.Combine(dir, "ca"));
        var certificates = new TestCertificates(dir);

        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest("CN=Deprov Test CA " + Guid.NewGuid().ToString("N")[..8], caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        using var ca = caRequest.CreateSelfSigned(notBefore.AddDays(-1), notAfter.AddYears(1) > TimeProvider.System.GetUtcNow() ? notAfter.AddYears(1) : TimeProvider.System.GetUtcNow().AddYears(1));

        using var key = RSA.Create(2048);
        var request = new CertificateRequest($"CN={(dnsNames.Length > 0 ? dnsNames[0] : ipAddresses[0])}", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        foreach (var name in dnsNames)
        {
            san.AddDnsName(name);
        }

        foreach (var ip in ipAddresses)
        {
            san.AddIpAddress(IPAddress.Parse(ip));
        }

        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using var server = request.Create(ca, notBefore, notAfter, serial);

        await File.WriteAllTextAsync(certificates.CertificateFile, server.ExportCertificatePem() + "\n");
        await File.WriteAllTextAsync(certificates.KeyFile, key.ExportPkcs8PrivateKeyPem() + "\n");
        await File.WriteAllTextAsync(Path.Combine(certificates.CaDirectory, "ca.pem"), ca.ExportCertificatePem() + "\n");
        await SlapdServer.RunAsync("/usr/bin/openssl", ["rehash", certificates.CaDirectory], null, CancellationToken.None);
        return certificates;
    }
}
