using Deprov.Connectors.Aws.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Aws.Tests;

public sealed class AwsIamConnectorFactoryTests
{
    private static IReadOnlyList<ValidationError> Validate(Dictionary<string, object> settings) =>
        new AwsIamConnectorFactory().Validate(AwsTest.System, AwsTest.Settings(settings));

    private static Dictionary<string, object> Valid() => new()
    {
        ["access_key_id"] = "AKIAIOSFODNN7EXAMPLE",
        ["secret_access_key"] = "env:AWS_SECRET_ACCESS_KEY",
    };

    [Fact]
    public void Validate_CompleteSettings_HasNoErrors()
    {
        var settings = Valid();
        settings["endpoint"] = "https://iam.us-gov.amazonaws.com";
        settings["region"] = "us-gov-west-1";
        settings["email_tag"] = "mail";
        settings["email_domain"] = "example.com";
        settings["privileged_policies"] = new[] { "*FullAccess", "PowerUserAccess" };
        settings["privileged_groups"] = new[] { "*admin*" };
        settings["page_size"] = "1000";
        settings["rate_limit_per_second"] = "5";

        Assert.Empty(Validate(settings));
    }

    [Fact]
    public void Parse_Defaults_GlobalEndpointUsEast1EmailTag()
    {
        var errors = new List<ValidationError>();

        var parsed = AwsIamSettings.Parse(AwsTest.Settings(Valid()), errors);

        Assert.Empty(errors);
        Assert.Equal(new Uri("https://iam.amazonaws.com/"), parsed.Endpoint);
        Assert.Equal("us-east-1", parsed.Region);
        Assert.Equal("email", parsed.EmailTag);
        Assert.Null(parsed.EmailDomain);
        Assert.Equal(100, parsed.PageSize);
        Assert.Empty(parsed.PrivilegedPolicies);
    }

    [Fact]
    public void Validate_NoCredentials_NamesBothKeysWithFixes()
    {
        var errors = Validate([]);

        Assert.Equal(2, errors.Count);
        var keyId = Assert.Single(errors, e => e.Key == "systems[0].settings.access_key_id");
        Assert.Equal("is required but missing.", keyId.Problem);
        Assert.Contains("access_key_id: AKIA", keyId.Fix, StringComparison.Ordinal);
        var secret = Assert.Single(errors, e => e.Key == "systems[0].settings.secret_access_key");
        Assert.Contains("env:AWS_SECRET_ACCESS_KEY", secret.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_LiteralSecret_RefusedWithoutQuotingIt()
    {
        var settings = Valid();
        settings["secret_access_key"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

        var error = Assert.Single(Validate(settings));

        Assert.Equal("systems[0].settings.secret_access_key", error.Key);
        Assert.Equal("holds a literal secret; secrets are never read from deprov.yaml.", error.Problem);
        Assert.DoesNotContain("wJalr", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SecretPastedAsKeyId_RefusedWithoutQuotingIt()
    {
        var settings = Valid();
        settings["access_key_id"] = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

        var error = Assert.Single(Validate(settings));

        Assert.Equal("systems[0].settings.access_key_id", error.Key);
        Assert.StartsWith("is not an AWS access key id", error.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain("wJalr", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://iam.example.com", "is 'http://iam.example.com', which is plain http to a remote host.")]
    [InlineData("iam.amazonaws.com", "is 'iam.amazonaws.com', which is not an absolute https URL.")]
    [InlineData("https://iam.amazonaws.com/v1", "is 'https://iam.amazonaws.com/v1', which has a path or query; the IAM Query API is served at '/'.")]
    public void Validate_BadEndpoint_SaysWhy(string endpoint, string problem)
    {
        var settings = Valid();
        settings["endpoint"] = endpoint;

        var error = Assert.Single(Validate(settings));

        Assert.Equal("systems[0].settings.endpoint", error.Key);
        Assert.Equal(problem, error.Problem);
    }

    [Fact]
    public void Validate_EveryProblemAtOnce_UnknownKeyRegionPageSizeDomain()
    {
        var settings = Valid();
        settings["regoin"] = "us-east-1";
        settings["region"] = "US East";
        settings["page_size"] = "5000";
        settings["email_domain"] = "not a domain";

        var errors = Validate(settings);

        Assert.Equal(4, errors.Count);
        Assert.Contains(errors, e => e.Key == "systems[0].settings.region" && e.Problem == "is 'US East', which is not an AWS region name.");
        Assert.Contains(errors, e => e.Key == "systems[0].settings.page_size");
        Assert.Contains(errors, e => e.Key == "systems[0].settings.email_domain" && e.Problem == "is 'not a domain', which is not a domain name.");
        Assert.Contains(errors, e => e.Key?.Contains("regoin", StringComparison.Ordinal) == true);
    }

    [Fact]
    public void Create_InvalidSettings_ThrowsValidationException()
    {
        var context = new ConnectorContext(TimeProvider.System, Path.GetTempPath(), new TestSecrets([]));

        var e = Assert.Throws<ValidationException>(() => new AwsIamConnectorFactory().Create(AwsTest.System, AwsTest.Settings([]), context));

        Assert.Equal(2, e.Errors.Count);
    }

    [Fact]
    public void Describe_SupportsTheIamActionsAndSignIns()
    {
        var context = new ConnectorContext(TimeProvider.System, Path.GetTempPath(), new TestSecrets([]));
        using var connector = (AwsIamConnector)new AwsIamConnectorFactory().Create(AwsTest.System, AwsTest.Settings(Valid()), context);

        var d = connector.Describe();

        Assert.Equal("aws_iam", d.Kind);
        Assert.True(d.ReportsSignIns);
        Assert.Equal(6, d.Supported.Count);
        Assert.DoesNotContain(Core.Model.ActionKind.RevokeSessions, d.Supported);
    }
}
