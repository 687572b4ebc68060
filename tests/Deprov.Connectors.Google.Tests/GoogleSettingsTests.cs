using Deprov.Connectors.Google.Tests.Support;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google.Tests;

public sealed class GoogleSettingsTests
{
    private static List<string> Errors(Dictionary<string, object> values) =>
        [.. new GoogleConnectorFactory().Validate(GoogleTest.System, GoogleTest.Settings(values)).Select(e => e.ToString())];

    private static Dictionary<string, object> Valid() => new() { ["admin_email"] = "admin@example.com", ["key"] = "file:/run/secrets/google-sa.json" };

    [Fact]
    public void Parse_Minimal_DefaultsAreLeastPrivilegeAndGoogleEndpoints()
    {
        var errors = new List<Deprov.Core.ValidationError>();
        var s = GoogleSettings.Parse(GoogleTest.Settings(Valid()), errors);
        Assert.Empty(errors);
        Assert.Equal("my_customer", s.Customer);
        Assert.Equal(new Uri("https://admin.googleapis.com/"), s.BaseUrl);
        Assert.Equal([.. GoogleSettings.BaseScopes, .. GoogleSettings.DeviceScopes], s.Scopes);
        Assert.Equal(200, s.PageSize);
        Assert.Equal(TimeSpan.FromSeconds(30), s.Timeout);
        Assert.Equal(3, s.MaxRetries);
        Assert.True(s.Devices);
        Assert.True(s.Tokens);
    }

    [Fact]
    public void Validate_MissingAdminAndKey_BothReportedWithFix()
    {
        var errors = Errors([]);
        Assert.Contains(errors, e => e.Contains("admin_email", StringComparison.Ordinal) && e.Contains("missing", StringComparison.OrdinalIgnoreCase));
        Assert.Contains(errors, e => e.Contains(".key", StringComparison.Ordinal) && e.Contains("file:/run/secrets/google-sa.json", StringComparison.Ordinal));
    }

    [Fact]
    public void Validate_LiteralKey_RefusedWithoutQuotingIt()
    {
        var values = Valid();
        values["key"] = "{\"type\":\"service_account\",\"private_key\":\"-----BEGIN PRIVATE KEY-----MIIEvQ\"}";
        var error = Assert.Single(Errors(values));
        Assert.Contains("literal", error, StringComparison.Ordinal);
        Assert.DoesNotContain("MIIEvQ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("service_account\"", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("admin_email", "not-an-email", "is 'not-an-email', which is not an email address")]
    [InlineData("customer", "acme", "is 'acme', which is neither 'my_customer' nor a customer id")]
    [InlineData("base_url", "admin.googleapis.com", "is 'admin.googleapis.com', which is not an absolute http(s) URL")]
    [InlineData("page_size", "0", "page_size")]
    [InlineData("timeout_seconds", "abc", "timeout_seconds")]
    [InlineData("devices", "maybe", "devices")]
    [InlineData("colour", "blue", "colour")]
    public void Validate_BadField_PreciseMessage(string key, string value, string expected)
    {
        var values = Valid();
        values[key] = value;
        var error = Assert.Single(Errors(values));
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_ScopeNotAUrl_NamesIt()
    {
        var values = Valid();
        values["scopes"] = new[] { "https://www.googleapis.com/auth/admin.directory.user", "admin.directory.group" };
        Assert.Contains("'admin.directory.group', which is not a Google OAuth scope URL", Assert.Single(Errors(values)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_DevicesOff_NoDeviceScopesAndNoWipe()
    {
        await using var server = await Fake.GoogleTestServer.StartAsync();
        using var connector = GoogleTest.Connect(server, s => s["devices"] = "false");
        Assert.DoesNotContain(ActionKind.WipeDevice, connector.Describe().Supported);
        Assert.Contains(ActionKind.RevokeToken, connector.Describe().Supported);
        Assert.DoesNotContain(ActionKind.TransferOwnership, connector.Describe().Supported);
        Assert.DoesNotContain(ActionKind.LockDevice, connector.Describe().Supported);
    }
}
