using System.Runtime.CompilerServices;
using Deprov.Connectors.Sandbox;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Reconciliation;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;
using Deprov.Hosting.Reconciliation;
using Deprov.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Hosting.Tests.Reconciliation;

/// <summary>Reconciliation end to end on sandbox systems: correlation, every finding kind, reactions, drift re-revoke,
/// a discovery failing half-way, point-in-time access and the licence report.</summary>
public sealed class ReconciliationTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private static readonly CancellationToken None = CancellationToken.None;

    private static async Task<(TestEnvironment Env, List<Person> People, FakeTimeProvider Time)> SeededAsync(string? yaml = null, string? policy = null,
        Action<List<Person>, Dictionary<string, SandboxSystemState>>? shape = null, IEnumerable<Core.Connectors.IConnectorFactory>? factories = null)
    {
        var time = new FakeTimeProvider(Start);
        var env = await TestEnvironment.CreateAsync(yaml, policy, time, factories);
        var people = new List<Person> { Some.Person(), Some.Person(department: "Sales"), Some.Person() };
        var systems = Some.Systems(people);
        shape?.Invoke(people, systems);
        await env.SeedAsync(people, systems);
        return (env, people, time);
    }

    private static Task<IReadOnlyList<SystemReconciliation>> ReconcileAsync(TestEnvironment env, bool force = false, params string[] systems) =>
        new Reconciler(env.Engine).ReconcileAsync(systems, "admin:test", force, null, None);

    private static async Task<IReadOnlyList<Finding>> FindingsAsync(TestEnvironment env, FindingKind? kind = null, bool openOnly = true) =>
        await env.Engine.Store.ListFindingsAsync(new FindingQuery(kind, OpenOnly: openOnly), None);

    private static async Task<List<string>> AuditActionsAsync(TestEnvironment env)
    {
        var list = new List<string>();
        await foreach (var r in env.Engine.Store.ReadAuditAsync(0, None))
        {
            list.Add(r.Entry.Action);
        }

        return list;
    }

    private static async Task<Account> AccountAsync(TestEnvironment env, string personId, string systemId) =>
        (await env.Engine.Store.GetAccessMapsAsync([personId], None))[0].Accounts.Single(a => a.SystemId == systemId);

    [Fact]
    public async Task ReconcileAsync_OrderedRules_RecordTheRuleThatMatched()
    {
        const string yaml = """
            systems:
              - { id: app, kind: sandbox, correlate: [employee_id, "username:adm-{local}", email], settings: { flavour: app } }
            """;
        var time = new FakeTimeProvider(Start);
        await using var env = await TestEnvironment.CreateAsync(yaml, time: time);
        var (a, b, c) = (Some.Person(), Some.Person(), Some.Person());
        var app = new SandboxSystemState();
        app.Accounts["1"] = new SbAccount { Id = "1", UserName = "whatever", EmployeeId = a.Id };
        app.Accounts["2"] = new SbAccount { Id = "2", UserName = "adm-" + b.Id };
        app.Accounts["3"] = new SbAccount { Id = "3", UserName = "third", Email = c.Email };
        await env.SeedAsync([a, b, c], new Dictionary<string, SandboxSystemState> { ["app"] = app });

        Assert.Equal("employee_id", (await AccountAsync(env, a.Id, "app")).CorrelationRule);
        Assert.Equal("username:adm-{local}", (await AccountAsync(env, b.Id, "app")).CorrelationRule);
        Assert.Equal("email", (await AccountAsync(env, c.Id, "app")).CorrelationRule);
    }

    [Fact]
    public async Task ReconcileAsync_TwoPeopleMatch_IsFlaggedAsConflictNeverGuessed_ThenManualLinkResolvesIt()
    {
        const string yaml = """
            systems:
              - { id: app, kind: sandbox, correlate: [username], settings: { flavour: app } }
            """;
        var time = new FakeTimeProvider(Start);
        await using var env = await TestEnvironment.CreateAsync(yaml, time: time);
        var sam1 = Some.Person() with { Email = "sam@one.example" };
        var sam2 = Some.Person() with { Email = "sam@two.example" };
        var app = new SandboxSystemState();
        app.Accounts["s"] = new SbAccount { Id = "s", UserName = "sam" };
        await env.SeedAsync([sam1, sam2], new Dictionary<string, SandboxSystemState> { ["app"] = app });
        await ReconcileAsync(env, force: true);

        var orphan = Assert.Single(await FindingsAsync(env, FindingKind.Orphan));
        Assert.Null(orphan.PersonId);
        Assert.Contains("conflict (username)", orphan.Evidence, StringComparison.Ordinal);
        Assert.Contains(sam1.Id, orphan.Evidence, StringComparison.Ordinal);
        Assert.Contains(sam2.Id, orphan.Evidence, StringComparison.Ordinal);

        await env.Engine.Store.LinkAccountAsync(new CorrelationLink("app", "s", sam2.Id, "admin:test", Start),
            new Core.Audit.AuditEntry(Start, "admin:test", "correlation_link", "app", "app/s", sam2.Id, null, null, null, null, "ok", null), None);
        time.Advance(TimeSpan.FromMinutes(5));
        await ReconcileAsync(env);

        Assert.Equal(CorrelationLink.RuleFor("admin:test"), (await AccountAsync(env, sam2.Id, "app")).CorrelationRule);
        Assert.Empty(await FindingsAsync(env, FindingKind.Orphan));
        Assert.Contains("correlation_link", await AuditActionsAsync(env));
    }

    [Fact]
    public async Task ReconcileAsync_EveryKindButDrift_IsFoundWithEvidenceAndReported()
    {
        const string policy = """
            policy:
              roles:
                - { name: engineer, departments: [Engineering], entitlements: [slack:engineering] }
            reconciliation:
              dormant_days: { default: 0, okta: 30 }
            """;
        var (env, people, _) = await SeededAsync(policy: policy, shape: (people, systems) =>
        {
            people[0] = people[0] with { Status = PersonStatus.Left, EndDate = DateOnly.FromDateTime(Start.UtcDateTime) };
            systems["slack"].Accounts["ghost"] = new SbAccount { Id = "ghost", UserName = "ghost@elsewhere.example", Email = "ghost@elsewhere.example" };
            systems["okta"].Accounts["00u3"].LastSignIn = Start.AddDays(-45);
            Some.Member(systems["slack"], "engineering", "sl2"); // people[1] is in Sales
        });
        await using var _ = env;
        var results = await ReconcileAsync(env, force: true);
        Assert.All(results, r => Assert.Null(r.Error));

        var findings = await FindingsAsync(env);
        var leaver = people[0].Id;
        Assert.Contains(findings, f => f.Kind == FindingKind.Orphan && f.Target == "slack/ghost");
        Assert.Contains(findings, f => f.Kind == FindingKind.LeaverStillActive && f.PersonId == leaver && f.SystemId == "okta");
        Assert.Contains(findings, f => f.Kind == FindingKind.OwnedByLeaver && f.Target == "vault/tok-1" && f.Evidence.StartsWith("api_token", StringComparison.Ordinal));
        Assert.Contains(findings, f => f.Kind == FindingKind.OwnedByLeaver && f.Target == "vault/svc-ci");
        Assert.Contains(findings, f => f.Kind == FindingKind.SharedCredentialNotRotated && f.Target == "vault/sec-db" && f.Evidence.Contains(leaver, StringComparison.Ordinal));
        var dormant = Assert.Single(findings, f => f.Kind == FindingKind.Dormant);
        Assert.Equal(("okta", "okta/00u3"), (dormant.SystemId, dormant.Target));
        Assert.Contains("45 days ago", dormant.Evidence, StringComparison.Ordinal);
        var mover = Assert.Single(findings, f => f.Kind == FindingKind.MoverLeftover);
        Assert.Equal(("slack/sl2|slack/g-engineering", people[1].Id), (mover.Target, mover.PersonId));
        Assert.DoesNotContain(findings, f => f.Kind == FindingKind.Drift);
        Assert.All(findings, f => Assert.Equal((FindingReaction.Report, Start), (f.Reaction!.Value, f.FirstSeenAt)));
        Assert.Empty(await env.Engine.Store.ListCasesAsync(new CaseQuery(Statuses: null), None));
    }

    [Fact]
    public async Task ReconcileAsync_TaskReaction_RaisesATaskForTheSystemOwner()
    {
        const string policy = """
            reconciliation:
              reactions:
                orphan: { default: report, slack: task }
            """;
        var (env, _, _) = await SeededAsync(policy: policy, shape: (_, systems) =>
            systems["slack"].Accounts["ghost"] = new SbAccount { Id = "ghost", UserName = "ghost@elsewhere.example" });
        await using var __ = env;
        await ReconcileAsync(env, force: true);

        var orphan = Assert.Single(await FindingsAsync(env, FindingKind.Orphan));
        Assert.Equal(FindingReaction.Task, orphan.Reaction);
        var task = Assert.Single(await env.Engine.Store.ListTasksAsync(new TaskQuery(), None), t => t.Id == orphan.ReactionRef);
        Assert.Equal(Team.Security, task.Team);
        Assert.Contains("slack/ghost", task.Title, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReconcileAsync_DriftAfterLeaverCut_IsReRevokedThroughTheEngineWithAnAlert()
    {
        var (env, people, time) = await SeededAsync();
        await using var _ = env;
        var alice = people[0];
        await env.Engine.SubmitAsync(Some.Leave(alice.Id, Start), "admin:test", None);
        await env.RunUntilIdleAsync();
        await ReconcileAsync(env);
        Assert.Empty(await FindingsAsync(env, FindingKind.Drift));

        // Someone turns the access back on behind Deprov's back.
        await using (var world = env.AcquireWorld())
        {
            world.System("okta").Accounts["00u1"].Active = true;
            world.System("slack").Members["g-general"].Add("sl1");
            world.System("okta").Touch(); // a real system would move its change counter (USN) too
            world.System("slack").Touch();
        }

        time.Advance(TimeSpan.FromHours(1));
        var results = await ReconcileAsync(env);
        Assert.Equal(2, results.Sum(r => r.Remediations));
        var drift = await FindingsAsync(env, FindingKind.Drift);
        Assert.Equal(["okta/00u1", "slack/sl1|slack/g-general"], drift.Select(f => f.Target).Order(StringComparer.Ordinal));
        Assert.All(drift, f => Assert.Equal(FindingReaction.Remediate, f.Reaction));
        Assert.Contains("disable_account", drift.Single(f => f.SystemId == "okta").Evidence, StringComparison.Ordinal);

        await env.RunUntilIdleAsync();
        await using (var world = env.AcquireWorld())
        {
            Assert.False(world.System("okta").Accounts["00u1"].Active);
            Assert.DoesNotContain("sl1", world.System("slack").Members["g-general"]);
        }

        var steps = new List<Step>();
        foreach (var f in drift)
        {
            var kase = (await env.Engine.Store.GetCaseAsync(f.ReactionRef!, None))!;
            Assert.Equal((CaseKind.Remediation, CaseStatus.Verified, alice.Id), (kase.Kind, kase.Status, kase.PersonId));
            steps.AddRange(await env.Engine.Store.GetStepsAsync(kase.Id, None));
        }

        Assert.Contains(steps, s => s.Action == ActionKind.DisableAccount && s.AccountId == "okta/00u1" && s.Status == StepStatus.Verified);
        Assert.Contains(steps, s => s.Action == ActionKind.RemoveEntitlement && s.EntitlementId == "slack/g-general" && s.Status == StepStatus.Verified);
        Assert.Equal(2, (await AuditActionsAsync(env)).Count(a => a == "alert"));

        time.Advance(TimeSpan.FromHours(1));
        await ReconcileAsync(env);
        Assert.Empty(await FindingsAsync(env, FindingKind.Drift));
    }

    [Fact]
    public async Task ReconcileAsync_RemediateLeaverOwnedCredentials_RevokesTheTokenAndDisablesTheServiceAccount()
    {
        const string policy = """
            reconciliation:
              reactions: { owned_by_leaver: remediate }
            """;
        var (env, people, _) = await SeededAsync(policy: policy, shape: (people, _) => people[0] = people[0] with { Status = PersonStatus.Left });
        await using var __ = env;
        var results = await ReconcileAsync(env, force: true, "vault");
        Assert.Equal(1, results.Single().Remediations);
        await env.RunUntilIdleAsync();

        await using (var world = env.AcquireWorld())
        {
            Assert.False(world.System("vault").Credentials["tok-1"].Active);
            Assert.False(world.System("vault").Credentials["svc-ci"].Active);
        }

        var owned = await FindingsAsync(env, FindingKind.OwnedByLeaver);
        var steps = await env.Engine.Store.GetStepsAsync(owned[0].ReactionRef!, None);
        Assert.Contains(steps, s => s.Action == ActionKind.RevokeToken && s.CredentialId == "vault/tok-1" && s.Status == StepStatus.Verified);
        Assert.Contains(steps, s => s.Action == ActionKind.DisableServiceAccount && s.CredentialId == "vault/svc-ci" && s.Status == StepStatus.Verified);
        Assert.DoesNotContain(await AuditActionsAsync(env), a => a == "alert"); // only drift alerts
    }

    [Theory]
    [InlineData(1)] // right after the accounts (one block of columns)
    [InlineData(3)] // after some entitlements as well
    public async Task ReconcileAsync_DiscoveryFailsHalfWay_ChangesNothingForThatSystem_OthersGoOn(int failAfter)
    {
        const string yaml = """
            systems:
              - { id: okta, kind: halfway, role: identity_provider, correlate: [email], settings: { flavour: idp } }
              - { id: slack, kind: sandbox, settings: { flavour: app } }
            """;
        var halfway = new HalfwayFailingConnectorFactory();
        var (env, people, time) = await SeededAsync(yaml, factories: [halfway]);
        await using var _ = env;
        await ReconcileAsync(env, force: true);
        var before = await env.Engine.Store.GetDiscoveryStateAsync("okta", None);

        await using (var world = env.AcquireWorld())
        {
            world.System("okta").Accounts["00u1"].Active = false;
            world.System("okta").Accounts["new"] = new SbAccount { Id = "new", UserName = "new@elsewhere.example" };
            world.System("slack").Accounts["ghost"] = new SbAccount { Id = "ghost", UserName = "ghost@elsewhere.example" };
            world.System("okta").Touch();
            world.System("slack").Touch();
        }

        halfway.FailAfter = failAfter;
        time.Advance(TimeSpan.FromHours(1));
        var results = await ReconcileAsync(env);

        Assert.Contains("connection reset", results.Single(r => r.SystemId == "okta").Error, StringComparison.Ordinal);
        Assert.Null(results.Single(r => r.SystemId == "slack").Error);
        Assert.Equal(AccountStatus.Active, (await AccountAsync(env, people[0].Id, "okta")).Status);
        Assert.Equal(before, await env.Engine.Store.GetDiscoveryStateAsync("okta", None));
        Assert.DoesNotContain(await FindingsAsync(env), f => f.Target == "okta/new");
        Assert.Contains(await FindingsAsync(env), f => f.Target == "slack/ghost");
        Assert.Contains("discovery_failed", await AuditActionsAsync(env));

        halfway.FailAfter = null;
        await ReconcileAsync(env);
        Assert.Equal(AccountStatus.Disabled, (await AccountAsync(env, people[0].Id, "okta")).Status);
        Assert.Contains(await FindingsAsync(env), f => f.Target == "okta/new");
    }

    [Fact]
    public async Task GetAccessAtAsync_PastMoments_AnswerFromTheRecordedHistory()
    {
        var (env, people, time) = await SeededAsync();
        await using var _ = env;
        var alice = people[0].Id;
        await ReconcileAsync(env, force: true); // discovered at Start
        time.Advance(TimeSpan.FromHours(1));
        await env.Engine.SubmitAsync(Some.Leave(alice, time.GetUtcNow()), "admin:test", None);
        await env.RunUntilIdleAsync(); // verified at Start + 1h
        time.Advance(TimeSpan.FromHours(1));
        await ReconcileAsync(env);

        var before = await env.Engine.Store.GetAccessAtAsync(alice, Start.AddMinutes(30), None);
        Assert.Contains(before, r => r.AccountId == "okta/00u1" && r.EntitlementId is null && r.Status == AccountStatus.Active && r.To == Start.AddHours(1));
        Assert.Contains(before, r => r.AccountId == "slack/sl1" && r.EntitlementId == "slack/g-slack-seat");
        Assert.Contains(before, r => r.AccountId == "okta/00u1" && r.EntitlementId == "okta/g-super-admins");

        var after = await env.Engine.Store.GetAccessAtAsync(alice, Start.AddMinutes(90), None);
        Assert.Contains(after, r => r.AccountId == "okta/00u1" && r.EntitlementId is null && r.Status == AccountStatus.Disabled && r.From == Start.AddHours(1));
        Assert.DoesNotContain(after, r => r.EntitlementId is not null && r.SystemId is "okta" or "slack");
        Assert.Empty(await env.Engine.Store.GetAccessAtAsync(alice, Start.AddDays(-1), None));
    }

    [Fact]
    public async Task GetLicenceUsageAsync_RevokedAndDormantSeats_CostedPerSystem_ExportedAsCsv()
    {
        const string policy = """
            reconciliation:
              dormant_days: { default: 0, slack: 60 }
            """;
        var (env, people, _) = await SeededAsync(policy: policy, shape: (_, systems) => systems["slack"].Accounts["sl2"].LastSignIn = Start.AddDays(-100));
        await using var __ = env;
        await env.Engine.SubmitAsync(Some.Leave(people[0].Id, Start), "admin:test", None);
        await env.RunUntilIdleAsync();
        await ReconcileAsync(env, force: true);

        var slack = (await env.Engine.Store.GetLicenceUsageAsync(None)).Single(r => r.SystemId == "slack");
        Assert.Equal((1, 1, 2), (slack.RevokedSeats, slack.DormantSeats, slack.ActiveAccounts));
        Assert.Equal((8.75m, 8.75m), (slack.MonthlyFreed, slack.MonthlyReclaimable));
        await using var text = new StringWriter();
        await Deprov.Hosting.Csv.CsvExport.WriteLicencesAsync(text, [slack], None);
        var csv = text.ToString().Split('\n');
        Assert.Equal("system,name,cost_per_seat,active_accounts,revoked_seats,monthly_freed,dormant_seats,monthly_reclaimable", csv[0]);
        Assert.Equal("slack,slack,8.75,2,1,8.75,1,8.75", csv[1]);
    }

    [Theory]
    [InlineData(SplitMode.OneByOne)]
    [InlineData(SplitMode.Mixed)]
    public async Task DiscoverAsync_AccountsAndMembersInBlocksOrOneByOne_SameInventoryAndFingerprint(SplitMode mode)
    {
        var people = new List<Person> { Some.Person(), Some.Person(department: "Sales"), Some.Person() };
        var systems = Some.Systems(people);
        systems["slack"].Accounts["ghost"] = new SbAccount { Id = "ghost", UserName = "ghost@elsewhere.example", EmployeeId = "e-ghost", LastSignIn = Start.AddDays(-3) };
        systems["slack"].Accounts["sl2"].Active = false;
        const string yaml = "systems:\n  - { id: slack, kind: KIND, correlate: [employee_id, email], settings: { flavour: app } }\n";
        await using var grouped = await TestEnvironment.CreateAsync(yaml.Replace("KIND", "sandbox", StringComparison.Ordinal), time: new FakeTimeProvider(Start));
        await using var single = await TestEnvironment.CreateAsync(yaml.Replace("KIND", "split", StringComparison.Ordinal), time: new FakeTimeProvider(Start),
            factories: [new SplittingConnectorFactory(mode)]);
        await grouped.SeedAsync(people, systems);
        await single.SeedAsync(people, systems);

        var a = await grouped.Engine.Store.GetAccessMapsAsync([.. people.Select(p => p.Id)], None);
        var b = await single.Engine.Store.GetAccessMapsAsync([.. people.Select(p => p.Id)], None);
        Assert.NotEmpty(a.SelectMany(m => m.Assignments));
        Assert.Equal(
            b.SelectMany(m => m.Assignments).Select(x => (x.AccountId, x.EntitlementId)).Order(),
            a.SelectMany(m => m.Assignments).Select(x => (x.AccountId, x.EntitlementId)).Order());
        Assert.Equal(b.SelectMany(m => m.Accounts).OrderBy(x => x.Id, StringComparer.Ordinal), a.SelectMany(m => m.Accounts).OrderBy(x => x.Id, StringComparer.Ordinal));
        Assert.Equal(3, a.SelectMany(m => m.Accounts).Count());
        Assert.Equal(await single.Engine.Store.GetAccountAsync("slack/ghost", None), await grouped.Engine.Store.GetAccountAsync("slack/ghost", None));
        Assert.Equal((await single.Engine.Store.GetDiscoveryStateAsync("slack", None))!.Fingerprint,
            (await grouped.Engine.Store.GetDiscoveryStateAsync("slack", None))!.Fingerprint);
    }

    public enum SplitMode
    {
        /// <summary>One <see cref="DiscoveredAccount"/> per account and one <see cref="DiscoveredMembership"/> per member.</summary>
        OneByOne,

        /// <summary>Accounts alternately as single objects and as blocks of two rows; members one by one.</summary>
        Mixed,
    }

    /// <summary>Connector kind <c>split</c>: a sandbox system that sends its accounts one by one (or some one by one and
    /// the rest in small blocks) instead of one <see cref="DiscoveredAccounts"/>, and one <see cref="DiscoveredMembership"/>
    /// per member instead of one <see cref="DiscoveredMembers"/> per group, as the SCIM and LDAP connectors do.</summary>
    private sealed class SplittingConnectorFactory(SplitMode mode) : IConnectorFactory
    {
        private readonly SandboxConnectorFactory _sandbox = new();

        public string Kind => "split";

        public IReadOnlyList<ValidationError> Validate(ConnectedSystem system, SettingsNode settings) => _sandbox.Validate(system, settings);

        public IConnector Create(ConnectedSystem system, SettingsNode settings, ConnectorContext context) => new Connector(_sandbox.Create(system, settings, context), mode);

        private sealed class Connector(IConnector inner, SplitMode mode) : IConnector, IAsyncDisposable
        {
            public ConnectorDescriptor Describe() => inner.Describe();

            public async IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
            {
                await foreach (var o in inner.DiscoverAsync(request, cancellationToken))
                {
                    if (o is DiscoveredAccounts block)
                    {
                        for (var i = 0; i < block.Count;)
                        {
                            if (mode == SplitMode.OneByOne || i % 3 == 0 || i + 1 == block.Count)
                            {
                                yield return block[i++];
                            }
                            else
                            {
                                yield return DiscoveredAccounts.From([block[i], block[i + 1]]);
                                i += 2;
                            }
                        }
                    }
                    else if (o is DiscoveredMembers g)
                    {
                        foreach (var member in g.AccountExternalIds)
                        {
                            yield return new DiscoveredMembership(member, g.EntitlementExternalId);
                        }
                    }
                    else
                    {
                        yield return o;
                    }
                }
            }

            public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken) => inner.ExecuteAsync(action, cancellationToken);

            public Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken) => inner.ReadBackAsync(action, cancellationToken);

            public ValueTask DisposeAsync() => inner is IAsyncDisposable d ? d.DisposeAsync() : ValueTask.CompletedTask;
        }
    }

    [Fact]
    public async Task ReconcileAsync_NothingChanged_SecondRunRewritesNothing()
    {
        var (env, _, time) = await SeededAsync(shape: (_, systems) =>
            systems["slack"].Accounts["ghost"] = new SbAccount { Id = "ghost", UserName = "ghost@elsewhere.example" });
        await using var _ = env;
        var first = await ReconcileAsync(env);
        time.Advance(TimeSpan.FromMinutes(10));
        var second = await ReconcileAsync(env);

        Assert.All(second, r => Assert.True(r.Unchanged, r.SystemId));
        Assert.Equal(first.Sum(r => r.OpenFindings), second.Sum(r => r.OpenFindings));
        Assert.Equal(Start.AddMinutes(10), (await env.Engine.Store.GetDiscoveryStateAsync("slack", None))!.CompletedAt);
    }

    [Fact]
    public async Task RunDueAsync_ScheduledSystem_IsReconciledWhenDue()
    {
        const string policy = """
            reconciliation:
              schedule: { default: off, slack: every 6h }
            """;
        var (env, _, time) = await SeededAsync(policy: policy);
        await using var _ = env;
        var scheduler = new ReconciliationScheduler(env.Engine, NullLogger.Instance);
        Assert.Equal(Start.AddHours(6), await scheduler.RunDueAsync(None)); // seeded at Start: next at +6h

        time.Advance(TimeSpan.FromHours(6));
        Assert.Equal(Start.AddHours(12), await scheduler.RunDueAsync(None));
        Assert.Equal(Start.AddHours(6), (await env.Engine.Store.GetDiscoveryStateAsync("slack", None))!.CompletedAt);
        Assert.Equal(Start, (await env.Engine.Store.GetDiscoveryStateAsync("okta", None))!.CompletedAt);
    }
}
