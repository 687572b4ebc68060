using Deprov.Connectors.Aws.Tests.Fake;
using Deprov.Core.Model;
using Deprov.Core.Store;

namespace Deprov.Connectors.Aws.Tests;

/// <summary>A leaver case through the engine, with an AWS account configured in deprov.yaml as <c>kind: aws_iam</c>.</summary>
public sealed class AwsIamEngineLeaverTests
{
    [Fact]
    public async Task Leave_AwsIamUser_ConsoleCutKeysRevokedGroupsLeftCaseVerified()
    {
        await using var server = await IamFakeServer.StartAsync(new IamFakeOptions { SecretAccessKey = "e2e/aws+secret+access+key+0000000000000" });
        var ann = server.AddUser("ann", keys: 2, emailTag: "ann@example.com");
        var bob = server.AddUser("bob", emailTag: "bob@example.com");
        var developers = server.AddGroup("developers", null, ann, bob);
        var admins = server.AddGroup("admins", ["AdministratorAccess"], ann);
        Environment.SetEnvironmentVariable("DEPROV_E2E_AWS_SECRET", server.Options.SecretAccessKey);
        var yaml = $$"""
            systems:
              - id: aws
                kind: aws_iam
                role: application
                risk: critical
                correlate: [email]
                settings:
                  endpoint: "{{server.Endpoint}}"
                  access_key_id: {{server.Options.AccessKeyId}}
                  secret_access_key: env:DEPROV_E2E_AWS_SECRET
            """;
        var env = await TestEnvironment.CreateAsync(yaml, factories: [new AwsIamConnectorFactory()]);
        await using var _ = env;
        var people = new[] { "ann", "bob" }.Select(n => new Person(n, $"{n}@example.com", n, null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")).ToList();
        await env.Engine.Store.UpsertPeopleAsync(people, CancellationToken.None);
        await env.DiscoverAsync();
        var map = (await env.Engine.Store.GetAccessMapsAsync(["ann"], CancellationToken.None)).Single();
        Assert.Equal(2, map.Assignments.Count);
        Assert.Contains(map.Entitlements, e => e.Name == "admins" && e.Privileged);
        Assert.Equal(2, map.CredentialsOwned.Count);

        var result = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var kase = (await env.Engine.Store.GetCaseAsync(result.Plan!.Case.Id, CancellationToken.None))!;
        var steps = await env.Engine.Store.GetStepsAsync(kase.Id, CancellationToken.None);
        Assert.True(kase.CutVerifiedAt is not null, string.Join("\n", steps.Select(s => $"{s.Action} {s.Target} {s.Status} {s.Error}")));
        Assert.Equal(2, steps.Count(s => s.Action == ActionKind.RevokeToken));
        Assert.False(server.HasLoginProfile(ann));
        Assert.All(server.KeysOf(ann), k => Assert.Equal("Inactive", server.KeyStatus(ann, k)));
        Assert.False(server.IsMember(developers, ann));
        Assert.False(server.IsMember(admins, ann));
        Assert.True(server.HasLoginProfile(bob));
        Assert.Equal("Active", server.KeyStatus(bob, server.KeysOf(bob)[0]));
        Assert.True(server.IsMember(developers, bob));
        Assert.True(server.UserExists(ann));
        Assert.True((await env.Engine.Store.VerifyAuditChainAsync(CancellationToken.None)).Ok);
        await foreach (var r in env.Engine.Store.ReadAuditAsync(1, CancellationToken.None))
        {
            Assert.DoesNotContain(server.Options.SecretAccessKey, $"{r.Entry.Before}{r.Entry.After}{r.Entry.Detail}", StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Rehire_TokensPhasedAfterAppAccess_KeysAndGroupsBackConsolePasswordATask()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann", keys: 1, emailTag: "ann@example.com");
        var developers = server.AddGroup("developers", null, ann);
        Environment.SetEnvironmentVariable("DEPROV_E2E_AWS_SECRET_REHIRE", server.Options.SecretAccessKey);
        var yaml = $$"""
            systems:
              - id: aws
                kind: aws_iam
                role: application
                risk: critical
                correlate: [email]
                settings:
                  endpoint: "{{server.Endpoint}}"
                  access_key_id: {{server.Options.AccessKeyId}}
                  secret_access_key: env:DEPROV_E2E_AWS_SECRET_REHIRE
            """;
        // The disable and the key revocations are in one phase by default, and whichever reads the keys last records
        // them as already inactive; a phase of its own for tokens makes the disable record them (docs/connectors/aws-iam.md).
        const string Policy = """
            policy:
              ordering:
                phases: [sign_in, [app_access, privileged, shared_credentials, devices, physical], tokens, licences]
            """;
        var env = await TestEnvironment.CreateAsync(yaml, Policy, factories: [new AwsIamConnectorFactory()]);
        await using var _ = env;
        await env.Engine.Store.UpsertPeopleAsync([new Person("ann", "ann@example.com", "ann", null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")],
            CancellationToken.None);
        await env.DiscoverAsync();
        await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
        await env.RunUntilIdleAsync();
        var key = Assert.Single(server.KeysOf(ann));
        Assert.Equal("Inactive", server.KeyStatus(ann, key));

        var rehire = await env.Engine.SubmitAsync(Some.Event(EventKind.Rehire, "ann", env.Time.GetUtcNow()), "admin:hr", CancellationToken.None);
        await env.RunUntilIdleAsync();

        var steps = await env.Engine.Store.GetStepsAsync(rehire.Plan!.Case.Id, CancellationToken.None);
        var enable = Assert.Single(steps, s => s.Action == ActionKind.EnableAccount);
        Assert.True(server.IsMember(developers, ann));
        Assert.False(server.HasLoginProfile(ann));
        Assert.Equal("Active", server.KeyStatus(ann, key));
        // The console password is the part no API can give back: a person gets a task saying how to set a new one.
        Assert.False(enable.Status.IsSuccess(), $"{enable.Status}");
        var tasks = await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: "ann"), CancellationToken.None);
        Assert.Contains(tasks, t => t.StepId == enable.Id && t.Detail.Contains("create-login-profile", StringComparison.Ordinal));
    }
}
