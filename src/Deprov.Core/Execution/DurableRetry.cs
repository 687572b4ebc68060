using System.Globalization;

namespace Deprov.Core.Execution;

/// <summary>When a step that failed transiently runs again, or that it stops being retried.</summary>
/// <param name="NextAt">Null: the schedule or the maximum age is spent, the step becomes a task.</param>
/// <param name="Try">The number of the try that just failed (1-based).</param>
/// <param name="MaxTries">Tries the schedule allows (its length + 1).</param>
public sealed record RetryDecision(DateTimeOffset? NextAt, int Try, int MaxTries)
{
    /// <summary>"next try at 2026-11-22 09:06:00Z (2 of 8)", or what happens instead.</summary>
    public string Describe(TimeSpan maxAge) => NextAt is { } next
        ? string.Create(CultureInfo.InvariantCulture, $"next try at {next.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z ({Try + 1} of {MaxTries})")
        : Try >= MaxTries
            ? string.Create(CultureInfo.InvariantCulture, $"no tries left ({Try} of {MaxTries}, policy.execution.retry_schedule)")
            : string.Create(CultureInfo.InvariantCulture, $"no more tries: the next would be more than {DurableRetry.Format(maxAge)} after the step fell due (policy.execution.retry_max_age; try {Try} of {MaxTries})");
}

/// <summary>The durable retry schedule: minutes, then hours, with jitter, up to a maximum age. Pure.</summary>
public static class DurableRetry
{
    /// <summary>Share of a wait added at most as jitter, so steps that failed together do not return together.</summary>
    public const double Jitter = 0.2;

    /// <param name="schedule">Waits after the 1st, 2nd, … try.</param>
    /// <param name="tryNumber">The try that just failed (1-based; the step's claims, crash-recovered ones not counted).</param>
    /// <param name="dueAt">When the step fell due: its age is measured from here.</param>
    /// <param name="retryAfter">The system's Retry-After, if it said: used instead of the schedule's wait (the try still counts).</param>
    /// <param name="random">A number in [0, 1) for the jitter.</param>
    public static RetryDecision Next(IReadOnlyList<TimeSpan> schedule, TimeSpan maxAge, int tryNumber, DateTimeOffset dueAt, DateTimeOffset now,
        TimeSpan? retryAfter, double random)
    {
        ArgumentNullException.ThrowIfNull(schedule);
        var max = schedule.Count + 1;
        if (tryNumber < 1 || tryNumber > schedule.Count)
        {
            return new RetryDecision(null, Math.Max(tryNumber, 1), max);
        }

        // A system that said when to come back (Retry-After: a queued MDM command, a maintenance window) is taken at its
        // word; otherwise the schedule's wait, spread by the jitter.
        var wait = retryAfter is { } ra && ra > TimeSpan.Zero
            ? ra
            : schedule[tryNumber - 1] + TimeSpan.FromTicks((long)(schedule[tryNumber - 1].Ticks * Jitter * Math.Clamp(random, 0, 1)));

        var next = now + wait;
        return next - dueAt > maxAge ? new RetryDecision(null, tryNumber, max) : new RetryDecision(next, tryNumber, max);
    }

    /// <summary>A duration as deprov.yaml writes it: 1d, 4h, 15m, 30s.</summary>
    public static string Format(TimeSpan t) =>
        t.TotalDays >= 1 && t.Ticks % TimeSpan.TicksPerDay == 0 ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalDays:0}d")
        : t.TotalHours >= 1 && t.Ticks % TimeSpan.TicksPerHour == 0 ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalHours:0}h")
        : t.TotalMinutes >= 1 && t.Ticks % TimeSpan.TicksPerMinute == 0 ? string.Create(CultureInfo.InvariantCulture, $"{t.TotalMinutes:0}m")
        : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.###}s");
}
