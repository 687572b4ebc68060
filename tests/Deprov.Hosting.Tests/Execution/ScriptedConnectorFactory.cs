using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Hosting.Tests.Execution;

/// <summary>What a scripted system answers instead of doing the action.</summary>
public enum ScriptedAnswer
{
    /// <summary>429 Too Many Requests with <see cref="ScriptedConnectorFactory.RetryAfter"/>: the system pacing us.</summary>
    RateLimited,

    /// <summary>503 Service Unavailable without a Retry-After: a transient failure.</summary>
    Unavailable,
}

/// <summary>
/// Connector kind <c>scripted</c>: a sandbox system whose <see cref="IConnector.ExecuteAsync"/> for <see cref="Action"/>
/// first gives the answers queued in <see cref="Script"/>, then <see cref="Forever"/> if set, and otherwise lets the
/// sandbox do the action. Everything else goes straight to the sandbox.
/// </summary>
public sealed class ScriptedConnectorFactory : IConnectorFactory
{
    private readonly SandboxConnectorFactory _sandbox = new();
    private int _calls;

    public string Kind => "scripted";

    public ActionKind Action { get; init; } = ActionKind.DisableAccount;

    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromMilliseconds(1);

    public ConcurrentQueue<ScriptedAnswer> Script { get; } = new();

    /// <summary>Given to every call once <see cref="Script"/> is empty: a system that never recovers.</summary>
    public ScriptedAnswer? Forever { get; init; }

    /// <summary>Calls of <see cref="IConnector.ExecuteAsync"/> for <see cref="Action"/>, answered or passed on.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings) => _sandbox.Validate(system, settings);

    public IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context) =>
        new Connector(_sandbox.Create(system, settings, context), this, system.Id);

    private ConnectorException? Next(ConnectorAction action, string systemId)
    {
        if (action.Kind != Action)
        {
            return null;
        }

        Interlocked.Increment(ref _calls);
        ScriptedAnswer? answer = Script.TryDequeue(out var a) ? a : Forever;
        return answer switch
        {
            ScriptedAnswer.RateLimited => new ConnectorException($"{systemId} answered 429 Too Many Requests (scripted)", isTransient: true, retryAfter: RetryAfter, rateLimited: true),
            ScriptedAnswer.Unavailable => new ConnectorException($"{systemId} answered 503 Service Unavailable (scripted)", isTransient: true),
            _ => null,
        };
    }

    private sealed class Connector(IConnector inner, ScriptedConnectorFactory owner, string systemId) : IConnector, IAsyncDisposable
    {
        public ConnectorDescriptor Describe() => inner.Describe();

        public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var o in inner.DiscoverAsync(request, cancellationToken))
            {
                yield return o;
            }
        }

        public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken) =>
            owner.Next(action, systemId) is { } answer ? Task.FromException<ActionResult>(answer) : inner.ExecuteAsync(action, cancellationToken);

        public Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken) => inner.ReadBackAsync(action, cancellationToken);

        public ValueTask DisposeAsync() => inner is IAsyncDisposable d ? d.DisposeAsync() : ValueTask.CompletedTask;
    }
}
