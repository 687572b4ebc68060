using System.Diagnostics;

namespace Deprov.Hosting.Execution;

/// <summary>
/// Crash points for the crash-recovery tests: <c>DEPROV_FAULT_KILL=&lt;point&gt;:&lt;n&gt;</c> makes the process kill
/// itself with SIGKILL the n-th time it reaches <c>point</c> (<c>claimed</c>: a step is persisted as running and its call
/// not made yet; <c>executed</c>: the system changed, the result not yet committed; <c>committed</c>: after a commit).
/// Unset in production; costs one null check.
/// </summary>
internal static class FaultInjection
{
    private static readonly (string Point, int Count)? Plan = ParsePlan(Environment.GetEnvironmentVariable("DEPROV_FAULT_KILL"));
    private static int _hits;

    public static void Hit(string point)
    {
        if (Plan is { } p && p.Point == point && Interlocked.Increment(ref _hits) == p.Count)
        {
            Console.Out.Flush();
            Process.GetCurrentProcess().Kill();
        }
    }

    private static (string, int)? ParsePlan(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return null;
        }

        var parts = value.Split(':');
        return parts.Length == 2 && int.TryParse(parts[1], System.Globalization.CultureInfo.InvariantCulture, out var n) ? (parts[0], n) : null;
    }
}
