using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Aws;

/// <summary>
/// Builds AWS IAM connectors for <c>kind: aws_iam</c> systems. See <c>docs/connectors/aws-iam.md</c> for the settings.
/// </summary>
public sealed class AwsIamConnectorFactory : IConnectorFactory
{
    public string Kind => "aws_iam";

    /// <summary>Checks the settings block without any network I/O and returns every problem at once.</summary>
    public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings)
    {
        var errors = new List<ValidationError>();
        AwsIamSettings.Parse(settings, errors);
        return errors;
    }

    /// <summary>Creates the connector with its own connection pool, resilience pipeline and rate limiter.</summary>
    /// <exception cref="ValidationException">The settings are invalid (the same problems <see cref="Validate"/> lists).</exception>
    public IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(context);
        var errors = new List<ValidationError>();
        var parsed = AwsIamSettings.Parse(settings, errors);
        if (errors.Count > 0)
        {
            throw new ValidationException(errors);
        }

        return new AwsIamConnector(system, parsed, context);
    }
}
