using Deprov.Connectors.Graph.Tests.Fake;
using Deprov.Connectors.Graph.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph.Tests;

public sealed class GraphAccountTests
{
    [Fact]
    public async Task DisableAccount_EnabledUser_PatchesAccountEnabledFalseAndReadsItBack()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.DisableAccount, user.Id);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal("true", result.Before["accountEnabled"]);
        Assert.Equal("false", result.After["accountEnabled"]);
        Assert.False(server.User(user.Id)!.AccountEnabled);
        Assert.True(readBack.Confirmed);
        Assert.Equal("false", readBack.Observed["accountEnabled"]);
        var patch = Assert.Single(server.ApiRequests, r => r.Method == "PATCH");
        Assert.Equal($"/v1.0/users/{user.Id}", patch.Path);
        Assert.Equal("{\"accountEnabled\":false}", patch.Body);
    }

    [Fact]
    public async Task DisableAccount_Replayed_IsAlreadyInStateWithoutAWrite()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.DisableAccount, user.Id);
        await connector.ExecuteAsync(action, default);

        var replay = await connector.ExecuteAsync(action, default);

        Assert.True(replay.AlreadyInState);
        Assert.Single(server.ApiRequests, r => r.Method == "PATCH");
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task DisableAccount_UserGone_IsAlreadyInStateButNotConfirmed()
    {
        await using var server = await GraphTestServer.StartAsync();
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.DisableAccount, Guid.NewGuid().ToString());

        var result = await connector.ExecuteAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.After["present"]);
        Assert.False((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task EnableAccount_RestoreOfADisable_EnablesAgain()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server);
        var disable = await connector.ExecuteAsync(GraphTest.Action(ActionKind.DisableAccount, user.Id), default);
        var restore = GraphTest.Action(ActionKind.EnableAccount, user.Id, parameters: new() { ["before"] = Deprov.Core.Planning.CoreJson.Serialize(disable.Before) });

        var result = await connector.ExecuteAsync(restore, default);
        var replay = await connector.ExecuteAsync(restore, default);

        Assert.False(result.AlreadyInState);
        Assert.True(replay.AlreadyInState);
        Assert.True(server.User(user.Id)!.AccountEnabled);
        Assert.True((await connector.ReadBackAsync(restore, default)).Confirmed);
    }

    [Fact]
    public async Task EnableAccount_UserWasDisabledBeforeTheCase_StaysDisabled()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"), enabled: false);
        using var connector = GraphTest.Connect(server);
        var restore = GraphTest.Action(ActionKind.EnableAccount, user.Id, parameters: new() { ["before"] = "{\"accountEnabled\":\"false\"}" });

        var result = await connector.ExecuteAsync(restore, default);

        Assert.True(result.AlreadyInState);
        Assert.False(server.User(user.Id)!.AccountEnabled);
        Assert.True((await connector.ReadBackAsync(restore, default)).Confirmed);
    }

    [Fact]
    public async Task EnableAccount_UserDeleted_IsPermanent()
    {
        await using var server = await GraphTestServer.StartAsync();
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.EnableAccount, Guid.NewGuid().ToString()), default));

        Assert.False(e.IsTransient);
        Assert.Contains("deleted items", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RevokeSessions_ServiceAnswers200WithBoolean_SucceedsAndReadBackSeesValidFromMoved()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));
        var before = user.SignInSessionsValidFrom;
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.RevokeSessions, user.Id);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.False(result.AlreadyInState);
        var post = Assert.Single(server.ApiRequests, r => r.Method == "POST");
        Assert.Equal($"/v1.0/users/{user.Id}/revokeSignInSessions", post.Path);
        Assert.Null(post.Body);
        Assert.True(server.User(user.Id)!.SignInSessionsValidFrom > before);
        Assert.True(readBack.Confirmed);
        Assert.NotEqual(string.Empty, readBack.Observed["signInSessionsValidFromDateTime"]);
    }

    [Fact]
    public async Task RevokeSessions_ValidFromDidNotMove_IsNotConfirmed()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server);
        // No revoke was sent: the timestamp is 30 days old, so nothing confirms a revocation.
        var readBack = await connector.ReadBackAsync(GraphTest.Action(ActionKind.RevokeSessions, user.Id), default);

        Assert.False(readBack.Confirmed);
    }

    [Fact]
    public async Task DeleteAccount_ExistingUser_Deletes204AndReplayIsAlreadyInState()
    {
        await using var server = await GraphTestServer.StartAsync();
        var user = server.AddUser(GraphTest.Unique("ann"));
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.DeleteAccount, user.Id);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);
        var replay = await connector.ExecuteAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.Contains("30 days", result.Detail, StringComparison.Ordinal);
        Assert.Null(server.User(user.Id));
        Assert.True(readBack.Confirmed);
        Assert.True(replay.AlreadyInState);
        Assert.Single(server.ApiRequests, r => r.Method == "DELETE");
    }
}
