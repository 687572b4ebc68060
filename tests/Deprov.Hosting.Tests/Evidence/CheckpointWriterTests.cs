using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Evidence;
using Deprov.Hosting.Evidence;
using Deprov.Store.Sqlite;
using Deprov.Testing;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Hosting.Tests.Evidence;

public sealed class CheckpointWriterTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 9, 0, 0, TimeSpan.Zero));
    private string _dir = null!;
    private SqliteStore _store = null!;
    private EvidenceOptions _options = null!;
    private Ed25519NoteSigner _signer = null!;

    public async Task InitializeAsync()
    {
        _dir = TestEnvironment.NewTempDirectory("deprov-checkpoints");
        _store = new SqliteStore(Path.Combine(_dir, "deprov.db"), SqliteDurability.Normal);
        await _store.MigrateAsync(CancellationToken.None);
        _options = new EvidenceOptions("deprov.test/audit", Path.Combine(_dir, "checkpoints"), null, null, EveryRecords: 10, Every: TimeSpan.FromSeconds(60));
        var (key, _, _) = Ed25519NoteKeys.Generate("deprov.test/audit");
        _signer = Ed25519NoteKeys.ParseSigner(key, "test");
    }

    public async Task DisposeAsync()
    {
        _signer.Dispose();
        await _store.DisposeAsync();
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // left to the OS temp cleaner
        }
    }

    private Task AppendAsync(int n) =>
        _store.AppendAuditAsync(Enumerable.Range(0, n).Select(i => new AuditEntry(_time.GetUtcNow(), "deprov", "test", null, $"t{i}", "p1", null, null, null, null, "ok", null)).ToList(), CancellationToken.None);

    private CheckpointWriter Writer() => new(_store, _options, _signer, _signer.Verifier, _time);

    [Fact]
    public async Task TickAsync_SignsEveryNRecordsOrAfterTheInterval_AndNotOtherwise()
    {
        using var writer = Writer();
        await AppendAsync(3);
        var first = await writer.TickAsync(CancellationToken.None);
        Assert.EndsWith(CheckpointFolder.FileName(3), first, StringComparison.Ordinal); // no checkpoint yet: sign the head at once

        await AppendAsync(9);
        Assert.Null(await writer.TickAsync(CancellationToken.None));
        await AppendAsync(1);
        Assert.EndsWith(CheckpointFolder.FileName(13), await writer.TickAsync(CancellationToken.None), StringComparison.Ordinal);

        await AppendAsync(2);
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Null(await writer.TickAsync(CancellationToken.None));
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.EndsWith(CheckpointFolder.FileName(15), await writer.TickAsync(CancellationToken.None), StringComparison.Ordinal);

        _time.Advance(TimeSpan.FromMinutes(10));
        Assert.Null(await writer.TickAsync(CancellationToken.None)); // nothing new: nothing to sign
    }

    [Fact]
    public async Task SignNowAsync_CheckpointVerifiesAndHoldsTheRootOfTheTrail()
    {
        await AppendAsync(7);
        using var writer = Writer();
        var path = await writer.SignNowAsync(CancellationToken.None);
        var note = SignedNote.Parse(await File.ReadAllTextAsync(path));
        Assert.Null(note.Verify([_signer.Verifier]));
        var checkpoint = Checkpoint.Parse(note.Text);

        var leaves = new List<byte[]>();
        await foreach (var r in _store.ReadAuditAsync(1, CancellationToken.None))
        {
            leaves.Add(MerkleHash.Leaf(r.Hash));
        }

        Assert.Equal(7, checkpoint.Size);
        Assert.Equal(MerkleTree.FromLeafHashes(leaves).Root(), checkpoint.RootHash);
    }

    [Fact]
    public async Task SignNowAsync_NewWriterOnATruncatedTrail_Refuses()
    {
        await AppendAsync(12);
        using (var writer = Writer())
        {
            await writer.SignNowAsync(CancellationToken.None);
        }

        await using (var c = new SqliteConnection($"Data Source={Path.Combine(_dir, "deprov.db")};Pooling=False"))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = "DELETE FROM audit WHERE seq > 10";
            await cmd.ExecuteNonQueryAsync();
        }

        using var restarted = Writer();
        var ex = await Assert.ThrowsAsync<DeprovException>(() => restarted.SignNowAsync(CancellationToken.None));
        Assert.Contains("the trail has 10 records but checkpoint checkpoint-000000000012.txt was signed for 12", ex.Message, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(_options.CheckpointFolder));
    }
}
