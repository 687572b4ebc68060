using System.Runtime.CompilerServices;
using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Hosting.Tests.Diagnostics;

/// <summary>How a <see cref="MisbehavingConnectorFactory"/> system misbehaves.</summary>
public enum Misbehaviour
{
    /// <summary>Every read-back says "confirmed", whatever the system holds: the lenient-filter class of bug.</summary>
    ConfirmsEverything,

    /// <summary>Discovery is refused as a SCIM server refuses a wrong token (401).</summary>
    RefusesCredentials,
}

/// <summary>
/// A sandbox system (its settings, listing and actions) with one bad habit of real systems, chosen by
/// <see cref="Behaviour"/>; the connector kind is given, so one configuration can hold a well-behaved sandbox beside it.
/// </summary>
public sealed class MisbehavingConnectorFactory(string kind, Misbehaviour behaviour) : IConnectorFactory
{
    private readonly SandboxConnectorFactory _sandbox = new();

    public string Kind => kind;

    public Misbehaviour Behaviour => behaviour;

    public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings) => _sandbox.Validate(system, settings);

    public IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context) =>
        new Connector(_sandbox.Create(system, settings, context), behaviour, system.Id, kind);

    private sealed class Connector(IConnector inner, Misbehaviour behaviour, string systemId, string kind) : IConnector, IAsyncDisposable
    {
        public ConnectorDescriptor Describe() => inner.Describe() with { Kind = kind };

        public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (behaviour == Misbehaviour.RefusesCredentials)
            {
                throw new ConnectorException($"SCIM {systemId}: GET /Users answered 401 Unauthorized: the bearer token was refused. Check the token (bearer_token) and its scope.",
                    isTransient: false);
            }

            await foreach (var o in inner.DiscoverAsync(request, cancellationToken))
            {
                yield return o;
            }
        }

        public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken) => inner.ExecuteAsync(action, cancellationToken);

        public Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken) =>
            Task.FromResult(new ReadBackResult(true, new Dictionary<string, string> { ["member"] = "false", ["active"] = "false" }));

        public ValueTask DisposeAsync() => inner is IAsyncDisposable d ? d.DisposeAsync() : ValueTask.CompletedTask;
    }
}
