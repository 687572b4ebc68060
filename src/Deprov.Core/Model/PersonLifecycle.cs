namespace Deprov.Core.Model;

/// <summary>A person's HR status as an event sets it, for the store to persist.</summary>
/// <param name="LeavesAt">For <see cref="PersonStatus.Leaving"/> and <see cref="PersonStatus.Left"/>: the moment the
/// termination takes effect; a <see cref="PersonStatus.Leaving"/> person becomes <see cref="PersonStatus.Left"/> then.</param>
/// <param name="EventId">The event that decided it.</param>
public sealed record PersonStatusChange(string PersonId, PersonStatus Status, DateTimeOffset? LeavesAt, string EventId, string Why);

/// <summary>
/// Which lifecycle event gives a person which HR status, and when. Pure: the engine asks it for every event it handles
/// and the store persists the answer; the store's sweep applies <see cref="At"/> when a notice period ends.
/// </summary>
public static class PersonLifecycle
{
    /// <summary>
    /// The status <paramref name="e"/> gives its person at <paramref name="now"/>, or null when the event does not change
    /// the HR status (a move, a legal hold). A leave or contract end is effective at its effective moment: before it
    /// the person is leaving (still at work, serving notice), from it on they have left. A rehire or a cancelled
    /// termination makes the person active again at once (the restore it plans runs now too).
    /// </summary>
    public static PersonStatusChange? After(LifecycleEvent e, DateTimeOffset now) => e.Kind switch
    {
        EventKind.Leave or EventKind.ContractEnd => new PersonStatusChange(e.PersonId, At(PersonStatus.Leaving, e.EffectiveAt, now), e.EffectiveAt, e.Id,
            $"{e.Kind.Snake()} effective {e.EffectiveAt:u} (event {e.Id})"),
        EventKind.Rehire or EventKind.TerminationCancelled => new PersonStatusChange(e.PersonId, PersonStatus.Active, null, e.Id, $"{e.Kind.Snake()} (event {e.Id})"),
        _ => null,
    };

    /// <summary>
    /// The changes a batch of events makes, one per person: the last event of a person (in the order given) decides.
    /// </summary>
    public static IReadOnlyList<PersonStatusChange> After(IEnumerable<LifecycleEvent> events, DateTimeOffset now)
    {
        var last = new Dictionary<string, PersonStatusChange>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (After(e, now) is { } change)
            {
                last[e.PersonId] = change;
            }
        }

        return [.. last.Values];
    }

    /// <summary>A recorded status as it stands at <paramref name="now"/>: leaving turns into left once the termination is effective.</summary>
    public static PersonStatus At(PersonStatus recorded, DateTimeOffset? leavesAt, DateTimeOffset now) =>
        recorded == PersonStatus.Leaving && leavesAt is { } at && at <= now ? PersonStatus.Left : recorded;
}
