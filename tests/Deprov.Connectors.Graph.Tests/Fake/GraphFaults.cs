using System.Collections.Concurrent;

namespace Deprov.Connectors.Graph.Tests.Fake;

/// <summary>Injectable faults for <see cref="GraphTestServer"/>. Thread-safe; each fault answers the next matching request.</summary>
public sealed class GraphFaults
{
    private readonly ConcurrentQueue<Fault> _faults = new();
    private int _answered;

    internal sealed record Fault(string? Method, string? PathContains, int Status, string? RetryAfter, TaskCompletionSource? Hold);

    /// <summary>How many requests were answered by an injected fault.</summary>
    public int Answered => Volatile.Read(ref _answered);

    /// <summary>
    /// The next <paramref name="count"/> matching requests answer <paramref name="status"/> with Graph's error body;
    /// <paramref name="retryAfter"/> is sent as written (Graph sends fractional seconds such as <c>2.128</c>).
    /// </summary>
    public void FailNext(int count, int status, string? retryAfter = null, string? method = null, string? pathContains = null)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(new Fault(method, pathContains, status, retryAfter, null));
        }
    }

    /// <summary>The next matching request is answered only when the returned source is completed (a slow answer, no sleeps).</summary>
    public TaskCompletionSource HoldNext(string? method = null, string? pathContains = null)
    {
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _faults.Enqueue(new Fault(method, pathContains, 0, null, hold));
        return hold;
    }

    internal Fault? Take(string method, string path)
    {
        // Faults are consumed in order; one that does not match this request stays queued for a later one.
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
