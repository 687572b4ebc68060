using System.Diagnostics;
using System.Globalization;
using Deprov.Core.Audit;
using Deprov.Hosting.Audit;
using Deprov.Store.Sqlite;

namespace Deprov.Bench;

/// <summary>`deprov bench audit`: writes N audit records (realistic sizes) and times `audit verify` over them.</summary>
internal static class AuditBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var records = EngineBench.Arg(args, "--records", 1_000_000);
        using var dir = new TempDir();
        await using var store = new SqliteStore(Path.Combine(dir.Path, "audit.db"), SqliteDurability.Normal);
        await store.MigrateAsync(ct);
        var at = new DateTimeOffset(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
        var sw = Stopwatch.StartNew();
        for (var done = 0; done < records;)
        {
            var batch = new List<AuditEntry>(20_000);
            for (var i = 0; i < 20_000 && done < records; i++, done++)
            {
                batch.Add(new AuditEntry(at.AddMilliseconds(done), "deprov", "disable_account", "slack", $"user{done}@example.com", $"p{done % 50_000:D6}",
                    $"C-261101-{done / 30:D10}", $"C-261101-{done / 30:D10}.{done % 30:D3}", "{\"active\":\"true\",\"sessions\":\"2\"}", "{\"active\":\"false\"}", "ok", "claim 1"));
            }

            await store.AppendAuditAsync(batch, ct);
        }

        Console.WriteLine($"audit_append_s: {sw.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)} ({records} records)");
        var service = new AuditService(store, TimeProvider.System);
        sw.Restart();
        var result = await service.VerifyAsync(ct);
        Console.WriteLine($"audit_verify_records: {result.Records}");
        Console.WriteLine($"audit_verify_ok: {result.Ok}");
        Console.WriteLine($"audit_verify_s: {sw.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}");

        // The same trail with a signed checkpoint at its head: signing reads the whole trail once (a fresh writer),
        // verifying adds the Merkle root at the checkpoint's size to the chain check.
        var (key, _, _) = Deprov.Hosting.Evidence.Ed25519NoteKeys.Generate("bench.deprov/audit");
        using var signer = Deprov.Hosting.Evidence.Ed25519NoteKeys.ParseSigner(key, "bench");
        var evidence = new Deprov.Hosting.Evidence.EvidenceOptions("bench.deprov/audit", Path.Combine(dir.Path, "checkpoints"), null, null, 1000, TimeSpan.FromSeconds(60));
        sw.Restart();
        using (var writer = new Deprov.Hosting.Evidence.CheckpointWriter(store, evidence, signer, signer.Verifier, TimeProvider.System))
        {
            await writer.SignNowAsync(ct);
        }

        Console.WriteLine($"checkpoint_sign_full_s: {sw.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}");
        sw.Restart();
        var (good, bad) = Deprov.Hosting.Evidence.CheckpointFolder.Check(Deprov.Hosting.Evidence.CheckpointFolder.ReadAll(evidence.CheckpointFolder), [signer.Verifier], evidence.Origin);
        var withCheckpoint = await Deprov.Hosting.Evidence.EvidenceVerifier.VerifyAsync(store, good.Select(g => (g.Source, g.Checkpoint)).ToList(), bad, true, ct);
        Console.WriteLine($"audit_verify_checkpoint_ok: {withCheckpoint.Ok}");
        Console.WriteLine($"audit_verify_checkpoint_s: {sw.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}");
        return result.Ok && withCheckpoint.Ok ? 0 : 1;
    }
}
