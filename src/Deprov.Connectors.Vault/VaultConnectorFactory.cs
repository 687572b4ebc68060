using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Vault;

/// <summary>
/// Builds HashiCorp Vault connectors for <c>kind: vault</c> systems. See <c>docs/connectors/vault.md</c> for the settings
/// and the Vault policy they need.
/// </summary>
public sealed class VaultConnectorFactory : IConnectorFactory
{
    public string Kind => "vault";

    /// <summary>Checks the settings block without any network I/O and returns every problem at once.</summary>
    public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings)
    {
        var errors = new List<ValidationError>();
        VaultSettings.Parse(settings, errors);
        return errors;
    }

    /// <summary>Creates the connector with its own connection pool, resilience pipeline, rate limiter and token cache.</summary>
    /// <exception cref="ValidationException">The settings are invalid (the same problems <see cref="Validate"/> lists).</exception>
    public IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(context);
        var errors = new List<ValidationError>();
        var parsed = VaultSettings.Parse(settings, errors);
        if (errors.Count > 0)
        {
            throw new ValidationException(errors);
        }

        return new VaultConnector(system, parsed, context);
    }
}
