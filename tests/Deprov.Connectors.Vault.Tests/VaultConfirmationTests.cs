using Deprov.Connectors.Vault.Tests.Fake;
using Deprov.Connectors.Vault.Tests.Support;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Testing;
using Xunit.Abstractions;

namespace Deprov.Connectors.Vault.Tests;

/// <summary>
/// Vault answers an empty LIST with 404, the same answer as a wrong path: a person's logins are confirmed revoked only by
/// a read that could have shown them (the mount's login list answering without the person, or the token store), never
/// by the 404 alone. The fake's bad habits: revocations accepted and ignored, lease lists answering 404 whatever they
/// hold, an accessor list answering 404.
/// </summary>
public sealed class VaultConfirmationTests(ITestOutputHelper output)
{
    [Flags]
    public enum Habit
    {
        Faithful = 0,
        IgnoreRevokes = 1,
        LeaseListsAnswer404 = 2,
        AccessorListAnswers404 = 4,
    }

    [Fact]
    public async Task Revoke_LeaseListsAnswer404WhileTheTokenLives_RevokedAnywayAndConfirmedFromTheTokenStore()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.Login("ldap", "ann");
        using var connector = VaultTest.Connect(server);
        var action = VaultTest.Action(ActionKind.RevokeToken, "login:ldap/ann");
        server.LeaseListsAnswer404 = true;

        var before = await connector.ReadBackAsync(action, CancellationToken.None);
        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        var after = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.False(before.Confirmed);
        Assert.Equal("1", before.Observed["tokens"]);
        Assert.False(result.AlreadyInState);
        Assert.Equal(0, server.TokenCount("auth/ldap/login/ann"));
        Assert.True(after.Confirmed, string.Join(", ", after.Observed));
        Assert.Equal("0", after.Observed["tokens"]);
    }

    [Fact]
    public async Task ReadBack_LeaseListsAnswer404AndRevocationsIgnored_NeverConfirmed()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.Login("ldap", "ann");
        using var connector = VaultTest.Connect(server);
        var action = VaultTest.Action(ActionKind.RevokeToken, "login:ldap/ann");
        server.LeaseListsAnswer404 = true;
        server.IgnoreRevokes = true;

        await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);
        var independent = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        Assert.Equal(1, server.TokenCount("auth/ldap/login/ann"));
        Assert.False(readBack.Confirmed);
        Assert.False(independent!.Confirmed);
    }

    [Fact]
    public async Task ReadIndependently_AccessorListAnswers404_NotConfirmedEvenWithNoTokenLeft()
    {
        await using var server = await VaultTestServer.StartAsync();
        using var connector = VaultTest.Connect(server);
        server.AccessorListAnswers404 = true;

        var read = await connector.ReadIndependentlyAsync(VaultTest.Action(ActionKind.RevokeToken, "login:ldap/ann"), CancellationToken.None);

        Assert.False(read!.Confirmed);
        Assert.Contains("Deprov's own token is alive", read.Observed["accessors"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadIndependently_LoginsRevokedOutsideDeprov_ConfirmedFromTheTokenStore()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.Login("ldap", "ann2");
        server.Login("ldap", "ann");
        using var connector = VaultTest.Connect(server);
        var action = VaultTest.Action(ActionKind.RevokeToken, "login:ldap/ann");

        var live = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
        await connector.ExecuteAsync(action, CancellationToken.None);
        var gone = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        Assert.False(live!.Confirmed);
        Assert.Equal("1", live.Observed["tokens"]);
        Assert.True(gone!.Confirmed, string.Join(", ", gone.Observed));
        Assert.Equal(1, server.TokenCount("auth/ldap/login/ann2"));
    }

    [Fact]
    public async Task ReadIndependently_Rotation_ConfirmedFromTheDataEndpointOnlyForTheStepThatRotated()
    {
        await using var server = await VaultTestServer.StartAsync();
        server.PutSecret("shared/db", new() { ["password"] = "old" });
        using var connector = VaultTest.Connect(server, s => s["kv_prefixes"] = new[] { "shared" });
        var rotate = VaultTest.Action(ActionKind.RotateCredential, "kv:shared/db");
        var other = VaultTest.Action(ActionKind.RotateCredential, "kv:shared/db");

        await connector.ExecuteAsync(rotate, CancellationToken.None);
        var mine = await connector.ReadIndependentlyAsync(rotate, CancellationToken.None);
        var notMine = await connector.ReadIndependentlyAsync(other, CancellationToken.None);

        Assert.True(mine!.Confirmed, string.Join(", ", mine.Observed));
        Assert.Equal("secret data (current version)", mine.Observed["path"]);
        Assert.False(notMine!.Confirmed);
    }

    [Fact]
    public async Task RevokeLogins_EveryHabitCombination_NoReadConfirmsWhileATokenLives()
    {
        var falseConfirmations = new List<string>();
        var missed = new List<string>();
        var reads = 0;
        for (var h = 0; h < 8; h++)
        {
            var habit = (Habit)h;
            await using var server = await VaultTestServer.StartAsync();
            server.Login("ldap", "ann");
            server.Login("ldap", "ann");
            using var connector = VaultTest.Connect(server);
            server.IgnoreRevokes = habit.HasFlag(Habit.IgnoreRevokes);
            server.LeaseListsAnswer404 = habit.HasFlag(Habit.LeaseListsAnswer404);
            server.AccessorListAnswers404 = habit.HasFlag(Habit.AccessorListAnswers404);
            var action = VaultTest.Action(ActionKind.RevokeToken, "login:ldap/ann");

            // Before the cut (the inventory's case) and after it.
            foreach (var stage in new[] { "before", "after" })
            {
                if (stage == "after")
                {
                    await connector.ExecuteAsync(action, CancellationToken.None);
                }

                var first = await connector.ReadBackAsync(action, CancellationToken.None);
                var second = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
                reads += 2;
                var remains = server.TokenCount("auth/ldap/login/ann") > 0 || server.LeaseCount("auth/ldap/login/ann/") > 0;
                foreach (var (read, name) in new[] { (first, "read-back"), (second!, "independent read") })
                {
                    if (read.Confirmed && remains)
                    {
                        falseConfirmations.Add($"{habit} {stage}: {name} confirmed; observed {string.Join(", ", read.Observed)}");
                    }

                    if (habit is Habit.Faithful && stage == "after" && !read.Confirmed)
                    {
                        missed.Add($"{name}: {string.Join(", ", read.Observed)}");
                    }
                }
            }
        }

        output.WriteLine($"habit combinations: 8, reads checked: {reads}, false confirmations: {falseConfirmations.Count}, faithful cuts left unconfirmed: {missed.Count}");
        Assert.True(falseConfirmations.Count == 0, string.Join("\n", falseConfirmations));
        Assert.True(missed.Count == 0, string.Join("\n", missed));
    }

    [Fact]
    public async Task Leave_LeaseTreeHiddenAfterDiscovery_TokensRevokedAndVerifiedByTheTokenStoreOrUnconfirmedWhenRevocationIsIgnored()
    {
        foreach (var ignored in new[] { false, true })
        {
            await using var server = await VaultTestServer.StartAsync();
            server.Login("ldap", "ann");
            var secret = $"DEPROV_E2E_VAULT_CONFIRM_{(ignored ? "IGNORED" : "HIDDEN")}";
            Environment.SetEnvironmentVariable(secret, server.RootToken);
            var yaml = $$"""
                systems:
                  - id: vault
                    kind: vault
                    role: vault
                    risk: critical
                    settings:
                      address: "{{server.Address}}"
                      auth: { type: token, token: env:{{secret}} }
                      auth_mounts: [ldap]
                      email_domain: example.com
                """;
            var env = await TestEnvironment.CreateAsync(yaml, factories: [new VaultConnectorFactory()]);
            await using var _ = env;
            await env.Engine.Store.UpsertPeopleAsync([new Person("ann", "ann@example.com", "ann", null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC")], CancellationToken.None);
            await env.DiscoverAsync();
            server.LeaseListsAnswer404 = true;
            server.IgnoreRevokes = ignored;

            var leave = await env.Engine.SubmitAsync(Some.Leave("ann", env.Time.GetUtcNow()), "admin:test", CancellationToken.None);
            await env.RunUntilIdleAsync();

            var steps = await env.Engine.Store.GetStepsAsync(leave.Plan!.Case.Id, CancellationToken.None);
            var revoke = Assert.Single(steps, s => s.Action == ActionKind.RevokeToken);
            if (ignored)
            {
                Assert.Equal(StepStatus.Unconfirmed, revoke.Status);
                Assert.Equal(1, server.TokenCount("auth/ldap/login/ann"));
                var tasks = await env.Engine.Store.ListTasksAsync(new TaskQuery(PersonId: "ann"), CancellationToken.None);
                Assert.Contains(tasks, t => t.StepId == revoke.Id);
            }
            else
            {
                Assert.True(revoke.Status == StepStatus.Verified, $"{revoke.Status}: {revoke.Error}");
                Assert.Equal(0, server.TokenCount("auth/ldap/login/ann"));
            }
        }
    }
}
