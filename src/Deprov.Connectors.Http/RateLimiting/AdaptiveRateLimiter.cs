using System.Globalization;
using System.Net.Http.Headers;

namespace Deprov.Connectors.Http.RateLimiting;

/// <summary>
/// Paces requests to one system so a mass offboarding runs just under the app's limit instead of provoking a storm of
/// 429s. Requests are spaced evenly at the current rate (no bursts), and the rate is learned:
/// <list type="bullet">
/// <item>A 429 cuts the rate to 95 % of what the server actually accepted: the lower of the accepted answers per second
/// since the previous measurement and the current rate times the share of the requests paced at it that were accepted
/// (the first can be inflated by a burst allowance spent in a short window, the share cannot). Each slot carries the
/// generation of the pace it was given at: a 429 to a request paced before the last cut is old news and cuts nothing, and
/// requests still waiting for a slot given at the old pace ask again at the new one. Otherwise at most one cut per
/// second, unless the requests paced at the new rate draw a gross share of 429s (under 90 % accepted): that cuts again
/// at once, so a start far above the real limit converges in tens of milliseconds.</item>
/// <item>A <c>Retry-After</c> longer than one second means the quota is exhausted: every request waits until then.
/// One second is the smallest value the header can express, so it is treated as "slow down", not "stop"; the rejected
/// request itself still waits it out (the retry strategy honours it).</item>
/// <item><c>X-Rate-Limit-Remaining</c>/<c>x-ratelimit-remaining</c> of 0 with a <c>*-Reset</c> epoch pauses every request
/// until the reset (Okta, GitHub) rather than spending requests on certain 429s.</item>
/// <item>Each second without a 429 at the current pace raises the rate by 2 %, up to the configured ceiling (25 % while
/// the rate is below half of what it was before the last cut, so one bad moment does not cost minutes) — but only if
/// the rate was in use (at least 90 % of it accepted): a second of idle workers, asleep in a Retry-After or without
/// demand, says nothing about what the server would take.</item>
/// </list>
/// Without a configured ceiling the limiter is open until the first 429. Thread-safe.
/// </summary>
public sealed class AdaptiveRateLimiter
{
    private const double DecreaseFactor = 0.95;
    private const double IncreasePerSecond = 1.02;
    private const double FastIncreasePerSecond = 1.25;
    private const double MinRate = 0.5;

    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly double _ceiling;
    private readonly TimeSpan _maxPause;
    private readonly long _second;

    // Accepted answers since _mark: the rate the server really grants, measured over a recent window.
    private long _accepted;
    private long _mark;
    private double _measured;

    // Answers to requests paced at the current rate (sent since the last cut): the share the server accepted tells how far
    // above its limit that rate is, whatever the short-term burst allowance or idle workers do to the accepted rate.
    private int _generation;
    private long _genAccepted;
    private long _genRejected;

    // Accepted answers since the rate last changed (or was held): an increase needs the current rate to be in use.
    private long _stepAccepted;

    private double _rate;
    private double _rateBeforeCut;
    private long _nextSlot;
    private long _pausedUntil;
    private long _lastDecrease;
    private long _lastIncrease;

    public AdaptiveRateLimiter(double? ceilingPerSecond, TimeSpan maxPause, TimeProvider time)
    {
        _time = time;
        _ceiling = ceilingPerSecond ?? double.PositiveInfinity;
        _rate = _ceiling;
        _maxPause = maxPause;
        _second = time.TimestampFrequency;
        var now = time.GetTimestamp();
        _lastDecrease = now - (10 * _second);
        _lastIncrease = now;
        _mark = now;
    }

    /// <summary>
    /// The server enforces a fixed-window quota and says when the window resets (Okta: per-minute windows with
    /// <c>X-Rate-Limit-Remaining</c>/<c>-Reset</c>). A 429 that carries Remaining 0 and a Reset then pauses every request
    /// until the reset and leaves the pace alone: the pace was not too fast, the window's count ran out, and a cut would
    /// slow every later window for nothing. Off by default (a 429 cuts the pace).
    /// </summary>
    /// <remarks>With it on, every wait for a window's reset (after a 429 or an answer with Remaining 0) lasts
    /// <see cref="WindowResetMargin"/> longer: the reset is in whole seconds and the two clocks differ, and coming back a
    /// moment early costs a 429.</remarks>
    public bool WindowQuota { get; init; }

    /// <summary>How much longer than the announced reset a <see cref="WindowQuota"/> pause lasts.</summary>
    public static readonly TimeSpan WindowResetMargin = TimeSpan.FromMilliseconds(250);

    /// <summary>The current pacing rate in requests per second (infinity when unlimited).</summary>
    public double CurrentRate
    {
        get
        {
            lock (_lock)
            {
                return _rate;
            }
        }
    }

    /// <summary>Waits for this request's slot.</summary>
    public ValueTask WaitAsync(CancellationToken cancellationToken) => WaitAsync(cancellationToken, out _);

    /// <summary>
    /// Waits for this request's slot; <paramref name="generation"/> names the pace the slot was given at. Hand it back
    /// with the answer (<see cref="OnResponse(int, HttpResponseHeaders, int)"/>) so a 429 to a request paced before the
    /// last cut is not taken as news: that overshoot has been corrected already.
    /// </summary>
    public ValueTask WaitAsync(CancellationToken cancellationToken, out int generation)
    {
        // Unlimited and not paused (the common case without a configured ceiling and before any 429): no lock. A cut or
        // a pause that lands concurrently applies from the next request on, as if this one had come a moment earlier.
        generation = Volatile.Read(ref _generation);
        if (double.IsPositiveInfinity(Volatile.Read(ref _rate)) && Volatile.Read(ref _pausedUntil) <= _time.GetTimestamp())
        {
            return ValueTask.CompletedTask;
        }

        long delayTicks;
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            generation = _generation;
            if (double.IsPositiveInfinity(_rate) && _pausedUntil <= now)
            {
                return ValueTask.CompletedTask;
            }

            var interval = double.IsPositiveInfinity(_rate) ? 0 : (long)(_second / _rate);

            // Idle time is not saved up as credit: after a quiet spell the pace restarts from now, never in a burst.
            var slot = Math.Max(Math.Max(now, _nextSlot), _pausedUntil);
            _nextSlot = slot + interval;
            delayTicks = slot - now;
        }

        return delayTicks <= 0
            ? ValueTask.CompletedTask
            : new ValueTask(Task.Delay(TimeSpan.FromSeconds((double)delayTicks / _second), _time, cancellationToken));
    }

    /// <summary>Whether the pace changed (a cut) since a slot was given at <paramref name="generation"/>.</summary>
    public bool IsStale(int generation) => generation != Volatile.Read(ref _generation);

    /// <summary>Learns from one answer to a request paced at <paramref name="generation"/> (-1: the current pace).</summary>
    public void OnResponse(int status, HttpResponseHeaders headers, int generation = -1)
    {
        ArgumentNullException.ThrowIfNull(headers);
        // Retry-After only steers the limiter on a 429 (see below).
        var retryAfter = status == 429 ? RetryAfter(headers, _time) : null;
        var (remaining, reset) = QuotaHeaders(headers);
        OnResponse(status, retryAfter, remaining, reset, generation);
    }

    public void OnResponse(int status, TimeSpan? retryAfter, long? remaining, DateTimeOffset? reset, int generation = -1)
    {
        var current = generation < 0 || generation == Volatile.Read(ref _generation);
        // Most answers only count as accepted: do that without the lock. The lock is taken when there is more to do
        // than counting: a 429, an exhausted quota, the measurement window to roll over (once a second) or a rate
        // increase that is due (at most once a second). The count and the window's start are read without the lock,
        // so an answer racing with a roll-over may land in either window; the measurement is a rate over a second of
        // traffic, and one answer either way does not change what it says.
        if (status != 429 && !(remaining == 0 && reset is not null))
        {
            var at = _time.GetTimestamp();
            if (at - Volatile.Read(ref _mark) <= _second && !IncreaseDue(at))
            {
                Interlocked.Increment(ref _accepted);
                if (!double.IsPositiveInfinity(Volatile.Read(ref _rate)))
                {
                    // The per-pace counts only matter to a paced limiter (an open one has nothing to raise, and its
                    // first cut resets them): an open limiter spares the busiest path two shared increments.
                    Interlocked.Increment(ref _stepAccepted);
                    if (current)
                    {
                        Interlocked.Increment(ref _genAccepted);
                    }
                }

                return;
            }
        }

        lock (_lock)
        {
            var now = _time.GetTimestamp();
            var elapsed = (double)(now - _mark) / _second;
            if (elapsed >= 0.1)
            {
                _measured = _accepted / elapsed;
            }

            if (status == 429 && WindowQuota && remaining == 0 && reset is { } windowEnd)
            {
                var untilReset = windowEnd - _time.GetUtcNow() + WindowResetMargin;
                Pause(now, untilReset > TimeSpan.FromSeconds(1) ? untilReset : TimeSpan.FromSeconds(1));
                return;
            }

            if (status == 429)
            {
                // A 429 to a request paced before the last cut describes the overshoot that cut corrected.
                current = generation < 0 || generation == _generation;
                if (!current)
                {
                    if (retryAfter is { } stale && stale > TimeSpan.FromSeconds(1))
                    {
                        Pause(now, stale);
                    }

                    return;
                }

                _genRejected++;

                // What the server accepts of the current pace: accepted answers per second can overstate the limit
                // (a burst allowance spent in a short window) or understate it (workers asleep in Retry-After), the
                // accepted share of the requests sent at this pace does neither. Needs enough answers to mean anything.
                var answered = _genAccepted + _genRejected;
                var estimate = !double.IsPositiveInfinity(_rate) && answered >= 20 ? _rate * _genAccepted / answered : double.PositiveInfinity;

                // One cut per second: the 429s of one timing jitter describe the overshoot we just corrected. Only a
                // gross overshoot (the server accepts < 90 % of the requests paced at this rate) is cut again sooner, as
                // soon as it shows, so a start far above the real limit converges within a fraction of a second.
                var sinceCut = now - _lastDecrease;
                var observed = Math.Min(_measured, estimate);
                if (sinceCut >= _second || estimate < _rate * 0.9)
                {
                    Cut(now, observed);
                }

                if (retryAfter is { } wait && wait > TimeSpan.FromSeconds(1))
                {
                    Pause(now, wait);
                }

                return;
            }

            Interlocked.Increment(ref _accepted);
            Interlocked.Increment(ref _stepAccepted);
            if (current)
            {
                Interlocked.Increment(ref _genAccepted);
            }

            if (elapsed > 1)
            {
                // Keep the window recent: a measurement from minutes ago says nothing about the server now.
                _mark = now;
                _accepted = 0;
            }

            if (remaining == 0 && reset is { } r)
            {
                var wait = r - _time.GetUtcNow() + (WindowQuota ? WindowResetMargin : TimeSpan.Zero);
                if (wait > TimeSpan.Zero)
                {
                    Pause(now, wait);
                }
            }

            if (!double.IsPositiveInfinity(_rate) && _rate < _ceiling && now - _lastIncrease >= _second && now - _lastDecrease >= _second)
            {
                Step(now);
            }
        }
    }

    /// <summary>A second at this rate is over: raise it, hold it or, if it still drew a gross share of 429s, cut it.</summary>
    private void Step(long now)
    {
        var used = _stepAccepted / ((double)(now - Math.Max(_lastIncrease, _lastDecrease)) / _second);
        if (_genRejected > 0)
        {
            // 429s to requests paced at this rate, fewer than a second apart from the cut (or it would have been cut
            // again): not the time to go faster. Requests rejected at a pace the server grants well under 90 % of are
            // a gross overshoot whose 429s came too early to act on (rejected workers sleep out their Retry-After, so
            // often no 429 follows to trigger the cut): cut now.
            var answered = _genAccepted + _genRejected;
            var estimate = answered >= 20 ? _rate * _genAccepted / answered : double.PositiveInfinity;
            if (estimate < _rate * 0.9)
            {
                Cut(now, estimate);
                return;
            }

            // Held: count this pace afresh (same generation: the slots already given are at this very pace).
            _genAccepted = 0;
            _genRejected = 0;
        }
        else if (used >= _rate * 0.9)
        {
            // Raise only a rate we use: a second of idle workers (asleep in Retry-After, or no demand) says nothing
            // about what the server would take.
            _rate = Math.Min(_ceiling, _rate * (_rate < _rateBeforeCut / 2 ? FastIncreasePerSecond : IncreasePerSecond));
        }

        _lastIncrease = now;
        _stepAccepted = 0;
    }

    private void Cut(long now, double observed)
    {
        var basis = Math.Min(_rate, Math.Max(observed, MinRate));
        _rateBeforeCut = double.IsPositiveInfinity(_rate) ? basis : _rate;
        _rate = Math.Max(MinRate, basis * DecreaseFactor);
        _lastDecrease = now;
        _lastIncrease = now;
        // Requests waiting for a slot at the old pace ask again (PacingStrategy): the new pace starts now.
        _nextSlot = now;
        _mark = now;
        _accepted = 0;
        _stepAccepted = 0;
        _generation++;
        _genAccepted = 0;
        _genRejected = 0;
    }

    private bool IncreaseDue(long now)
    {
        var rate = Volatile.Read(ref _rate);
        return !double.IsPositiveInfinity(rate) && rate < _ceiling
            && now - Volatile.Read(ref _lastIncrease) >= _second && now - Volatile.Read(ref _lastDecrease) >= _second;
    }

    private void Pause(long now, TimeSpan wait)
    {
        var capped = wait > _maxPause ? _maxPause : wait;
        _pausedUntil = Math.Max(_pausedUntil, now + (long)(capped.TotalSeconds * _second));
    }

    /// <summary>Reads <c>Retry-After</c> as delta-seconds (fractions accepted, as Graph sends them) or an HTTP date.</summary>
    public static TimeSpan? RetryAfter(HttpResponseHeaders headers, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(headers);
        ArgumentNullException.ThrowIfNull(time);
        if (headers.RetryAfter is { } ra)
        {
            if (ra.Delta is { } d)
            {
                return d;
            }

            if (ra.Date is { } date)
            {
                var wait = date - time.GetUtcNow();
                return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
            }
        }

        if (headers.TryGetValues("Retry-After", out var raw)
            && double.TryParse(raw.FirstOrDefault(), NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return null;
    }

    private static (long? Remaining, DateTimeOffset? Reset) QuotaHeaders(HttpResponseHeaders headers)
    {
        // Okta spells them X-Rate-Limit-*, GitHub x-ratelimit-*; header names are case-insensitive.
        var remaining = Number(headers, "X-Rate-Limit-Remaining") ?? Number(headers, "X-RateLimit-Remaining");
        if (remaining is null)
        {
            return (null, null);
        }

        var reset = Number(headers, "X-Rate-Limit-Reset") ?? Number(headers, "X-RateLimit-Reset");
        return (remaining, reset is { } epoch ? DateTimeOffset.FromUnixTimeSeconds(epoch) : null);
    }

    private static long? Number(HttpResponseHeaders headers, string name)
    {
        // NonValidated: a lookup without parsing or copying the values; most answers carry none of these headers.
        if (headers.NonValidated.TryGetValues(name, out var values))
        {
            foreach (var value in values)
            {
                return long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : null;
            }
        }

        return null;
    }
}
