using Deprov.Connectors.Google.Tests.Fake;
using Deprov.Connectors.Google.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google.Tests;

public sealed class GoogleAccountTests
{
    [Fact]
    public async Task Disable_SuspendsThenReplayIsAlreadyInStateAndReadBackConfirms()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.DisableAccount, ann.Id);

        var first = await connector.ExecuteAsync(action, CancellationToken.None);
        var replay = await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.False(first.AlreadyInState);
        Assert.Equal("false", first.Before["suspended"]);
        Assert.Equal("true", first.After["suspended"]);
        Assert.True(replay.AlreadyInState);
        Assert.True(readBack.Confirmed);
        Assert.Equal("ADMIN", readBack.Observed["suspensionReason"]);
        Assert.True(server.User(ann.Id)!.Suspended);
        Assert.Single(server.ApiRequests, r => r.Method == "PATCH" && r.Path == $"/admin/directory/v1/users/{ann.Id}" && r.Body == "{\"suspended\":true}");
    }

    [Fact]
    public async Task Disable_UnknownUser_AlreadyInStateButNotConfirmed()
    {
        await using var server = await GoogleTestServer.StartAsync();
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.DisableAccount, "999");

        Assert.True((await connector.ExecuteAsync(action, CancellationToken.None)).AlreadyInState);
        Assert.False((await connector.ReadBackAsync(action, CancellationToken.None)).Confirmed);
    }

    [Fact]
    public async Task Enable_RestoresUnlessSuspendedBeforeTheCase()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com", suspended: true);
        var bob = server.AddUser("bob@example.com", suspended: true);
        using var connector = GoogleTest.Connect(server);
        var restore = GoogleTest.Action(ActionKind.EnableAccount, ann.Id, parameters: new() { ["before"] = "{\"suspended\":\"false\"}" });
        var keep = GoogleTest.Action(ActionKind.EnableAccount, bob.Id, parameters: new() { ["before"] = "{\"suspended\":\"true\"}" });

        var restored = await connector.ExecuteAsync(restore, CancellationToken.None);
        var kept = await connector.ExecuteAsync(keep, CancellationToken.None);

        Assert.False(restored.AlreadyInState);
        Assert.False(server.User(ann.Id)!.Suspended);
        Assert.True((await connector.ReadBackAsync(restore, CancellationToken.None)).Confirmed);
        Assert.True(kept.AlreadyInState);
        Assert.True(server.User(bob.Id)!.Suspended);
        Assert.True((await connector.ReadBackAsync(keep, CancellationToken.None)).Confirmed);
        Assert.True((await connector.ExecuteAsync(restore, CancellationToken.None)).AlreadyInState);
    }

    [Fact]
    public async Task RevokeSessions_PostsSignOut_ConfirmedOnlyOnceTheUserIsSuspended()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.RevokeSessions, ann.Id);

        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        // Google's 2xx is no read: while the user is active, the sign-out is read again later.
        var waiting = await Assert.ThrowsAsync<ConnectorException>(() => connector.ReadBackAsync(action, CancellationToken.None));
        // Without a sign-out of this process (a restart), an active user: nothing confirms it.
        var unknown = await connector.ReadBackAsync(GoogleTest.Action(ActionKind.RevokeSessions, ann.Id), CancellationToken.None);
        server.Read(() => server.User(ann.Id)!.Suspended = true);
        var suspended = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.False(result.AlreadyInState);
        Assert.Equal(1, server.User(ann.Id)!.SignOuts);
        Assert.Contains(server.ApiRequests, r => r.Method == "POST" && r.Path == $"/admin/directory/v1/users/{ann.Id}/signOut");
        Assert.True(waiting.IsTransient);
        Assert.False(unknown.Confirmed);
        Assert.Equal("unknown", unknown.Observed["signOutAccepted"]);
        Assert.True(suspended.Confirmed);
    }

    [Fact]
    public async Task Delete_DeletesThenReplayIsAlreadyInStateAndReadBackConfirms()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com", suspended: true);
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.DeleteAccount, ann.Id);

        var first = await connector.ExecuteAsync(action, CancellationToken.None);
        var replay = await connector.ExecuteAsync(action, CancellationToken.None);

        Assert.False(first.AlreadyInState);
        Assert.Contains("20 days", first.Detail, StringComparison.Ordinal);
        Assert.True(replay.AlreadyInState);
        Assert.Null(server.User(ann.Id));
        Assert.True((await connector.ReadBackAsync(action, CancellationToken.None)).Confirmed);
    }
}
