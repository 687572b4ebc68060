namespace Deprov.Hosting.Execution;

/// <summary>
/// The rate-limited answers one step may wait out (<c>policy.execution.max_rate_limit_waits</c>), over its whole life:
/// <see cref="Used"/> starts from what earlier claims used, so a system that answers 429 forever still ends with a task.
/// Used by one step's execution at a time (the calls of one claim run one after another).
/// </summary>
internal sealed class RateLimitBudget(int used, int cap)
{
    private readonly int _usedBefore = used;

    public int Used { get; private set; } = used;

    public int Cap { get; } = cap;

    public bool CanWait => Used < Cap;

    /// <summary>The waits of this claim: what the store adds to the step's count.</summary>
    public int ThisClaim => Used - _usedBefore;

    public void Spend() => Used++;
}
