using Deprov.Core.Model;

namespace Deprov.Core.Tests.Model;

public sealed class HrDatesTests
{
    private static readonly string[] Iso = [.. HrDates.IsoFormats];

    [Theory]
    [InlineData("2026-12-20T18:00:00+01:00", "2026-12-20T17:00:00Z")]
    [InlineData("2026-12-20T18:00:00Z", "2026-12-20T18:00:00Z")]
    [InlineData("2026-12-20T18:00-05:00", "2026-12-20T23:00:00Z")]
    [InlineData("2026-12-20T18:00:00.5+00:00", "2026-12-20T18:00:00.5Z")]
    public void TryParse_IsoWithOffset_IsExactWhateverTheFormats(string text, string expected)
    {
        Assert.True(HrDates.TryParse(text, ["dd/MM/yyyy"], "Europe/Paris", out var moment, out var problem), problem);
        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), moment!.At);
        Assert.Null(moment.ReadAs);
    }

    [Fact]
    public void TryParse_DateOnly_IsTheEndOfThatDayInThePersonsZone()
    {
        Assert.True(HrDates.TryParse("2026-12-20", Iso, "Europe/Paris", out var moment, out _));
        Assert.Equal(new DateTimeOffset(2026, 12, 20, 23, 0, 0, TimeSpan.Zero), moment!.At);
        Assert.Equal(new DateOnly(2026, 12, 20), moment.LocalDate);
    }

    [Fact]
    public void TryParse_TimestampWithoutOffset_IsReadInThePersonsZoneAndSaysSo()
    {
        Assert.True(HrDates.TryParse("2026-12-20T18:00", Iso, "Europe/Paris", out var moment, out _));
        Assert.Equal(new DateTimeOffset(2026, 12, 20, 17, 0, 0, TimeSpan.Zero), moment!.At);
        Assert.Equal("read as 2026-12-20T18:00 Europe/Paris", moment.ReadAs);
    }

    [Theory]
    [InlineData("12/20/2026")]
    [InlineData("20.12.2026")]
    [InlineData("tomorrow")]
    [InlineData("2026-12-20T18:00:00+25:00")]
    public void TryParse_OtherShapes_AreRefusedNamingTheFormats(string text)
    {
        Assert.False(HrDates.TryParse(text, Iso, "UTC", out _, out var problem));
        Assert.Contains(text, problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("9999-12-31")]
    [InlineData("1899-12-31")]
    [InlineData("2201-01-01")]
    [InlineData("9999-12-31T23:59:59-14:00")]
    [InlineData("0202-12-31T00:00:00Z")]
    public void TryParse_YearOutsideTheSaneRange_IsRefusedWithTheReason(string text)
    {
        Assert.False(HrDates.TryParse(text, Iso, "Pacific/Kiritimati", out _, out var problem));
        Assert.Contains("1900–2200", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryParse_LocalTimeSkippedByDaylightSaving_BecomesTheNextValidMoment()
    {
        Assert.True(HrDates.TryParse("2026-03-29T02:30", Iso, "Europe/Paris", out var moment, out _));
        Assert.Equal(new DateTimeOffset(2026, 3, 29, 1, 30, 0, TimeSpan.Zero), moment!.At);
    }

    [Theory]
    [InlineData("dd/MM/yyyy", "MM/dd/yyyy")]
    [InlineData("dd.MM.yy", "yy.MM.dd")]
    [InlineData("d/M/yyyy", "M/d/yyyy")]
    public void FindConflict_FormatsThatReadTheSameTextDifferently_AreNamed(string a, string b)
    {
        var conflict = HrDates.FindConflict([a, b]);
        Assert.NotNull(conflict);
        Assert.Contains($"'{a}' and '{b}'", conflict, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("yyyy-MM-dd", "dd/MM/yyyy")]
    [InlineData("dd/MM/yyyy", "d/M/yyyy")]
    [InlineData("yyyy-MM-dd", "yyyy-MM-dd HH:mm")]
    public void FindConflict_CompatibleFormats_AreAccepted(string a, string b) => Assert.Null(HrDates.FindConflict([a, b]));

    [Theory]
    [InlineData("HH:mm")]
    [InlineData("MM/yyyy")]
    public void FindConflict_FormatWithoutAFullDate_IsRefused(string format) => Assert.NotNull(HrDates.FindConflict([format]));
}
