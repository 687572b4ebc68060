using System.Globalization;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Deprov.Core.Audit;
using Deprov.Core.Evidence;
using Deprov.Core.Store;

namespace Deprov.Hosting.Evidence;

/// <summary>One record in a bundle, with everything needed to recompute its chain hash and its leaf.</summary>
/// <param name="AtUtcTicks">The timestamp exactly as hashed: 100 ns ticks since 0001-01-01 UTC.</param>
/// <param name="Proof">Inclusion proof for leaf <c>Seq − 1</c> in the checkpoint's tree, base64, leaf's sibling first.</param>
public sealed record BundleRecord(long Seq, string At, long AtUtcTicks, string Actor, string Action, string? SystemId, string? Target, string? PersonId,
    string? CaseId, string? StepId, string? Before, string? After, string Outcome, string? Detail, string PrevHash, string Hash, IReadOnlyList<string> Proof)
{
    public AuditRecord ToRecord() => new(Seq,
        new AuditEntry(new DateTimeOffset(AtUtcTicks, TimeSpan.Zero), Actor, Action, SystemId, Target, PersonId, CaseId, StepId, Before, After, Outcome, Detail),
        Convert.FromHexString(PrevHash), Convert.FromHexString(Hash));
}

/// <summary>The bundle's <c>records.json</c>.</summary>
public sealed record BundleManifest(string Format, string Person, string Origin, long TreeSize, IReadOnlyList<BundleRecord> Records);

/// <summary>What <see cref="EvidenceBundle.Verify"/> found.</summary>
/// <param name="KeySource">Which key the signature was checked with: the pinned one, or the one shipped in the bundle.</param>
public sealed record BundleVerification(string? Person, string? Origin, long TreeSize, int Records, string KeySource, IReadOnlyList<string> Problems)
{
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// A person's evidence that anyone can check offline: the records about that person, an inclusion proof for each
/// against a signed checkpoint, the checkpoint and the public key. No record about anyone else goes in.
/// </summary>
/// <remarks>Zip layout: <c>records.json</c>, <c>checkpoint.txt</c> (the signed note verbatim), <c>key.txt</c> (verifier
/// key), <c>key.pem</c> (the same key for openssl), <c>proofs/&lt;seq&gt;.tlog-proof</c> (C2SP tlog-proof per record) and
/// <c>README.txt</c>. The algorithm is in docs/evidence.md.</remarks>
public static class EvidenceBundle
{
    public const string Format = "deprov-evidence-bundle/v1";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.Never };

    /// <summary>Writes the bundle for <paramref name="personId"/> against a signed checkpoint. Returns the records
    /// included and those left out because they are newer than the checkpoint. Throws when the trail no longer matches
    /// the checkpoint (a proof against it would be false).</summary>
    public static async Task<(int Included, int NotCovered)> WriteAsync(IStore store, string personId, string signedCheckpoint, Ed25519NoteVerifier key,
        Stream output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(key);
        var checkpoint = Checkpoint.Parse(SignedNote.Parse(signedCheckpoint).Text);
        var tree = new MerkleTree();
        if (checkpoint.Size > 0)
        {
            await foreach (var r in store.ReadAuditAsync(1, cancellationToken))
            {
                tree.Append(AuditLeaf.Hash(r));
                if (tree.Size == checkpoint.Size)
                {
                    break;
                }
            }
        }

        if (tree.Size != checkpoint.Size || !tree.Root().AsSpan().SequenceEqual(checkpoint.RootHash))
        {
            throw new Core.DeprovException($"The audit trail no longer matches the checkpoint of {checkpoint.Size} records, so no proof against it would hold. Run 'deprov audit verify'.");
        }

        var records = new List<BundleRecord>();
        var notCovered = 0;
        await foreach (var r in store.ReadPersonAuditAsync(personId, cancellationToken))
        {
            // The store's person query is the selection; the check here keeps the promise even if it ever widened.
            if (r.Entry.PersonId != personId)
            {
                continue;
            }

            if (r.Seq > checkpoint.Size)
            {
                notCovered++;
                continue;
            }

            var e = r.Entry;
            var proof = tree.InclusionProof(r.Seq - 1, checkpoint.Size).Select(Convert.ToBase64String).ToList();
            records.Add(new BundleRecord(r.Seq, e.At.UtcDateTime.ToString("O", CultureInfo.InvariantCulture), e.At.UtcTicks, e.Actor, e.Action, e.SystemId, e.Target,
                e.PersonId, e.CaseId, e.StepId, e.Before, e.After, e.Outcome, e.Detail, Convert.ToHexStringLower(r.PrevHash), Convert.ToHexStringLower(r.Hash), proof));
        }

        using var zip = new ZipArchive(output, ZipArchiveMode.Create, leaveOpen: true);
        await AddAsync(zip, "records.json", JsonSerializer.Serialize(new BundleManifest(Format, personId, checkpoint.Origin, checkpoint.Size, records), Json), cancellationToken);
        await AddAsync(zip, "checkpoint.txt", signedCheckpoint, cancellationToken);
        await AddAsync(zip, "key.txt", key.VerifierKey + "\n", cancellationToken);
        await AddAsync(zip, "key.pem", Ed25519NoteKeys.PublicKeyPem(key.RawPublicKey), cancellationToken);
        foreach (var r in records)
        {
            var proof = new StringBuilder("c2sp.org/tlog-proof@v1\n").Append(CultureInfo.InvariantCulture, $"index {r.Seq - 1}\n");
            foreach (var p in r.Proof)
            {
                proof.Append(p).Append('\n');
            }

            await AddAsync(zip, $"proofs/{r.Seq}.tlog-proof", proof.Append('\n').Append(signedCheckpoint).ToString(), cancellationToken);
        }

        await AddAsync(zip, "README.txt", Readme(personId, checkpoint, key.VerifierKey), cancellationToken);
        return (records.Count, notCovered);
    }

    /// <summary>Checks a bundle with nothing but its bytes and, preferably, a key the auditor already trusts.</summary>
    public static BundleVerification Verify(Stream bundle, Ed25519NoteVerifier? pinnedKey)
    {
        ArgumentNullException.ThrowIfNull(bundle);
        var problems = new List<string>();
        ZipArchive zip;
        try
        {
            zip = new ZipArchive(bundle, ZipArchiveMode.Read, leaveOpen: true);
        }
        catch (InvalidDataException ex)
        {
            return new BundleVerification(null, null, 0, 0, "none", [$"the file is not a zip archive ({ex.Message})"]);
        }

        using (zip)
        {
            string? Read(string name)
            {
                var entry = zip.GetEntry(name);
                if (entry is null)
                {
                    problems.Add($"{name} is missing from the bundle");
                    return null;
                }

                using var reader = new StreamReader(entry.Open(), Encoding.UTF8);
                return reader.ReadToEnd();
            }

            var recordsJson = Read("records.json");
            var checkpointText = Read("checkpoint.txt");
            var keyText = Read("key.txt");
            if (recordsJson is null || checkpointText is null || (keyText is null && pinnedKey is null))
            {
                return new BundleVerification(null, null, 0, 0, "none", problems);
            }

            Ed25519NoteVerifier key;
            string keySource;
            if (pinnedKey is not null)
            {
                key = pinnedKey;
                keySource = $"pinned key {pinnedKey.VerifierKey}";
            }
            else
            {
                try
                {
                    key = Ed25519NoteKeys.ParseVerifier(keyText!, "key.txt in the bundle");
                }
                catch (Core.ValidationException ex)
                {
                    return new BundleVerification(null, null, 0, 0, "none", [ex.Message]);
                }

                keySource = $"key shipped in the bundle {key.VerifierKey} (compare it with the key you trust, or pass --key)";
            }

            Checkpoint checkpoint;
            try
            {
                var note = SignedNote.Parse(checkpointText);
                if (note.Verify([key]) is { } bad)
                {
                    return new BundleVerification(null, null, 0, 0, keySource, [$"checkpoint.txt: {bad}"]);
                }

                checkpoint = Checkpoint.Parse(note.Text);
            }
            catch (FormatException ex)
            {
                return new BundleVerification(null, null, 0, 0, keySource, [$"checkpoint.txt cannot be read: {ex.Message}"]);
            }

            BundleManifest? manifest;
            try
            {
                manifest = JsonSerializer.Deserialize<BundleManifest>(recordsJson, Json);
            }
            catch (JsonException ex)
            {
                return new BundleVerification(null, checkpoint.Origin, checkpoint.Size, 0, keySource, [$"records.json cannot be read: {ex.Message}"]);
            }

            if (manifest?.Records is null || manifest.Format != Format)
            {
                return new BundleVerification(null, checkpoint.Origin, checkpoint.Size, 0, keySource, [$"records.json is not a {Format} manifest"]);
            }

            if (manifest.Origin != checkpoint.Origin || manifest.TreeSize != checkpoint.Size)
            {
                problems.Add($"records.json claims log '{manifest.Origin}' at {manifest.TreeSize} records, but the signed checkpoint is '{checkpoint.Origin}' at {checkpoint.Size}");
            }

            foreach (var r in manifest.Records)
            {
                problems.AddRange(CheckRecord(r, manifest.Person, checkpoint));
            }

            return new BundleVerification(manifest.Person, checkpoint.Origin, checkpoint.Size, manifest.Records.Count, keySource, problems);
        }
    }

    private static IEnumerable<string> CheckRecord(BundleRecord r, string person, Checkpoint checkpoint)
    {
        if (r.PersonId != person)
        {
            yield return $"record {r.Seq} is about '{r.PersonId}', not '{person}'";
        }

        AuditRecord record;
        List<byte[]> proof;
        try
        {
            record = r.ToRecord();
            proof = r.Proof.Select(Convert.FromBase64String).ToList();
        }
        catch (FormatException)
        {
            record = null!;
            proof = null!;
        }

        if (record is null)
        {
            yield return $"record {r.Seq}: a hash or proof is not valid hex/base64";
            yield break;
        }

        if (!AuditChain.Verify(record))
        {
            yield return $"record {r.Seq} was edited: its content does not match its hash";
            yield break;
        }

        if (MerkleProof.VerifyInclusion(r.Seq - 1, checkpoint.Size, AuditLeaf.Recompute(record), proof, checkpoint.RootHash) is { } problem)
        {
            yield return $"record {r.Seq} is not proven to be in the signed trail: {problem}";
        }
    }

    private static async Task AddAsync(ZipArchive zip, string name, string text, CancellationToken cancellationToken)
    {
        var entry = zip.CreateEntry(name, CompressionLevel.Optimal);
        await using var stream = await entry.OpenAsync(cancellationToken);
        await stream.WriteAsync(new UTF8Encoding(false).GetBytes(text), cancellationToken);
    }

    private static string Readme(string personId, Checkpoint checkpoint, string verifierKey) => $"""
        Deprov evidence bundle for person {personId}
        Log {checkpoint.Origin}, signed checkpoint of {checkpoint.Size} records (checkpoint.txt), key {verifierKey}.

        Check it without Deprov's store or server:   deprov audit verify-bundle <this file> --key '<the verifier key you trust>'
        or by hand with openssl and a short script: see docs/evidence.md ("Checking a bundle by hand").

        What a passing check proves: each record here is, byte for byte, record <seq> of the trail whose root the key
        signed. It does not prove that this bundle holds every record about the person (a bundle can leave records out);
        compare with another bundle or a later checkpoint for that.

        """;
}
