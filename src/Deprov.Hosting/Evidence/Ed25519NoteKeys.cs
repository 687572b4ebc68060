using Deprov.Core;
using Deprov.Core.Evidence;
using NSec.Cryptography;

namespace Deprov.Hosting.Evidence;

/// <summary>
/// Ed25519 keys for signing checkpoints, in the text forms of C2SP signed-note (and Go's <c>note</c> package):
/// private <c>PRIVATE+KEY+name+hexID+base64(0x01 ‖ 32-byte seed)</c>, public <c>name+hexID+base64(0x01 ‖ 32-byte key)</c>.
/// </summary>
public static class Ed25519NoteKeys
{
    private const string PrivatePrefix = "PRIVATE+KEY+";
    private static readonly SignatureAlgorithm Algorithm = SignatureAlgorithm.Ed25519;

    /// <summary>A new key pair: the private key text, the verifier key text and the public key as PEM (for openssl).</summary>
    public static (string PrivateKey, string VerifierKey, string PublicKeyPem) Generate(string name)
    {
        if (!NoteKeys.IsValidName(name))
        {
            throw new ValidationException($"The key name '{name}' must be non-empty, without spaces or '+'. Fix: use the log's origin, e.g. 'deprov.example.com/audit'.");
        }

        using var key = Key.Create(Algorithm, new KeyCreationParameters { ExportPolicy = KeyExportPolicies.AllowPlaintextExport });
        var seed = key.Export(KeyBlobFormat.RawPrivateKey);
        var pub = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        var id = NoteKeys.KeyId(name, NoteKeys.Ed25519, pub);
        var priv = $"{PrivatePrefix}{name}+{id:x8}+{Convert.ToBase64String([NoteKeys.Ed25519, .. seed])}";
        var pem = System.Text.Encoding.ASCII.GetString(key.PublicKey.Export(KeyBlobFormat.PkixPublicKeyText));
        return (priv, NoteKeys.VerifierKey(name, NoteKeys.Ed25519, pub), pem);
    }

    /// <summary>Reads a private key text. The message never quotes the text (it is a secret).</summary>
    public static Ed25519NoteSigner ParseSigner(string text, string source)
    {
        ArgumentNullException.ThrowIfNull(text);
        var fix = "Fix: generate one with 'deprov audit keygen' and point evidence.signing_key at it.";
        var t = text.Trim();
        if (!t.StartsWith(PrivatePrefix, StringComparison.Ordinal))
        {
            throw new ValidationException($"The checkpoint signing key from {source} does not start with '{PrivatePrefix}'. {fix}");
        }

        var parts = t[PrivatePrefix.Length..].Split('+', 3);
        byte[] blob;
        try
        {
            blob = parts.Length == 3 ? Convert.FromBase64String(parts[2]) : [];
        }
        catch (FormatException)
        {
            blob = [];
        }

        if (parts.Length != 3 || !NoteKeys.IsValidName(parts[0]) || blob.Length != 33 || blob[0] != NoteKeys.Ed25519)
        {
            throw new ValidationException($"The checkpoint signing key from {source} is not 'PRIVATE+KEY+<name>+<id>+<base64 Ed25519 seed>'. {fix}");
        }

        var key = Key.Import(Algorithm, blob.AsSpan(1), KeyBlobFormat.RawPrivateKey);
        var signer = new Ed25519NoteSigner(parts[0], key);
        if (!string.Equals($"{signer.KeyId:x8}", parts[1], StringComparison.OrdinalIgnoreCase))
        {
            signer.Dispose();
            throw new ValidationException($"The checkpoint signing key from {source} has key ID {parts[1]}, but its key gives {signer.KeyId:x8}: the key text was altered. {fix}");
        }

        return signer;
    }

    /// <summary>Reads a verifier key text (<c>name+hexID+base64</c>); throws <see cref="ValidationException"/> naming the source.</summary>
    public static Ed25519NoteVerifier ParseVerifier(string text, string source)
    {
        try
        {
            var (name, id, type, key) = NoteKeys.ParseVerifierKey(text);
            if (type != NoteKeys.Ed25519 || key.Length != 32)
            {
                throw new FormatException($"the key is of type {type:x2} with {key.Length} bytes; Deprov checks Ed25519 (type 01, 32 bytes)");
            }

            return new Ed25519NoteVerifier(name, id, PublicKey.Import(Algorithm, key, KeyBlobFormat.RawPublicKey), key);
        }
        catch (FormatException ex)
        {
            throw new ValidationException($"The verifier key from {source} is not usable: {ex.Message}. Fix: use the text 'deprov audit keygen' wrote to the .pub file (name+id+base64).");
        }
    }

    /// <summary>The public key as PEM (SubjectPublicKeyInfo), for <c>openssl pkeyutl -verify</c>.</summary>
    public static string PublicKeyPem(ReadOnlySpan<byte> rawPublicKey) =>
        System.Text.Encoding.ASCII.GetString(PublicKey.Import(Algorithm, rawPublicKey, KeyBlobFormat.RawPublicKey).Export(KeyBlobFormat.PkixPublicKeyText));
}

/// <summary>Signs notes with an Ed25519 private key held in memory only (never in the store, never logged).</summary>
public sealed class Ed25519NoteSigner : NoteSigner, IDisposable
{
    private readonly Key _key;

    internal Ed25519NoteSigner(string name, Key key)
    {
        Name = name;
        _key = key;
        PublicKey = key.PublicKey.Export(KeyBlobFormat.RawPublicKey);
        KeyId = NoteKeys.KeyId(name, NoteKeys.Ed25519, PublicKey);
    }

    public override string Name { get; }

    public override uint KeyId { get; }

    public byte[] PublicKey { get; }

    public Ed25519NoteVerifier Verifier => new(Name, KeyId, _key.PublicKey, PublicKey);

    public override byte[] Sign(ReadOnlySpan<byte> message) => SignatureAlgorithm.Ed25519.Sign(_key, message);

    public void Dispose() => _key.Dispose();
}

/// <summary>Checks Ed25519 note signatures against one pinned public key.</summary>
public sealed class Ed25519NoteVerifier : NoteVerifier
{
    private readonly PublicKey _key;

    internal Ed25519NoteVerifier(string name, uint keyId, PublicKey key, byte[] raw)
    {
        Name = name;
        KeyId = keyId;
        _key = key;
        RawPublicKey = raw;
    }

    public override string Name { get; }

    public override uint KeyId { get; }

    public byte[] RawPublicKey { get; }

    public string VerifierKey => NoteKeys.VerifierKey(Name, NoteKeys.Ed25519, RawPublicKey);

    public override bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
        signature.Length == SignatureAlgorithm.Ed25519.SignatureSize && SignatureAlgorithm.Ed25519.Verify(_key, message, signature);
}
