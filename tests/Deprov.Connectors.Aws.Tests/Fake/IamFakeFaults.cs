using System.Collections.Concurrent;

namespace Deprov.Connectors.Aws.Tests.Fake;

/// <summary>Injectable faults, consumed in order; a fault for one IAM action stays queued until that action is called.</summary>
public sealed class IamFakeFaults
{
    private readonly ConcurrentQueue<Fault> _faults = new();
    private int _requests;

    internal sealed record Fault(string? Action, int Status, string? Code, TimeSpan? Delay, bool Drop);

    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The next <paramref name="count"/> calls answer <c>400 Throttling "Rate exceeded"</c>, as IAM throttles.</summary>
    public void ThrottleNext(int count, string? action = null) => Enqueue(count, new Fault(action, 400, "Throttling", null, false));

    /// <summary>The next calls answer <paramref name="status"/> with IAM's error body and <paramref name="code"/>.</summary>
    public void FailNext(int count, int status, string code, string? action = null) => Enqueue(count, new Fault(action, status, code, null, false));

    /// <summary>The next calls are answered only after <paramref name="delay"/>.</summary>
    public void SlowNext(int count, TimeSpan delay, string? action = null) => Enqueue(count, new Fault(action, 0, null, delay, false));

    /// <summary>The next calls have their connection aborted without an answer.</summary>
    public void DropNext(int count, string? action = null) => Enqueue(count, new Fault(action, 0, null, null, true));

    internal void Count() => Interlocked.Increment(ref _requests);

    internal Fault? Take(string? action)
    {
        if (!_faults.TryPeek(out var f) || (f.Action is not null && !string.Equals(f.Action, action, StringComparison.Ordinal)))
        {
            return null;
        }

        return _faults.TryDequeue(out var taken) ? taken : null;
    }

    private void Enqueue(int count, Fault fault)
    {
        for (var i = 0; i < count; i++)
        {
            _faults.Enqueue(fault);
        }
    }
}
