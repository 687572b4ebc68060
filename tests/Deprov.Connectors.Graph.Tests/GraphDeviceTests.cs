using Deprov.Connectors.Graph.Tests.Fake;
using Deprov.Connectors.Graph.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph.Tests;

public sealed class GraphDeviceTests
{
    [Fact]
    public async Task LockDevice_DeviceChecksIn_RemoteLockSentAndConfirmed()
    {
        await using var server = await GraphTestServer.StartAsync();
        var device = server.AddDevice("C02X1", "iPhone 15", "ann@contoso.com");
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.LockDevice, null, deviceId: device.Id);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal("none", result.Before["remoteLock"]);
        Assert.True(readBack.Confirmed);
        Assert.Equal("done", readBack.Observed["remoteLock"]);
        var post = Assert.Single(server.ApiRequests, r => r.Method == "POST");
        Assert.Equal($"/v1.0/deviceManagement/managedDevices/{device.Id}/remoteLock", post.Path);
        Assert.Null(post.Body);
    }

    [Fact]
    public async Task LockDevice_DeviceOffline_QueuedLockIsNotConfirmedAndReplayDoesNotQueueAnother()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.DevicesCheckInAtOnce = false;
        var device = server.AddDevice("C02X1", "iPhone 15", "ann@contoso.com");
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.LockDevice, null, deviceId: device.Id);

        await connector.ExecuteAsync(action, default);
        var pending = await connector.ReadBackAsync(action, default);
        var replay = await connector.ExecuteAsync(action, default);
        server.DevicesCheckIn();
        var done = await connector.ReadBackAsync(action, default);

        Assert.False(pending.Confirmed);
        Assert.Equal("pending", pending.Observed["remoteLock"]);
        Assert.True(replay.AlreadyInState);
        Assert.Single(server.ApiRequests, r => r.Method == "POST");
        Assert.True(done.Confirmed);
    }

    [Fact]
    public async Task WipeDevice_Active_SendsTheDocumentedBodyAndReplayIsAlreadyInState()
    {
        await using var server = await GraphTestServer.StartAsync();
        var device = server.AddDevice("C02X2", "MacBook Pro", "ann@contoso.com");
        using var connector = GraphTest.Connect(server, s => s["wipe"] = new Dictionary<string, object> { ["persist_esim_data_plan"] = "true" });
        var action = GraphTest.Action(ActionKind.WipeDevice, null, deviceId: device.Id);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);
        var replay = await connector.ExecuteAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal("{\"keepEnrollmentData\":false,\"keepUserData\":false,\"persistEsimDataPlan\":true}", server.WipeBodyOf(device));
        Assert.True(readBack.Confirmed);
        Assert.Equal("wipeIssued", readBack.Observed["managementState"]);
        Assert.True(replay.AlreadyInState);
        Assert.Single(server.ApiRequests, r => r.Method == "POST" && r.Path.EndsWith("/wipe", StringComparison.Ordinal));
    }

    [Fact]
    public async Task LockDevice_NotInIntune_IsPermanentAndSaysWhatToDo()
    {
        await using var server = await GraphTestServer.StartAsync();
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.LockDevice, null, deviceId: Guid.NewGuid().ToString()), default));

        Assert.False(e.IsTransient);
        Assert.Contains("not found in Intune", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LockDevice_MissingPrivilegedOperationsPermission_IsPermanentNamingIt()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.Granted.Remove("DeviceManagementManagedDevices.PrivilegedOperations.All");
        var device = server.AddDevice("C02X1", "iPhone 15", "ann@contoso.com");
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.LockDevice, null, deviceId: device.Id), default));

        Assert.False(e.IsTransient);
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
        Assert.Contains("Authorization_RequestDenied", e.Message, StringComparison.Ordinal);
        Assert.Contains("DeviceManagementManagedDevices.PrivilegedOperations.All", e.Message, StringComparison.Ordinal);
    }
}
