using System.Threading.Channels;
using Deprov.Core.Model;
using Deprov.Core.Store;

namespace Deprov.Hosting.Execution;

public sealed partial class DeprovEngine
{
    private readonly Channel<(EventRecord Record, TaskCompletionSource<bool> Done)> _inbox =
        Channel.CreateUnbounded<(EventRecord, TaskCompletionSource<bool>)>(new UnboundedChannelOptions { SingleReader = true });

    private readonly Channel<bool> _accepted = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly Lock _inboxStart = new();
    private Task? _inboxWriter;

    /// <summary>
    /// Accepts an event for later planning (webhooks, the API): validates it and makes it durable — group-committed with
    /// every other event arriving at the same moment — before returning. Planning happens in the worker
    /// (<see cref="RunAsync"/>); a crash after this returns loses nothing, since recorded events are planned on start.
    /// </summary>
    /// <param name="parkReason">Park the event with this reason instead of planning it (it cannot be used as it is).</param>
    /// <param name="personKnown">Whether the caller already looked the person up (saves a query per event).</param>
    public async Task<SubmitResult> AcceptAsync(LifecycleEvent e, string actor, CancellationToken cancellationToken, string? parkReason = null, bool? personKnown = null)
    {
        var ev = Validate(e);
        var known = parkReason is null && (personKnown ?? await _store.GetPersonAsync(ev.PersonId, cancellationToken) is not null);
        parkReason ??= known ? null : UnknownPerson(ev);
        var record = known
            ? new EventRecord(ev, null, Audit(ev, actor, "event_received", "ok", ev.Note))
            : new EventRecord(ev, parkReason, Audit(ev, actor, "event_parked", "parked", parkReason));
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        EnsureInboxWriter();
        await _inbox.Writer.WriteAsync((record, done), cancellationToken);
        var recorded = await done.Task.WaitAsync(cancellationToken);
        if (!recorded)
        {
            return await DuplicateOrConflictAsync(ev, actor, cancellationToken);
        }

        if (!known)
        {
            return new SubmitResult(ev, SubmitOutcome.Parked, null, record.ParkedReason!);
        }

        _accepted.Writer.TryWrite(true);
        return new SubmitResult(ev, SubmitOutcome.Accepted, null, IsWorker
            ? "accepted; the worker plans it now"
            : "accepted and recorded; this process is not the worker (another process holds the worker lock), so it is planned when a worker runs");
    }

    private void EnsureInboxWriter()
    {
        lock (_inboxStart)
        {
            _inboxWriter ??= Task.Run(InboxLoopAsync);
        }
    }

    private async Task InboxLoopAsync()
    {
        var batch = new List<(EventRecord Record, TaskCompletionSource<bool> Done)>();
        while (await _inbox.Reader.WaitToReadAsync())
        {
            while (batch.Count < 2048 && _inbox.Reader.TryRead(out var item))
            {
                batch.Add(item);
            }

            try
            {
                var results = await _store.RecordEventsAsync(batch.Select(b => b.Record).ToList(), CancellationToken.None);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Done.TrySetResult(results[i]);
                }
            }
#pragma warning disable CA1031 // The inbox hands the failure to every caller waiting on this batch; none is answered 2xx.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                foreach (var (_, done) in batch)
                {
                    done.TrySetException(ex);
                }
            }

            batch.Clear();
        }
    }

    /// <summary>Plans accepted events as they arrive (runs beside the step loop in <see cref="RunMode.Forever"/>).</summary>
    private async Task PlanAcceptedLoopAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var poll = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                poll.CancelAfter(TimeSpan.FromSeconds(1)); // another process (the API server) may have accepted events
                await _accepted.Reader.WaitToReadAsync(poll.Token);
                _accepted.Reader.TryRead(out _);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // poll interval elapsed
            }

            if (cancellationToken.IsCancellationRequested)
            {
                return;
            }

            while (await HandleUnhandledEventsAsync(cancellationToken) > 0)
            {
                Wake();
            }
        }
    }
}
