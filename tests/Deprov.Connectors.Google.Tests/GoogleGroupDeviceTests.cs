using Deprov.Connectors.Google.Tests.Fake;
using Deprov.Connectors.Google.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google.Tests;

public sealed class GoogleGroupDeviceTests
{
    [Fact]
    public async Task RemoveMember_DeletesThenReplayAlreadyAndReadBackConfirms()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        var bob = server.AddUser("bob@example.com");
        var eng = server.AddGroup("eng@example.com", ann, bob);
        eng.Members[ann.Id] = "MANAGER";
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.RemoveEntitlement, ann.Id, eng.Id);

        var first = await connector.ExecuteAsync(action, CancellationToken.None);
        var replay = await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.False(first.AlreadyInState);
        Assert.Equal("MANAGER", first.Before["role"]);
        Assert.True(replay.AlreadyInState);
        Assert.True(readBack.Confirmed);
        Assert.Equal([bob.Id], server.Read(() => eng.Members.Keys.ToList()));
        Assert.Contains(server.ApiRequests, r => r.Method == "DELETE" && r.Path == $"/admin/directory/v1/groups/{eng.Id}/members/{ann.Id}");
    }

    [Fact]
    public async Task ReadBackRemoveMember_UnknownUserKey_IsNotConfirmed()
    {
        // The member read answers 404 for an unknown user key, the same as for "not a member"; hasMember tells them apart.
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        var eng = server.AddGroup("eng@example.com", ann);
        using var connector = GoogleTest.Connect(server);

        var readBack = await connector.ReadBackAsync(GoogleTest.Action(ActionKind.RemoveEntitlement, "no-such-user", eng.Id), CancellationToken.None);

        Assert.False(readBack.Confirmed);
        Assert.Equal("unknown", readBack.Observed["member"]);
        Assert.Equal([ann.Id], server.Read(() => eng.Members.Keys.ToList()));
    }

    [Fact]
    public async Task AddMember_RestoresRecordedRoleThenReplayAlready()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        var eng = server.AddGroup("eng@example.com");
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.AddEntitlement, ann.Id, eng.Id, parameters: new() { ["before"] = "{\"member\":\"true\",\"role\":\"MANAGER\"}" });

        var first = await connector.ExecuteAsync(action, CancellationToken.None);
        var replay = await connector.ExecuteAsync(action, CancellationToken.None);

        Assert.False(first.AlreadyInState);
        Assert.Equal("MANAGER", server.Read(() => eng.Members[ann.Id]));
        Assert.Contains(server.ApiRequests, r => r.Method == "POST" && r.Path == $"/admin/directory/v1/groups/{eng.Id}/members" && r.Body == "{\"email\":\"ann@example.com\",\"role\":\"MANAGER\"}");
        Assert.True(replay.AlreadyInState);
        Assert.True((await connector.ReadBackAsync(action, CancellationToken.None)).Confirmed);
    }

    [Fact]
    public async Task Wipe_SendsAccountWipeOnlyThenReplayAlreadyAndReadBackConfirms()
    {
        await using var server = await GoogleTestServer.StartAsync();
        server.AddUser("ann@example.com");
        var phone = server.AddDevice("F2LX1", "iPhone 15", "ann@example.com");
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.WipeDevice, null, deviceId: phone.ResourceId);

        var first = await connector.ExecuteAsync(action, CancellationToken.None);
        var replay = await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.False(first.AlreadyInState);
        Assert.True(replay.AlreadyInState);
        Assert.True(readBack.Confirmed);
        Assert.Equal(["admin_account_wipe"], phone.Actions);
        Assert.Single(server.ApiRequests, r => r.Method == "POST" && r.Path == $"/admin/directory/v1/customer/my_customer/devices/mobile/{phone.ResourceId}/action"
            && r.Body == "{\"action\":\"admin_account_wipe\"}");
    }

    [Fact]
    public async Task Wipe_DeviceNotSyncedYet_NotConfirmed()
    {
        await using var server = await GoogleTestServer.StartAsync();
        server.DevicesSyncAtOnce = false;
        var phone = server.AddDevice("F2LX1", "Pixel 8", "ann@example.com");
        using var connector = GoogleTest.Connect(server);
        var action = GoogleTest.Action(ActionKind.WipeDevice, null, deviceId: phone.ResourceId);

        await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.False(readBack.Confirmed);
        Assert.Equal("ACCOUNT_WIPING", readBack.Observed["status"]);
    }

    [Fact]
    public async Task Wipe_UnknownDevice_PermanentNamingIt()
    {
        await using var server = await GoogleTestServer.StartAsync();
        using var connector = GoogleTest.Connect(server);
        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.WipeDevice, null, deviceId: "AFiQnope"), CancellationToken.None));
        Assert.False(e.IsTransient);
        Assert.Contains("'AFiQnope' not found", e.Message, StringComparison.Ordinal);
    }
}
