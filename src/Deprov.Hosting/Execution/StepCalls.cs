namespace Deprov.Hosting.Execution;

/// <summary>The calls one claim of a step made that reached the connector: what the step's attempts show.</summary>
internal sealed class StepCalls
{
    private int _count;

    public int Count => Volatile.Read(ref _count);

    public void Reached() => Interlocked.Increment(ref _count);

    /// <summary>The call was answered with a rate limit: counted as a rate-limit wait, not an attempt.</summary>
    public void WasRateLimit() => Interlocked.Decrement(ref _count);
}
