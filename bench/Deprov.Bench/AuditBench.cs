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
        return result.Ok ? 0 : 1;
    }
}
