using System.Threading.Channels;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>
/// The real clock, except that no timer fires until the test fires it. The connection pool's per-call deadline is such a
/// timer, so a test decides which call misses its deadline instead of racing a one-second limit on a loaded machine:
/// a call the test does not expire has only libldap's own (generous) timeout left.
/// </summary>
internal sealed class HeldDeadlines : TimeProvider
{
    private readonly Channel<HeldTimer> _created = Channel.CreateUnbounded<HeldTimer>();

    public override DateTimeOffset GetUtcNow() => System.GetUtcNow();

    public override long GetTimestamp() => System.GetTimestamp();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new HeldTimer(callback, state);
        _created.Writer.TryWrite(timer);
        return timer;
    }

    /// <summary>
    /// Fires every timer started so far and each one started later, until <paramref name="call"/> completes: the call's
    /// deadline is among them. Firing a timer whose call already finished does nothing, and an earlier call's timer may
    /// not be disposed yet when the next call starts (Task.WaitAsync disposes it in a continuation), so no single timer
    /// can be told apart as "the" deadline.
    /// </summary>
    public async Task ExpireUntilAsync(Task call, CancellationToken cancellationToken)
    {
        while (!call.IsCompleted)
        {
            // Wait without taking: a pending read left behind when the call completes would swallow the next call's deadline.
            var ready = _created.Reader.WaitToReadAsync(cancellationToken).AsTask();
            if (await Task.WhenAny(call, ready) == ready && await ready)
            {
                while (_created.Reader.TryRead(out var timer))
                {
                    timer.Fire();
                }
            }
        }
    }

    private sealed class HeldTimer(TimerCallback callback, object? state) : ITimer
    {
        private int _done;

        /// <summary>Runs the callback unless the timer already fired or was disposed (its call finished in time).</summary>
        public bool Fire()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0)
            {
                return false;
            }

            callback(state);
            return true;
        }

        public bool Change(TimeSpan dueTime, TimeSpan period) => Volatile.Read(ref _done) == 0;

        public void Dispose() => Interlocked.Exchange(ref _done, 1);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
