using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Ldap;

/// <summary>Creates LDAP / Active Directory connectors for <c>kind: ldap</c> systems. Settings: <c>docs/connectors/ldap.md</c>.</summary>
public sealed class LdapConnectorFactory : IConnectorFactory
{
    public string Kind => "ldap";

    /// <summary>Checks the settings block without contacting the directory; reports every problem at once.</summary>
    public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var errors = new List<ValidationError>();
        LdapSettings.Parse(settings, errors);
        return errors;
    }

    /// <summary>Builds the connector. Connections are opened and bound lazily, on first use.</summary>
    /// <exception cref="ValidationException">The settings are invalid.</exception>
    public IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(context);
        var errors = new List<ValidationError>();
        var parsed = LdapSettings.Parse(settings, errors);
        if (parsed is null)
        {
            throw new ValidationException(errors);
        }

        return new LdapConnector(system, parsed, context);
    }
}
