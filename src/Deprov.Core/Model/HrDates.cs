using System.Globalization;
using System.Text.RegularExpressions;

namespace Deprov.Core.Model;

/// <summary>An HR date or time read from outside input, as the moment it means.</summary>
/// <param name="At">The moment, in UTC.</param>
/// <param name="LocalDate">The calendar day of <paramref name="At"/> in the person's time zone (the day the HR record names).</param>
/// <param name="ReadAs">
/// Set when the text carried no offset and was read in the person's time zone, saying how (for example
/// "read as 2026-12-20T18:00 Europe/Paris"); null when the text was unambiguous (a date, or a timestamp with an offset).
/// </param>
public sealed record HrMoment(DateTimeOffset At, DateOnly LocalDate, string? ReadAs);

/// <summary>
/// How Deprov reads HR dates and times: never guessed. A date without a time means the end of that day in the person's
/// time zone; a timestamp without an offset is read in the person's time zone (and says so); a timestamp with an offset is
/// exact. Years outside <see cref="MinYear"/>–<see cref="MaxYear"/> are refused.
/// </summary>
public static partial class HrDates
{
    public const int MinYear = 1900;
    public const int MaxYear = 2200;

    /// <summary>The ISO 8601 forms every reader accepts: a date, a local timestamp (read in the person's zone) or a timestamp with an offset.</summary>
    public static readonly IReadOnlyList<string> IsoFormats = ["yyyy-MM-dd", "yyyy-MM-ddTHH:mm", "yyyy-MM-ddTHH:mm:ss"];

    /// <summary>
    /// A termination or contract-end date is the last day worked: access ends at midnight after it, in the person's time
    /// zone (daylight saving included; a midnight skipped by a DST jump becomes the next valid moment). An unknown time
    /// zone is read as UTC.
    /// </summary>
    public static DateTimeOffset EndOfLastDay(DateOnly date, string timeZone)
    {
        var tz = Zone(timeZone);
        if (date.Year >= DateOnly.MaxValue.Year)
        {
            throw new ArgumentOutOfRangeException(nameof(date), date, $"the year must be {MaxYear} or earlier.");
        }

        return Local(date.AddDays(1).ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified), tz);
    }

    /// <summary>
    /// Reads <paramref name="text"/> as an HR moment. An ISO 8601 timestamp with an offset (<c>Z</c> or <c>±hh:mm</c>) is
    /// always accepted; otherwise the <paramref name="formats"/> are tried in order: a date-only format gives the end of that
    /// day in <paramref name="timeZone"/>, a format with a time but no offset is read in <paramref name="timeZone"/>, a
    /// format with an offset (<c>zzz</c>, <c>K</c>) is exact.
    /// </summary>
    /// <param name="problem">Why the text was refused, naming the accepted formats; null on success.</param>
    public static bool TryParse(string text, IReadOnlyList<string> formats, string timeZone, out HrMoment? moment, out string? problem)
    {
        moment = null;
        problem = null;
        var tz = Zone(timeZone);
        text = text.Trim();
        if (IsoWithOffset().IsMatch(text))
        {
            if (!YearOk(int.Parse(text.AsSpan(0, 4), CultureInfo.InvariantCulture), text, out problem))
            {
                return false;
            }

            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var exact))
            {
                problem = $"'{text}' is not a valid date and time.";
                return false;
            }

            return InRange(text, exact, tz, readAs: null, out moment, out problem);
        }

        foreach (var format in formats)
        {
            if (HasOffset(format))
            {
                if (DateTimeOffset.TryParseExact(text, format, CultureInfo.InvariantCulture, DateTimeStyles.None, out var withOffset))
                {
                    return InRange(text, withOffset, tz, readAs: null, out moment, out problem);
                }
            }
            else if (HasTime(format))
            {
                if (DateTime.TryParseExact(text, format, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
                {
                    if (!YearOk(local.Year, text, out problem))
                    {
                        return false;
                    }

                    var at = Local(DateTime.SpecifyKind(local, DateTimeKind.Unspecified), tz);
                    return InRange(text, at, tz, $"read as {local.ToString("yyyy-MM-dd'T'HH:mm", CultureInfo.InvariantCulture)} {tz.Id}", out moment, out problem);
                }
            }
            else if (DateOnly.TryParseExact(text, format, CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                if (!YearOk(date.Year, text, out problem))
                {
                    return false;
                }

                moment = new HrMoment(EndOfLastDay(date, tz.Id), date, null);
                return true;
            }
        }

        problem = $"'{text}' is not a date in the format(s) {string.Join(" or ", formats)}, nor an ISO 8601 timestamp with an offset (2026-12-31T17:00:00+01:00).";
        return false;
    }

    /// <summary>
    /// A problem with a list of formats for one field, or null: two formats that read the same text as different dates
    /// (dd/MM/yyyy and MM/dd/yyyy both read 03/04/2026), or a format that cannot read back what it writes.
    /// </summary>
    public static string? FindConflict(IReadOnlyList<string> formats)
    {
        var probes = Enumerable.Range(0, 365).Select(d => new DateTime(2026, 1, 1, 9, 30, 0, DateTimeKind.Unspecified).AddDays(d)).ToList();
        foreach (var format in formats)
        {
            try
            {
                _ = probes[0].ToString(format, CultureInfo.InvariantCulture);
            }
            catch (FormatException)
            {
                return $"'{format}' is not a valid date format.";
            }

            if (!HasDate(format))
            {
                return $"'{format}' has no day, month and year (write them as dd, MM and yyyy).";
            }
        }

        for (var i = 0; i < formats.Count; i++)
        {
            for (var j = 0; j < formats.Count; j++)
            {
                if (i == j)
                {
                    continue;
                }

                foreach (var probe in probes)
                {
                    var text = probe.ToString(formats[i], CultureInfo.InvariantCulture);
                    if (DateTime.TryParseExact(text, formats[j], CultureInfo.InvariantCulture, DateTimeStyles.None, out var other) && other.Date != probe.Date)
                    {
                        return $"'{formats[i]}' and '{formats[j]}' read the same text differently ('{text}' is {probe:yyyy-MM-dd} in one and {other:yyyy-MM-dd} in the other); keep only the one your HR system writes.";
                    }
                }
            }
        }

        return null;
    }

    private static bool InRange(string text, DateTimeOffset at, TimeZoneInfo tz, string? readAs, out HrMoment? moment, out string? problem)
    {
        moment = null;
        if (!YearOk(at.Year, text, out problem))
        {
            return false;
        }

        var local = TimeZoneInfo.ConvertTime(at, tz);
        moment = new HrMoment(at.ToUniversalTime(), DateOnly.FromDateTime(local.DateTime), readAs);
        return true;
    }

    private static bool YearOk(int year, string text, out string? problem)
    {
        problem = year is < MinYear or > MaxYear ? $"'{text}' has the year {year}, outside {MinYear}–{MaxYear}; check the date." : null;
        return problem is null;
    }

    private static TimeZoneInfo Zone(string timeZone) => TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out var found) ? found : TimeZoneInfo.Utc;

    // A local time skipped by a DST jump becomes the next valid moment; a repeated one is its first occurrence.
    private static DateTimeOffset Local(DateTime local, TimeZoneInfo tz)
    {
        if (tz.IsInvalidTime(local))
        {
            local = local.AddHours(1);
        }

        var offset = tz.IsAmbiguousTime(local) ? tz.GetAmbiguousTimeOffsets(local).Max() : tz.GetUtcOffset(local);
        return new DateTimeOffset(local, offset).ToUniversalTime();
    }

    private static bool HasOffset(string format) => StripLiterals(format).IndexOfAny(['z', 'K']) >= 0;

    private static bool HasTime(string format) => StripLiterals(format).IndexOfAny(['H', 'h', 'm', 's']) >= 0;

    private static bool HasDate(string format)
    {
        var f = StripLiterals(format);
        return f.Contains('d', StringComparison.Ordinal) && f.Contains('M', StringComparison.Ordinal) && f.Contains('y', StringComparison.Ordinal);
    }

    private static string StripLiterals(string format) => QuotedLiteral().Replace(format, string.Empty);

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:?\d{2})$", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex IsoWithOffset();

    [GeneratedRegex(@"'[^']*'|""[^""]*""|\\.", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex QuotedLiteral();
}
