using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph;

/// <summary>
/// Builds Microsoft Graph connectors for <c>kind: graph</c> systems (Microsoft Entra ID and Intune). See
/// <c>docs/connectors/graph.md</c> for the settings and the application permissions they need.
/// </summary>
public sealed class GraphConnectorFactory : IConnectorFactory
{
    public string Kind => "graph";

    /// <summary>Checks the settings block without any network I/O and returns every problem at once.</summary>
    public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings)
    {
        var errors = new List<ValidationError>();
        GraphSettings.Parse(settings, errors);
        return errors;
    }

    /// <summary>Creates the connector with its own connection pool, resilience pipeline, rate limiter and token cache.</summary>
    /// <exception cref="ValidationException">The settings are invalid (the same problems <see cref="Validate"/> lists).</exception>
    public IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(context);
        var errors = new List<ValidationError>();
        var parsed = GraphSettings.Parse(settings, errors);
        if (errors.Count > 0)
        {
            throw new ValidationException(errors);
        }

        return new GraphConnector(system, parsed, context);
    }
}
