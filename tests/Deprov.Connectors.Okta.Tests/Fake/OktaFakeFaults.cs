using System.Collections.Concurrent;
using System.Diagnostics;

namespace Deprov.Connectors.Okta.Tests.Fake;

/// <summary>
/// Injectable faults and the org's rate-limit window. Every answer carries <c>X-Rate-Limit-Limit/Remaining/Reset</c>
/// (Reset in UTC epoch seconds); the window is enforced (excess → <c>429 E0000047</c>) only after <see cref="EnforceQuota"/>.
/// </summary>
public sealed class OktaFakeFaults
{
    private readonly ConcurrentQueue<Fault> _faults = new();
    private readonly Lock _lock = new();
    private int _requests;
    private int _answered429;
    private int _limit = 10_000;
    private TimeSpan _window = TimeSpan.FromSeconds(60);
    private bool _enforced;
    private long _windowStart = Stopwatch.GetTimestamp();
    private int _used;

    internal sealed record Fault(string? Method, int Status, string? ErrorCode, TimeSpan? Delay, bool Drop);

    public int Requests => Volatile.Read(ref _requests);

    public int Answered429 => Volatile.Read(ref _answered429);

    /// <summary>The next <paramref name="count"/> requests (of <paramref name="method"/>, if given) answer <paramref name="status"/> with an Okta error body.</summary>
    public void FailNext(int count, int status, string? errorCode = null, string? method = null)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(new Fault(method, status, errorCode, null, false));
        }
    }

    /// <summary>The next requests are answered only after <paramref name="delay"/>.</summary>
    public void SlowNext(int count, TimeSpan delay, string? method = null)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(new Fault(method, 0, null, delay, false));
        }
    }

    /// <summary>The next requests have their connection aborted without an answer.</summary>
    public void DropNext(int count, string? method = null)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(new Fault(method, 0, null, null, true));
        }
    }

    /// <summary>Okta's fixed window: <paramref name="limit"/> requests per <paramref name="window"/> (a minute in a real org), then 429 until it resets.</summary>
    public void EnforceQuota(int limit, TimeSpan window)
    {
        lock (_lock)
        {
            _limit = limit;
            _window = window;
            _enforced = true;
            _windowStart = Stopwatch.GetTimestamp();
            _used = 0;
        }
    }

    internal void Count() => Interlocked.Increment(ref _requests);

    internal void Count429() => Interlocked.Increment(ref _answered429);

    internal Fault? Take(string method)
    {
        // Faults are consumed in order; one for another method stays queued for that method.
        if (!_faults.TryPeek(out var f) || (f.Method is not null && !string.Equals(f.Method, method, StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        return _faults.TryDequeue(out var taken) ? taken : null;
    }

    /// <summary>Counts the request in the current window: (allowed, limit, remaining, reset epoch seconds).</summary>
    internal (bool Allowed, int Limit, int Remaining, long Reset) TakeQuota()
    {
        lock (_lock)
        {
            var now = Stopwatch.GetTimestamp();
            var elapsed = Stopwatch.GetElapsedTime(_windowStart, now);
            if (elapsed >= _window)
            {
                _windowStart = now;
                _used = 0;
                elapsed = TimeSpan.Zero;
            }

            // Whole seconds, rounded up: a client that waits until Reset never comes back before the window turned.
            var resetAt = TimeProvider.System.GetUtcNow() + (_window - elapsed);
            var reset = (long)Math.Ceiling((resetAt - DateTimeOffset.UnixEpoch).TotalSeconds);
            if (_enforced && _used >= _limit)
            {
                return (false, _limit, 0, reset);
            }

            _used++;
            return (true, _limit, Math.Max(0, _limit - _used), reset);
        }
    }
}
