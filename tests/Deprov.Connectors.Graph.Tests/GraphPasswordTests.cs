using Deprov.Core.Security;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Deprov.Connectors.Graph.Tests.Fake;
using Deprov.Connectors.Graph.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph.Tests;

public sealed class GraphPasswordTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 2, 9, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task ResetPassword_CloudUser_PatchesPasswordProfileAndReadBackSeesTheChangeTime()
    {
        var time = new ManualTime(Start);
        await using var server = await GraphTestServer.StartAsync(time);
        var user = server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server, time: time);
        var action = GraphTest.Action(ActionKind.ResetPassword, user.Id);
        time.Advance(TimeSpan.FromMinutes(1));

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        var patch = Assert.Single(server.ApiRequests, r => r.Method == "PATCH");
        Assert.Equal($"/v1.0/users/{user.Id}", patch.Path);
        var profile = JsonNode.Parse(patch.Body!)!["passwordProfile"]!.AsObject();
        Assert.Equal(["password", "forceChangePasswordNextSignIn"], profile.Select(p => p.Key));
        Assert.True(profile["forceChangePasswordNextSignIn"]!.GetValue<bool>());
        var password = profile["password"]!.GetValue<string>();
        Assert.False(result.AlreadyInState);
        Assert.Equal("unchanged", result.Before["password"]);
        Assert.Equal("reset to a random secret (not stored)", result.After["password"]);
        Assert.Equal("true", result.After["forceChangePasswordNextSignIn"]);
        Assert.Equal("2026-03-02T09:31:00Z", result.After["resetRequestedAt"]);
        Assert.DoesNotContain(result.Before.Values.Concat(result.After.Values).Concat(readBack.Observed.Values), v => v.Contains(password, StringComparison.Ordinal));
        var stored = server.User(user.Id)!;
        Assert.Equal(1, stored.PasswordResets);
        Assert.True(stored.ForceChangePasswordNextSignIn);
        Assert.Equal(Start.AddMinutes(1), stored.LastPasswordChange);
        Assert.True(readBack.Confirmed);
        Assert.Equal("2026-03-02T09:31:00Z", readBack.Observed["lastPasswordChangeDateTime"]);
        Assert.Contains(server.ApiRequests, r => r.Method == "GET" && r.Query.Contains("lastPasswordChangeDateTime", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadBack_ResetPasswordNotSent_IsNotConfirmed()
    {
        var time = new ManualTime(Start);
        await using var server = await GraphTestServer.StartAsync(time);
        var user = server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server, time: time);

        // The password last changed 90 days ago: nothing shows a reset.
        var readBack = await connector.ReadBackAsync(GraphTest.Action(ActionKind.ResetPassword, user.Id), default);

        Assert.False(readBack.Confirmed);
        Assert.Equal("not confirmed changed", readBack.Observed["password"]);
    }

    [Fact]
    public async Task ResetPassword_TwoResets_EachPasswordMeetsEntraPolicyAndTheyDiffer()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server);

        await connector.ExecuteAsync(GraphTest.Action(ActionKind.ResetPassword, user.Id), default);
        await connector.ExecuteAsync(GraphTest.Action(ActionKind.ResetPassword, user.Id), default);

        var passwords = server.ApiRequests.Where(r => r.Method == "PATCH")
            .Select(r => JsonNode.Parse(r.Body!)!["passwordProfile"]!["password"]!.GetValue<string>()).ToList();
        Assert.Equal(2, passwords.Count);
        Assert.NotEqual(passwords[0], passwords[1]);
        Assert.All(passwords, AssertStrong);
        Assert.Equal(2, server.User(user.Id)!.PasswordResets);
    }

    [Fact]
    public void RandomPassword_ManyDraws_AllMeetEntraPolicy()
    {
        var passwords = Enumerable.Range(0, 500).Select(_ => RandomPassword.New()).ToList();

        Assert.All(passwords, AssertStrong);
        Assert.Equal(passwords.Count, passwords.Distinct(StringComparer.Ordinal).Count());
        // Shuffled: the upper-case letter is not always first.
        Assert.Contains(passwords, p => !char.IsAsciiLetterUpper(p[0]));
    }

    [Fact]
    public async Task ResetPassword_WithoutPasswordProfilePermission_PermanentNamingPermissionAndRole()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));
        server.Granted.Remove("User-PasswordProfile.ReadWrite.All");
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.ResetPassword, user.Id), default));

        Assert.False(e.IsTransient);
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
        Assert.Contains("Authorization_RequestDenied", e.Message, StringComparison.Ordinal);
        Assert.Contains("User-PasswordProfile.ReadWrite.All", e.Message, StringComparison.Ordinal);
        Assert.Contains("User Administrator", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.User(user.Id)!.PasswordResets);
    }

    [Fact]
    public async Task ResetPassword_AdministratorWhileAppIsOnlyUserAdministrator_PermanentNamingPrivilegedAuthenticationAdministrator()
    {
        await using var server = await GraphTestServer.StartAsync();
        var admin = server.AddUser(GraphTest.Unique("root"));
        var plain = server.AddUser(GraphTest.Unique("bob"));
        server.AssignRole(server.AddRoleDefinition("Global Administrator"), admin.Id);
        server.AppDirectoryRole = "User Administrator";
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.ResetPassword, admin.Id), default));
        await connector.ExecuteAsync(GraphTest.Action(ActionKind.ResetPassword, plain.Id), default);

        Assert.False(e.IsTransient);
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
        Assert.Contains("Privileged Authentication Administrator", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, server.User(admin.Id)!.PasswordResets);
        Assert.Equal(1, server.User(plain.Id)!.PasswordResets);
    }

    [Fact]
    public async Task ResetPassword_UserSyncedFromOnPremises_PermanentNamingTheReasonWithoutAWrite()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));
        user.OnPremisesSyncEnabled = true;
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.ResetPassword, user.Id), default));

        Assert.False(e.IsTransient);
        Assert.Contains(user.UserPrincipalName, e.Message, StringComparison.Ordinal);
        Assert.Contains("onPremisesSyncEnabled", e.Message, StringComparison.Ordinal);
        Assert.Contains("Reset it in Active Directory", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.ApiRequests, r => r.Method == "PATCH");
    }

    [Fact]
    public async Task ResetPassword_UserGone_IsAlreadyInStateButNotConfirmed()
    {
        await using var server = await GraphTestServer.StartAsync();
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.ResetPassword, Guid.NewGuid().ToString());

        var result = await connector.ExecuteAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.After["present"]);
        Assert.False((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task Describe_ResetPasswordSetting_AdvertisesTheActionOnlyWhenTrue()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));
        using var byDefault = GraphTest.Connect(server);
        using var off = GraphTest.Connect(server, s => s["reset_password"] = "false");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => off.ExecuteAsync(GraphTest.Action(ActionKind.ResetPassword, user.Id), default));

        Assert.Contains(ActionKind.ResetPassword, byDefault.Describe().Supported);
        Assert.DoesNotContain(ActionKind.ResetPassword, off.Describe().Supported);
        Assert.Contains("cannot reset_password", e.Message, StringComparison.Ordinal);
        Assert.Empty(server.ApiRequests);
    }

    [Theory]
    [InlineData("short1A")]
    [InlineData("alllowercaseletters")]
    [InlineData("lowercase123456")]
    public async Task Fake_WeakPassword_Answers400WithGraphsComplexityError(string weak)
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));

        var (status, error) = await PatchPasswordAsync(server, user.Id, weak);

        Assert.Equal(400, status);
        Assert.Equal("Request_BadRequest", error["code"]!.GetValue<string>());
        Assert.Equal("The specified password does not comply with password complexity requirements. Please provide a different password.", error["message"]!.GetValue<string>());
        Assert.Equal(0, server.User(user.Id)!.PasswordResets);
    }

    [Fact]
    public async Task Fake_SyncedUser_Answers400OnPremisesMasteredAndNeverEchoesThePassword()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));
        user.OnPremisesSyncEnabled = true;
        var password = RandomPassword.New();

        var (status, error) = await PatchPasswordAsync(server, user.Id, password);

        Assert.Equal(400, status);
        Assert.Contains("on-premises mastered Directory Sync objects", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(password, error.ToJsonString(), StringComparison.Ordinal);
    }

    private static void AssertStrong(string password)
    {
        Assert.Equal(RandomPassword.Length, password.Length);
        Assert.True(GraphTestServer.MeetsDefaultPolicy(password), password);
        Assert.Contains(password, char.IsAsciiLetterUpper);
        Assert.Contains(password, char.IsAsciiLetterLower);
        Assert.Contains(password, char.IsAsciiDigit);
        Assert.Contains(password, c => !char.IsAsciiLetterOrDigit(c));
    }

    private static async Task<(int Status, JsonObject Error)> PatchPasswordAsync(GraphTestServer server, string userId, string password)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Patch, new Uri(server.BaseUrl, $"users/{userId}"));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await GraphTest.TokenAsync(server));
        var body = new JsonObject { ["passwordProfile"] = new JsonObject { ["password"] = password, ["forceChangePasswordNextSignIn"] = true } };
        request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.SendAsync(request);
        var json = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        return ((int)response.StatusCode, json["error"]!.AsObject());
    }
}
