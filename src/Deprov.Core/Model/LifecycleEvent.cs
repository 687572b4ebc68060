namespace Deprov.Core.Model;

public enum EventKind
{
    Leave,
    Move,
    ContractEnd,
    Rehire,
    TerminationCancelled,
    LegalHoldSet,
    LegalHoldReleased,
}

public enum ExitReason
{
    None,
    Voluntary,
    Involuntary,
}

/// <summary>An HR fact Deprov reacts to.</summary>
/// <param name="IdempotencyKey">The same key twice is handled once.</param>
/// <param name="EffectiveAt">The HR effective moment (may be in the past or the future).</param>
/// <param name="NewDepartment">For <see cref="EventKind.Move"/>: the department after the move.</param>
/// <param name="NewTitle">For <see cref="EventKind.Move"/>: the title after the move.</param>
/// <param name="HoldSystemId">For legal holds: limit the hold to one system (null = all systems).</param>
public sealed record LifecycleEvent(
    string Id,
    EventKind Kind,
    string PersonId,
    DateTimeOffset EffectiveAt,
    ExitReason Reason,
    string Source,
    string IdempotencyKey,
    DateTimeOffset ReceivedAt,
    string? NewDepartment = null,
    string? NewTitle = null,
    string? HoldSystemId = null,
    string? Note = null);
