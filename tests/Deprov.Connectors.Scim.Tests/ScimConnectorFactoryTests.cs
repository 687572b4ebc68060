using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Scim.Tests;

public sealed class ScimConnectorFactoryTests
{
    private static IReadOnlyList<Deprov.Core.ValidationError> Validate(Dictionary<string, object> settings) =>
        new ScimConnectorFactory().Validate(ScimTest.System, ScimTest.Settings(settings));

    [Fact]
    public void Validate_CompleteSettings_HasNoErrors()
    {
        var errors = Validate(new()
        {
            ["base_url"] = "https://api.slack.com/scim/v2",
            ["profile"] = "slack",
            ["auth"] = new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "env:SLACK_SCIM_TOKEN" },
            ["rate_limit_per_second"] = "3",
            ["privileged_groups"] = new[] { "*admin*" },
        });

        Assert.Empty(errors);
    }

    [Fact]
    public void Validate_LiteralSecret_IsRejectedWithoutQuotingIt()
    {
        var errors = Validate(new()
        {
            ["base_url"] = "https://example.com/scim/v2/",
            ["auth"] = new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "xoxp-very-secret" },
        });

        var error = Assert.Single(errors);
        Assert.Equal("systems[0].settings.auth.token", error.Key);
        Assert.Contains("env:", error.Fix, StringComparison.Ordinal);
        Assert.DoesNotContain("xoxp-very-secret", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsAllAtOnce()
    {
        var errors = Validate(new()
        {
            ["base_url"] = "not a url",
            ["profile"] = "slak",
            ["page_sise"] = "10",
            ["timeout_seconds"] = "0",
            ["auth"] = new Dictionary<string, object> { ["type"] = "oauth_client_credentials", ["client_secret"] = "file:/run/secrets/x" },
        });

        var keys = errors.Select(e => e.Key).ToList();
        Assert.Contains("systems[0].settings.base_url", keys);
        Assert.Contains("systems[0].settings.profile", keys);
        Assert.Contains("systems[0].settings.page_sise", keys);
        Assert.Contains("systems[0].settings.timeout_seconds", keys);
        Assert.Contains("systems[0].settings.auth.token_url", keys);
        Assert.Contains("systems[0].settings.auth.client_id", keys);
        Assert.Contains(errors, e => e.Fix?.Contains("page_size", StringComparison.Ordinal) == true);
        Assert.All(errors, e => Assert.Equal("deprov.yaml", e.File));
    }

    [Fact]
    public void Validate_UnknownMemberships_NamesTheChoices()
    {
        var errors = Validate(new()
        {
            ["base_url"] = "https://example.com/scim/v2/",
            ["auth"] = new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "env:SCIM_TOKEN" },
            ["memberships"] = "off",
        });

        var error = Assert.Single(errors);
        Assert.Equal("systems[0].settings.memberships", error.Key);
        Assert.Contains("none", error.Problem + " " + error.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MissingAuth_SaysHowToAddIt()
    {
        var errors = Validate(new() { ["base_url"] = "https://example.com/scim/v2/" });

        Assert.Contains(errors, e => e.Key == "systems[0].settings.auth" && e.Fix!.Contains("env:", StringComparison.Ordinal));
    }

    [Fact]
    public void Create_InvalidSettings_ThrowsValidationException()
    {
        var context = new ConnectorContext(TimeProvider.System, Path.GetTempPath(), new TestSecrets([]));

        Assert.Throws<ValidationException>(() => new ScimConnectorFactory().Create(ScimTest.System, ScimTest.Settings(new()), context));
    }

    [Fact]
    public void Kind_IsScim() => Assert.Equal("scim", new ScimConnectorFactory().Kind);
}
