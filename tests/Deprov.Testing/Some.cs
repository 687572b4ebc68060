using Deprov.Connectors.Sandbox;
using Deprov.Core.Model;

namespace Deprov.Testing;

/// <summary>Test data builders.</summary>
public static class Some
{
    private static int _next;

    public static string Id(string prefix = "p") => $"{prefix}{Interlocked.Increment(ref _next):D6}";

    public static Person Person(string? id = null, string department = "Engineering", string title = "Software Engineer", WorkerType worker = WorkerType.Employee,
        string? manager = null, string timeZone = "UTC")
    {
        id ??= Id();
        return new Person(id, $"{id}@example.com", $"Person {id}", manager, department, title, "Paris", worker, PersonStatus.Active, null, null, timeZone);
    }

    public static LifecycleEvent Leave(string personId, DateTimeOffset effective, ExitReason reason = ExitReason.Involuntary, string? key = null) =>
        new(string.Empty, EventKind.Leave, personId, effective, reason, "test", key ?? string.Empty, default);

    public static LifecycleEvent Event(EventKind kind, string personId, DateTimeOffset effective, string? newDepartment = null, string? newTitle = null, string? holdSystem = null) =>
        new(string.Empty, kind, personId, effective, ExitReason.None, "test", string.Empty, default, newDepartment, newTitle, holdSystem);

    /// <summary>A sandbox with one person per entry: a directory account (+groups), an SSO account, a Slack account with a
    /// paid seat and an admin role, a laptop, a badge and (for the first person) a shared secret and an API token.</summary>
    public static Dictionary<string, SandboxSystemState> Systems(IReadOnlyList<Person> people, bool withPrivileged = true)
    {
        var dir = new SandboxSystemState();
        var okta = new SandboxSystemState();
        var slack = new SandboxSystemState();
        var jamf = new SandboxSystemState();
        var badges = new SandboxSystemState();
        var vault = new SandboxSystemState();
        Group(dir, "all-staff");
        Group(dir, "dept-engineering");
        Group(dir, "dept-sales");
        Group(dir, "vpn-users", EntitlementKind.Network);
        Group(okta, "everyone");
        Group(okta, "super-admins", privileged: true);
        Group(slack, "slack-seat", EntitlementKind.Licence);
        Group(slack, "general");
        Group(slack, "engineering");
        Group(slack, "workspace-admins", privileged: true);
        Group(badges, "hq-all-doors", EntitlementKind.Permission);
        var i = 0;
        foreach (var p in people)
        {
            i++;
            var local = p.Email[..p.Email.IndexOf('@', StringComparison.Ordinal)];
            dir.Accounts[local] = new SbAccount { Id = local, UserName = local, Email = p.Email, EmployeeId = p.Id, Sessions = 1 };
            Member(dir, "all-staff", local);
            Member(dir, "dept-" + p.Department.ToLowerInvariant(), local);
            Member(dir, "vpn-users", local);
            okta.Accounts[$"00u{i}"] = new SbAccount { Id = $"00u{i}", UserName = p.Email, Email = p.Email, Sessions = 2 };
            Member(okta, "everyone", $"00u{i}");
            slack.Accounts[$"sl{i}"] = new SbAccount { Id = $"sl{i}", UserName = p.Email, Email = p.Email };
            Member(slack, "slack-seat", $"sl{i}");
            Member(slack, "general", $"sl{i}");
            if (p.Department == "Engineering")
            {
                Member(slack, "engineering", $"sl{i}");
            }

            if (withPrivileged && i == 1)
            {
                Member(okta, "super-admins", $"00u{i}");
                Member(slack, "workspace-admins", $"sl{i}");
            }

            jamf.Devices[$"d{i}"] = new SbDevice { Id = $"d{i}", Serial = $"SN{i:D5}", Model = "MacBook Air", Owner = p.Email, Status = DeviceStatus.Active };
            badges.Accounts[$"B{i}"] = new SbAccount { Id = $"B{i}", UserName = p.Email, Email = p.Email };
            Member(badges, "hq-all-doors", $"B{i}");
            vault.Accounts[$"v{i}"] = new SbAccount { Id = $"v{i}", UserName = p.Email, Email = p.Email };
        }

        if (people.Count > 0)
        {
            var first = people[0].Email;
            vault.Credentials["sec-db"] = new SbCredential { Id = "sec-db", Name = "Production database admin", Kind = CredentialKind.SharedSecret, KnownBy = [.. people.Take(3).Select(p => p.Email)] };
            vault.Credentials["tok-1"] = new SbCredential { Id = "tok-1", Name = "API token", Kind = CredentialKind.ApiToken, Owner = first };
            vault.Credentials["svc-ci"] = new SbCredential { Id = "svc-ci", Name = "svc-ci", Kind = CredentialKind.ServiceAccount, Owner = first };
        }

        return new Dictionary<string, SandboxSystemState>(StringComparer.Ordinal)
        {
            ["directory"] = dir,
            ["okta"] = okta,
            ["slack"] = slack,
            ["jamf"] = jamf,
            ["badges"] = badges,
            ["vault"] = vault,
        };
    }

    public static void Group(SandboxSystemState s, string name, EntitlementKind kind = EntitlementKind.Group, bool privileged = false) =>
        s.Groups["g-" + name] = new SbGroup { Id = "g-" + name, Name = name, Kind = kind, Privileged = privileged };

    public static void Member(SandboxSystemState s, string group, string account)
    {
        if (!s.Members.TryGetValue("g-" + group, out var set))
        {
            s.Members["g-" + group] = set = new HashSet<string>(StringComparer.Ordinal);
        }

        set.Add(account);
    }
}
