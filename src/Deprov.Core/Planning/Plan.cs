using Deprov.Core.Model;

namespace Deprov.Core.Planning;

/// <summary>A case and its steps, ready to be persisted in one transaction.</summary>
/// <param name="Notes">Why the plan looks the way it does (rule matched, steps held, steps skipped).</param>
public sealed record Plan(
    Case Case,
    IReadOnlyList<Step> Steps,
    IReadOnlyList<StepDependency> Dependencies,
    IReadOnlyList<TaskItem> Tasks,
    IReadOnlyList<string> Notes);

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
