namespace Deprov.Core.Reconciliation;

/// <summary>
/// The <c>reconciliation:</c> section of <c>deprov.yaml</c>: what to do per finding kind and system, the dormant
/// threshold per system, and how often each system is discovered. Lookups fall back from the system to <c>default</c>.
/// </summary>
/// <param name="Reactions">Per kind: system id (or <see cref="Default"/>) → reaction.</param>
/// <param name="DormantDays">System id (or <see cref="Default"/>) → days without a sign-in; 0 turns the check off.</param>
/// <param name="Schedules">System id (or <see cref="Default"/>) → interval between discoveries; zero = on demand only.</param>
public sealed record ReconciliationPolicy(
    IReadOnlyDictionary<FindingKind, IReadOnlyDictionary<string, FindingReaction>> Reactions,
    IReadOnlyDictionary<string, int> DormantDays,
    IReadOnlyDictionary<string, TimeSpan> Schedules)
{
    public const string Default = "default";

    /// <summary>Drift is re-revoked (and raises an alert); everything else is reported; dormant after 90 days; no schedule.</summary>
    public static ReconciliationPolicy Defaults { get; } = new(
        new Dictionary<FindingKind, IReadOnlyDictionary<string, FindingReaction>>
        {
            [FindingKind.Drift] = new Dictionary<string, FindingReaction>(StringComparer.Ordinal) { [Default] = FindingReaction.Remediate },
        },
        new Dictionary<string, int>(StringComparer.Ordinal) { [Default] = 90 },
        new Dictionary<string, TimeSpan>(StringComparer.Ordinal) { [Default] = TimeSpan.Zero });

    public FindingReaction ReactionFor(FindingKind kind, string systemId) =>
        Reactions.TryGetValue(kind, out var bySystem)
            ? bySystem.TryGetValue(systemId, out var r) ? r : bySystem.TryGetValue(Default, out var d) ? d : Fallback(kind)
            : Fallback(kind);

    public int DormantDaysFor(string systemId) =>
        DormantDays.TryGetValue(systemId, out var d) ? d : DormantDays.TryGetValue(Default, out var x) ? x : 90;

    /// <summary>
    /// The largest share (0–1) of a system's accounts one discovery may drop before it is refused and the old inventory
    /// kept (<c>reconciliation.max_shrink</c>; system id or <c>default</c>). <value>0.2 (20 %) by default.</value>
    /// </summary>
    public IReadOnlyDictionary<string, double> MaxShrink { get; init; } = new Dictionary<string, double>(StringComparer.Ordinal) { [Default] = DefaultMaxShrink };

    public const double DefaultMaxShrink = 0.2;

    public double MaxShrinkFor(string systemId) =>
        MaxShrink.TryGetValue(systemId, out var s) ? s : MaxShrink.TryGetValue(Default, out var x) ? x : DefaultMaxShrink;

    public TimeSpan ScheduleFor(string systemId) =>
        Schedules.TryGetValue(systemId, out var s) ? s : Schedules.TryGetValue(Default, out var x) ? x : TimeSpan.Zero;

    private static FindingReaction Fallback(FindingKind kind) => kind == FindingKind.Drift ? FindingReaction.Remediate : FindingReaction.Report;
}
