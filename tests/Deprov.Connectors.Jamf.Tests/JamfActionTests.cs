using Deprov.Connectors.Jamf.Tests.Fake;
using Deprov.Connectors.Jamf.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Connectors.Jamf.Tests;

/// <summary>LockDevice and WipeDevice against the fake: the wire, idempotent replays, and the read-back.</summary>
public sealed class JamfActionTests
{
    [Fact]
    public async Task ExecuteAsync_LockComputer_SendsDeviceLockWithSixDigitPinAndNoPinInResult()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC", "ann", "ann@example.com");
        using var connector = JamfTest.Connect(server, configure: s => s["lock_message"] = "Return to IT");
        var mid = server.ManagementIdOfComputer(id);

        var result = await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);

        var command = Assert.Single(server.CommandsFor(mid));
        Assert.Equal("DEVICE_LOCK", command.CommandType);
        Assert.Matches("^[0-9]{6}$", command.Pin!);
        Assert.Equal("Return to IT", command.CommandData["message"]!.GetValue<string>());
        Assert.False(result.AlreadyInState);
        Assert.Equal("PENDING", result.After["commandState"]);
        Assert.Equal(command.Uuid, result.After["commandUuid"]);
        Assert.Equal("true", result.After["pinSet"]);
        Assert.Equal("NONE", result.Before["commandState"]);
        var everything = string.Join("|", result.Before.Concat(result.After).Select(kv => kv.Key + "=" + kv.Value)) + result.Detail;
        Assert.DoesNotContain(command.Pin!, everything, StringComparison.Ordinal);
        var post = Assert.Single(server.Requests, r => r.Method == "POST" && r.Path == "/api/v2/mdm/commands");
        Assert.Contains($"\"clientData\":[{{\"managementId\":\"{mid}\"}}]", post.Body, StringComparison.Ordinal);
        Assert.Equal("Bearer", post.AuthScheme);
    }

    [Fact]
    public async Task ExecuteAsync_LockTwoComputers_DifferentPins()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var pins = new HashSet<string>();
        using var connector = JamfTest.Connect(server);
        for (var i = 0; i < 5; i++)
        {
            var id = server.AddComputer($"C0{i}");
            await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);
            pins.Add(server.CommandsFor(server.ManagementIdOfComputer(id)).Single().Pin!);
        }

        Assert.True(pins.Count >= 4, "PINs must be drawn per device, not fixed");
    }

    [Fact]
    public async Task ExecuteAsync_LockReplayedWhilePending_AlreadyInStateNoSecondCommand()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC", "ann");
        using var connector = JamfTest.Connect(server);
        var action = JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id));
        await connector.ExecuteAsync(action, CancellationToken.None);

        var replay = await connector.ExecuteAsync(action, CancellationToken.None);

        var command = Assert.Single(server.CommandsFor(server.ManagementIdOfComputer(id)));
        Assert.True(replay.AlreadyInState);
        Assert.Equal(command.Uuid, replay.After["commandUuid"]);
    }

    [Fact]
    public async Task ExecuteAsync_LockAlreadyAcknowledged_AlreadyInState()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC");
        using var connector = JamfTest.Connect(server);
        await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);
        server.CheckIn(server.ManagementIdOfComputer(id));

        var again = await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);

        Assert.True(again.AlreadyInState);
        Assert.Equal("ACKNOWLEDGED", again.After["commandState"]);
        Assert.Single(server.CommandsFor(server.ManagementIdOfComputer(id)));
    }

    [Fact]
    public async Task ExecuteAsync_PreviousLockFailedOnDevice_SendsANewOne()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC");
        var mid = server.ManagementIdOfComputer(id);
        using var connector = JamfTest.Connect(server);
        await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);
        server.Refuse(mid);

        var again = await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);

        Assert.False(again.AlreadyInState);
        Assert.Equal("ERROR", again.Before["commandState"]);
        Assert.Equal(2, server.CommandsFor(mid).Count);
    }

    [Fact]
    public async Task ExecuteAsync_AcknowledgedLockOlderThanReplayWindow_SendsANewOne()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 1, 9, 0, 0, TimeSpan.Zero));
        await using var server = await JamfFakeServer.StartAsync(new JamfFakeOptions { Time = time, TokenLifetime = TimeSpan.FromDays(30) });
        var id = server.AddComputer("C02ABC");
        var mid = server.ManagementIdOfComputer(id);
        using var connector = JamfTest.Connect(server, configure: s => s["replay_window_hours"] = "24");
        await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);
        server.CheckIn(mid);
        time.Advance(TimeSpan.FromHours(25)); // the device was unlocked by IT and given to someone else since

        var again = await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);

        Assert.False(again.AlreadyInState);
        Assert.Equal(2, server.CommandsFor(mid).Count);
    }

    [Fact]
    public async Task ReadBackAsync_Pending_TransientWithRecheckDelay()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC");
        using var connector = JamfTest.Connect(server, configure: s => s["ack_recheck_seconds"] = "120");
        var action = JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id));
        await connector.ExecuteAsync(action, CancellationToken.None);

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ReadBackAsync(action, CancellationToken.None));

        Assert.True(ex.IsTransient);
        Assert.Equal(TimeSpan.FromSeconds(120), ex.RetryAfter);
        Assert.False(ex.IsRateLimited); // "read again later", not a rate limit: it counts as an attempt
        Assert.Contains("still PENDING", ex.Message, StringComparison.Ordinal);
        Assert.Contains("computers/" + id, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadBackAsync_Acknowledged_Confirmed()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC");
        using var connector = JamfTest.Connect(server);
        var action = JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id));
        await connector.ExecuteAsync(action, CancellationToken.None);
        server.CheckIn(server.ManagementIdOfComputer(id));

        var rb = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.True(rb.Confirmed);
        Assert.Equal("ACKNOWLEDGED", rb.Observed["commandState"]);
        Assert.True(rb.Observed.ContainsKey("dateCompleted"));
        Assert.DoesNotContain(rb.Observed.Keys, k => k.Contains("pin", StringComparison.OrdinalIgnoreCase));
    }

    [Fact]
    public async Task ReadBackAsync_DeviceAnsweredError_NotConfirmed()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC");
        using var connector = JamfTest.Connect(server);
        var action = JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id));
        await connector.ExecuteAsync(action, CancellationToken.None);
        server.Refuse(server.ManagementIdOfComputer(id));

        var rb = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.False(rb.Confirmed);
        Assert.Equal("ERROR", rb.Observed["commandState"]);
    }

    [Fact]
    public async Task ReadBackAsync_NoCommand_NotConfirmed()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC");
        using var connector = JamfTest.Connect(server);

        var rb = await connector.ReadBackAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);

        Assert.False(rb.Confirmed);
        Assert.Equal("NONE", rb.Observed["commandState"]);
    }

    [Fact]
    public async Task ExecuteAsync_LockMobileDevice_NoPinSent()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddMobileDevice("F17XYZ", "ann", "ann@example.com");
        using var connector = JamfTest.Connect(server);
        var action = JamfTest.Action(ActionKind.LockDevice, JamfTest.Mobile(id));

        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        server.CheckIn(server.ManagementIdOfMobile(id));
        var rb = await connector.ReadBackAsync(action, CancellationToken.None);

        var command = Assert.Single(server.CommandsFor(server.ManagementIdOfMobile(id)));
        Assert.Null(command.Pin);
        Assert.Equal("MOBILE_DEVICE", command.ClientType);
        Assert.Equal("false", result.After["pinSet"]);
        Assert.True(rb.Confirmed);
        Assert.Contains(server.Requests, r => r.Path == $"/api/v2/mobile-devices/{id}/detail");
    }

    [Fact]
    public async Task ExecuteAsync_WipeComputer_SendsEraseWithPinAndObliteration_ReplayIsNoOp()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC");
        var mid = server.ManagementIdOfComputer(id);
        using var connector = JamfTest.Connect(server, configure: s => s["erase_obliteration"] = "obliterate_with_warning");
        var action = JamfTest.Action(ActionKind.WipeDevice, JamfTest.Computer(id));

        var first = await connector.ExecuteAsync(action, CancellationToken.None);
        var replay = await connector.ExecuteAsync(action, CancellationToken.None);
        server.CheckIn(mid);
        var rb = await connector.ReadBackAsync(action, CancellationToken.None);

        var command = Assert.Single(server.CommandsFor(mid));
        Assert.Equal("ERASE_DEVICE", command.CommandType);
        Assert.Matches("^[0-9]{6}$", command.Pin!);
        Assert.Equal("ObliterateWithWarning", command.CommandData["obliterationBehavior"]!.GetValue<string>());
        Assert.False(first.AlreadyInState);
        Assert.True(replay.AlreadyInState);
        Assert.True(rb.Confirmed);
        Assert.Equal("ERASE_DEVICE", rb.Observed["command"]);
    }

    [Fact]
    public async Task ExecuteAsync_LockAfterWipe_LooksOnlyAtLockCommands()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC");
        using var connector = JamfTest.Connect(server);
        await connector.ExecuteAsync(JamfTest.Action(ActionKind.WipeDevice, JamfTest.Computer(id)), CancellationToken.None);

        var lockResult = await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None);

        Assert.False(lockResult.AlreadyInState);
        Assert.Equal(2, server.CommandsFor(server.ManagementIdOfComputer(id)).Count);
        Assert.Contains(server.Requests, r => r.Path == "/api/v2/mdm/commands" && r.Method == "GET"
            && Uri.UnescapeDataString(r.Query).Contains("command==DEVICE_LOCK", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ExecuteAsync_UnmanagedComputer_PermanentWithReason()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC", managed: false);
        using var connector = JamfTest.Connect(server);

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.Contains("no MDM managementId", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_DeviceGoneFromJamf_PermanentNamingTheDevice()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var id = server.AddComputer("C02ABC");
        server.RemoveComputer(id);
        using var connector = JamfTest.Connect(server);

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(id)), CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.Contains($"computers/{id} is no longer in Jamf Pro", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("laptop-7")]
    [InlineData("computers/")]
    public async Task ExecuteAsync_MalformedDeviceId_Permanent(string deviceId)
    {
        await using var server = await JamfFakeServer.StartAsync();
        using var connector = JamfTest.Connect(server);

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, deviceId), CancellationToken.None));

        Assert.False(ex.IsTransient);
    }

    [Theory]
    [InlineData(ActionKind.UnlockDevice)]
    [InlineData(ActionKind.DisableAccount)]
    public async Task ExecuteAsync_UnsupportedAction_PermanentAndNotDescribed(ActionKind kind)
    {
        await using var server = await JamfFakeServer.StartAsync();
        using var connector = JamfTest.Connect(server);

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(JamfTest.Action(kind, "computers/1"), CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.DoesNotContain(kind, connector.Describe().Supported);
        Assert.Equal(new HashSet<ActionKind> { ActionKind.LockDevice, ActionKind.WipeDevice }, connector.Describe().Supported);
    }
}
