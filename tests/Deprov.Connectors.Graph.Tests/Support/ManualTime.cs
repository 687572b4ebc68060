namespace Deprov.Connectors.Graph.Tests.Support;

/// <summary>
/// A clock that moves only when told, shared by the fake and the connector where a test compares timestamps. Only the
/// wall clock is replaced: timers and timestamps stay the system's, so HTTP timeouts and retries behave as usual.
/// </summary>
internal sealed class ManualTime(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _lock = new();
    private DateTimeOffset _now = start;

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    public void Advance(TimeSpan by)
    {
        lock (_lock)
        {
            _now += by;
        }
    }
}
