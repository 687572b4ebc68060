using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Store.Sqlite;
using Deprov.Testing;

namespace Deprov.Cli.Tests;

/// <summary>
/// The safety brake across processes: several <c>deprov leave</c> processes on one store at the same time never admit
/// more leavers than the threshold, because the count and the creation are one SQLite write transaction.
/// </summary>
public sealed class BrakeProcessTests
{
    [Fact]
    public async Task Leave_ParallelProcesses_AdmitExactlyTheThreshold()
    {
        var env = await TestEnvironment.CreateAsync(policy: "policy:\n  safety_brake: { window: 1h, max_people: 3, min_people: 3, max_share: 100% }\n");
        var dir = env.Directory;
        var people = Enumerable.Range(0, 8).Select(_ => Some.Person()).ToList();
        await env.SeedAsync(people, Some.Systems(people));
        await env.Engine.DisposeAsync(); // the CLI processes open the store themselves
        try
        {
            var runs = people.Select(p => Cli.RunAsync(dir, "leave", p.Id, "--reason", "involuntary", "--no-wait")).ToList();
            var results = await Task.WhenAll(runs);
            Assert.All(results, r => Assert.True(r.ExitCode == 0, r.Err));

            await using var store = new SqliteStore(Path.Combine(dir, "deprov.db"));
            var cases = await store.ListCasesAsync(new CaseQuery(Limit: 100), CancellationToken.None);
            Assert.Equal(people.Count, cases.Count(c => c.Kind == CaseKind.Leaver));
            Assert.Equal(3, cases.Count(c => c.Kind == CaseKind.Leaver && c.Status != CaseStatus.AwaitingApproval));
        }
        finally
        {
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
                // left to the OS temp cleaner
            }
        }
    }
}
