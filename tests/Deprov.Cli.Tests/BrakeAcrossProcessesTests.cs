using System.Diagnostics;
using System.Globalization;
using Deprov.Core.Model;
using Deprov.Testing;
using Microsoft.Data.Sqlite;

namespace Deprov.Cli.Tests;

/// <summary>
/// The safety brake decides atomically across OS processes: several real <c>deprov import</c> processes, released
/// together, each submit a batch of leavers to one SQLite store, and the brake admits no more than its threshold.
/// It fails when the brake lets more through (a disabled brake admits all 12). It does not reliably catch a count taken
/// outside the write transaction: the processes' earlier write transactions (people, events) serialise them enough
/// that their decisions rarely overlap; the race between threads is pinned by LifecycleTests (SafetyBrake_ParallelSubmittersOnSeparateConnections_…).
/// </summary>
public sealed class BrakeAcrossProcessesTests : IAsyncLifetime
{
    private const int Processes = 4;
    private const int PerProcess = 3;
    private const int Threshold = 5;

    private string _dir = null!;
    private List<Person> _people = null!;

    public async Task InitializeAsync()
    {
        // A fixed threshold of 5 leavers per hour, whatever the head count.
        var policy = $"policy:\n  safety_brake: {{ window: 1h, max_people: {Threshold}, min_people: {Threshold}, max_share: 100% }}\n";
        var env = await TestEnvironment.CreateAsync(policy: policy);
        _dir = env.Directory;
        _people = Enumerable.Range(0, Processes * PerProcess).Select(_ => Some.Person()).ToList();
        await env.SeedAsync(_people, Some.Systems(_people));
        await env.Engine.DisposeAsync(); // the CLI processes open the store themselves
    }

    public Task DisposeAsync()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // left to the OS temp cleaner
        }

        return Task.CompletedTask;
    }

    [Fact]
    public async Task ParallelImportsFromSeveralProcesses_AdmitAtMostTheThreshold_HoldEveryOtherLeaver()
    {
        // The start barrier: each process imports a roster that is a named pipe (FIFO). A process opens it only once it has
        // started, read its configuration and opened the store, and the open blocks until this test opens the pipe to
        // write. The test writes no roster until every process has opened its pipe, so all of them go on from the same
        // point at once: parse the roster, then submit its leavers.
        var end = TimeProvider.System.GetUtcNow().AddDays(30).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var pipes = new List<string>();
        for (var i = 0; i < Processes; i++)
        {
            var pipe = Path.Combine(_dir, $"roster-{i}.csv");
            await MakeFifoAsync(pipe);
            pipes.Add(pipe);
        }

        var runs = pipes.Select(pipe => Cli.RunAsync(_dir, "import", pipe, "--json")).ToList();
        var opening = Task.WhenAll(pipes.Select(pipe => Task.Run(() => new FileStream(pipe, FileMode.Open, FileAccess.Write))));
        var finished = Task.WhenAll(runs);
        if (await Task.WhenAny(opening, finished) != opening)
        {
            Assert.Fail("A deprov process ended before it opened its roster:\n" + string.Join("\n", (await finished).Select(r => $"exit {r.ExitCode}: {r.All}")));
        }

        var writers = await opening;
        for (var i = 0; i < Processes; i++)
        {
            await using var writer = new StreamWriter(writers[i]);
            await writer.WriteAsync("id,email,name,end_date\n" + string.Concat(
                _people.Skip(i * PerProcess).Take(PerProcess).Select(p => $"{p.Id},{p.Email},{p.DisplayName},{end}\n")));
        }

        var results = await finished;
        Assert.All(results, r => Assert.True(r.ExitCode == 0, $"exit {r.ExitCode}\n{r.All}"));

        var byStatus = new Dictionary<CaseStatus, int>();
        var batches = new List<List<CaseStatus>>();
        await using (var c = new SqliteConnection($"Data Source={Path.Combine(_dir, "deprov.db")};Pooling=False;Mode=ReadOnly"))
        {
            await c.OpenAsync();
            await using var cmd = c.CreateCommand();
            cmd.CommandText = $"SELECT person_id, status FROM cases WHERE kind = {(int)CaseKind.Leaver}";
            var statusOf = new Dictionary<string, CaseStatus>(StringComparer.Ordinal);
            await using (var r = await cmd.ExecuteReaderAsync())
            {
                while (await r.ReadAsync())
                {
                    statusOf[r.GetString(0)] = (CaseStatus)r.GetInt32(1);
                }
            }

            Assert.Equal(Processes * PerProcess, statusOf.Count); // every leaver has a case, admitted or held
            foreach (var s in statusOf.Values)
            {
                byStatus[s] = byStatus.GetValueOrDefault(s) + 1;
            }

            for (var i = 0; i < Processes; i++)
            {
                batches.Add([.. _people.Skip(i * PerProcess).Take(PerProcess).Select(p => statusOf[p.Id])]);
            }
        }

        var held = byStatus.GetValueOrDefault(CaseStatus.AwaitingApproval);
        var admitted = Processes * PerProcess - held;
        var summary = string.Join(", ", byStatus.Select(kv => $"{kv.Key}: {kv.Value}"));
        Assert.True(admitted <= Threshold, $"{admitted} leavers admitted past a brake of {Threshold} ({summary})");
        // The brake judges a batch whole: the first batch fits (3 ≤ 5), every later one would make 6 and is held.
        Assert.Equal(PerProcess, admitted);
        Assert.All(batches, b => Assert.Single(b.Select(s => s == CaseStatus.AwaitingApproval).Distinct()));
    }

    private static async Task MakeFifoAsync(string path)
    {
        using var p = Process.Start(new ProcessStartInfo("mkfifo") { ArgumentList = { path }, RedirectStandardError = true })!;
        await p.WaitForExitAsync();
        Assert.True(p.ExitCode == 0, $"mkfifo {path}: {await p.StandardError.ReadToEndAsync()}");
    }
}
