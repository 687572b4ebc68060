using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google;

/// <summary>
/// Builds Google Workspace connectors for <c>kind: google</c> systems. See <c>docs/connectors/google.md</c> for the
/// settings and the scopes to delegate to the service account.
/// </summary>
public sealed class GoogleConnectorFactory : IConnectorFactory
{
    public string Kind => "google";

    /// <summary>Checks the settings block without any network I/O and returns every problem at once.</summary>
    public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings)
    {
        var errors = new List<ValidationError>();
        GoogleSettings.Parse(settings, errors);
        return errors;
    }

    /// <summary>Creates the connector with its own connection pool, resilience pipeline, rate limiter and token cache.</summary>
    /// <exception cref="ValidationException">The settings are invalid (the same problems <see cref="Validate"/> lists).</exception>
    public IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(context);
        var errors = new List<ValidationError>();
        var parsed = GoogleSettings.Parse(settings, errors);
        if (errors.Count > 0)
        {
            throw new ValidationException(errors);
        }

        return new GoogleConnector(system, parsed, context);
    }
}
