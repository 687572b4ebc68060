using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Evidence;
using Deprov.Core.Store;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Deprov.Hosting.Evidence;

/// <summary>
/// Signs the audit trail's Merkle root into the checkpoint folder: when <see cref="EvidenceOptions.EveryRecords"/> new
/// records have accumulated, when <see cref="EvidenceOptions.Every"/> has passed with new records, and on demand (every
/// export). It keeps the tree in memory and reads only new records. Before it signs anything it checks the records it
/// reads (chain links and hashes) and that the trail still matches the newest checkpoint already in the folder, so it
/// never signs over a trail that was cut short or rewritten.
/// </summary>
public sealed partial class CheckpointWriter : IDisposable
{
    private readonly IStore _store;
    private readonly EvidenceOptions _options;
    private readonly NoteSigner _signer;
    private readonly NoteVerifier _verifier;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly MerkleAccumulator _tree = new();
    private readonly AuditVerifier _chain = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private (string Source, Checkpoint Checkpoint)? _anchor;
    private bool _anchorLoaded;
    private long _signedSize = -1;
    private DateTimeOffset _signedAt;

    public CheckpointWriter(IStore store, EvidenceOptions options, NoteSigner signer, NoteVerifier verifier, TimeProvider time, ILogger? logger = null)
    {
        _store = store;
        _options = options;
        _signer = signer;
        _verifier = verifier;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        _signedAt = time.GetUtcNow();
    }

    public void Dispose() => _gate.Dispose();

    /// <summary>Records read into the tree so far.</summary>
    public long Size => _tree.Size;

    /// <summary>Reads new records and signs a checkpoint of the whole trail now, unless the newest one already covers it.
    /// Returns the checkpoint file's path. Throws <see cref="DeprovException"/> when the trail fails a check.</summary>
    public async Task<string> SignNowAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await CatchUpAsync(cancellationToken);
            return Sign();
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>One round of the schedule: catch up, then sign if enough records or enough time have passed. Returns the
    /// checkpoint written, or null.</summary>
    public async Task<string?> TickAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            await CatchUpAsync(cancellationToken);
            var pending = _tree.Size - Math.Max(_signedSize, 0);
            var due = pending >= _options.EveryRecords || (pending > 0 && _time.GetUtcNow() - _signedAt >= _options.Every) || (_signedSize < 0 && _tree.Size > 0 && _anchor is null);
            return due && _tree.Size != _signedSize ? Sign() : null;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs <see cref="TickAsync"/> every <paramref name="poll"/> until cancelled. A failed check stops signing
    /// (it is logged once): a trail that was tampered with needs a person, not another signature.</summary>
    public async Task RunAsync(TimeSpan poll, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (await TickAsync(cancellationToken) is { } path)
                {
                    LogSigned(_logger, path, _signedSize);
                }
            }
            catch (DeprovException ex)
            {
                LogRefused(_logger, ex.Message);
                return;
            }

            await Task.Delay(poll, _time, cancellationToken);
        }
    }

    private string Sign()
    {
        var checkpoint = new Checkpoint(_options.Origin, _tree.Size, _tree.Root());
        var note = SignedNote.Sign(checkpoint.ToNoteText(), _signer).ToString();
        var path = CheckpointFolder.Write(_options.CheckpointFolder, checkpoint.Size, note);
        _signedSize = checkpoint.Size;
        _signedAt = _time.GetUtcNow();
        return path;
    }

    private async Task CatchUpAsync(CancellationToken cancellationToken)
    {
        if (!_anchorLoaded)
        {
            LoadAnchor();
            _anchorLoaded = true;
        }

        await foreach (var r in _store.ReadAuditAsync(_tree.Size + 1, cancellationToken))
        {
            var problem = _chain.CheckLink(r) ? AuditVerifier.CheckHash(r) : _chain.Problem;
            if (problem is not null)
            {
                throw new DeprovException($"Not signing: the audit trail is broken at record {_chain.FirstBadSeq ?? r.Seq} ({problem}). Run 'deprov audit verify'.");
            }

            _tree.Append(AuditLeaf.Hash(r));
            if (_anchor is { } a && a.Checkpoint.Size == _tree.Size)
            {
                if (!_tree.Root().AsSpan().SequenceEqual(a.Checkpoint.RootHash))
                {
                    throw new DeprovException($"Not signing: the first {a.Checkpoint.Size} records no longer match checkpoint {a.Source}: the trail was rewritten. Run 'deprov audit verify'.");
                }

                _signedSize = a.Checkpoint.Size;
            }
        }

        if (_anchor is { } anchor && _tree.Size < anchor.Checkpoint.Size)
        {
            throw new DeprovException($"Not signing: the trail has {_tree.Size} records but checkpoint {anchor.Source} was signed for {anchor.Checkpoint.Size}: records were deleted. Run 'deprov audit verify'.");
        }
    }

    private void LoadAnchor()
    {
        var (good, bad) = CheckpointFolder.Check(CheckpointFolder.ReadAll(_options.CheckpointFolder), [_verifier], _options.Origin);
        if (bad.Count > 0)
        {
            throw new DeprovException($"Not signing: {bad[0].Message}. Move the bad file aside only after finding out who changed it.");
        }

        if (good.Count > 0)
        {
            var newest = good.MaxBy(g => g.Checkpoint.Size);
            _anchor = (newest.Source, newest.Checkpoint);
            if (newest.Checkpoint.Size == 0)
            {
                _signedSize = 0;
            }
        }
    }

    [LoggerMessage(EventId = 1701, Level = LogLevel.Information, Message = "Signed audit checkpoint {Path} ({Size} records)")]
    private static partial void LogSigned(ILogger logger, string path, long size);

    [LoggerMessage(EventId = 1702, Level = LogLevel.Error, Message = "Checkpoint signing stopped: {Reason}")]
    private static partial void LogRefused(ILogger logger, string reason);
}
