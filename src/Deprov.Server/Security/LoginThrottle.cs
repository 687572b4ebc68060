using System.Collections.Concurrent;

namespace Deprov.Server.Security;

/// <summary>
/// Login rate limiting: after <see cref="MaxFailures"/> failed sign-ins for one name (or <see cref="MaxFailuresPerAddress"/>
/// from one address) within <see cref="Window"/>, further attempts are refused until the window passes. In memory:
/// a restart forgets, which is acceptable for a single server process (documented in docs/server.md).
/// </summary>
public sealed class LoginThrottle
{
    public const int MaxFailures = 5;
    public const int MaxFailuresPerAddress = 20;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(15);

    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Queue<DateTimeOffset>> _failures = new(StringComparer.Ordinal);

    public LoginThrottle(TimeProvider time) => _time = time;

    /// <summary>How long the caller must wait, or null when an attempt is allowed.</summary>
    public TimeSpan? RetryAfter(string userName, string address)
    {
        var now = _time.GetUtcNow();
        var a = Wait(UserKey(userName), MaxFailures, now);
        var b = Wait(AddressKey(address), MaxFailuresPerAddress, now);
        return a is null ? b : b is null ? a : (a > b ? a : b);
    }

    public void Failed(string userName, string address)
    {
        var now = _time.GetUtcNow();
        Add(UserKey(userName), now);
        Add(AddressKey(address), now);
    }

    public void Succeeded(string userName) => _failures.TryRemove(UserKey(userName), out _);

    private static string UserKey(string userName) => "u:" + userName.ToUpperInvariant();

    private static string AddressKey(string address) => "a:" + address;

    private void Add(string key, DateTimeOffset now)
    {
        var q = _failures.GetOrAdd(key, _ => new Queue<DateTimeOffset>());
        lock (q)
        {
            q.Enqueue(now);
            Trim(q, now);
        }
    }

    private TimeSpan? Wait(string key, int max, DateTimeOffset now)
    {
        if (!_failures.TryGetValue(key, out var q))
        {
            return null;
        }

        lock (q)
        {
            Trim(q, now);
            return q.Count >= max ? q.Peek() + Window - now : null;
        }
    }

    private static void Trim(Queue<DateTimeOffset> q, DateTimeOffset now)
    {
        while (q.Count > 0 && q.Peek() + Window <= now)
        {
            q.Dequeue();
        }
    }
}
