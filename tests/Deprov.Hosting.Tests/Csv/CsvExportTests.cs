using CsvHelper;
using Deprov.Core.Audit;
using Deprov.Hosting.Audit;
using Deprov.Hosting.Csv;
using Deprov.Testing;

namespace Deprov.Hosting.Tests.Csv;

public sealed class CsvExportTests
{
    private static List<string[]> ReadBack(string text)
    {
        using var csv = CsvReader.FromText(text, CsvReaderOptions.Default with { HasHeader = false, Separator = ',' });
        var rows = new List<string[]>();
        while (csv.Read())
        {
            rows.Add(Enumerable.Range(0, csv.FieldCount).Select(csv.GetString).ToArray());
        }

        return rows;
    }

    [Fact]
    public async Task WriteAsync_FormulaValues_RoundTripNeutralised()
    {
        await using var output = new StringWriter();
        await CsvExport.WriteAsync(output, ["a", "b", "c", "d", "e"], [["=SUM(1)", "@x", "+1", "-2", "plain, \"quoted\""]], CancellationToken.None);

        var rows = ReadBack(output.ToString());
        Assert.Equal(["'=SUM(1)", "'@x", "'+1", "'-2", "plain, \"quoted\""], rows[1]);
    }

    [Fact]
    public async Task ExportPersonAsync_Csv_NeutralisesAFormulaInAnyField()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var person = Some.Person("p1");
        await env.SeedAsync([person], Some.Systems([person]));
        await env.Engine.Store.AppendAuditAsync([new AuditEntry(DateTimeOffset.UnixEpoch, "=cmd|' /C calc'!A0", "note", null, null, "p1", null, null, null, null, "ok", "@SUM(1)")], CancellationToken.None);
        await using var output = new StringWriter();
        await new AuditService(env.Engine.Store, env.Engine.Time).ExportPersonAsync("p1", EvidenceFormat.Csv, output, CancellationToken.None);

        var row = ReadBack(output.ToString()).Single(r => r[3] == "note");
        Assert.Equal("'=cmd|' /C calc'!A0", row[2]);
        Assert.Equal("'@SUM(1)", row[12]);
    }
}
