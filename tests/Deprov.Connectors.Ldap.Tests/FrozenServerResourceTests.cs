using System.Diagnostics;
using System.Globalization;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Testing.Ldap;
using Xunit.Abstractions;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>A server that accepts connections and never answers, met by many calls in a row: the process must stay idle and bounded.</summary>
/// <remarks>It counts the process's LDAP threads and descriptors, so it runs alone: another test's connections would count too.</remarks>
[Collection(FrozenServerCollection.Name)]
public sealed class FrozenServerResourceTests(ITestOutputHelper output)
{
    private const int Attempts = 12;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData("none")]
    [InlineData("ldaps")]
    [InlineData("starttls")]
    public async Task Execute_ManyCallsToAFrozenServer_CpuThreadsAndSocketsStayBounded(string security)
    {
        await using var proxy = new FreezableProxy();
        var settings = new Dictionary<string, object>
        {
            ["host"] = "127.0.0.1",
            ["port"] = proxy.Port,
            ["security"] = security,
            ["bind_dn"] = SlapdServer.ServiceDn,
            ["bind_password"] = "env:LDAP_BIND_PASSWORD",
            ["flavour"] = "openldap",
            ["users"] = new Dictionary<string, object> { ["base"] = "ou=people," + SlapdServer.Suffix },
            ["timeout_seconds"] = 30,
            ["pool_size"] = 2,
        };
        var deadlines = new HeldDeadlines();
        using var connector = SlapdFixture.Create(settings, new InMemorySecrets().With("env:LDAP_BIND_PASSWORD", "unused"), deadlines);
        using var bound = new CancellationTokenSource(Bound);
        var (cpu0, threads0, fds0) = Measure();

        var reached = 0;
        for (var i = 0; i < Attempts; i++)
        {
            var call = connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, Guid.NewGuid().ToString()), CancellationToken.None);
            if (await Task.WhenAny(call, proxy.WaitForSilentConnectionsAsync(reached + 1, bound.Token)) != call)
            {
                reached++;
                // The call reached the frozen server and waits for an answer: its deadline passes now.
                await deadlines.ExpireUntilAsync(call, bound.Token);
            }

            var ex = await Assert.ThrowsAsync<ConnectorException>(() => call);
            Assert.True(ex.IsTransient, ex.Message);
        }

        var (cpu1, threads1, fds1) = Measure();
        var ldapThreads = new List<(string Name, char State, long Ticks)>();
        foreach (var task in Directory.GetDirectories("/proc/self/task"))
        {
            var comm = (await File.ReadAllTextAsync(Path.Combine(task, "comm"))).Trim();
            if (comm.StartsWith("deprov-ldap", StringComparison.Ordinal))
            {
                // /proc/<pid>/task/<tid>/stat: after "(comm)", field 3 is the state, 14 and 15 utime and stime in clock ticks.
                var stat = await File.ReadAllTextAsync(Path.Combine(task, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                ldapThreads.Add((comm, fields[0][0], long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)));
            }
        }

        output.WriteLine($"{security}: {Attempts} attempts, process cpu {(cpu1 - cpu0).TotalSeconds:0.000} s, threads {threads0} -> {threads1}, fds {fds0} -> {fds1}, "
            + $"connections opened {proxy.SilentConnections}, ldap threads {string.Join(" ", ldapThreads.Select(t => $"{t.State}:{t.Ticks}"))}");

        // Two slots, and at most four abandoned calls still stuck: never one thread and one socket per attempt.
        const int MaxLdapThreads = 2 + 4;
        Assert.InRange(proxy.SilentConnections, 1, MaxLdapThreads);
        Assert.InRange(ldapThreads.Count, 1, MaxLdapThreads);
        Assert.InRange(fds1 - fds0, int.MinValue, 2 * MaxLdapThreads + 4);

        // A stuck call waits in the kernel; a spinning one burns a core. 12 attempts cost well under a CPU second.
        Assert.True(cpu1 - cpu0 < TimeSpan.FromSeconds(2), $"process CPU {(cpu1 - cpu0).TotalSeconds:0.000} s over {Attempts} attempts");
        Assert.All(ldapThreads, t => Assert.True(t.Ticks < 50, $"{t.Name} used {t.Ticks} clock ticks of CPU"));
    }

    private static (TimeSpan Cpu, int Threads, int Fds) Measure()
    {
        using var self = Process.GetCurrentProcess();
        return (self.TotalProcessorTime, Directory.GetDirectories("/proc/self/task").Length, Directory.GetFileSystemEntries("/proc/self/fd").Length);
    }
}

/// <summary>Runs <see cref="FrozenServerResourceTests"/> with no other test of this assembly beside it.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class FrozenServerCollection
{
    public const string Name = "frozen-server (alone)";
}
