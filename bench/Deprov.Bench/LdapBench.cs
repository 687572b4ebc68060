using System.Diagnostics;
using System.Globalization;
using System.Text;
using Deprov.Connectors.Ldap;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Testing.Ldap;

namespace Deprov.Bench;

/// <summary>
/// <c>deprov bench ldap</c>: disables N accounts and removes their group memberships on a local slapd, once with N
/// parallel <c>ldapmodify</c> processes (the raw rate) and once through the LDAP connector (with read-back after every
/// change, as the engine does), on two identical populations of the same server.
/// </summary>
internal static class LdapBench
{
    private const int GroupsPerPopulation = 100;
    private const string Placeholder = "cn=placeholder," + SlapdServer.Suffix;

    public static async Task<int> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        var users = Option(args, "--users", 10_000);
        var parallel = Option(args, "--parallel", 8);
        var pool = Option(args, "--pool", parallel);
        var readBack = !args.Contains("--no-readback");

        var ldif = new StringBuilder();
        foreach (var population in new[] { "raw", "deprov" })
        {
            AppendPopulation(ldif, population, users);
        }

        Console.WriteLine($"ldap_users: {users}");
        Console.WriteLine($"ldap_parallel: {parallel}");
        Console.WriteLine($"ldap_pool_size: {pool}");
        Console.WriteLine($"ldap_changes_per_account: 3 (lock + 2 group member deletes)");
        var load = Stopwatch.StartNew();
        await using var server = await SlapdServer.StartAsync(ldif.ToString(), cancellationToken);
        Console.WriteLine($"ldap_setup_s: {load.Elapsed.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} (slapadd of {2 * users} users, {2 * GroupsPerPopulation} groups)");

        var raw = await RunRawAsync(server, users, parallel, cancellationToken);
        var deprov = await RunDeprovAsync(server, users, parallel, pool, readBack, cancellationToken);

        await VerifyAsync(server, "raw", users, cancellationToken);
        await VerifyAsync(server, "deprov", users, cancellationToken);

        var rawRate = users / raw.TotalSeconds;
        var deprovRate = users / deprov.TotalSeconds;
        Console.WriteLine($"ldap_raw_s: {raw.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"ldap_deprov_s: {deprov.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"ldap_readback_included: {(readBack ? "true (one read per change: lock state, then compare per group)" : "false")}");
        Console.WriteLine($"ldap_raw_per_s: {rawRate.ToString("0", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"ldap_deprov_per_s: {deprovRate.ToString("0", CultureInfo.InvariantCulture)}");
        Console.WriteLine($"ldap_ratio: {(deprovRate / rawRate).ToString("0.00", CultureInfo.InvariantCulture)}");
        return 0;
    }

    private static string People(string population) => $"ou=people,ou={population},{SlapdServer.Suffix}";

    private static string Groups(string population) => $"ou=groups,ou={population},{SlapdServer.Suffix}";

    private static string UserDn(string population, int i) => $"uid=u{i:D6},{People(population)}";

    private static string GroupDn(string population, int g) => $"cn=g{g:D3},{Groups(population)}";

    /// <summary>Each user is in two groups: <c>i % 100</c> and <c>(i / 100 + 1 + i) % 100</c> (always different).</summary>
    private static (int A, int B) GroupsOf(int i)
    {
        var a = i % GroupsPerPopulation;
        var b = (a + 1 + (i / GroupsPerPopulation % (GroupsPerPopulation - 1))) % GroupsPerPopulation;
        return (a, b);
    }

    private static void AppendPopulation(StringBuilder ldif, string population, int users)
    {
        ldif.Append(CultureInfo.InvariantCulture, $"dn: ou={population},{SlapdServer.Suffix}\nobjectClass: organizationalUnit\nou: {population}\n\n");
        ldif.Append(CultureInfo.InvariantCulture, $"dn: {People(population)}\nobjectClass: organizationalUnit\nou: people\n\n");
        ldif.Append(CultureInfo.InvariantCulture, $"dn: {Groups(population)}\nobjectClass: organizationalUnit\nou: groups\n\n");
        for (var i = 0; i < users; i++)
        {
            ldif.Append(CultureInfo.InvariantCulture, $"dn: {UserDn(population, i)}\nobjectClass: inetOrgPerson\nuid: u{i:D6}\ncn: User {i}\nsn: {i}\nmail: u{i:D6}@{population}.example.com\nuserPassword: pw{i}\n\n");
        }

        var members = new List<int>[GroupsPerPopulation];
        for (var g = 0; g < GroupsPerPopulation; g++)
        {
            members[g] = [];
        }

        for (var i = 0; i < users; i++)
        {
            var (a, b) = GroupsOf(i);
            members[a].Add(i);
            members[b].Add(i);
        }

        for (var g = 0; g < GroupsPerPopulation; g++)
        {
            // groupOfNames requires one member: a placeholder keeps the group valid once every user is removed.
            ldif.Append(CultureInfo.InvariantCulture, $"dn: {GroupDn(population, g)}\nobjectClass: groupOfNames\ncn: g{g:D3}\nmember: {Placeholder}\n");
            foreach (var i in members[g])
            {
                ldif.Append(CultureInfo.InvariantCulture, $"member: {UserDn(population, i)}\n");
            }

            ldif.Append('\n');
        }
    }

    /// <summary>The baseline: <paramref name="parallel"/> ldapmodify processes, each fed its share of the change records.</summary>
    private static async Task<TimeSpan> RunRawAsync(SlapdServer server, int users, int parallel, CancellationToken cancellationToken)
    {
        var shares = Enumerable.Range(0, parallel).Select(_ => new StringBuilder()).ToArray();
        for (var i = 0; i < users; i++)
        {
            var (a, b) = GroupsOf(i);
            var dn = UserDn("raw", i);
            shares[i % parallel]
                .Append(CultureInfo.InvariantCulture, $"dn: {dn}\nchangetype: modify\nreplace: pwdAccountLockedTime\npwdAccountLockedTime: 000001010000Z\n\n")
                .Append(CultureInfo.InvariantCulture, $"dn: {GroupDn("raw", a)}\nchangetype: modify\ndelete: member\nmember: {dn}\n\n")
                .Append(CultureInfo.InvariantCulture, $"dn: {GroupDn("raw", b)}\nchangetype: modify\ndelete: member\nmember: {dn}\n\n");
        }

        var files = new string[parallel];
        for (var p = 0; p < parallel; p++)
        {
            files[p] = Path.Combine(server.Directory, $"raw-{p}.ldif");
            await File.WriteAllTextAsync(files[p], shares[p].ToString(), cancellationToken);
        }

        var clock = Stopwatch.StartNew();
        await Task.WhenAll(files.Select(async file =>
        {
            var start = new ProcessStartInfo("/usr/bin/ldapmodify") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var arg in new[] { "-x", "-H", server.Uri, "-D", SlapdServer.ServiceDn, "-w", server.ServicePassword, "-f", file })
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start) ?? throw new InvalidOperationException("Could not start ldapmodify.");
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            await stdout;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"ldapmodify failed ({process.ExitCode}): {await stderr}");
            }
        }));
        return clock.Elapsed;
    }

    /// <summary>The connector, driven as the engine drives it: execute then read back, <paramref name="parallel"/> in flight.</summary>
    private static async Task<TimeSpan> RunDeprovAsync(SlapdServer server, int users, int parallel, int pool, bool readBack, CancellationToken cancellationToken)
    {
        var settings = SettingsNode.MappingNode("systems[0].settings", new Dictionary<string, SettingsNode>
        {
            ["host"] = Scalar("host", server.Host),
            ["port"] = Scalar("port", server.Port.ToString(CultureInfo.InvariantCulture)),
            ["security"] = Scalar("security", "none"),
            ["bind_dn"] = Scalar("bind_dn", SlapdServer.ServiceDn),
            ["bind_password"] = Scalar("bind_password", "env:LDAP_BIND_PASSWORD"),
            ["flavour"] = Scalar("flavour", "openldap"),
            ["page_size"] = Scalar("page_size", "1000"),
            ["pool_size"] = Scalar("pool_size", pool.ToString(CultureInfo.InvariantCulture)),
            ["users"] = SettingsNode.MappingNode("systems[0].settings.users", new Dictionary<string, SettingsNode> { ["base"] = Scalar("users.base", People("deprov")) }),
            ["groups"] = SettingsNode.MappingNode("systems[0].settings.groups", new Dictionary<string, SettingsNode> { ["base"] = Scalar("groups.base", Groups("deprov")) }),
        });
        var system = new ConnectedSystem("dir", "Directory", "ldap", SystemRole.Directory, RiskTier.High, 0m, 30);
        var context = new ConnectorContext(TimeProvider.System, server.Directory, new FixedSecret(server.ServicePassword));
        var factory = new LdapConnectorFactory();
        var errors = factory.Validate(system, settings);
        if (errors.Count > 0)
        {
            throw new ValidationException(errors);
        }

        // Discovery (untimed) gives the ids and memberships the engine would have planned from.
        var plan = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var discovering = factory.Create(system, settings, context);
        await foreach (var o in discovering.DiscoverAsync(new DiscoveryRequest(null), cancellationToken))
        {
            switch (o)
            {
                case DiscoveredAccount a:
                    plan[a.ExternalId] = [];
                    break;
                case DiscoveredMembership m:
                    plan[m.AccountExternalId].Add(m.EntitlementExternalId);
                    break;
            }
        }

        (discovering as IDisposable)?.Dispose();
        if (plan.Count != users)
        {
            throw new InvalidOperationException($"Discovery found {plan.Count} accounts, expected {users}.");
        }

        // A fresh connector, as after an engine restart: no cached DNs.
        var connector = factory.Create(system, settings, context);
        var unconfirmed = 0;
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(plan, new ParallelOptions { MaxDegreeOfParallelism = parallel, CancellationToken = cancellationToken }, async (account, ct) =>
        {
            var actions = new List<ConnectorAction> { Action(ActionKind.DisableAccount, account.Key, null) };
            actions.AddRange(account.Value.Select(g => Action(ActionKind.RemoveEntitlement, account.Key, g)));
            foreach (var action in actions)
            {
                await connector.ExecuteAsync(action, ct);
                if (readBack && !(await connector.ReadBackAsync(action, ct)).Confirmed)
                {
                    Interlocked.Increment(ref unconfirmed);
                }
            }
        });
        var elapsed = clock.Elapsed;
        (connector as IDisposable)?.Dispose();
        if (unconfirmed > 0)
        {
            throw new InvalidOperationException($"{unconfirmed} changes were not confirmed by read-back.");
        }

        return elapsed;

        static SettingsNode Scalar(string key, string value) => SettingsNode.ScalarNode($"systems[0].settings.{key}", value);
    }

    private static ConnectorAction Action(ActionKind kind, string account, string? group) =>
        new(Guid.NewGuid().ToString("N"), kind, "dir", account, null, group, null, null, new Dictionary<string, string>());

    /// <summary>Both runs must have made the same changes: every account locked, every group empty.</summary>
    private static async Task VerifyAsync(SlapdServer server, string population, int users, CancellationToken cancellationToken)
    {
        var locked = await server.SearchAsync(People(population), "(pwdAccountLockedTime=000001010000Z)", ["1.1"], cancellationToken);
        var lockedCount = locked.Split('\n').Count(l => l.StartsWith("dn: ", StringComparison.Ordinal));
        var members = await server.SearchAsync(Groups(population), "(objectClass=groupOfNames)", ["member"], cancellationToken);
        var membersLeft = members.Split('\n').Count(l => l.StartsWith("member: ", StringComparison.Ordinal) && !l.Contains(Placeholder, StringComparison.Ordinal));
        Console.WriteLine($"ldap_{population}_locked: {lockedCount}");
        Console.WriteLine($"ldap_{population}_memberships_left: {membersLeft}");
        if (lockedCount != users || membersLeft != 0)
        {
            throw new InvalidOperationException($"The {population} run did not apply every change.");
        }
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
    }

    private sealed class FixedSecret(string password) : ISecretResolver
    {
        public string Resolve(string reference, string usedFor) => password;
    }
}
