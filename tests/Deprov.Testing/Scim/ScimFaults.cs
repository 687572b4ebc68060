using System.Collections.Concurrent;
using System.Diagnostics;

namespace Deprov.Testing.Scim;

/// <summary>Injectable faults and counters. Thread-safe; faults apply to the next matching requests.</summary>
public sealed class ScimFaults
{
    private readonly ConcurrentQueue<Fault> _faults = new();
    private readonly Lock _bucketLock = new();
    private int _requests;
    private int _answered429;
    private int _dropped;
    private int _staleEtags;
    private double _rate;
    private double _burst;
    private double _tokens;
    private long _lastRefill;
    private int _quotaLimit;
    private TimeSpan _quotaWindow;
    private long _quotaWindowStart;
    private int _quotaUsed;

    internal sealed record Fault(string? Method, int Status, TimeSpan? RetryAfter, TimeSpan? Delay, bool Drop, string? ScimType = null);

    public int Requests => Volatile.Read(ref _requests);

    public int Answered429 => Volatile.Read(ref _answered429);

    public int Dropped => Volatile.Read(ref _dropped);

    public ConcurrentDictionary<string, int> ByMethod { get; } = new(StringComparer.Ordinal);

    /// <summary>The next <paramref name="count"/> requests (of <paramref name="method"/>, if given) answer with <paramref name="status"/>.</summary>
    public void FailNext(int count, int status, TimeSpan? retryAfter = null, string? method = null, string? scimType = null)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(new Fault(method, status, retryAfter, null, false, scimType));
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

    /// <summary>The next conditional writes find the resource changed by "someone else" (its version moves on) → 412.</summary>
    public void StaleEtagNext(int count) => Interlocked.Add(ref _staleEtags, count);

    /// <summary>Enforces <paramref name="perSecond"/> requests/s with a token bucket of <paramref name="burst"/>; excess → 429 + Retry-After.</summary>
    public void EnforceRate(double perSecond, double burst)
    {
        lock (_bucketLock)
        {
            _rate = perSecond;
            _burst = burst;
            _tokens = burst;
            _lastRefill = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>Okta-style fixed-window quota with <c>X-Rate-Limit-Limit/Remaining/Reset</c> headers on every answer.</summary>
    public void EnforceQuota(int limit, TimeSpan window)
    {
        lock (_bucketLock)
        {
            _quotaLimit = limit;
            _quotaWindow = window;
            _quotaWindowStart = Stopwatch.GetTimestamp();
            _quotaUsed = 0;
        }
    }

    public void Reset()
    {
        _faults.Clear();
        Interlocked.Exchange(ref _requests, 0);
        Interlocked.Exchange(ref _answered429, 0);
        Interlocked.Exchange(ref _dropped, 0);
        Interlocked.Exchange(ref _staleEtags, 0);
        ByMethod.Clear();
        lock (_bucketLock)
        {
            _rate = 0;
            _quotaLimit = 0;
        }
    }

    internal void Count(string method)
    {
        Interlocked.Increment(ref _requests);
        ByMethod.AddOrUpdate(method, 1, (_, n) => n + 1);
    }

    internal void Count429() => Interlocked.Increment(ref _answered429);

    internal void CountDrop() => Interlocked.Increment(ref _dropped);

    internal bool TakeStaleEtag()
    {
        while (true)
        {
            var n = Volatile.Read(ref _staleEtags);
            if (n <= 0)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _staleEtags, n - 1, n) == n)
            {
                return true;
            }
        }
    }

    internal Fault? TakeFault(string method)
    {
        // Faults are consumed in order; a fault for another method stays queued for that method.
        if (!_faults.TryPeek(out var f) || (f.Method is not null && !string.Equals(f.Method, method, StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        return _faults.TryDequeue(out var taken) ? taken : null;
    }

    /// <summary>Token bucket: true when the request may go ahead, else how long until a token is there.</summary>
    internal (bool Allowed, TimeSpan Wait) TryTakeToken()
    {
        lock (_bucketLock)
        {
            if (_rate <= 0)
            {
                return (true, TimeSpan.Zero);
            }

            var now = Stopwatch.GetTimestamp();
            _tokens = Math.Min(_burst, _tokens + (Stopwatch.GetElapsedTime(_lastRefill, now).TotalSeconds * _rate));
            _lastRefill = now;
            if (_tokens >= 1)
            {
                _tokens -= 1;
                return (true, TimeSpan.Zero);
            }

            return (false, TimeSpan.FromSeconds((1 - _tokens) / _rate));
        }
    }

    /// <summary>Fixed-window quota: (allowed, limit, remaining, reset epoch seconds), or null when no quota is set.</summary>
    internal (bool Allowed, int Limit, int Remaining, long Reset)? TakeQuota(TimeProvider time)
    {
        lock (_bucketLock)
        {
            if (_quotaLimit <= 0)
            {
                return null;
            }

            var now = Stopwatch.GetTimestamp();
            var elapsed = Stopwatch.GetElapsedTime(_quotaWindowStart, now);
            if (elapsed >= _quotaWindow)
            {
                _quotaWindowStart = now;
                _quotaUsed = 0;
                elapsed = TimeSpan.Zero;
            }

            var reset = (time.GetUtcNow() + (_quotaWindow - elapsed)).ToUnixTimeSeconds() + 1;
            if (_quotaUsed >= _quotaLimit)
            {
                return (false, _quotaLimit, 0, reset);
            }

            _quotaUsed++;
            return (true, _quotaLimit, _quotaLimit - _quotaUsed, reset);
        }
    }
}
