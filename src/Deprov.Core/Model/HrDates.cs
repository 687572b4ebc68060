namespace Deprov.Core.Model;

/// <summary>How Deprov reads an HR date with no time of day.</summary>
public static class HrDates
{
    /// <summary>
    /// A termination or contract-end date is the last day worked: access ends at midnight after it, in the person's time
    /// zone (daylight saving included; a midnight skipped by a DST jump becomes the next valid moment). An unknown time
    /// zone is read as UTC.
    /// </summary>
    public static DateTimeOffset EndOfLastDay(DateOnly date, string timeZone)
    {
        var tz = TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out var found) ? found : TimeZoneInfo.Utc;
        var local = date.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
        if (tz.IsInvalidTime(local))
        {
            local = local.AddHours(1);
        }

        return new DateTimeOffset(local, tz.GetUtcOffset(local)).ToUniversalTime();
    }
}
