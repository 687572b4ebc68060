using System.Runtime.CompilerServices;
using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Hosting.Tests.Execution;

/// <summary>
/// Connector kind <c>faked</c>: a sandbox system whose calls a test may answer itself, to give it the bad habits of real
/// servers (writes accepted and ignored, lenient reads, reads that fail, read-modify-write without ETags). A hook left
/// null passes the call to the sandbox, and so does a hook that returns the <c>inner</c> call it is given.
/// </summary>
public sealed class FakedConnectorFactory : IConnectorFactory
{
    private readonly SandboxConnectorFactory _sandbox = new();
    private int _executeCalls;
    private int _readBackCalls;
    private int _independentCalls;

    public string Kind => "faked";

    public Func<ConnectorAction, IConnector, CancellationToken, Task<ActionResult>>? Execute { get; set; }

    public Func<ConnectorAction, IConnector, CancellationToken, Task<ReadBackResult>>? ReadBack { get; set; }

    /// <summary>Null: the system has no second read path (the interface's default).</summary>
    public Func<ConnectorAction, IConnector, CancellationToken, Task<ReadBackResult?>>? ReadIndependently { get; set; }

    public int ExecuteCalls => Volatile.Read(ref _executeCalls);

    public int ReadBackCalls => Volatile.Read(ref _readBackCalls);

    public int IndependentCalls => Volatile.Read(ref _independentCalls);

    public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings) => _sandbox.Validate(system, settings);

    public IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context) => new Connector(_sandbox.Create(system, settings, context), this);

    private sealed class Connector(IConnector inner, FakedConnectorFactory owner) : IConnector, IAsyncDisposable
    {
        public ConnectorDescriptor Describe() => inner.Describe();

        public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            await foreach (var o in inner.DiscoverAsync(request, cancellationToken))
            {
                yield return o;
            }
        }

        public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref owner._executeCalls);
            return owner.Execute is { } f ? f(action, inner, cancellationToken) : inner.ExecuteAsync(action, cancellationToken);
        }

        public Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref owner._readBackCalls);
            return owner.ReadBack is { } f ? f(action, inner, cancellationToken) : inner.ReadBackAsync(action, cancellationToken);
        }

        public Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref owner._independentCalls);
            return owner.ReadIndependently is { } f ? f(action, inner, cancellationToken) : Task.FromResult<ReadBackResult?>(null);
        }

        public ValueTask DisposeAsync() => inner is IAsyncDisposable d ? d.DisposeAsync() : ValueTask.CompletedTask;
    }
}
