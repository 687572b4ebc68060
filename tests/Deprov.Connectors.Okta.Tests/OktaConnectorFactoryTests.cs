using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Okta.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta.Tests;

public sealed class OktaConnectorFactoryTests
{
    private static IReadOnlyList<ValidationError> Validate(Dictionary<string, object> settings) =>
        new OktaConnectorFactory().Validate(OktaTest.System, OktaTest.Settings(settings));

    private static Dictionary<string, object> Valid() => new()
    {
        ["base_url"] = "https://acme.okta.com",
        ["auth"] = new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "env:OKTA_API_TOKEN" },
    };

    [Fact]
    public void Validate_CompleteSettings_HasNoErrors()
    {
        var settings = Valid();
        settings["disable_mode"] = "deactivate";
        settings["forget_devices"] = "false";
        settings["page_size"] = "100";
        settings["rate_limit_per_second"] = "10";
        settings["privileged_groups"] = new[] { "*admin*" };

        Assert.Empty(Validate(settings));
    }

    [Fact]
    public void Parse_Defaults_SuspendSswsAndForgetDevices()
    {
        var errors = new List<ValidationError>();

        var parsed = OktaSettings.Parse(OktaTest.Settings(Valid()), errors);

        Assert.Empty(errors);
        Assert.Equal(new Uri("https://acme.okta.com/"), parsed.OrgUrl);
        Assert.Equal(OktaDisableMode.Suspend, parsed.DisableMode);
        Assert.Equal("SSWS", parsed.Auth.Scheme);
        Assert.True(parsed.ForgetDevices);
        Assert.True(parsed.AdminRoles);
        Assert.Equal(200, parsed.PageSize);
        Assert.Equal(TimeSpan.FromSeconds(60), parsed.MaxRetryAfter);
    }

    [Fact]
    public void Parse_OAuthClientCredentials_IsAccepted()
    {
        var settings = Valid();
        settings["auth"] = new Dictionary<string, object>
        {
            ["type"] = "oauth_client_credentials",
            ["token_url"] = "https://acme.okta.com/oauth2/v1/token",
            ["client_id"] = "0oa1",
            ["client_secret"] = "file:/run/secrets/okta",
            ["client_auth"] = "post",
        };
        var errors = new List<ValidationError>();

        var parsed = OktaSettings.Parse(OktaTest.Settings(settings), errors);

        Assert.Empty(errors);
        Assert.Equal(HttpAuthType.OauthClientCredentials, parsed.Auth.Type);
        Assert.Equal(OAuthClientAuth.Post, parsed.Auth.ClientAuth);
    }

    [Fact]
    public void Validate_LiteralToken_IsRejectedWithoutQuotingIt()
    {
        var settings = Valid();
        settings["auth"] = new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "00abcdefSECRETtoken" };

        var error = Assert.Single(Validate(settings));

        Assert.Equal("systems[0].settings.auth.token", error.Key);
        Assert.Contains("env:", error.Fix, StringComparison.Ordinal);
        Assert.DoesNotContain("00abcdefSECRETtoken", error.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("acme.okta.com", "not an absolute https URL")]
    [InlineData("http://acme.okta.com", "plain http to a remote host")]
    [InlineData("https://acme.okta.com/api/v1", "has a path")]
    [InlineData("ftp://acme.okta.com", "not an absolute https URL")]
    public void Validate_BadBaseUrl_SaysWhy(string url, string problem)
    {
        var settings = Valid();
        settings["base_url"] = url;

        var error = Assert.Single(Validate(settings));

        Assert.Equal("systems[0].settings.base_url", error.Key);
        Assert.Contains(problem, error.Problem, StringComparison.Ordinal);
        Assert.Contains("https://", error.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_HttpLoopback_IsAllowed()
    {
        var settings = Valid();
        settings["base_url"] = "http://127.0.0.1:8080";

        Assert.Empty(Validate(settings));
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsAllAtOnce()
    {
        var errors = Validate(new()
        {
            ["base_url"] = "https://acme.okta.com",
            ["disable_mode"] = "delete",
            ["forget_devices"] = "maybe",
            ["page_size"] = "500",
            ["timeout_seconds"] = "0",
            ["max_retry_after_seconds"] = "-1",
            ["disable_mod"] = "suspend",
            ["auth"] = new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "env:OKTA_API_TOKEN", ["scheme"] = "SSWS token" },
        });

        var keys = errors.Select(e => e.Key).ToList();
        Assert.Contains("systems[0].settings.disable_mode", keys);
        Assert.Contains("systems[0].settings.forget_devices", keys);
        Assert.Contains("systems[0].settings.page_size", keys);
        Assert.Contains("systems[0].settings.timeout_seconds", keys);
        Assert.Contains("systems[0].settings.max_retry_after_seconds", keys);
        Assert.Contains("systems[0].settings.disable_mod", keys);
        Assert.Contains("systems[0].settings.auth.scheme", keys);
        Assert.Contains(errors, e => e.Key == "systems[0].settings.disable_mode" && e.Fix!.Contains("suspend, deactivate", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "systems[0].settings.page_size" && e.Problem.Contains("between 1 and 200", StringComparison.Ordinal));
        Assert.All(errors, e => Assert.Equal("deprov.yaml", e.File));
    }

    [Fact]
    public void Validate_MissingBaseUrlAndAuth_SaysHowToAddThem()
    {
        var errors = Validate([]);

        Assert.Contains(errors, e => e.Key == "systems[0].settings.base_url" && e.Fix!.Contains("okta.com", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Key == "systems[0].settings.auth" && e.Fix!.Contains("env:OKTA_TOKEN", StringComparison.Ordinal));
    }

    [Fact]
    public void Create_InvalidSettings_ThrowsValidationException()
    {
        var context = new ConnectorContext(TimeProvider.System, Path.GetTempPath(), new TestSecrets([]));

        Assert.Throws<ValidationException>(() => new OktaConnectorFactory().Create(OktaTest.System, OktaTest.Settings([]), context));
    }

    [Fact]
    public void Describe_ListsTheImplementedActions()
    {
        var context = new ConnectorContext(TimeProvider.System, Path.GetTempPath(), new TestSecrets([]));
        using var connector = (OktaConnector)new OktaConnectorFactory().Create(OktaTest.System, OktaTest.Settings(Valid()), context);

        var d = connector.Describe();

        Assert.Equal("okta", d.Kind);
        Assert.True(d.ReportsSignIns);
        Assert.False(d.IncrementalDiscovery);
        Assert.Equal(
            new[] { ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.DeleteAccount, ActionKind.RevokeSessions, ActionKind.RemoveEntitlement, ActionKind.AddEntitlement, ActionKind.RevokeToken }.Order(),
            d.Supported.Order());
        Assert.DoesNotContain(ActionKind.ResetPassword, d.Supported);
    }

    [Fact]
    public void Kind_IsOkta() => Assert.Equal("okta", new OktaConnectorFactory().Kind);
}
