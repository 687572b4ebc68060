using Deprov.Core.Model;

namespace Deprov.Core.Planning;

/// <summary>A case and its steps, ready to be persisted in one transaction.</summary>
/// <param name="Dependencies">Hard ordering rules only; phase order is carried by <see cref="Step.Phase"/>.</param>
/// <param name="Notes">Why the plan looks the way it does (rule matched, steps held, steps skipped).</param>
public sealed record Plan(
    Case Case,
    IReadOnlyList<Step> Steps,
    IReadOnlyList<StepDependency> Dependencies,
    IReadOnlyList<TaskItem> Tasks,
    IReadOnlyList<string> Notes)
{
    /// <summary>The HR status the case's event gives its person (<see cref="PersonLifecycle"/>), stored in the same
    /// transaction as the case; null when the event leaves the status alone.</summary>
    public PersonStatusChange? PersonStatus { get; init; }

    /// <summary>Every edge, phase order included (soft edges), for display and checks.</summary>
    public IReadOnlyList<StepDependency> AllDependencies() => [.. PhaseEdges(Steps), .. Dependencies];

    /// <summary>The soft edges implied by phases: each step waits for every step of the previous phase in its stage.</summary>
    public static IEnumerable<StepDependency> PhaseEdges(IReadOnlyList<Step> steps)
    {
        foreach (var stage in steps.Where(s => s.Phase > 0).GroupBy(s => (s.CaseId, s.Stage)))
        {
            foreach (var s in stage)
            {
                foreach (var p in steps.Where(x => x.CaseId == s.CaseId && x.Stage == s.Stage && x.Phase == s.Phase - 1))
                {
                    yield return new StepDependency(s.Id, p.Id, Hard: false);
                }
            }
        }
    }
}

/// <summary>What the planner needs to know about the connected systems.</summary>
/// <param name="Supported">Per system id: the actions its connector supports.</param>
public sealed record PlanningContext(
    IReadOnlyDictionary<string, ConnectedSystem> Systems,
    IReadOnlyDictionary<string, IReadOnlySet<ActionKind>> Supported)
{
    public bool Supports(string systemId, ActionKind kind) =>
        Supported.TryGetValue(systemId, out var set) && set.Contains(kind);

    public ConnectedSystem System(string systemId) =>
        Systems.TryGetValue(systemId, out var s) ? s : throw new DeprovException($"System '{systemId}' is referenced by the inventory but not configured in deprov.yaml.");
}
