using System.Globalization;
using Deprov.Testing.Truth;

namespace Deprov.Bench;

/// <summary>
/// `deprov bench truth`: runs the truth matrix (tests/Deprov.Testing/Truth) and prints, per scenario and in total, the
/// steps reported verified whose access remains (<c>false_verified</c>, target 0) and the ones that said so loudly.
/// </summary>
internal static class TruthBench
{
    public static async Task<int> RunAsync(string[] args, CancellationToken ct)
    {
        var people = EngineBench.Arg(args, "--people", 4);
        var only = args.SkipWhile(a => a != "--only").Skip(1).FirstOrDefault();
        var scenarios = TruthMatrix.Scenarios(people).Where(s => only is null || s.Name.Contains(only, StringComparison.Ordinal)).ToList();
        var total = TruthTally.Zero;
        foreach (var scenario in scenarios)
        {
            TruthTally tally;
            try
            {
                tally = await scenario.RunAsync(ct);
            }
#pragma warning disable CA1031 // The harness's boundary: a scenario that breaks is reported by name and fails the run.
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                Console.WriteLine($"scenario {scenario.Name}: ERROR {ex.GetType().Name}: {ex.Message}");
                return 1;
            }

            total = total.Add(tally);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"scenario {scenario.Name}: steps {tally.Steps}, verified {tally.Verified}, false_verified {tally.FalseVerified}, loud {tally.Loud}, silent {tally.Silent}, not_attempted {tally.NotAttempted}, unplanned {tally.Unplanned}, evidence_lost {tally.EvidenceLost}"));
        }

        Console.WriteLine($"truth_scenarios: {scenarios.Count}");
        Console.WriteLine($"truth_steps: {total.Steps}");
        Console.WriteLine($"false_verified: {total.FalseVerified}");
        Console.WriteLine($"unconfirmed_loud: {total.Loud}");
        Console.WriteLine($"silent_open: {total.Silent}");
        Console.WriteLine($"not_attempted: {total.NotAttempted}");
        Console.WriteLine($"unplanned_remaining: {total.Unplanned}");
        Console.WriteLine($"evidence_lost: {total.EvidenceLost}");
        return total.FalseVerified == 0 && total.Silent == 0 ? 0 : 1;
    }
}
