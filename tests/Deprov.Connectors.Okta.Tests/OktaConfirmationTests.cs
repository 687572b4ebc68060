using Deprov.Connectors.Okta.Tests.Fake;
using Deprov.Connectors.Okta.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta.Tests;

/// <summary>
/// Every confirmation is a read that could have shown otherwise, and the second, independent reads the engine asks for on
/// a contradiction, each against the fake's bad habits (writes accepted and ignored, lenient empty lists, a filter ignored,
/// an existing user answering 404 by id).
/// </summary>
public sealed class OktaConfirmationTests
{
    // ---- RevokeSessions: the System Log ---------------------------------------------------------------------------

    [Fact]
    public async Task ReadBackAsync_SessionsCleared_ConfirmedByTheSystemLogEvent()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("log"), sessions: 2);
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RevokeSessions, id);

        await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.True(readBack.Confirmed);
        Assert.NotEqual("none in the System Log", readBack.Observed["sessionClearLogged"]);
        var logRead = Assert.Single(server.Requests, r => r.Path == "/api/v1/logs");
        Assert.Contains(Uri.EscapeDataString($"eventType eq \"user.session.clear\" and target.id eq \"{id}\""), logRead.Query, StringComparison.Ordinal);
        Assert.Contains("since=", logRead.Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadBackAsync_SessionsClearAcceptedAndIgnored_NeverConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("ign"), sessions: 2);
        server.Habits.IgnoreWrites = true;
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RevokeSessions, id);

        var result = await connector.ExecuteAsync(action, default);
        // Just after our DELETE the log may lag: read again later (transient), never confirmed.
        var lagging = await Assert.ThrowsAsync<ConnectorException>(() => connector.ReadBackAsync(action, default));
        // Another process (after a restart) has no record of the call: plainly not confirmed.
        using var restarted = OktaTest.Connect(server);
        var readBack = await restarted.ReadBackAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal(2, server.SessionsOf(id).Sessions);
        Assert.True(lagging.IsTransient);
        Assert.Contains("System Log does not show", lagging.Message, StringComparison.Ordinal);
        Assert.False(readBack.Confirmed);
        Assert.Equal("none in the System Log", readBack.Observed["sessionClearLogged"]);
    }

    [Fact]
    public async Task ReadBackAsync_SignedInAfterTheClear_NotConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("sin"), sessions: 1);
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RevokeSessions, id);
        await connector.ExecuteAsync(action, default);

        server.SignIn(id);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.False(readBack.Confirmed);
        Assert.Equal("true", readBack.Observed["signedInAfterClear"]);
    }

    [Fact]
    public async Task ReadBackAsync_LogIgnoresTheFilter_AnotherUsersClearConfirmsNothing()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"), sessions: 1);
        var bob = server.AddUser(OktaTest.Unique("bob"), sessions: 1);
        using var connector = OktaTest.Connect(server);
        await connector.ExecuteAsync(OktaTest.Action(ActionKind.RevokeSessions, bob), default);
        server.Habits.IgnoreLogFilter = true;

        var readBack = await OktaTest.Connect(server).ReadBackAsync(OktaTest.Action(ActionKind.RevokeSessions, ann), default);

        Assert.False(readBack.Confirmed);
        Assert.Equal(1, server.SessionsOf(ann).Sessions);
    }

    [Fact]
    public async Task ReadBackAsync_LenientLogAnswersEmpty_NotConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("len"), sessions: 1);
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RevokeSessions, id);
        await connector.ExecuteAsync(action, default);
        server.Habits.LenientLists = true;

        var readBack = await OktaTest.Connect(server).ReadBackAsync(action, default);

        Assert.False(readBack.Confirmed);
    }

    // ---- Writes accepted and ignored ------------------------------------------------------------------------------

    [Fact]
    public async Task ReadBackAsync_DisableAndRemovalAcceptedAndIgnored_NotConfirmed()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("wri"));
        var group = server.AddGroup("admins", id);
        server.Habits.IgnoreWrites = true;
        using var connector = OktaTest.Connect(server);
        var disable = OktaTest.Action(ActionKind.DisableAccount, id);
        var remove = OktaTest.Action(ActionKind.RemoveEntitlement, id, group);

        await connector.ExecuteAsync(disable, default);
        await connector.ExecuteAsync(remove, default);

        Assert.False((await connector.ReadBackAsync(disable, default)).Confirmed);
        Assert.False((await connector.ReadBackAsync(remove, default)).Confirmed);
        Assert.Equal("ACTIVE", server.StatusOf(id));
        Assert.True(server.IsMember(group, id));
    }

    // ---- The second, independent reads ----------------------------------------------------------------------------

    [Fact]
    public async Task ReadIndependentlyAsync_UserAnswers404ById_LookupByLoginShowsItActive()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var login = OktaTest.Unique("hid");
        var id = server.AddUser(login);
        server.Habits.HiddenById[id] = true;
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.DisableAccount, id) with { AccountUserName = login };

        var result = await connector.ExecuteAsync(action, default);
        var second = await connector.ReadIndependentlyAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.NotNull(second);
        Assert.False(second.Confirmed);
        Assert.Equal("ACTIVE", second.Observed["status"]);
        Assert.Equal("login", second.Observed["lookup"]);
    }

    [Fact]
    public async Task ReadIndependentlyAsync_UserSuspended_LookupByLoginConfirms()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var login = OktaTest.Unique("sus");
        var id = server.AddUser(login, status: "SUSPENDED");
        using var connector = OktaTest.Connect(server);

        var second = await connector.ReadIndependentlyAsync(OktaTest.Action(ActionKind.DisableAccount, id) with { AccountUserName = login }, default);

        Assert.True(second!.Confirmed);
    }

    [Fact]
    public async Task ReadIndependentlyAsync_UsersGroupsAnswerEmpty_GroupMembersShowTheMembership()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        var bob = server.AddUser(OktaTest.Unique("bob"));
        var group = server.AddGroup("admins", ann, bob);
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RemoveEntitlement, ann, group);

        // The user's groups answer empty only for that listing: the first read says "not a member", the group says otherwise.
        server.Habits.LenientLists = true;
        var first = await connector.ReadBackAsync(action, default);
        server.Habits.LenientLists = false;
        var second = await connector.ReadIndependentlyAsync(action, default);

        Assert.True(first.Confirmed);
        Assert.False(second!.Confirmed);
        Assert.Equal("true", second.Observed["member"]);
    }

    [Fact]
    public async Task ReadIndependentlyAsync_MemberRemoved_GroupMembersConfirm_ButAnEmptyListNever()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        var bob = server.AddUser(OktaTest.Unique("bob"));
        var group = server.AddGroup("admins", bob);
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RemoveEntitlement, ann, group);

        var removed = await connector.ReadIndependentlyAsync(action, default);
        server.Habits.LenientLists = true;
        var empty = await connector.ReadIndependentlyAsync(action, default);

        Assert.True(removed!.Confirmed);
        Assert.False(empty!.Confirmed);
        Assert.Equal("unknown", empty.Observed["member"]);
    }

    [Fact]
    public async Task ReadIndependentlyAsync_Role_AssigneesListDecides()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ann = server.AddUser(OktaTest.Unique("ann"));
        var bob = server.AddUser(OktaTest.Unique("bob"));
        var assignment = server.AssignRole(ann, "ORG_ADMIN");
        server.AssignRole(bob, "SUPER_ADMIN");
        using var connector = OktaTest.Connect(server);
        var action = OktaTest.Action(ActionKind.RemoveEntitlement, ann, "role:ORG_ADMIN");

        var held = await connector.ReadIndependentlyAsync(action, default);
        server.UnassignRole(assignment);
        var gone = await connector.ReadIndependentlyAsync(action, default);
        server.Habits.LenientLists = true;
        var empty = await connector.ReadIndependentlyAsync(action, default);

        Assert.False(held!.Confirmed);
        Assert.True(gone!.Confirmed);
        Assert.False(empty!.Confirmed);
    }

    [Fact]
    public async Task ReadIndependentlyAsync_ActionsWithoutASecondPath_AnswerNull()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var id = server.AddUser(OktaTest.Unique("nul"));
        using var connector = OktaTest.Connect(server);

        Assert.Null(await connector.ReadIndependentlyAsync(OktaTest.Action(ActionKind.RevokeSessions, id), default));
        Assert.Null(await connector.ReadIndependentlyAsync(OktaTest.Action(ActionKind.RevokeToken, id), default));
    }
}
