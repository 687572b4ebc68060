using Deprov.Core.Model;

namespace Deprov.Connectors.Sandbox;

/// <summary>
/// Generates a believable company for the demo: people with managers, departments, locations and worker types, and their
/// accounts, groups, licences, privileged roles, devices, badges, shared secrets, API tokens and service accounts across
/// the sandbox systems. Deterministic for a given seed.
/// </summary>
public static class SandboxCompany
{
    public static readonly string[] Departments = ["Engineering", "Sales", "Marketing", "Finance", "HR", "IT", "Support", "Legal"];

    private static readonly string[] First = ["Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jonas", "Kira", "Liam", "Maya", "Noah", "Olga", "Pablo", "Quinn", "Rosa", "Sami", "Tara", "Umar", "Vera", "Wen", "Xavi", "Yara", "Zoe"];
    private static readonly string[] Last = ["Martin", "Okafor", "Schmidt", "Tanaka", "Rossi", "Dubois", "Novak", "Silva", "Kowalski", "Haddad", "Larsen", "Moreau", "Ivanova", "Chen", "Garcia", "Nguyen", "Fischer", "Ahmed", "Costa", "Berg"];
    private static readonly (string City, string Tz)[] Locations = [("Paris", "Europe/Paris"), ("London", "Europe/London"), ("New York", "America/New_York"), ("Berlin", "Europe/Berlin"), ("Remote", "UTC")];
    private static readonly Dictionary<string, string[]> Titles = new(StringComparer.Ordinal)
    {
        ["Engineering"] = ["Software Engineer", "Senior Software Engineer", "Staff Engineer", "Engineering Manager"],
        ["Sales"] = ["Account Executive", "Sales Development Rep", "Sales Manager"],
        ["Marketing"] = ["Marketing Manager", "Content Strategist"],
        ["Finance"] = ["Accountant", "Financial Analyst", "Controller"],
        ["HR"] = ["HR Business Partner", "Recruiter"],
        ["IT"] = ["IT Administrator", "Security Engineer", "Helpdesk Technician"],
        ["Support"] = ["Support Engineer", "Support Lead"],
        ["Legal"] = ["Counsel", "Paralegal"],
    };

    /// <summary>The result: HR records and the state of every sandbox system.</summary>
    public sealed record Company(IReadOnlyList<Person> People, IReadOnlyDictionary<string, SandboxSystemState> Systems);

    /// <param name="systems">System id → flavour, as configured (apps are recognised by id: slack, github, salesforce, zoom).</param>
    public static Company Generate(int people, int seed, IReadOnlyDictionary<string, SandboxFlavour> systems, DateOnly today)
    {
        var rng = new Random(seed);
        var list = new List<Person>(people);
        var usedEmails = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var heads = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i <= people; i++)
        {
            var dept = i == 1 ? "IT" : Departments[Weighted(rng, [30, 18, 8, 7, 5, 8, 14, 3])];
            var first = First[rng.Next(First.Length)];
            var last = Last[rng.Next(Last.Length)];
            var local = $"{first}.{last}".ToLowerInvariant();
            var email = $"{local}@example.com";
            for (var n = 2; !usedEmails.Add(email); n++)
            {
                email = $"{local}{n}@example.com";
            }

            var (city, tz) = Locations[rng.Next(Locations.Length)];
            var worker = i <= 8 ? WorkerType.Employee : (WorkerType)Weighted(rng, [80, 12, 5, 3]);
            var id = $"p{i:D4}";
            string? manager = i == 1 ? null : heads.TryGetValue(dept, out var head) ? head : "p0001";
            if (!heads.ContainsKey(dept))
            {
                heads[dept] = id;
            }

            var titles = Titles[dept];
            list.Add(new Person(id, email, $"{first} {last}", manager, dept, titles[rng.Next(titles.Length)], city, worker, PersonStatus.Active,
                today.AddDays(-rng.Next(30, 3000)), worker == WorkerType.Contractor ? today.AddDays(rng.Next(0, 200)) : null, tz));
        }

        var states = new Dictionary<string, SandboxSystemState>(StringComparer.Ordinal);
        foreach (var (systemId, flavour) in systems)
        {
            var s = new SandboxSystemState();
            states[systemId] = s;
            switch (flavour)
            {
                case SandboxFlavour.Directory:
                    SeedDirectory(s, list, rng);
                    break;
                case SandboxFlavour.Idp:
                    SeedIdp(s, list, rng, systems.Where(x => x.Value == SandboxFlavour.App).Select(x => x.Key));
                    break;
                case SandboxFlavour.App:
                    SeedApp(s, systemId, list, rng);
                    break;
                case SandboxFlavour.Mdm:
                    SeedDevices(s, list, rng);
                    break;
                case SandboxFlavour.Badge:
                    SeedBadges(s, list);
                    break;
                case SandboxFlavour.Vault:
                    SeedVault(s, list, rng);
                    break;
            }
        }

        return new Company(list, states);
    }

    private static int Weighted(Random rng, int[] weights)
    {
        var roll = rng.Next(weights.Sum());
        for (var i = 0; i < weights.Length; i++)
        {
            if ((roll -= weights[i]) < 0)
            {
                return i;
            }
        }

        return weights.Length - 1;
    }

    private static string Local(Person p) => p.Email[..p.Email.IndexOf('@', StringComparison.Ordinal)];

    private static void Group(SandboxSystemState s, string name, EntitlementKind kind = EntitlementKind.Group, bool privileged = false) =>
        s.Groups.TryAdd("g-" + name, new SbGroup { Id = "g-" + name, Name = name, Kind = kind, Privileged = privileged });

    private static void Member(SandboxSystemState s, string group, string account)
    {
        if (!s.Members.TryGetValue("g-" + group, out var set))
        {
            s.Members["g-" + group] = set = new HashSet<string>(StringComparer.Ordinal);
        }

        set.Add(account);
    }

    private static SbAccount Add(SandboxSystemState s, string id, string userName, Person? p, Random rng, AccountKind kind = AccountKind.User)
    {
        var a = new SbAccount
        {
            Id = id,
            UserName = userName,
            Email = p?.Email,
            EmployeeId = p?.Id,
            Kind = kind,
            Sessions = rng.Next(0, 5),
            LastSignIn = new DateTimeOffset(2026, 11, 1, 9, 0, 0, TimeSpan.Zero).AddHours(-rng.Next(0, 24 * 120)),
        };
        s.Accounts[id] = a;
        return a;
    }

    private static void SeedDirectory(SandboxSystemState s, List<Person> people, Random rng)
    {
        Group(s, "all-staff");
        Group(s, "vpn-users", EntitlementKind.Network);
        Group(s, "domain-admins", privileged: true);
        foreach (var d in Departments)
        {
            Group(s, "dept-" + d.ToLowerInvariant());
        }

        foreach (var p in people)
        {
            var a = Add(s, Local(p), Local(p), p, rng);
            Member(s, "all-staff", a.Id);
            Member(s, "dept-" + p.Department.ToLowerInvariant(), a.Id);
            if (p.WorkerType != WorkerType.Vendor && rng.NextDouble() < 0.7)
            {
                Member(s, "vpn-users", a.Id);
            }

            if (p.Department == "IT" && p.Title != "Helpdesk Technician")
            {
                Member(s, "domain-admins", a.Id);
            }
        }
    }

    private static void SeedIdp(SandboxSystemState s, List<Person> people, Random rng, IEnumerable<string> apps)
    {
        Group(s, "everyone");
        Group(s, "super-admins", privileged: true);
        var appList = apps.ToList();
        foreach (var app in appList)
        {
            Group(s, "app-" + app);
        }

        var i = 0;
        foreach (var p in people)
        {
            var a = Add(s, $"00u{++i:D6}", p.Email, p, rng);
            a.Sessions = rng.Next(1, 5);
            Member(s, "everyone", a.Id);
            foreach (var app in appList)
            {
                if (UsesApp(app, p))
                {
                    Member(s, "app-" + app, a.Id);
                }
            }

            if (p.Department == "IT" && p.Title == "Security Engineer")
            {
                Member(s, "super-admins", a.Id);
            }
        }
    }

    /// <summary>Who gets an account in which app.</summary>
    public static bool UsesApp(string app, Person p) => app switch
    {
        "slack" => p.WorkerType != WorkerType.Vendor,
        "github" => p.Department is "Engineering" or "IT" || (p.WorkerType == WorkerType.Contractor && p.Department == "Support"),
        "salesforce" => p.Department is "Sales" or "Support" or "Marketing",
        "zoom" => p.Department is "Sales" or "Marketing" or "HR" or "Support" || p.ManagerId is null,
        _ => true,
    };

    private static void SeedApp(SandboxSystemState s, string app, List<Person> people, Random rng)
    {
        Group(s, app + "-seat", EntitlementKind.Licence);
        var (groups, admin) = app switch
        {
            "slack" => (new[] { "general", "random" }, "workspace-admins"),
            "github" => (new[] { "engineering", "platform" }, "org-owners"),
            "salesforce" => (new[] { "sales-users", "reports-viewer" }, "system-administrator"),
            "zoom" => (new[] { "zoom-users" }, "zoom-admins"),
            _ => (new[] { "users" }, "admins"),
        };
        foreach (var g in groups)
        {
            Group(s, g);
        }

        Group(s, admin, privileged: true);
        foreach (var d in Departments)
        {
            Group(s, d.ToLowerInvariant());
        }

        var admins = 0;
        var n = 0;
        foreach (var p in people.Where(p => UsesApp(app, p)))
        {
            var a = Add(s, $"{app[..2]}{++n:D5}", app == "github" ? Local(p).Replace('.', '-') : p.Email, p, rng);
            Member(s, app + "-seat", a.Id);
            Member(s, groups[0], a.Id);
            Member(s, p.Department.ToLowerInvariant(), a.Id);
            if (groups.Length > 1 && rng.NextDouble() < 0.5)
            {
                Member(s, groups[1], a.Id);
            }

            if ((p.Department == "IT" || p.Title.Contains("Manager", StringComparison.Ordinal) || p.Title.Contains("Staff", StringComparison.Ordinal)) && admins < 6)
            {
                Member(s, admin, a.Id);
                admins++;
            }
        }

        // Accounts nobody owns: a former contractor, a shared login — what reconciliation looks for.
        Add(s, $"{app[..2]}-orphan-1", $"old.contractor@{app}.example.net", null, rng);
        var shared = Add(s, $"{app[..2]}-shared-1", $"shared-{app}@example.com", null, rng, AccountKind.Service);
        Member(s, app + "-seat", shared.Id);
    }

    private static void SeedDevices(SandboxSystemState s, List<Person> people, Random rng)
    {
        var n = 0;
        foreach (var p in people.Where(p => p.WorkerType != WorkerType.Vendor))
        {
            var laptop = p.Department == "Engineering" ? "MacBook Pro 16" : "MacBook Air 13";
            s.Devices[$"d{++n:D5}"] = new SbDevice { Id = $"d{n:D5}", Serial = $"C02{rng.Next(100000, 999999)}", Model = laptop, Owner = p.Email, Status = DeviceStatus.Active };
            if (rng.NextDouble() < 0.3)
            {
                s.Devices[$"d{++n:D5}"] = new SbDevice { Id = $"d{n:D5}", Serial = $"F4{rng.Next(1000000, 9999999)}", Model = "iPhone 16", Owner = p.Email, Status = DeviceStatus.Active };
            }
        }
    }

    private static void SeedBadges(SandboxSystemState s, List<Person> people)
    {
        Group(s, "hq-all-doors", EntitlementKind.Permission);
        Group(s, "server-room", EntitlementKind.Permission, privileged: true);
        var n = 0;
        foreach (var p in people.Where(p => p.Location != "Remote" && p.WorkerType != WorkerType.Vendor))
        {
            var id = $"B{++n:D5}";
            s.Accounts[id] = new SbAccount { Id = id, UserName = p.Email, Email = p.Email, EmployeeId = p.Id };
            Member(s, "hq-all-doors", id);
            if (p.Department == "IT")
            {
                Member(s, "server-room", id);
            }
        }
    }

    private static void SeedVault(SandboxSystemState s, List<Person> people, Random rng)
    {
        var tech = people.Where(p => p.Department is "Engineering" or "IT").ToList();
        foreach (var p in tech)
        {
            Add(s, "v-" + Local(p), p.Email, p, rng);
        }

        var it = people.Where(p => p.Department == "IT").ToList();
        var eng = people.Where(p => p.Department == "Engineering").ToList();
        void Secret(string id, string name, IEnumerable<Person> knowers) =>
            s.Credentials[id] = new SbCredential { Id = id, Name = name, Kind = CredentialKind.SharedSecret, KnownBy = knowers.Select(k => k.Email).ToList(), RotatedAt = new DateTimeOffset(2026, 6, 1, 0, 0, 0, TimeSpan.Zero) };

        Secret("sec-aws-root", "AWS root account", it.Take(3));
        Secret("sec-prod-db", "Production database admin", eng.Take(6).Concat(it.Take(2)));
        Secret("sec-wifi-office", "Office Wi-Fi admin", it);
        Secret("sec-dns-registrar", "DNS registrar login", it.Take(2));
        var n = 0;
        foreach (var p in tech.Where(_ => rng.NextDouble() < 0.35))
        {
            s.Credentials[$"tok-{++n:D4}"] = new SbCredential { Id = $"tok-{n:D4}", Name = $"API token of {Local(p)}", Kind = CredentialKind.ApiToken, Owner = p.Email };
        }

        var services = new[] { "svc-ci-deploy", "svc-backup", "svc-monitoring", "svc-billing-sync", "svc-data-export" };
        for (var i = 0; i < services.Length && i < tech.Count; i++)
        {
            var owner = tech[(i * 7) % tech.Count];
            s.Credentials[services[i]] = new SbCredential { Id = services[i], Name = services[i], Kind = CredentialKind.ServiceAccount, Owner = owner.Email };
        }
    }
}
