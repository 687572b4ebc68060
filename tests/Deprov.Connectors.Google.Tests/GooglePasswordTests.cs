using Deprov.Core.Security;
using Deprov.Connectors.Google.Tests.Fake;
using Deprov.Connectors.Google.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google.Tests;

/// <summary><c>reset_password</c>: a random password nobody is told, and only the fact of the reset recorded.</summary>
public sealed class GooglePasswordTests
{
    private const string Recorded = "reset to a random secret (not stored)";

    [Fact]
    public async Task ResetPassword_SetsRandomPasswordWithinGoogleRulesAndForcesChange_ReadBackConfirms()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.ResetPassword, ann.Id);

        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);

        var password = server.User(ann.Id)!.Password!;
        Assert.InRange(password.Length, 8, 100);
        Assert.All(password, c => Assert.InRange(c, '!', '~'));
        Assert.Contains(password, char.IsAsciiLetterUpper);
        Assert.Contains(password, char.IsAsciiLetterLower);
        Assert.Contains(password, char.IsAsciiDigit);
        Assert.True(server.User(ann.Id)!.ChangePasswordAtNextLogin);
        Assert.False(result.AlreadyInState);
        Assert.Equal(Recorded, result.After["password"]);
        Assert.Equal("true", result.After["changePasswordAtNextLogin"]);
        Assert.Equal("false", result.Before["changePasswordAtNextLogin"]);
        Assert.True(readBack.Confirmed);
        Assert.Equal("true", readBack.Observed["changePasswordAtNextLogin"]);
        var recorded = string.Join('|', result.Before.Values.Concat(result.After.Values).Concat(readBack.Observed.Values).Append(result.Detail ?? string.Empty));
        Assert.DoesNotContain(password, recorded, StringComparison.Ordinal);
        // No hashFunction: a clear-text password over TLS is what the API expects.
        Assert.Single(server.ApiRequests, r => r.Method == "PATCH" && r.Body == "{\"password\":\"redacted, 32 characters\",\"changePasswordAtNextLogin\":true}");
    }

    [Fact]
    public async Task ResetPassword_Repeated_NewPasswordEachTimeNeverAlreadyInState()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.ResetPassword, ann.Id);

        var first = await connector.ExecuteAsync(action, CancellationToken.None);
        var firstPassword = server.User(ann.Id)!.Password;
        var second = await connector.ExecuteAsync(action, CancellationToken.None);

        Assert.False(first.AlreadyInState);
        Assert.False(second.AlreadyInState);
        Assert.Equal(2, server.User(ann.Id)!.PasswordSets);
        Assert.NotEqual(firstPassword, server.User(ann.Id)!.Password);
    }

    [Fact]
    public async Task ResetPassword_UserGone_AlreadyInStateButNotConfirmed()
    {
        await using var server = await GoogleTestServer.StartAsync();
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.ResetPassword, "100999");

        Assert.True((await connector.ExecuteAsync(action, CancellationToken.None)).AlreadyInState);
        Assert.False((await connector.ReadBackAsync(action, CancellationToken.None)).Confirmed);
    }

    [Fact]
    public async Task ReadBack_ResetNotSeenByThisProcess_NotConfirmed()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        ann.ChangePasswordAtNextLogin = true;
        using var connector = GoogleTest.Connect(server);

        // As after a restart between the reset and its read-back: the API cannot show whether the password changed.
        var readBack = await connector.ReadBackAsync(GoogleTest.Action(ActionKind.ResetPassword, ann.Id), CancellationToken.None);

        Assert.False(readBack.Confirmed);
        Assert.Equal("unknown", readBack.Observed["resetAcceptedAt"]);
    }

    [Fact]
    public async Task ResetPassword_Forbidden_PermanentNamingUserScopeWithoutThePassword()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);
        server.Faults.FailNext(1, 403, "forbidden", method: "PATCH");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.ResetPassword, ann.Id), CancellationToken.None));

        Assert.False(e.IsTransient);
        Assert.Contains("https://www.googleapis.com/auth/admin.directory.user ", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("password\":", e.Message, StringComparison.Ordinal);
        Assert.Null(server.User(ann.Id)!.Password);
    }

    [Fact]
    public async Task Create_ResetPasswordOff_NotOffered()
    {
        await using var server = await GoogleTestServer.StartAsync();
        using var off = GoogleTest.Connect(server, s => s["reset_password"] = "false");
        using var on = GoogleTest.Connect(server);

        Assert.DoesNotContain(ActionKind.ResetPassword, off.Describe().Supported);
        Assert.Contains(ActionKind.ResetPassword, on.Describe().Supported);
    }

    [Fact]
    public void RandomPassword_ManyDraws_AllMeetGooglesAsciiRule()
    {
        var passwords = Enumerable.Range(0, 200).Select(_ => RandomPassword.New()).ToList();

        Assert.Equal(200, passwords.Distinct(StringComparer.Ordinal).Count());
        Assert.All(passwords, p =>
        {
            Assert.Equal(32, p.Length);
            Assert.All(p, c => Assert.InRange(c, '!', '~'));
            Assert.Contains(p, char.IsAsciiLetterUpper);
            Assert.Contains(p, char.IsAsciiLetterLower);
            Assert.Contains(p, char.IsAsciiDigit);
            Assert.Contains(p, c => !char.IsAsciiLetterOrDigit(c));
        });
    }
}
