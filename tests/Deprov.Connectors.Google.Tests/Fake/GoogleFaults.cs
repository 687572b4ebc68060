using System.Collections.Concurrent;

namespace Deprov.Connectors.Google.Tests.Fake;

/// <summary>Injectable faults for <see cref="GoogleTestServer"/>. Thread-safe; each fault answers the next matching API request.</summary>
public sealed class GoogleFaults
{
    private readonly ConcurrentQueue<Fault> _faults = new();
    private int _answered;

    internal sealed record Fault(string? Method, string? PathContains, int Status, string Reason, string? RetryAfter, TaskCompletionSource? Hold);

    public int Answered => Volatile.Read(ref _answered);

    /// <summary>
    /// The next <paramref name="count"/> matching requests answer <paramref name="status"/> with Google's error body and
    /// <paramref name="reason"/> in <c>errors[0].reason</c> (e.g. 403 <c>userRateLimitExceeded</c>, 503 <c>backendError</c>).
    /// </summary>
    public void FailNext(int count, int status, string reason, string? method = null, string? pathContains = null, string? retryAfter = null)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(new Fault(method, pathContains, status, reason, retryAfter, null));
        }
    }

    /// <summary>The next matching request is answered only when the returned source is completed (a slow answer, no sleeps).</summary>
    public TaskCompletionSource HoldNext(string? method = null, string? pathContains = null)
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _faults.Enqueue(new Fault(method, pathContains, 0, string.Empty, null, hold));
        return hold;
    }

    internal Fault? Take(string method, string path)
    {
        if (!_faults.TryPeek(out var next) || (next.Method is not null && next.Method != method)
            || (next.PathContains is not null && !path.Contains(next.PathContains, StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        if (!_faults.TryDequeue(out var fault))
        {
            return null;
        }

        Interlocked.Increment(ref _answered);
        return fault;
    }
}
