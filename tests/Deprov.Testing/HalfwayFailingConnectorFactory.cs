using System.Runtime.CompilerServices;
using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Testing;

/// <summary>
/// Connector kind <c>halfway</c>: a sandbox system whose discovery throws a transient error after
/// <see cref="FailAfter"/> objects (null: never), like a directory that drops the connection mid-listing.
/// </summary>
public sealed class HalfwayFailingConnectorFactory : IConnectorFactory
{
    private readonly SandboxConnectorFactory _sandbox = new();

    public string Kind => "halfway";

    /// <summary>Objects yielded before the discovery fails; null lets it finish.</summary>
    public int? FailAfter { get; set; }

    public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings) => _sandbox.Validate(system, settings);

    public IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context) =>
        new Connector(_sandbox.Create(system, settings, context), this);

    private sealed class Connector(IConnector inner, HalfwayFailingConnectorFactory owner) : IConnector, IAsyncDisposable
    {
        public ConnectorDescriptor Describe() => inner.Describe();

        public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var n = 0;
            await foreach (var o in inner.DiscoverAsync(request, cancellationToken))
            {
                if (owner.FailAfter is { } limit && n++ >= limit)
                {
                    throw new ConnectorException($"connection reset after {limit} objects (simulated)", isTransient: true);
                }

                yield return o;
            }
        }

        public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken) => inner.ExecuteAsync(action, cancellationToken);

        public Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken) => inner.ReadBackAsync(action, cancellationToken);

        public ValueTask DisposeAsync() => inner is IAsyncDisposable d ? d.DisposeAsync() : ValueTask.CompletedTask;
    }
}
