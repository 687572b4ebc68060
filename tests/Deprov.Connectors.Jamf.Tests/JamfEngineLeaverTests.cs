using Deprov.Connectors.Jamf.Tests.Fake;
using Deprov.Core.Model;
using Deprov.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Connectors.Jamf.Tests;

/// <summary>A leaver case through the engine, with Jamf Pro configured in deprov.yaml as <c>kind: jamf</c> against the fake.</summary>
public sealed class JamfEngineLeaverTests
{
    [Fact]
    public async Task Leave_PersonWithMac_LockSentOnceAndCaseVerifiedAfterTheMacAcknowledges()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
        await using var server = await JamfFakeServer.StartAsync(new JamfFakeOptions { Time = time });
        var annMac = server.AddComputer("C02ANN001", "ann", "ann@example.com");
        var bobMac = server.AddComputer("C02BOB001", "bob", "bob@example.com");
        var annMid = server.ManagementIdOfComputer(annMac);
        Environment.SetEnvironmentVariable("DEPROV_E2E_JAMF_SECRET", server.Options.ClientSecret);
        var yaml = $$"""
            systems:
              - id: jamf
                kind: jamf
                role: device_manager
                settings:
                  base_url: "{{server.BaseUrl}}"
                  auth: { type: oauth_client_credentials, client_id: {{server.Options.ClientId}}, client_secret: env:DEPROV_E2E_JAMF_SECRET }
                  device_types: [computers]
                  ack_recheck_seconds: 300
            """;
        var env = await TestEnvironment.CreateAsync(yaml, time: time, factories: [new JamfConnectorFactory()]);
        await using var _ = env;
        var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
        await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
        await env.DiscoverAsync();
        var map = (await env.Engine.Store.GetAccessMapsAsync(["ann"], CancellationToken.None)).Single();
        var device = Assert.Single(map.Devices);
        Assert.Equal($"computers/{annMac}", device.ExternalId);
        Assert.Equal("C02ANN001", device.SerialNumber);

        var result = await env.Engine.SubmitAsync(Deprov.Testing.Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        // The lock is queued; the Mac has not checked in, so the step waits to read it back again.
        var command = Assert.Single(server.CommandsFor(annMid));
        Assert.Equal("DEVICE_LOCK", command.CommandType);
        Assert.Equal("PENDING", command.State);
        Assert.Empty(server.CommandsFor(server.ManagementIdOfComputer(bobMac)));
        var steps = await env.Engine.Store.GetStepsAsync(result.Plan!.Case.Id, CancellationToken.None);
        var lockStep = Assert.Single(steps, s => s.Action == ActionKind.LockDevice);
        Assert.Equal(StepStatus.Pending, lockStep.Status);
        Assert.Null((await env.Engine.Store.GetCaseAsync(result.Plan.Case.Id, CancellationToken.None))!.CutVerifiedAt);

        // The Mac comes online and acknowledges; the re-check finds it locked without sending a second lock.
        server.CheckIn(annMid);
        time.Advance(TimeSpan.FromSeconds(301));
        await env.RunUntilIdleAsync();

        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan.Case.Id, CancellationToken.None))!;
        steps = await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None);
        Assert.True(kase.CutVerifiedAt is not null, string.Join("\n", steps.Select(s => $"{s.Action} {s.Target} {s.Status} {s.Error}")));
        Assert.Equal(StepStatus.Verified, steps.Single(s => s.Action == ActionKind.LockDevice).Status);
        Assert.Single(server.CommandsFor(annMid));
        Assert.True((await env.Engine.Store.VerifyAuditChainAsync(CancellationToken.None)).Ok);
        var actions = new List<string>();
        await foreach (var r in env.Engine.Store.ReadAuditAsync(1, CancellationToken.None))
        {
            actions.Add($"{r.Entry.Action}:{r.Entry.Outcome}");
            var text = $"{r.Entry.Before}{r.Entry.After}{r.Entry.Detail}";
            Assert.DoesNotContain(server.Options.ClientSecret, text, StringComparison.Ordinal);
            Assert.DoesNotContain(command.Pin!, text, StringComparison.Ordinal);
        }

        Assert.Contains("lock_device:retry_scheduled", actions);
        Assert.Contains("lock_device:ok", actions); // the later try only reads: the lock was applied
    }

    [Fact]
    public async Task Leave_MacNeverChecksIn_OneLockOnlyThenTaskForItAfterTheEnginesClaims()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 23, 9, 0, 0, TimeSpan.Zero));
        await using var server = await JamfFakeServer.StartAsync(new JamfFakeOptions { Time = time, TokenLifetime = TimeSpan.FromHours(2) });
        var mac = server.AddComputer("C02DAN001", "dan", "dan@example.com");
        Environment.SetEnvironmentVariable("DEPROV_E2E_JAMF_PASSWORD", server.Options.Password);
        var yaml = $$"""
            systems:
              - id: jamf
                kind: jamf
                role: device_manager
                settings:
                  base_url: "{{server.BaseUrl}}"
                  auth: { type: basic, username: {{server.Options.Username}}, password: env:DEPROV_E2E_JAMF_PASSWORD }
                  device_types: [computers]
            """;
        // Three tries (the lock, then two re-reads at the device's own re-check interval), then a task.
        var env = await TestEnvironment.CreateAsync(yaml, "policy:\n  execution: { retry_schedule: [5m, 5m] }\n", time: time, factories: [new JamfConnectorFactory()]);
        await using var _ = env;
        await env.Engine.Store.UpsertPeopleAsync([new Person("dan", "dan@example.com", "dan", null, "Sales", "Rep", "Lyon", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")], CancellationToken.None);
        await env.DiscoverAsync();

        var result = await env.Engine.SubmitAsync(Deprov.Testing.Some.Leave("dan", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        for (var i = 0; i < 2; i++)
        {
            time.Advance(TimeSpan.FromSeconds(301));
            await env.RunUntilIdleAsync();
        }

        var step = (await env.Engine.Store.GetStepsAsync(result.Plan!.Case.Id, CancellationToken.None)).Single(s => s.Action == ActionKind.LockDevice);
        Assert.Equal(StepStatus.Unconfirmed, step.Status); // the lock was sent: unconfirmed, verify by hand, not "do it by hand"
        Assert.Contains("still PENDING", step.Error, StringComparison.Ordinal);
        Assert.Single(server.CommandsFor(server.ManagementIdOfComputer(mac)));
        Assert.Equal(1, server.SignIns);
        Assert.True((await env.Engine.Store.VerifyAuditChainAsync(CancellationToken.None)).Ok);
    }
}
