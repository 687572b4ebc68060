using System.Text;
using Deprov.Core.Model;
using Deprov.Hosting.Roster;
using Deprov.Testing;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Hosting.Tests.Roster;

/// <summary>
/// Seeded generators of roster rows: good rows, rows with one known defect, and rows with random hostile characters. Every
/// run reads over 2,000 rows; a failure names its seed so it can be replayed.
/// </summary>
public sealed class RosterFuzzTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 22, 9, 0, 0, TimeSpan.Zero);
    private const string Header = "id,email,name,department,time_zone,status,end_date";
    private static readonly string[] Zones = ["UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo"];
    private static readonly string[] Hostile = ["\"", ",", ";", "\t", "\u0000", "\u0007", "\u001b", "\u202E", "\u2066", "\u200F", "\uFFFD", "=", "+", "-", "@", "<script>", "'", "\\", " ", "é", "😀", "\u00A0"];

    private sealed record Line(string Text, string Id, bool Good);

    private static string Field(string value) => value.Contains(',', StringComparison.Ordinal) || value.Contains('"', StringComparison.Ordinal) ? $"\"{value.Replace("\"", "\"\"", StringComparison.Ordinal)}\"" : value;

    private static string[] GoodFields(Random rnd, string id)
    {
        var status = rnd.Next(4) switch { 0 => "Active", 1 => "On Leave", 2 => "Terminated", _ => string.Empty };
        var end = status == "Terminated" || rnd.Next(5) == 0 ? new DateOnly(2026, 12, 1).AddDays(rnd.Next(400)).ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) : string.Empty;
        return [id, $"{id}@example.com", rnd.Next(3) == 0 ? $"Doe, J{id}" : $"Name {id}", rnd.Next(2) == 0 ? "Sales" : "R&D", Zones[rnd.Next(Zones.Length)], status, end];
    }

    // One known defect, which must reject the row (and only that row).
    private static string Defective(Random rnd, string[] f)
    {
        switch (rnd.Next(10))
        {
            case 0: f[2] = "\"" + f[2].Replace("\"", string.Empty, StringComparison.Ordinal); return string.Join(',', f.Select((v, i) => i == 2 ? v : Field(v)));
            case 1: f[3] = "Sa\"les"; return string.Join(',', f.Select((v, i) => i == 3 ? v : Field(v)));
            case 2: return string.Join(',', f.Take(rnd.Next(1, f.Length)).Select(Field));
            case 3: return string.Join(',', f.Select(Field)) + ",extra";
            case 4: f[0] = new[] { "=1+1", "+33", "-x", "@x", "<script>", "a\u202Eb", "a\u0001b", "a\uFFFDb", "\u0001id", "a b" }[rnd.Next(10)] + f[0]; break;
            case 5: f[1] = new[] { "a@", "a@b@c.com", "@SUM(1)", "a b@example.com", "a@localhost", "=x@example.com", "a@example..com", string.Empty }[rnd.Next(8)]; break;
            case 6: f[6] = new[] { "03/04/2026", "9999-12-31", "0202-12-31", "2026-13-01", "2026-02-30", "1850-01-01", "2026-12-31T10:00:00+99:00", "soon" }[rnd.Next(8)]; break;
            case 7: f[5] = "Fired"; break;
            case 8: f[5] = "Terminated"; f[6] = string.Empty; break;
            default: f[4] = "Mars/Base"; break;
        }

        return string.Join(',', f.Select(Field));
    }

    private static (string Text, List<Line> Lines) Generate(Random rnd, int rows, int start)
    {
        var lines = new List<Line>();
        for (var i = 0; i < rows; i++)
        {
            var id = $"p{start + i}";
            var f = GoodFields(rnd, id);
            lines.Add(rnd.Next(2) == 0 ? new Line(string.Join(',', f.Select(Field)), id, true) : new Line(Defective(rnd, f), id, false));
        }

        return (Header + "\n" + string.Join("\n", lines.Select(l => l.Text)) + "\n", lines);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public async Task ImportAsync_MutatedRows_GoodRowsAllKeptDefectiveRowsEachRejectedWithRowAndColumn(int seed)
    {
        await using var env = await TestEnvironment.CreateAsync(time: new FakeTimeProvider(Now));
        var rnd = new Random(seed);
        var (text, lines) = Generate(rnd, 600, seed * 10_000);

        var report = await new RosterImporter(env.Engine).ImportAsync(new MemoryStream(Encoding.UTF8.GetBytes(text)), new ImportOptions(DryRun: true), "admin:hr", CancellationToken.None);

        Assert.Equal(lines.Count, report.Rows);
        var rejected = report.Errors.Select(e => e.Row).ToHashSet();
        for (var i = 0; i < lines.Count; i++)
        {
            Assert.True(lines[i].Good != rejected.Contains(i + 2), $"seed {seed}, row {i + 2}: {(lines[i].Good ? "good row rejected" : "defective row accepted")}: {lines[i].Text}");
        }

        Assert.Equal(lines.Where(l => l.Good).Select(l => l.Id).Order(StringComparer.Ordinal), report.Added.Order(StringComparer.Ordinal));
        Assert.Equal(lines.Count(l => !l.Good), report.RejectedRows);
        Assert.All(report.Errors, e => Assert.False(string.IsNullOrEmpty(e.Column), $"seed {seed}: row {e.Row} rejected without a column: {e.Problem}"));
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    public void Parse_RandomHostileCharacters_NeverThrowAndAcceptOnlyValidRows(int seed)
    {
        var rnd = new Random(seed);
        var sb = new StringBuilder(Header).Append('\n');
        const int Rows = 600;
        for (var i = 0; i < Rows; i++)
        {
            var f = GoodFields(rnd, $"h{i}");
            var text = string.Join(',', f.Select(Field));
            for (var k = rnd.Next(4); k > 0; k--)
            {
                text = text.Insert(rnd.Next(text.Length + 1), Hostile[rnd.Next(Hostile.Length)]);
            }

            sb.Append(text).Append('\n');
        }

        var parsed = new RosterParser(RosterOptions.Default).Parse(Encoding.UTF8.GetBytes(sb.ToString()), _ => null);

        Assert.Equal(parsed.Total, parsed.Rows.Count + parsed.Duplicates + parsed.Errors.Select(e => e.Row).Distinct().Count());
        Assert.All(parsed.Errors, e => Assert.True(e.Row >= 2 && !string.IsNullOrEmpty(e.Column), $"seed {seed}: {e}"));
        Assert.All(parsed.Rows, r =>
        {
            Assert.Null(RosterParser.IdProblem(r.Record.Id));
            Assert.Null(RosterParser.EmailProblem(r.Record.Email));
            foreach (var v in new[] { r.Record.Name, r.Record.Department, r.Record.TimeZone })
            {
                Assert.True(v is null || RosterParser.BadCharacter(v) is null, $"seed {seed}: '{v}' accepted");
            }

            Assert.True(r.Record.End is null || r.Record.End.At.Year is >= HrDates.MinYear and <= HrDates.MaxYear + 1);
        });
    }

    [Fact]
    public void Parse_InvalidByteAnywhere_RefusesTheFileNamingTheRow()
    {
        var rnd = new Random(21);
        for (var n = 0; n < 60; n++)
        {
            var (text, lines) = Generate(new Random(n), 20, 0);
            var bytes = Encoding.UTF8.GetBytes(text).ToList();
            var line = rnd.Next(lines.Count);
            var lineStart = Encoding.UTF8.GetByteCount(Header + "\n" + string.Concat(lines.Take(line).Select(l => l.Text + "\n")));
            bytes.Insert(lineStart + rnd.Next(Encoding.UTF8.GetByteCount(lines[line].Text)), (byte)rnd.Next(0x80, 0x100));

            var parsed = new RosterParser(RosterOptions.Default).Parse([.. bytes], _ => null);

            Assert.Empty(parsed.Rows);
            Assert.Equal(line + 2, parsed.Errors[0].Row);
            Assert.Contains("is not valid UTF-8", parsed.Errors[0].Problem, StringComparison.Ordinal);
        }
    }
}
