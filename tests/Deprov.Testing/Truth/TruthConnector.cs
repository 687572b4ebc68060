using System.Collections.Concurrent;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Testing.Truth;

/// <summary>The bad habits a system can have, played at the connector's boundary around a real connector.</summary>
public enum Habit
{
    /// <summary>Behaves: the baseline every other habit is compared with.</summary>
    None,

    /// <summary>Accepts every write with a success and changes nothing.</summary>
    IgnoredWrite,

    /// <summary>The connector's own read is fooled (a lenient filter answering an empty list): it reports the change
    /// already done, sends nothing, and its read-back says the access is gone.</summary>
    FooledRead,

    /// <summary>The target is not found where the connector looks (a wrong base, a wrong id): the connector reports
    /// "already in state" and its read-back says "exists: false" as if that confirmed the cut.</summary>
    NotFoundConfirms,

    /// <summary>A partial outage: the first calls fail with transient errors, then the system recovers.</summary>
    PartialOutage,

    /// <summary>The process dies after the system changed and before the result was committed.</summary>
    CrashAfterCall,
}

/// <summary>
/// Wraps the connector of one kind: records every action the engine sent (by step id, so the harness can ask the
/// system afterwards whether that step's access is really gone) and plays a <see cref="Habit"/>.
/// </summary>
public sealed class TruthConnectorFactory(IConnectorFactory inner, string kind, Habit habit, TruthRecorder recorder) : IConnectorFactory
{
    public string Kind => kind;

    public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings) => inner.Validate(system, settings);

    public IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context) =>
        new TruthConnector(inner.Create(system, settings, context), habit, recorder);
}

/// <summary>What the engine asked of the systems, and the hooks a habit needs.</summary>
public sealed class TruthRecorder
{
    private int _calls;

    public ConcurrentDictionary<string, ConnectorAction> Actions { get; } = new(StringComparer.Ordinal);

    /// <summary>Called by <see cref="Habit.CrashAfterCall"/> once the system has changed: the harness stops the engine there.</summary>
    public Action? Crash { get; set; }

    /// <summary>How many calls a crash or an outage lasts.</summary>
    public int Budget { get; set; } = 3;

    public int NextCall() => Interlocked.Increment(ref _calls);
}

public sealed class TruthConnector(IConnector inner, Habit habit, TruthRecorder recorder) : IConnector, IAsyncDisposable
{
    private static readonly IReadOnlyDictionary<string, string> Empty = new Dictionary<string, string>(StringComparer.Ordinal);

    public ConnectorDescriptor Describe() => inner.Describe();

    public IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, CancellationToken cancellationToken) =>
        inner.DiscoverAsync(request, cancellationToken);

    public async Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        recorder.Actions[action.IdempotencyKey] = action;
        switch (habit)
        {
            case Habit.IgnoredWrite:
                return new ActionResult(Empty, Empty, AlreadyInState: false, "accepted (and ignored) by the system");
            case Habit.FooledRead:
                return ActionResult.Unchanged(Empty, "the system's answer to the check was empty: nothing to change");
            case Habit.NotFoundConfirms:
                return ActionResult.Unchanged(new Dictionary<string, string>(StringComparer.Ordinal) { ["exists"] = "false" });
            case Habit.PartialOutage when recorder.NextCall() <= recorder.Budget:
                throw new ConnectorException("Service unavailable (503) — the bench's partial outage.", isTransient: true);
            case Habit.CrashAfterCall:
            {
                var result = await inner.ExecuteAsync(action, cancellationToken);
                if (recorder.NextCall() <= recorder.Budget)
                {
                    recorder.Crash?.Invoke();
                    cancellationToken.ThrowIfCancellationRequested();
                }

                return result;
            }

            default:
                return await inner.ExecuteAsync(action, cancellationToken);
        }
    }

    public Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        // The engine reads a target before it changes it: a step that fails on that read was still sent to the system.
        recorder.Actions.TryAdd(action.IdempotencyKey, action);
        return ReadBackCoreAsync(action, cancellationToken);
    }

    private Task<ReadBackResult> ReadBackCoreAsync(ConnectorAction action, CancellationToken cancellationToken) => habit switch
    {
        Habit.FooledRead => Task.FromResult(new ReadBackResult(true, new Dictionary<string, string>(StringComparer.Ordinal) { ["filter_answer"] = "empty" })),
        Habit.NotFoundConfirms => Task.FromResult(new ReadBackResult(true, new Dictionary<string, string>(StringComparer.Ordinal) { ["exists"] = "false" })),
        _ => inner.ReadBackAsync(action, cancellationToken),
    };

    public Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken) =>
        inner.ReadIndependentlyAsync(action, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        switch (inner)
        {
            case IAsyncDisposable a:
                await a.DisposeAsync();
                break;
            case IDisposable d:
                d.Dispose();
                break;
        }
    }
}
