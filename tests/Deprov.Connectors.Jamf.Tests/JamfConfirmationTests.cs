using Deprov.Connectors.Jamf.Tests.Fake;
using Deprov.Connectors.Jamf.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Testing;
using Microsoft.Extensions.Time.Testing;
using Xunit.Abstractions;

namespace Deprov.Connectors.Jamf.Tests;

/// <summary>
/// How a lock or an erase is confirmed: only by a command that names this device's current enrolment and is
/// acknowledged; the second read takes the device by its inventory id and the command by its uuid. The fake's bad habits
/// (commands accepted and never queued, a command filter that is not evaluated) never make a read confirm.
/// </summary>
public sealed class JamfConfirmationTests(ITestOutputHelper output)
{
    public enum Habit
    {
        Faithful,
        IgnoreCommands,
        IgnoreCommandFilter,
    }

    [Fact]
    public async Task LockDevice_ServerIgnoresTheCommandFilter_AnotherMacsAcknowledgedLockNeitherSkipsNorConfirmsThisOne()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var annMac = server.AddComputer("C02ANN001", "ann");
        var bobMac = server.AddComputer("C02BOB001", "bob");
        using var connector = JamfTest.Connect(server);
        await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(bobMac)), CancellationToken.None);
        server.CheckIn(server.ManagementIdOfComputer(bobMac));
        server.IgnoreCommandFilter = true;
        var lockAnn = JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(annMac));

        var before = await connector.ReadBackAsync(lockAnn, CancellationToken.None);
        var result = await connector.ExecuteAsync(lockAnn, CancellationToken.None);

        Assert.False(before.Confirmed);
        Assert.Equal("NONE", before.Observed["commandState"]);
        Assert.False(result.AlreadyInState);
        Assert.Single(server.CommandsFor(server.ManagementIdOfComputer(annMac)));
    }

    [Fact]
    public async Task ReadIndependently_LockSentByAnAdministratorAndAcknowledged_ConfirmedByTheCommandsUuid()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var annMac = server.AddComputer("C02ANN001", "ann");
        using var connector = JamfTest.Connect(server);
        var action = JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(annMac));
        await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(annMac)), CancellationToken.None);

        var pending = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
        server.CheckIn(server.ManagementIdOfComputer(annMac));
        var acknowledged = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        Assert.False(pending!.Confirmed);
        Assert.Equal("PENDING", pending.Observed["commandState"]);
        Assert.True(acknowledged!.Confirmed, string.Join(", ", acknowledged.Observed));
        Assert.Contains(server.Requests, r => r.Path == "/api/v2/mdm/commands" && Uri.UnescapeDataString(r.Query).Contains("filter=uuid==", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadIndependently_LockAcknowledgedBeforeTheMacEnrolledAgain_NotConfirmed()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var annMac = server.AddComputer("C02ANN001", "ann");
        using var connector = JamfTest.Connect(server);
        var action = JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(annMac));
        await connector.ExecuteAsync(action, CancellationToken.None);
        server.CheckIn(server.ManagementIdOfComputer(annMac));
        server.ReEnrolComputer(annMac);

        var read = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        Assert.False(read!.Confirmed);
        Assert.Equal("NONE", read.Observed["commandState"]);
    }

    [Fact]
    public async Task ReadBackAndReadIndependently_EveryHabit_NeverConfirmWhileTheMacIsNotLocked()
    {
        var falseConfirmations = new List<string>();
        var missed = new List<string>();
        var reads = 0;
        foreach (var habit in Enum.GetValues<Habit>())
        {
            await using var server = await JamfFakeServer.StartAsync();
            var annMac = server.AddComputer("C02ANN001", "ann");
            var bobMac = server.AddComputer("C02BOB001", "bob");
            using var connector = JamfTest.Connect(server);
            // Another Mac was locked and acknowledged earlier: its command must never stand in for this one.
            await connector.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(bobMac)), CancellationToken.None);
            server.CheckIn(server.ManagementIdOfComputer(bobMac));
            server.IgnoreCommands = habit is Habit.IgnoreCommands;
            server.IgnoreCommandFilter = habit is Habit.IgnoreCommandFilter;
            var annMid = server.ManagementIdOfComputer(annMac);
            foreach (var kind in new[] { ActionKind.LockDevice, ActionKind.WipeDevice })
            {
                var action = JamfTest.Action(kind, JamfTest.Computer(annMac));
                await connector.ExecuteAsync(action, CancellationToken.None);
                server.CheckIn(annMid);
                var type = kind is ActionKind.LockDevice ? "DEVICE_LOCK" : "ERASE_DEVICE";
                var done = server.CommandsFor(annMid).Any(c => c.CommandType == type && c.State == "ACKNOWLEDGED");
                var first = await connector.ReadBackAsync(action, CancellationToken.None);
                var second = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
                reads += 2;
                foreach (var (read, name) in new[] { (first, "read-back"), (second!, "independent read") })
                {
                    if (read.Confirmed && !done)
                    {
                        falseConfirmations.Add($"{habit} {kind.ToSnake()}: {name} confirmed; observed {string.Join(", ", read.Observed)}");
                    }

                    if (habit is Habit.Faithful && !read.Confirmed)
                    {
                        missed.Add($"{kind.ToSnake()}: {name}: {string.Join(", ", read.Observed)}");
                    }
                }
            }
        }

        output.WriteLine($"habits: {Enum.GetValues<Habit>().Length}, reads checked: {reads}, false confirmations: {falseConfirmations.Count}, faithful cuts left unconfirmed: {missed.Count}");
        Assert.True(falseConfirmations.Count == 0, string.Join("\n", falseConfirmations));
        Assert.True(missed.Count == 0, string.Join("\n", missed));
    }

    [Fact]
    public async Task Leave_MacAlreadyLockedByAnAdministrator_NoSecondLockAndVerifiedByTheSecondRead()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
        await using var server = await JamfFakeServer.StartAsync(new JamfFakeOptions { Time = time });
        var annMac = server.AddComputer("C02ANN001", "ann", "ann@example.com");
        var annMid = server.ManagementIdOfComputer(annMac);
        Environment.SetEnvironmentVariable("DEPROV_E2E_JAMF_CONFIRM_SECRET", server.Options.ClientSecret);
        var yaml = $$"""
            systems:
              - id: jamf
                kind: jamf
                role: device_manager
                settings:
                  base_url: "{{server.BaseUrl}}"
                  auth: { type: oauth_client_credentials, client_id: {{server.Options.ClientId}}, client_secret: env:DEPROV_E2E_JAMF_CONFIRM_SECRET }
                  device_types: [computers]
            """;
        var env = await TestEnvironment.CreateAsync(yaml, time: time, factories: [new JamfConnectorFactory()]);
        await using var _ = env;
        await env.Engine.Store.UpsertPeopleAsync([new Person("ann", "ann@example.com", "ann", null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")], CancellationToken.None);
        await env.DiscoverAsync();
        // An administrator locked the Mac from the Jamf console after discovery, and it acknowledged.
        using (var admin = JamfTest.Connect(server, time: time))
        {
            await admin.ExecuteAsync(JamfTest.Action(ActionKind.LockDevice, JamfTest.Computer(annMac)), CancellationToken.None);
        }

        server.CheckIn(annMid);

        var leave = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var steps = await env.Engine.Store.GetStepsAsync(leave.Plan!.Case.Id, CancellationToken.None);
        var lockStep = Assert.Single(steps, s => s.Action == ActionKind.LockDevice);
        Assert.True(lockStep.Status == StepStatus.Verified, $"{lockStep.Status}: {lockStep.Error}");
        Assert.Single(server.CommandsFor(annMid));
    }
}
