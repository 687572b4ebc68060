using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Evidence;

namespace Deprov.Hosting.Evidence;

/// <summary>
/// The <c>evidence:</c> section: where signed checkpoints go and which key signs them. The key is a secret reference
/// (<c>env:</c> or <c>file:</c>), never stored in the database, so whoever can rewrite the database cannot sign.
/// </summary>
/// <param name="Origin">The log's identity, first line of every checkpoint and the key name.</param>
/// <param name="CheckpointFolder">Folder the checkpoints are written to (ideally append-only or replicated away from the database's administrators).</param>
/// <param name="SigningKey">Reference to the private key text (<c>env:NAME</c> or <c>file:/path</c>); null where this host only verifies.</param>
/// <param name="VerifierKey">The public verifier key text, or <c>file:/path</c> to it; derived from the signing key when absent.</param>
/// <param name="EveryRecords">Sign once this many records are past the last checkpoint. <value>1000</value></param>
/// <param name="Every">Sign at least this often while new records exist. <value>60 s</value></param>
public sealed record EvidenceOptions(string Origin, string CheckpointFolder, string? SigningKey, string? VerifierKey, int EveryRecords, TimeSpan Every)
{
    public static EvidenceOptions? Bind(SettingsNode n, string baseDir, List<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(n);
        ArgumentNullException.ThrowIfNull(errors);
        if (n.IsMissing)
        {
            return null;
        }

        n.CheckKnownKeys(errors, "origin", "checkpoints", "signing_key", "verifier_key", "every_records", "every");
        var origin = n.GetString("origin", errors, required: true, fix: "add 'origin: <your host>/deprov-audit' (no spaces or '+'); it names the log in every checkpoint.");
        if (origin is not null && !NoteKeys.IsValidName(origin))
        {
            errors.Add(n["origin"].Error($"'{origin}' holds a space or '+'.", "use a schema-less URL such as 'deprov.example.com/audit'."));
        }

        var folder = n.GetString("checkpoints", errors, required: true, fix: "add 'checkpoints: /var/lib/deprov/checkpoints' (a folder the database's administrators cannot rewrite).");
        var key = n.GetString("signing_key", errors);
        if (key is not null && !SecretResolver.IsReference(key))
        {
            errors.Add(n["signing_key"].Error("holds a literal value; the signing key is a secret and must not live in YAML.", "write 'env:DEPROV_CHECKPOINT_KEY' or 'file:/etc/deprov/checkpoint.key'."));
        }

        var verifier = n.GetString("verifier_key", errors);
        var everyRecords = n.GetInt("every_records", 1000, errors, 1, 10_000_000);
        var every = n.GetDuration("every", TimeSpan.FromSeconds(60), errors);
        if (every <= TimeSpan.Zero)
        {
            errors.Add(n["every"].Error($"is {every}; it must be positive.", "write e.g. 'every: 60s'."));
        }

        return origin is null || folder is null ? null
            : new EvidenceOptions(origin, Path.GetFullPath(Path.Combine(baseDir, folder)), key, verifier, everyRecords, every);
    }

    /// <summary>Opens the signer named by <see cref="SigningKey"/>, or null when none is configured.</summary>
    public Ed25519NoteSigner? OpenSigner(SecretResolver secrets)
    {
        ArgumentNullException.ThrowIfNull(secrets);
        if (SigningKey is null)
        {
            return null;
        }

        var signer = Ed25519NoteKeys.ParseSigner(secrets.Resolve(SigningKey, "evidence.signing_key"), $"evidence.signing_key ({SigningKey})");
        if (signer.Name != Origin)
        {
            var name = signer.Name;
            signer.Dispose();
            throw new ValidationException($"The checkpoint signing key is named '{name}' but evidence.origin is '{Origin}'. Fix: generate a key for '{Origin}' ('deprov audit keygen --origin {Origin} --dir <folder>') or change evidence.origin.");
        }

        return signer;
    }

    /// <summary>The public key checkpoints are checked against: <see cref="VerifierKey"/>, else the signing key's.</summary>
    public Ed25519NoteVerifier? OpenVerifier(SecretResolver secrets)
    {
        if (VerifierKey is not null)
        {
            var text = VerifierKey.StartsWith("file:", StringComparison.Ordinal) ? File.ReadAllText(VerifierKey[5..]) : VerifierKey;
            return Ed25519NoteKeys.ParseVerifier(text, $"evidence.verifier_key ({VerifierKey})");
        }

        using var signer = OpenSigner(secrets);
        return signer?.Verifier;
    }
}
