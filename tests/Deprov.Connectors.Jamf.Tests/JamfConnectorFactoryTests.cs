using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Jamf.Tests.Support;
using Deprov.Core;

namespace Deprov.Connectors.Jamf.Tests;

/// <summary>Settings validation: every bad field gives a precise message, without any network I/O.</summary>
public sealed class JamfConnectorFactoryTests
{
    private static Dictionary<string, object> Valid() => new()
    {
        ["base_url"] = "https://acme.jamfcloud.com",
        ["auth"] = new Dictionary<string, object> { ["type"] = "oauth_client_credentials", ["client_id"] = "abc", ["client_secret"] = "env:JAMF_CLIENT_SECRET" },
    };

    private static IReadOnlyList<ValidationError> Validate(Dictionary<string, object> values) =>
        new JamfConnectorFactory().Validate(JamfTest.System, JamfTest.Settings(values));

    [Fact]
    public void Validate_ValidOAuth_NoErrorsAndDefaults()
    {
        Assert.Empty(Validate(Valid()));
        var errors = new List<ValidationError>();
        var s = JamfSettings.Parse(JamfTest.Settings(Valid()), errors);
        Assert.Equal(new Uri("https://acme.jamfcloud.com/"), s.BaseUrl);
        Assert.Equal(new Uri("https://acme.jamfcloud.com/api/oauth/token"), s.Auth.TokenUrl);
        Assert.Equal(OAuthClientAuth.Post, s.Auth.ClientAuth);
        Assert.Equal([JamfDeviceType.Computers, JamfDeviceType.MobileDevices], s.DeviceTypes);
        Assert.Equal(100, s.PageSize);
        Assert.Equal(TimeSpan.FromSeconds(300), s.AckRecheck);
        Assert.Equal(TimeSpan.FromHours(168), s.ReplayWindow);
        Assert.Equal(JamfObliteration.Default, s.Obliteration);
    }

    [Fact]
    public void Validate_ExplicitTokenUrlAndClientAuth_Kept()
    {
        var v = Valid();
        ((Dictionary<string, object>)v["auth"])["token_url"] = "https://proxy.example.com/token";
        ((Dictionary<string, object>)v["auth"])["client_auth"] = "basic";
        var s = JamfSettings.Parse(JamfTest.Settings(v), []);
        Assert.Equal(new Uri("https://proxy.example.com/token"), s.Auth.TokenUrl);
        Assert.Equal(OAuthClientAuth.Basic, s.Auth.ClientAuth);
    }

    [Fact]
    public void Validate_BasicUser_NoErrors()
    {
        var v = Valid();
        v["auth"] = new Dictionary<string, object> { ["type"] = "basic", ["username"] = "api", ["password"] = "file:/run/secrets/jamf" };
        Assert.Empty(Validate(v));
    }

    [Fact]
    public void Validate_MissingBaseUrl_NamesKey()
    {
        var v = Valid();
        v.Remove("base_url");
        var e = Assert.Single(Validate(v));
        Assert.Equal("systems[0].settings.base_url", e.Key);
        Assert.Contains("required", e.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("acme.jamfcloud.com", "not an absolute http(s) URL")]
    [InlineData("ftp://acme.jamfcloud.com", "not an absolute http(s) URL")]
    [InlineData("https://acme.jamfcloud.com/api", "names an API path")]
    [InlineData("https://acme.jamfcloud.com/JSSResource/", "names an API path")]
    public void Validate_BadBaseUrl_QuotesValue(string url, string problem)
    {
        var v = Valid();
        v["base_url"] = url;
        var e = Assert.Single(Validate(v));
        Assert.Equal("systems[0].settings.base_url", e.Key);
        Assert.Contains(problem, e.Problem, StringComparison.Ordinal);
        Assert.Contains(url, e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_LiteralSecret_RefusedWithoutQuotingIt()
    {
        var v = Valid();
        ((Dictionary<string, object>)v["auth"])["client_secret"] = "hunter2-literal";
        var e = Assert.Single(Validate(v));
        Assert.Equal("systems[0].settings.auth.client_secret", e.Key);
        Assert.DoesNotContain("hunter2", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_MissingAuth_Required()
    {
        var v = Valid();
        v.Remove("auth");
        var e = Assert.Single(Validate(v));
        Assert.Equal("systems[0].settings.auth", e.Key);
    }

    [Theory]
    [InlineData("page_size", "0")]
    [InlineData("page_size", "2001")]
    [InlineData("timeout_seconds", "0")]
    [InlineData("ack_recheck_seconds", "0")]
    [InlineData("replay_window_hours", "0")]
    [InlineData("max_retries", "11")]
    [InlineData("erase_obliteration", "sometimes")]
    [InlineData("unknown_key", "1")]
    public void Validate_BadValue_NamesTheKey(string key, string value)
    {
        var v = Valid();
        v[key] = value;
        var e = Assert.Single(Validate(v));
        Assert.Equal($"systems[0].settings.{key}", e.Key);
    }

    [Fact]
    public void Validate_UnknownDeviceType_Listed()
    {
        var v = Valid();
        v["device_types"] = new[] { "computers", "laptops" };
        var e = Assert.Single(Validate(v));
        Assert.Equal("systems[0].settings.device_types", e.Key);
        Assert.Contains("'laptops'", e.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SeveralProblems_AllReported()
    {
        var errors = Validate(new Dictionary<string, object> { ["page_size"] = "0", ["timeout_seconds"] = "x" });
        Assert.Equal(4, errors.Count); // base_url, auth, page_size, timeout_seconds
    }

    [Fact]
    public void Create_InvalidSettings_ThrowsValidationException()
    {
        var ex = Assert.Throws<ValidationException>(() => new JamfConnectorFactory().Create(JamfTest.System, JamfTest.Settings([]),
            new Core.Connectors.ConnectorContext(TimeProvider.System, Path.GetTempPath(), new TestSecrets([]))));
        Assert.Contains("base_url", ex.Message, StringComparison.Ordinal);
    }
}
