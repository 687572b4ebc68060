using Deprov.Core.Configuration;
using Deprov.Core.Model;

namespace Deprov.Core.Connectors;

/// <summary>Builds a connector for one configured system. One factory per connector kind.</summary>
public interface IConnectorFactory
{
    /// <summary>The <c>kind</c> value in <c>deprov.yaml</c> this factory handles.</summary>
    string Kind { get; }

    /// <summary>
    /// Checks the system's <c>settings</c> block and returns every problem found (file, line, key, fix).
    /// Must not contact the system.
    /// </summary>
    IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings);

    /// <summary>Creates the connector. Called once per system and process; the connector may hold connections.</summary>
    IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context);
}

/// <summary>What a connector may use from its host.</summary>
/// <param name="DataDirectory">Folder for connector-local state (the sandbox keeps its simulated systems here).</param>
/// <param name="Secrets">Resolves secrets from environment variables or files, never from YAML values.</param>
public sealed record ConnectorContext(TimeProvider Time, string DataDirectory, ISecretResolver Secrets);

/// <summary>Resolves <c>env:NAME</c> and <c>file:/path</c> references to secret values.</summary>
public interface ISecretResolver
{
    /// <summary>Returns the secret, or throws <see cref="ValidationException"/> saying which variable or file is missing.</summary>
    string Resolve(string reference, string usedFor);
}
