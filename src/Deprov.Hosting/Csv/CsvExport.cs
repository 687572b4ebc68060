using System.Globalization;
using CsvHelper;
using Deprov.Core.Reconciliation;

namespace Deprov.Hosting.Csv;

/// <summary>
/// The one CSV writer for everything Deprov exports (audit evidence, the licence report): RFC 4180 quoting, and a text
/// value that starts with a formula character (<c>= + - @</c>, tab, CR) written with a leading <c>'</c>, so a
/// spreadsheet shows it as text and never runs it (CSV injection). Numbers are written as numbers.
/// </summary>
public static class CsvExport
{
    /// <summary>The options every export uses; readers of our files (and tests) can rely on them.</summary>
    public static CsvWriterOptions Options { get; } = CsvWriterOptions.Default with
    {
        Injection = CsvInjection.Escape,
        NewLine = "\n",
        FormatProvider = CultureInfo.InvariantCulture,
    };

    /// <summary>Writes a header and rows of text fields; a null field is empty.</summary>
    public static async Task WriteAsync(TextWriter output, IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string?>> rows, CancellationToken cancellationToken)
    {
        await using var csv = CsvWriter.Create(output, Options, leaveOpen: true);
        csv.WriteHeader([.. header]);
        foreach (var row in rows)
        {
            await csv.WriteRecordAsync([.. row], cancellationToken);
        }

        await csv.FlushAsync(cancellationToken);
    }

    /// <summary>The licence reclaim report: one row per system, amounts with two decimals, invariant culture.</summary>
    public static Task WriteLicencesAsync(TextWriter output, IEnumerable<LicenceUsage> rows, CancellationToken cancellationToken) =>
        WriteAsync(output,
            ["system", "name", "cost_per_seat", "active_accounts", "revoked_seats", "monthly_freed", "dormant_seats", "monthly_reclaimable"],
            rows.Select(r => (IReadOnlyList<string?>)[
                r.SystemId, r.DisplayName, Amount(r.CostPerSeat), Count(r.ActiveAccounts), Count(r.RevokedSeats), Amount(r.MonthlyFreed), Count(r.DormantSeats), Amount(r.MonthlyReclaimable)]),
            cancellationToken);

    private static string Amount(decimal d) => d.ToString("0.00", CultureInfo.InvariantCulture);

    private static string Count(int n) => n.ToString(CultureInfo.InvariantCulture);
}
