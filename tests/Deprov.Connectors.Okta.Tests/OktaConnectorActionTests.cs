using Deprov.Connectors.Okta.Tests.Fake;
using Deprov.Connectors.Okta.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta.Tests;

public sealed class OktaConnectorActionTests
{
    private static Dictionary<string, string> Before(string status) => new() { ["before"] = $$"""{"status":"{{status}}","login":"x"}""" };

    // ---- DisableAccount ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task DisableAsync_ActiveUser_SuspendsAndReadsBackSuspended()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("sus"));
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.DisableAccount, id);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal("ACTIVE", result.Before["status"]);
        Assert.Equal("SUSPENDED", result.After["status"]);
        Assert.Equal("SUSPENDED", server.StatusOf(id));
        Assert.True(readBack.Confirmed);
        Assert.Equal("SUSPENDED", readBack.Observed["status"]);
        Assert.Contains(server.Requests, r => r.Method == "POST" && r.Path == $"/api/v1/users/{id}/lifecycle/suspend");
    }

    [Fact]
    public async Task DisableAsync_Replayed_IsAlreadyInStateWithoutAWrite()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("rep"));
        using var connector = OktaTest.Connect(server);
        await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default);
        var posts = server.Requests.Count(r => r.Method == "POST");

        var again = await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default);

        Assert.True(again.AlreadyInState);
        Assert.Equal("SUSPENDED", again.After["status"]);
        Assert.Equal(posts, server.Requests.Count(r => r.Method == "POST"));
    }

    [Fact]
    public async Task DisableAsync_DeactivateMode_DeactivatesWithoutEmail()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("dea"));
        using var connector = OktaTest.Connect(server, s => s["disable_mode"] = "deactivate");
        var action = OktaTest.Action(ActionKind.DisableAccount, id);

        var result = await connector.ExecuteAsync(action, default);

        Assert.Equal("DEPROVISIONED", result.After["status"]);
        Assert.Equal("DEPROVISIONED", server.StatusOf(id));
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
        Assert.Contains(server.Requests, r => r.Path == $"/api/v1/users/{id}/lifecycle/deactivate" && r.Query == "?sendEmail=false");
    }

    [Theory]
    [InlineData("LOCKED_OUT")]
    [InlineData("PASSWORD_EXPIRED")]
    [InlineData("RECOVERY")]
    [InlineData("PROVISIONED")]
    public async Task DisableAsync_SuspendModeUserNotActive_DeactivatesAndSaysWhy(string status)
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("lck"), status: status);
        using var connector = OktaTest.Connect(server);

        var result = await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default);

        Assert.Equal("DEPROVISIONED", server.StatusOf(id));
        Assert.Contains($"status {status} was deactivated instead", result.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Requests, r => r.Path.EndsWith("/lifecycle/suspend", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("SUSPENDED")]
    [InlineData("DEPROVISIONED")]
    [InlineData("STAGED")]
    public async Task DisableAsync_UserAlreadyCut_IsAlreadyInState(string status)
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("cut"), status: status);
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.DisableAccount, id);

        var result = await connector.ExecuteAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.Equal(status, server.StatusOf(id));
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task DisableAsync_UserDeleted_IsAlreadyInStateButNotConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.DisableAccount, "00ugone");

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.After["present"]);
        Assert.False(readBack.Confirmed);
    }

    [Fact]
    public async Task DisableAsync_LifecycleAnswersWithEmptyBody_Succeeds()
    {
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { EmptyLifecycleBodies = true });
        var id = server.AddUser(OktaTest.Unique("emp"));
        using var connector = OktaTest.Connect(server);

        var result = await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default);

        Assert.Equal("SUSPENDED", result.After["status"]);
        Assert.Equal("SUSPENDED", server.StatusOf(id));
    }

    // ---- EnableAccount ----------------------------------------------------------------------------------------------

    [Fact]
    public async Task EnableAsync_SuspendedUser_UnsuspendsThenReplayIsAlreadyInState()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("uns"), status: "SUSPENDED");
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.EnableAccount, id, parameters: Before("ACTIVE"));

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);
        var again = await connector.ExecuteAsync(action, default);

        Assert.Equal("SUSPENDED", result.Before["status"]);
        Assert.Equal("ACTIVE", result.After["status"]);
        Assert.Equal("ACTIVE", server.StatusOf(id));
        Assert.True(readBack.Confirmed);
        Assert.True(again.AlreadyInState);
        Assert.Single(server.Requests, r => r.Path.EndsWith("/lifecycle/unsuspend", StringComparison.Ordinal));
    }

    [Fact]
    public async Task EnableAsync_DeactivatedUser_ActivatesWithoutEmailAndKeepsNoActivationToken()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("act"), status: "DEPROVISIONED");
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.EnableAccount, id, parameters: Before("ACTIVE"));

        var result = await connector.ExecuteAsync(action, default);

        Assert.Equal("ACTIVE", server.StatusOf(id));
        Assert.Equal("ACTIVE", result.After["status"]);
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
        Assert.Contains(server.Requests, r => r.Path == $"/api/v1/users/{id}/lifecycle/activate" && r.Query == "?sendEmail=false");
        var everything = string.Join(" ", result.Before.Concat(result.After).Select(kv => kv.Key + kv.Value)) + result.Detail;
        Assert.DoesNotContain("actTok", everything, StringComparison.Ordinal);
        Assert.DoesNotContain("welcome", everything, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnableAsync_DeactivatedUserWithoutPassword_IsProvisionedAndNotConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("nop"), status: "DEPROVISIONED", hasPassword: false);
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.EnableAccount, id, parameters: Before("ACTIVE"));

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.Equal("PROVISIONED", result.After["status"]);
        Assert.Contains("must finish activation", result.Detail, StringComparison.Ordinal);
        Assert.False(readBack.Confirmed);
        Assert.Equal("PROVISIONED", readBack.Observed["status"]);
    }

    [Fact]
    public async Task EnableAsync_UserWasSuspendedBeforeTheCase_IsLeftSuspended()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("was"), status: "SUSPENDED");
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.EnableAccount, id, parameters: Before("SUSPENDED"));

        var result = await connector.ExecuteAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.Equal("SUSPENDED", server.StatusOf(id));
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task EnableAsync_UserDeleted_ThrowsPermanent()
    {
        await using var server = await OktaFakeServer.StartAsync();
        using var connector = OktaTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.EnableAccount, "00ugone"), default));

        Assert.False(e.IsTransient);
        Assert.Contains("no longer exists", e.Message, StringComparison.Ordinal);
    }

    // ---- DeleteAccount ----------------------------------------------------------------------------------------------

    [Theory]
    [InlineData("ACTIVE", 2)]
    [InlineData("SUSPENDED", 2)]
    [InlineData("DEPROVISIONED", 1)]
    public async Task DeleteAsync_User_DeletesWithOneDeletePerMissingStep(string status, int deletes)
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("del"), status: status);
        var group = server.AddGroup("staff", id);
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.DeleteAccount, id);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.Null(server.StatusOf(id));
        Assert.False(server.IsMember(group, id));
        Assert.Equal(status, result.Before["status"]);
        Assert.Equal("false", result.After["present"]);
        Assert.True(readBack.Confirmed);
        Assert.Equal(deletes, server.Requests.Count(r => r.Method == "DELETE" && r.Path == $"/api/v1/users/{id}"));
        Assert.All(server.Requests.Where(r => r.Method == "DELETE"), r => Assert.Equal("?sendEmail=false", r.Query));
    }

    [Fact]
    public async Task DeleteAsync_Replayed_IsAlreadyInState()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("dre"), status: "DEPROVISIONED");
        using var connector = OktaTest.Connect(server);
        await connector.ExecuteAsync(OktaTest.Action(ActionKind.DeleteAccount, id), default);

        var again = await connector.ExecuteAsync(OktaTest.Action(ActionKind.DeleteAccount, id), default);

        Assert.True(again.AlreadyInState);
    }

    [Fact]
    public async Task ReadBackAsync_DeleteOfUserStillThere_IsNotConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("still"), status: "DEPROVISIONED");
        using var connector = OktaTest.Connect(server);

        var readBack = await connector.ReadBackAsync(OktaTest.Action(ActionKind.DeleteAccount, id), default);

        Assert.False(readBack.Confirmed);
        Assert.Equal("DEPROVISIONED", readBack.Observed["status"]);
    }

    // ---- RevokeSessions ---------------------------------------------------------------------------------------------

    [Fact]
    public async Task RevokeSessionsAsync_User_ClearsSessionsTokensAndDevices()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var lastLogin = new DateTimeOffset(2026, 11, 2, 8, 30, 0, TimeSpan.Zero);
        var id = server.AddUser(OktaTest.Unique("ses"), sessions: 3, lastLogin: lastLogin);
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RevokeSessions, id);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.Equal((0, 0, 0, false), server.SessionsOf(id));
        Assert.Equal("cleared", result.After["sessions"]);
        Assert.Contains(server.Requests, r => r.Method == "DELETE" && r.Path == $"/api/v1/users/{id}/sessions" && r.Query == "?oauthTokens=true&forgetDevices=true");
        Assert.True(readBack.Confirmed);
        Assert.Contains("not listable", readBack.Observed["sessions"], StringComparison.Ordinal);
        Assert.Equal(lastLogin, DateTimeOffset.Parse(readBack.Observed["lastLogin"], global::System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task RevokeSessionsAsync_ForgetDevicesOff_KeepsRememberedDevices()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("dev"), sessions: 2);
        using var connector = OktaTest.Connect(server, s => s["forget_devices"] = "false");

        await connector.ExecuteAsync(OktaTest.Action(ActionKind.RevokeSessions, id), default);

        Assert.Equal((0, 0, 0, true), server.SessionsOf(id));
        Assert.Contains(server.Requests, r => r.Query == "?oauthTokens=true&forgetDevices=false");
    }

    [Fact]
    public async Task RevokeSessionsAsync_UserDeleted_IsAlreadyInStateButNotConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RevokeSessions, "00ugone");

        var result = await connector.ExecuteAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.False((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    // ---- RevokeToken (OAuth grants) ---------------------------------------------------------------------------------

    [Fact]
    public async Task RevokeTokenAsync_UserWithGrants_RevokesAllAcrossPages()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("grt"), grants: 5);
        using var connector = OktaTest.Connect(server, s => s["page_size"] = "2");
        var action = OktaTest.Action(ActionKind.RevokeToken, id);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);
        var again = await connector.ExecuteAsync(action, default);

        Assert.Equal("5", result.Before["grants"]);
        Assert.Equal("0", result.After["grants"]);
        Assert.Equal(0, server.SessionsOf(id).Grants);
        Assert.True(readBack.Confirmed);
        Assert.True(again.AlreadyInState);
        Assert.Single(server.Requests, r => r.Method == "DELETE" && r.Path == $"/api/v1/users/{id}/grants");
        Assert.Contains(server.Requests, r => r.Method == "GET" && r.Query.Contains("after=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task RevokeTokenAsync_UserDeleted_IsAlreadyInStateButNotConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RevokeToken, "00ugone");

        Assert.True((await connector.ExecuteAsync(action, default)).AlreadyInState);
        Assert.False((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task ReadBackAsync_RevokeTokenWithGrantsLeft_IsNotConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("left"), grants: 1);
        using var connector = OktaTest.Connect(server);

        var readBack = await connector.ReadBackAsync(OktaTest.Action(ActionKind.RevokeToken, id), default);

        Assert.False(readBack.Confirmed);
        Assert.Equal("1", readBack.Observed["grants"]);
    }

    // ---- Group memberships ------------------------------------------------------------------------------------------

    [Fact]
    public async Task RemoveEntitlementAsync_Member_RemovesThenReplayIsAlreadyInState()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("rm"));
        var other = server.AddUser(OktaTest.Unique("keep"));
        var group = server.AddGroup("engineering", id, other);
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RemoveEntitlement, id, group);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);
        var again = await connector.ExecuteAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal("true", result.Before["member"]);
        Assert.Equal("false", result.After["member"]);
        Assert.False(server.IsMember(group, id));
        Assert.True(server.IsMember(group, other));
        Assert.True(readBack.Confirmed);
        Assert.True(again.AlreadyInState);
        Assert.Single(server.Requests, r => r.Method == "DELETE" && r.Path == $"/api/v1/groups/{group}/users/{id}");
    }

    [Fact]
    public async Task RemoveEntitlementAsync_MemberOfManyGroups_FindsTheGroupOnALaterPage()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("many"));
        var groups = Enumerable.Range(0, 5).Select(i => server.AddGroup($"g{i}", id)).ToList();
        using var connector = OktaTest.Connect(server, s => s["page_size"] = "2");

        var result = await connector.ExecuteAsync(OktaTest.Action(ActionKind.RemoveEntitlement, id, groups[^1]), default);

        Assert.False(result.AlreadyInState);
        Assert.False(server.IsMember(groups[^1], id));
        Assert.True(server.IsMember(groups[0], id));
    }

    [Fact]
    public async Task RemoveEntitlementAsync_UserDeleted_IsAlreadyInStateButNotConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var group = server.AddGroup("engineering");
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RemoveEntitlement, "00ugone", group);

        Assert.True((await connector.ExecuteAsync(action, default)).AlreadyInState);
        Assert.False((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task AddEntitlementAsync_NonMember_AddsThenReplayIsAlreadyInState()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("add"));
        var group = server.AddGroup("engineering");
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.AddEntitlement, id, group);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);
        var again = await connector.ExecuteAsync(action, default);

        Assert.Equal("true", result.After["member"]);
        Assert.True(server.IsMember(group, id));
        Assert.True(readBack.Confirmed);
        Assert.True(again.AlreadyInState);
        Assert.Single(server.Requests, r => r.Method == "PUT" && r.Path == $"/api/v1/groups/{group}/users/{id}");
    }

    [Fact]
    public async Task AddEntitlementAsync_UserGone_ThrowsPermanent()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var group = server.AddGroup("engineering");
        using var connector = OktaTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.AddEntitlement, "00ugone", group), default));

        Assert.False(e.IsTransient);
        Assert.Contains("'00ugone' not found", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddEntitlementAsync_GroupGone_ThrowsPermanentWithOktaError()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("gg"));
        using var connector = OktaTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.AddEntitlement, id, "00ggone"), default));

        Assert.False(e.IsTransient);
        Assert.Contains("404 E0000007", e.Message, StringComparison.Ordinal);
        Assert.Contains("00ggone", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddEntitlementAsync_AppGroup_ThrowsPermanentWithOktaSummary()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("ag"));
        var group = server.AddGroupOfType("AD Domain Users", "APP_GROUP");
        using var connector = OktaTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(OktaTest.Action(ActionKind.AddEntitlement, id, group), default));

        Assert.False(e.IsTransient);
        Assert.Contains("400 E0000001", e.Message, StringComparison.Ordinal);
        Assert.Contains("OKTA_GROUP", e.Message, StringComparison.Ordinal);
    }
}
