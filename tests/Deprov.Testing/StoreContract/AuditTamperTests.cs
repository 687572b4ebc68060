using Deprov.Core.Audit;
using Deprov.Core.Store;
using Xunit;

namespace Deprov.Testing.StoreContract;

/// <summary>
/// Someone with write access to the database changes the audit trail; verification must name the first bad record.
/// Written once; each store's test project derives a sealed class that opens the store and runs raw SQL on its database.
/// </summary>
public abstract class AuditTamperTests : IAsyncLifetime
{
    private IStore? _store;

    protected IStore Store => _store ?? throw new InvalidOperationException("The store is opened in InitializeAsync.");

    /// <summary>A fresh, migrated, empty store whose database <see cref="Tamper"/> reaches.</summary>
    protected abstract Task<IStore> CreateStoreAsync();

    /// <summary>Runs <paramref name="sql"/> on the store's database directly, as an attacker with write access would.</summary>
    protected abstract void Tamper(string sql);

    /// <summary>A SQL literal of <paramref name="hash"/> in the store's dialect.</summary>
    protected abstract string HashLiteral(byte[] hash);

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        var at = new DateTimeOffset(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
        var entries = Enumerable.Range(1, 200).Select(i => new AuditEntry(at.AddSeconds(i), "deprov", "disable_account", "slack", $"user{i}", $"p{i % 7}", "C-1", $"C-1.{i:D3}",
            "{\"active\":\"true\"}", "{\"active\":\"false\"}", "ok", i % 3 == 0 ? null : "claim 1")).ToList();
        await Store.AppendAuditAsync(entries, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    [Fact]
    public async Task VerifyAuditChainAsync_Untouched_IsOk()
    {
        var v = await Store.VerifyAuditChainAsync(CancellationToken.None);
        Assert.True(v.Ok, v.Problem);
        Assert.Equal(200, v.Records);
    }

    [Fact]
    public async Task VerifyAuditChainAsync_FieldEdited_NamesThatRecord()
    {
        Tamper("UPDATE audit SET outcome = 'failed' WHERE seq = 57");
        var v = await Store.VerifyAuditChainAsync(CancellationToken.None);
        Assert.Equal(57, v.FirstBadSeq);
        Assert.Contains("edited", v.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAuditChainAsync_TimestampEdited_NamesThatRecord()
    {
        Tamper("UPDATE audit SET at = at + 10000000 WHERE seq = 120");
        Assert.Equal(120, (await Store.VerifyAuditChainAsync(CancellationToken.None)).FirstBadSeq);
    }

    [Fact]
    public async Task VerifyAuditChainAsync_NullMadeEmpty_NamesThatRecord()
    {
        Tamper("UPDATE audit SET detail = '' WHERE seq = 3"); // seq 3 has a NULL detail
        Assert.Equal(3, (await Store.VerifyAuditChainAsync(CancellationToken.None)).FirstBadSeq);
    }

    [Fact]
    public async Task VerifyAuditChainAsync_RecordDeleted_NamesTheGap()
    {
        Tamper("DELETE FROM audit WHERE seq = 88");
        var v = await Store.VerifyAuditChainAsync(CancellationToken.None);
        Assert.Equal(88, v.FirstBadSeq);
        Assert.Contains("deleted", v.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyAuditChainAsync_RecordDeletedAndRenumbered_NamesTheBrokenLink()
    {
        Tamper("DELETE FROM audit WHERE seq = 88; UPDATE audit SET seq = seq - 1 WHERE seq > 88");
        var v = await Store.VerifyAuditChainAsync(CancellationToken.None);
        Assert.Equal(88, v.FirstBadSeq);
    }

    [Fact]
    public async Task VerifyAuditChainAsync_RecordInserted_NamesTheInsertedRecord()
    {
        // A forged record in the middle, with a well-formed hash of its own: everything after it shifts by one.
        Tamper("UPDATE audit SET seq = seq + 1000 WHERE seq >= 150; UPDATE audit SET seq = seq - 999 WHERE seq >= 1150");
        Tamper("INSERT INTO audit SELECT 150, at, actor, 'enable_account', system_id, target, person_id, case_id, step_id, before, after, outcome, detail, prev_hash, hash FROM audit WHERE seq = 149");
        var v = await Store.VerifyAuditChainAsync(CancellationToken.None);
        Assert.Equal(150, v.FirstBadSeq);
    }

    [Fact]
    public async Task VerifyAuditChainAsync_TwoRecordsSwapped_NamesTheFirst()
    {
        Tamper("UPDATE audit SET seq = -1 WHERE seq = 30; UPDATE audit SET seq = 30 WHERE seq = 31; UPDATE audit SET seq = 31 WHERE seq = -1");
        var v = await Store.VerifyAuditChainAsync(CancellationToken.None);
        Assert.Equal(30, v.FirstBadSeq);
    }

    [Fact]
    public async Task VerifyAuditChainAsync_HashRecomputedForEditedRecord_NamesTheNextRecord()
    {
        // A careful forger edits record 40 and recomputes its hash: record 41 no longer chains to it.
        var records = new List<AuditRecord>();
        await foreach (var r in Store.ReadAuditAsync(40, CancellationToken.None))
        {
            records.Add(r);
            break;
        }

        var forged = records[0].Entry with { Outcome = "failed" };
        var hash = AuditChain.ComputeHash(records[0].PrevHash, 40, forged);
        Tamper($"UPDATE audit SET outcome = 'failed', hash = {HashLiteral(hash)} WHERE seq = 40");
        Assert.Equal(41, (await Store.VerifyAuditChainAsync(CancellationToken.None)).FirstBadSeq);
    }

    [Fact]
    public async Task VerifyAuditChainAsync_FirstRecordDeleted_NamesRecordOne()
    {
        Tamper("DELETE FROM audit WHERE seq = 1");
        Assert.Equal(1, (await Store.VerifyAuditChainAsync(CancellationToken.None)).FirstBadSeq);
    }
}
