using Deprov.Connectors.Sandbox;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Hosting.Execution;
using Deprov.Testing.Scim;
using Deprov.Testing;

namespace Deprov.Testing.Truth;

/// <summary>One scenario's count: what the engine said about each access-cutting step, against what the system holds.</summary>
/// <param name="FalseVerified">Steps reported verified whose target still holds the access: the figure that must be 0.</param>
/// <param name="Loud">Steps whose access remains and that say so: unconfirmed or failed (with a task), or scheduled to try again.</param>
/// <param name="Silent">Steps whose access remains and that are neither verified nor loud (cancelled, skipped, …).</param>
/// <param name="EvidenceLost">Verified steps whose recorded before-state already shows the access gone.</param>
/// <param name="NotAttempted">Steps the engine never sent (held back behind a step that did not succeed); they stay open in their case.</param>
/// <param name="Unplanned">Access the system still holds for a leaver that no step was ever planned for (discovery did
/// not see it): not a false success, but access nobody will cut.</param>
public sealed record TruthTally(int Steps, int Verified, int FalseVerified, int Loud, int Silent, int EvidenceLost, int NotAttempted = 0, int Unplanned = 0)
{
    public static TruthTally Zero { get; } = new(0, 0, 0, 0, 0, 0);

    public TruthTally Add(TruthTally o) => new(Steps + o.Steps, Verified + o.Verified, FalseVerified + o.FalseVerified, Loud + o.Loud,
        Silent + o.Silent, EvidenceLost + o.EvidenceLost, NotAttempted + o.NotAttempted, Unplanned + o.Unplanned);
}

public sealed record TruthScenario(string Name, Func<CancellationToken, Task<TruthTally>> RunAsync);

/// <summary>
/// The truth matrix: misbehaving systems (ignored writes, fooled reads, not-found answers, outages, crashes between
/// the call and the commit, …) on every connector kind where they apply. Each scenario offboards a few people, then
/// asks the system itself whether each step reported verified really cut the access. Run in full by
/// <c>deprov bench truth</c>; the suite runs it too.
/// </summary>
public static class TruthMatrix
{
    /// <summary>Every scenario, offboarding <paramref name="people"/> people each.</summary>
    public static IReadOnlyList<TruthScenario> Scenarios(int people) => [.. SandboxScenarios(people), .. ScimScenarios(people), .. LdapScenarios(people)];

    /// <summary>Each sandbox flavour plays one role (directory, identity provider, app, device manager, badge system,
    /// vault) with the real sandbox connector inside; every habit is played around it.</summary>
    private static IEnumerable<TruthScenario> SandboxScenarios(int people) =>
        from flavour in new[] { SandboxFlavour.Directory, SandboxFlavour.Idp, SandboxFlavour.App, SandboxFlavour.Mdm, SandboxFlavour.Badge, SandboxFlavour.Vault }
        from habit in Enum.GetValues<Habit>()
        select new TruthScenario($"sandbox-{Snake(flavour.ToString())}/{Snake(habit.ToString())}", ct => RunSandboxAsync(flavour, habit, people, ct));

    private static async Task<TruthTally> RunSandboxAsync(SandboxFlavour flavour, Habit habit, int people, CancellationToken ct)
    {
        const string System = "sys";
        var recorder = new TruthRecorder { Budget = habit == Habit.PartialOutage ? 4 : 2 };
        var role = flavour switch
        {
            SandboxFlavour.Directory => "directory",
            SandboxFlavour.Idp => "identity_provider",
            SandboxFlavour.Mdm => "device_manager",
            SandboxFlavour.Badge => "badge",
            SandboxFlavour.Vault => "vault",
            _ => "application",
        };
        var yaml = $$"""
            systems:
              - { id: {{System}}, kind: truth_sandbox, role: {{role}}, correlate: [attribute:employeeNumber, email], settings: { flavour: {{Snake(flavour.ToString())}} } }
            """;
        const string Policy = "policy:\n  safety_brake: { enabled: false }\n  execution: { max_attempts: 2, base_delay: 10ms, max_delay: 50ms }\n";
        var env = await TestEnvironment.CreateAsync(yaml, Policy, factories: [new TruthConnectorFactory(new SandboxConnectorFactory(), "truth_sandbox", habit, recorder)]);
        try
        {
            var (persons, state) = Company(System, flavour, people);
            await env.SeedAsync(persons, new Dictionary<string, SandboxSystemState>(StringComparer.Ordinal) { [System] = state });
            var now = env.Time.GetUtcNow();
            await env.Engine.SubmitManyAsync(
                persons.Select(p => new LifecycleEvent(string.Empty, EventKind.Leave, p.Id, now, ExitReason.Involuntary, "bench", string.Empty, default)).ToList(),
                "admin:bench", ct);
            env = await RunAsync(env, recorder, habit == Habit.CrashAfterCall, yaml, Policy,
                new TruthConnectorFactory(new SandboxConnectorFactory(), "truth_sandbox", Habit.None, recorder), ct);
            var world = env.AcquireWorld();
            await using (world)
            {
                var truth = world.System(System);
                return await TallyAsync(env.Engine, persons, recorder, System, action => SandboxAccessRemains(truth, action), ct);
            }
        }
        finally
        {
            await env.DisposeAsync();
        }
    }

    /// <summary>People with what a system of <paramref name="flavour"/> holds for them: an account in a privileged and an
    /// ordinary group, a laptop, or an API token and a shared secret they know.</summary>
    private static (List<Person> People, SandboxSystemState State) Company(string system, SandboxFlavour flavour, int people)
    {
        var state = new SandboxSystemState();
        var groups = flavour is SandboxFlavour.Directory or SandboxFlavour.Idp or SandboxFlavour.App or SandboxFlavour.Badge;
        if (groups)
        {
            state.Groups["admins"] = new SbGroup { Id = "admins", Name = "admins", Kind = EntitlementKind.Group, Privileged = true };
            state.Groups["eng"] = new SbGroup { Id = "eng", Name = "eng", Kind = EntitlementKind.Group };
            state.Members["admins"] = [];
            state.Members["eng"] = [];
        }

        var list = new List<Person>();
        var knowers = new List<string>();
        for (var i = 0; i < people; i++)
        {
            var id = $"t{i:D3}";
            var email = $"{id}@truth.example";
            list.Add(new Person(id, email, $"Truth {i}", null, "Engineering", "Engineer", "Remote", WorkerType.Employee, PersonStatus.Active, null, null, "UTC"));
            var account = $"{system}-{id}";
            switch (flavour)
            {
                case SandboxFlavour.Mdm:
                    state.Devices[$"d-{id}"] = new SbDevice { Id = $"d-{id}", Serial = $"SN{i:D5}", Model = "Laptop", Owner = email, Status = DeviceStatus.Active };
                    break;
                case SandboxFlavour.Vault:
                    state.Accounts[account] = new SbAccount { Id = account, UserName = id, Email = email, EmployeeId = id, Sessions = 1 };
                    state.Credentials[$"tok-{id}"] = new SbCredential { Id = $"tok-{id}", Name = $"API token of {id}", Kind = CredentialKind.ApiToken, Owner = email };
                    knowers.Add(email);
                    break;
                default:
                    state.Accounts[account] = new SbAccount { Id = account, UserName = id, Email = email, EmployeeId = id, Sessions = 1 };
                    state.Members["admins"].Add(account);
                    state.Members["eng"].Add(account);
                    break;
            }
        }

        if (flavour == SandboxFlavour.Vault)
        {
            state.Credentials["sec-shared"] = new SbCredential { Id = "sec-shared", Name = "Shared admin secret", Kind = CredentialKind.SharedSecret, KnownBy = knowers };
        }

        return (list, state);
    }

    private static bool? SandboxAccessRemains(SandboxSystemState truth, ConnectorAction action)
    {
        lock (truth.Sync)
        {
            var account = action.AccountExternalId is { } id && truth.Accounts.TryGetValue(id, out var a) ? a : null;
            var device = action.DeviceExternalId is { } did && truth.Devices.TryGetValue(did, out var d) ? d : null;
            var credential = action.CredentialExternalId is { } cid && truth.Credentials.TryGetValue(cid, out var c) ? c : null;
            return action.Kind switch
            {
                ActionKind.DisableAccount => account is { Active: true, Deleted: false },
                ActionKind.RevokeSessions => account is { Sessions: > 0, Deleted: false },
                ActionKind.ResetPassword => account is { Deleted: false } && account.PasswordResetKey != action.IdempotencyKey,
                ActionKind.RemoveEntitlement or ActionKind.ReclaimLicence => truth.IsMember(action.EntitlementExternalId!, action.AccountExternalId!),
                ActionKind.LockDevice => device is { Status: DeviceStatus.Active },
                ActionKind.WipeDevice => device is not null && device.Status != DeviceStatus.Wiped,
                ActionKind.RevokeToken or ActionKind.DisableServiceAccount => credential is { Active: true },
                ActionKind.RotateCredential => credential is not null && !credential.Rotations.Contains(action.IdempotencyKey),
                _ => null,
            };
        }
    }

    /// <summary>The server's own bad habits, in the SCIM fake (the connector is the real one, unwrapped but recorded).</summary>
    public enum ScimHabit
    {
        /// <summary>Answers filters it does not support with an empty list.</summary>
        LenientFilters,

        /// <summary>Accepts PATCH and PUT with 200 and stores nothing.</summary>
        IgnoredWrites,

        /// <summary>No PATCH, no ETags: every leaver of a group is a read-modify-write PUT of the whole member list, at once.</summary>
        PutOnlyNoEtag,

        /// <summary>Group reads never show members.</summary>
        OmitsMembers,

        /// <summary>The first calls fail with 503, then the server recovers.</summary>
        PartialOutage,
    }

    private static readonly string[] ScimProfiles = ["generic", "slack", "okta", "entra", "salesforce", "zoom", "github_emu"];

    private static IEnumerable<TruthScenario> ScimScenarios(int people) =>
        from profile in ScimProfiles
        from habit in Enum.GetValues<ScimHabit>()
        select new TruthScenario($"scim-{profile}/{Snake(habit.ToString())}", ct => RunScimAsync(profile, habit, people, ct));

    private static async Task<TruthTally> RunScimAsync(string profile, ScimHabit habit, int people, CancellationToken ct)
    {
        const string System = "app";
        var options = profile switch
        {
            "slack" => new ScimServerOptions { DeleteDeactivates = true, EtagSupported = false },
            "entra" => new ScimServerOptions { PatchReturnsNoContent = true },
            "github_emu" => new ScimServerOptions { RejectFilterInPatchPath = true },
            _ => new ScimServerOptions(),
        };
        options = habit switch
        {
            ScimHabit.LenientFilters => options with { LenientFilters = true },
            ScimHabit.IgnoredWrites => options with { IgnoreWrites = true },
            ScimHabit.PutOnlyNoEtag => options with { PatchSupported = false, EtagSupported = false },
            ScimHabit.OmitsMembers => options with { GroupReadsOmitMembers = true },
            _ => options,
        };
        await using var server = await ScimTestServer.StartAsync(options with { RecordRequests = false }, ct);
        var persons = new List<Person>();
        var users = new List<string>();
        for (var i = 0; i < people; i++)
        {
            var email = $"s{i:D3}@truth.example";
            persons.Add(new Person($"s{i:D3}", email, $"Scim {i}", null, "Engineering", "Engineer", "Remote", WorkerType.Employee, PersonStatus.Active, null, null, "UTC"));
            users.Add(server.AddUser(email, email: email));
        }

        string[] groups = [server.AddGroup("workspace-admins", [.. users]), server.AddGroup("engineering", [.. users])];
        var recorder = new TruthRecorder();
        Environment.SetEnvironmentVariable("DEPROV_TRUTH_SCIM_TOKEN", "truth-token"); // the fake takes any token
        var yaml = $$"""
            systems:
              - id: {{System}}
                kind: truth_scim
                role: application
                correlate: [email]
                settings:
                  base_url: "{{server.BaseUrl}}"
                  profile: {{profile}}
                  auth: { type: bearer, token: env:DEPROV_TRUTH_SCIM_TOKEN }
                  privileged_groups: ["*admin*"]
            """;
        const string Policy = "policy:\n  safety_brake: { enabled: false }\n  execution: { max_attempts: 2, base_delay: 10ms, max_delay: 50ms }\n";
        await using var env = await TestEnvironment.CreateAsync(yaml, Policy, factories: [new TruthConnectorFactory(new Deprov.Connectors.Scim.ScimConnectorFactory(), "truth_scim", Habit.None, recorder)]);
        await env.Engine.Store.UpsertPeopleAsync(persons, ct);
        await env.DiscoverAsync();
        if (habit == ScimHabit.PartialOutage)
        {
            server.Faults.FailNext(6, 503);
        }

        var now = env.Time.GetUtcNow();
        await env.Engine.SubmitManyAsync(
            persons.Select(p => new LifecycleEvent(string.Empty, EventKind.Leave, p.Id, now, ExitReason.Involuntary, "bench", string.Empty, default)).ToList(),
            "admin:bench", ct);
        await env.RunUntilIdleAsync();
        var tally = await TallyAsync(env.Engine, persons, recorder, System, action => action.Kind switch
        {
            ActionKind.DisableAccount => server.GetUser(action.AccountExternalId!) is not null && server.IsActive(action.AccountExternalId!),
            ActionKind.RemoveEntitlement => server.IsMember(action.EntitlementExternalId!, action.AccountExternalId!),
            _ => null,
        }, ct);
        var planned = recorder.Actions.Values.Where(a => a.Kind == ActionKind.RemoveEntitlement).Select(a => (a.EntitlementExternalId, a.AccountExternalId)).ToHashSet();
        var unplanned = (from g in groups from u in users where server.IsMember(g, u) && !planned.Contains((g, u)) select 1).Count();
        return tally with { Unplanned = unplanned };
    }

    /// <summary>What goes wrong around a real slapd: a configuration pointing at the wrong subtree after discovery, or a
    /// habit played around the real LDAP connector.</summary>
    public enum LdapHabit
    {
        None,

        /// <summary>After discovery, <c>users.base</c> names a subtree that does not exist.</summary>
        WrongBaseMissing,

        /// <summary>After discovery, <c>users.base</c> names a subtree that exists and holds nobody.</summary>
        WrongBaseExisting,

        IgnoredWrite,
        FooledRead,
        NotFoundConfirms,
        CrashAfterCall,
    }

    private static IEnumerable<TruthScenario> LdapScenarios(int people) =>
        Enum.GetValues<LdapHabit>().Select(h => new TruthScenario($"ldap-openldap/{Snake(h.ToString())}", ct => RunLdapAsync(h, people, ct)));

    private static async Task<TruthTally> RunLdapAsync(LdapHabit habit, int people, CancellationToken ct)
    {
        const string System = "corp-ldap";
        var ou = "truth" + Guid.NewGuid().ToString("N")[..8];
        var root = $"ou={ou},{Ldap.SlapdServer.Suffix}";
        var (peopleDn, groupsDn, emptyDn) = ($"ou=people,{root}", $"ou=groups,{root}", $"ou=empty,{root}");
        var ldif = new System.Text.StringBuilder($"dn: {root}\nobjectClass: organizationalUnit\nou: {ou}\n\n");
        foreach (var o in new[] { "people", "groups", "empty" })
        {
            ldif.Append($"dn: ou={o},{root}\nobjectClass: organizationalUnit\nou: {o}\n\n");
        }

        var persons = new List<Person>();
        for (var i = 0; i < people; i++)
        {
            ldif.Append($"dn: uid=u{i:D3},{peopleDn}\nobjectClass: inetOrgPerson\nuid: u{i:D3}\ncn: User {i}\nsn: {i}\nmail: u{i:D3}@{ou}.example\nemployeeNumber: L{i:D3}\nuserPassword: pw-{i}\n\n");
            persons.Add(new Person($"L{i:D3}", $"u{i:D3}@{ou}.example", $"User {i}", null, "Engineering", "Engineer", "Paris", WorkerType.Employee, PersonStatus.Active, null, null, "UTC"));
        }

        ldif.Append($"dn: cn=staff,{groupsDn}\nobjectClass: groupOfNames\ncn: staff\n").Append(string.Concat(Enumerable.Range(0, people).Select(i => $"member: uid=u{i:D3},{peopleDn}\n"))).Append('\n');
        ldif.Append($"dn: cn=admins,{groupsDn}\nobjectClass: groupOfUniqueNames\ncn: admins\n").Append(string.Concat(Enumerable.Range(0, people).Select(i => $"uniqueMember: uid=u{i:D3},{peopleDn}\n"))).Append('\n');
        await using var slapd = await Ldap.SlapdServer.StartAsync(ldif.ToString(), ct);
        Environment.SetEnvironmentVariable("DEPROV_TRUTH_LDAP_PASSWORD", slapd.ServicePassword);
        string Yaml(string usersBase) => $$"""
            systems:
              - id: {{System}}
                kind: truth_ldap
                role: directory
                correlate: [attribute:employeeNumber]
                settings:
                  host: {{slapd.Host}}
                  port: {{slapd.Port}}
                  security: none
                  bind_dn: "{{Ldap.SlapdServer.ServiceDn}}"
                  bind_password: env:DEPROV_TRUTH_LDAP_PASSWORD
                  flavour: openldap
                  users: { base: "{{usersBase}}" }
                  groups: { base: "{{groupsDn}}" }
                  correlate_attribute: employeeNumber
                  privileged_groups: [admins]
                  timeout_seconds: 5
            """;
        const string Policy = "policy:\n  safety_brake: { enabled: false }\n  execution: { max_attempts: 2, base_delay: 10ms, max_delay: 50ms }\n";
        var recorder = new TruthRecorder();
        var played = habit switch
        {
            LdapHabit.IgnoredWrite => Habit.IgnoredWrite,
            LdapHabit.FooledRead => Habit.FooledRead,
            LdapHabit.NotFoundConfirms => Habit.NotFoundConfirms,
            LdapHabit.CrashAfterCall => Habit.CrashAfterCall,
            _ => Habit.None,
        };
        TruthConnectorFactory Factory(Habit h) => new(new Deprov.Connectors.Ldap.LdapConnectorFactory(), "truth_ldap", h, recorder);
        var env = await TestEnvironment.CreateAsync(Yaml(peopleDn), Policy, factories: [Factory(played)]);
        try
        {
            await env.Engine.Store.UpsertPeopleAsync(persons, ct);
            await env.DiscoverAsync();
            if (habit is LdapHabit.WrongBaseMissing or LdapHabit.WrongBaseExisting)
            {
                await env.Engine.DisposeAsync();
                env = await TestEnvironment.CreateAsync(Yaml(habit == LdapHabit.WrongBaseMissing ? $"ou=nowhere,{root}" : emptyDn), Policy,
                    directory: env.Directory, factories: [Factory(Habit.None)]);
            }

            var now = env.Time.GetUtcNow();
            await env.Engine.SubmitManyAsync(
                persons.Select(p => new LifecycleEvent(string.Empty, EventKind.Leave, p.Id, now, ExitReason.Involuntary, "bench", string.Empty, default)).ToList(),
                "admin:bench", ct);
            env = await RunAsync(env, recorder, played == Habit.CrashAfterCall, Yaml(peopleDn), Policy, Factory(Habit.None), ct);
            var remains = new Dictionary<string, bool>(StringComparer.Ordinal);
            foreach (var (stepId, action) in recorder.Actions)
            {
                if (await LdapAccessRemainsAsync(slapd, action, ct) is { } r)
                {
                    remains[stepId] = r;
                }
            }

            return await TallyAsync(env.Engine, persons, recorder, System, a => remains.TryGetValue(a.IdempotencyKey, out var r) ? r : null, ct);
        }
        finally
        {
            await env.DisposeAsync();
        }
    }

    /// <summary>Runs the engine until idle; with <paramref name="crash"/>, stops it right after a call changed the system
    /// (the recorder's crash hook), then runs a new engine on the same store as a restarted process would.</summary>
    private static async Task<TestEnvironment> RunAsync(TestEnvironment env, TruthRecorder recorder, bool crash, string yaml, string policy,
        IConnectorFactory afterRestart, CancellationToken ct)
    {
        if (crash)
        {
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
            recorder.Crash = stop.Cancel;
            try
            {
                await env.Engine.RunAsync(RunMode.UntilIdle, stop.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // The "crash": steps whose call was made stay running in the store.
            }

            recorder.Crash = null;
            await env.Engine.DisposeAsync();
            env = await TestEnvironment.CreateAsync(yaml, policy, directory: env.Directory, factories: [afterRestart]);
        }

        await env.Engine.RunAsync(RunMode.UntilIdle, ct);
        return env;
    }

    /// <summary>Asks slapd itself, as its root DN, by the entry's <c>entryUUID</c>.</summary>
    private static async Task<bool?> LdapAccessRemainsAsync(Ldap.SlapdServer slapd, ConnectorAction action, CancellationToken ct)
    {
        async Task<string> Entry(string uuid, params string[] attributes) =>
            await slapd.SearchAsync(Ldap.SlapdServer.Suffix, $"(entryUUID={uuid})", attributes, ct);
        switch (action.Kind)
        {
            case ActionKind.DisableAccount:
                var user = await Entry(action.AccountExternalId!, "pwdAccountLockedTime");
                return user.Contains("dn:", StringComparison.Ordinal) && !user.Contains("pwdAccountLockedTime:", StringComparison.Ordinal);
            case ActionKind.RemoveEntitlement:
                var dn = (await Entry(action.AccountExternalId!, "1.1")).Split('\n').FirstOrDefault(l => l.StartsWith("dn: ", StringComparison.Ordinal))?[4..].Trim();
                var group = await Entry(action.EntitlementExternalId!, "member", "uniqueMember");
                return dn is not null && group.Split('\n').Any(l => l.EndsWith(" " + dn, StringComparison.OrdinalIgnoreCase));
            default:
                return null;
        }
    }

    /// <summary>Counts every access-cutting step of the leavers' cases in <paramref name="system"/> against the system.</summary>
    internal static async Task<TruthTally> TallyAsync(DeprovEngine engine, IReadOnlyList<Person> people, TruthRecorder recorder, string system,
        Func<ConnectorAction, bool?> accessRemains, CancellationToken ct)
    {
        var tally = TruthTally.Zero;
        foreach (var person in people)
        {
            foreach (var step in await engine.Store.GetPersonStepsAsync(person.Id, ct))
            {
                if (step.SystemId != system || !step.CutsAccess)
                {
                    continue;
                }

                if (!recorder.Actions.TryGetValue(step.Id, out var action))
                {
                    tally = tally.Add(TruthTally.Zero with { NotAttempted = 1, Verified = step.Status == StepStatus.Verified ? 1 : 0, FalseVerified = step.Status == StepStatus.Verified ? 1 : 0 });
                    continue;
                }

                if (accessRemains(action) is not { } remains)
                {
                    continue;
                }

                var verified = step.Status == StepStatus.Verified;
                var loud = step.Status is StepStatus.Unconfirmed or StepStatus.Failed or StepStatus.Pending or StepStatus.Running or StepStatus.Held;
                var lost = verified && BeforeShowsGone(step);
                tally = tally.Add(new TruthTally(1, verified ? 1 : 0, verified && remains ? 1 : 0, !verified && remains && loud ? 1 : 0,
                    !verified && remains && !loud ? 1 : 0, lost ? 1 : 0));
            }
        }

        return tally;
    }

    /// <summary>The step's recorded before-state already shows the access gone (it recorded the after-state).</summary>
    private static bool BeforeShowsGone(Step step)
    {
        if (step.Before is null)
        {
            return false;
        }

        var before = CoreJson.ParseMap(step.Before);
        return step.Action switch
        {
            ActionKind.DisableAccount => before.TryGetValue("active", out var active) && active == "false",
            ActionKind.RemoveEntitlement => before.TryGetValue("member", out var member) && member == "false",
            _ => false,
        };
    }

    private static string Snake(string pascal) =>
        string.Concat(pascal.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
