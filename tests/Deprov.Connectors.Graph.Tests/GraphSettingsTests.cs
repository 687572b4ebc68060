using Deprov.Connectors.Graph.Tests.Support;
using Deprov.Connectors.Http.Auth;
using Deprov.Core;

namespace Deprov.Connectors.Graph.Tests;

public sealed class GraphSettingsTests
{
    private static Dictionary<string, object> Minimal() => new()
    {
        ["tenant"] = "0b6f2c55-3f0e-4d1e-9a2b-6c7d8e9f0a1b",
        ["auth"] = new Dictionary<string, object>
        {
            ["type"] = "oauth_client_credentials",
            ["client_id"] = "8d5b2a6e-1111-4c3f-9a55-2f0e4d6c7b10",
            ["client_secret"] = "env:GRAPH_CLIENT_SECRET",
        },
    };

    private static (GraphSettings Settings, List<ValidationError> Errors) Parse(Dictionary<string, object> values)
    {
        var errors = new List<ValidationError>();
        return (GraphSettings.Parse(GraphTest.Settings(values), errors), errors);
    }

    private static IReadOnlyList<ValidationError> Validate(Dictionary<string, object> values) =>
        new GraphConnectorFactory().Validate(GraphTest.System, GraphTest.Settings(values));

    [Fact]
    public void Parse_Minimal_DerivesTokenUrlFromTenantAndUsesGraphDefaults()
    {
        var (settings, errors) = Parse(Minimal());

        Assert.Empty(errors);
        Assert.Equal(new Uri("https://login.microsoftonline.com/0b6f2c55-3f0e-4d1e-9a2b-6c7d8e9f0a1b/oauth2/v2.0/token"), settings.Auth.TokenUrl);
        Assert.Equal("https://graph.microsoft.com/.default", settings.Auth.Scope);
        Assert.Equal(OAuthClientAuth.Post, settings.Auth.ClientAuth);
        Assert.Equal(new Uri("https://graph.microsoft.com/v1.0/"), settings.BaseUrl);
        Assert.Equal(500, settings.PageSize);
        Assert.True(settings.SignInActivity);
        Assert.True(settings.Devices);
        Assert.True(settings.DirectoryRoles);
        Assert.True(settings.ResetPassword);
        Assert.Equal(new GraphWipeOptions(false, false, false), settings.Wipe);
    }

    [Fact]
    public void Parse_ResetPasswordFalse_TurnsPasswordResetOff()
    {
        var values = Minimal();
        values["reset_password"] = "false";

        var (settings, errors) = Parse(values);

        Assert.Empty(errors);
        Assert.False(settings.ResetPassword);
    }

    [Fact]
    public void Parse_DirectoryRolesFalse_TurnsRoleDiscoveryOff()
    {
        var values = Minimal();
        values["directory_roles"] = "false";

        var (settings, errors) = Parse(values);

        Assert.Empty(errors);
        Assert.False(settings.DirectoryRoles);
    }

    [Fact]
    public void Parse_TokenUrlAndBaseUrlOverridden_AreUsed()
    {
        var values = Minimal();
        ((Dictionary<string, object>)values["auth"])["token_url"] = "http://127.0.0.1:5000/t/oauth2/v2.0/token";
        values["base_url"] = "https://graph.microsoft.us/v1.0";

        var (settings, errors) = Parse(values);

        Assert.Empty(errors);
        Assert.Equal(new Uri("http://127.0.0.1:5000/t/oauth2/v2.0/token"), settings.Auth.TokenUrl);
        Assert.Equal(new Uri("https://graph.microsoft.us/v1.0/"), settings.BaseUrl);
    }

    [Fact]
    public void Validate_TenantMissing_OneErrorNamingTenant()
    {
        var values = Minimal();
        values.Remove("tenant");

        var error = Assert.Single(Validate(values));

        Assert.Equal("systems[0].settings.tenant", error.Key);
        Assert.Contains("token endpoint", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_TenantNotAGuidOrDomain_QuotesIt()
    {
        var values = Minimal();
        values["tenant"] = "not a tenant!";

        var error = Assert.Single(Validate(values));

        Assert.Equal("systems[0].settings.tenant", error.Key);
        Assert.Contains("'not a tenant!'", error.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_DomainTenant_IsAccepted()
    {
        var values = Minimal();
        values["tenant"] = "contoso.onmicrosoft.com";

        Assert.Empty(Validate(values));
    }

    [Fact]
    public void Validate_LiteralSecret_IsRejectedWithoutQuotingIt()
    {
        var values = Minimal();
        ((Dictionary<string, object>)values["auth"])["client_secret"] = "Xy8Q~very-secret-value";

        var error = Assert.Single(Validate(values));

        Assert.Equal("systems[0].settings.auth.client_secret", error.Key);
        Assert.DoesNotContain("very-secret", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("env:", error.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_BasicAuth_IsRefusedForGraph()
    {
        var values = Minimal();
        values["auth"] = new Dictionary<string, object> { ["type"] = "basic", ["username"] = "admin", ["password"] = "env:P" };

        var error = Assert.Single(Validate(values));

        Assert.Equal("systems[0].settings.auth.type", error.Key);
        Assert.Contains("oauth_client_credentials", error.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsEachPrecisely()
    {
        var values = Minimal();
        values["base_url"] = "graph.microsoft.com";
        values["page_size"] = "5000";
        values["timeout_seconds"] = "0";
        values["privileged_group"] = "*admin*";
        values["sign_in_activity"] = "maybe";
        values["wipe"] = new Dictionary<string, object> { ["keep_user_data"] = "true", ["keep_esim"] = "true" };

        var keys = Validate(values).Select(e => e.Key).ToList();

        Assert.Equal(
            new[]
            {
                "systems[0].settings.base_url", "systems[0].settings.page_size", "systems[0].settings.privileged_group",
                "systems[0].settings.sign_in_activity", "systems[0].settings.timeout_seconds", "systems[0].settings.wipe.keep_esim",
            },
            keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Validate_AuthMissing_SaysHowToWriteIt()
    {
        var values = Minimal();
        values.Remove("auth");

        var error = Assert.Single(Validate(values));

        Assert.Equal("systems[0].settings.auth", error.Key);
    }

    [Fact]
    public void Parse_WipeOptions_AreRead()
    {
        var values = Minimal();
        values["wipe"] = new Dictionary<string, object> { ["keep_enrollment_data"] = "true", ["persist_esim_data_plan"] = "true" };

        var (settings, errors) = Parse(values);

        Assert.Empty(errors);
        Assert.Equal(new GraphWipeOptions(KeepEnrollmentData: true, KeepUserData: false, PersistEsimDataPlan: true), settings.Wipe);
    }

    [Fact]
    public void Parse_ClientAuthBasicWritten_OverridesThePostDefault()
    {
        var values = Minimal();
        ((Dictionary<string, object>)values["auth"])["client_auth"] = "basic";

        var (settings, errors) = Parse(values);

        Assert.Empty(errors);
        Assert.Equal(OAuthClientAuth.Basic, settings.Auth.ClientAuth);
    }

    [Fact]
    public void Validate_BearerWithoutTenant_NeedsNoTenant()
    {
        var errors = Validate(new()
        {
            ["auth"] = new Dictionary<string, object> { ["type"] = "bearer", ["token"] = "env:GRAPH_TOKEN" },
        });

        Assert.Empty(errors);
    }
}
