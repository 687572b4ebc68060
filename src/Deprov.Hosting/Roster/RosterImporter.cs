using System.Security.Cryptography;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;

namespace Deprov.Hosting.Roster;

/// <summary>A row that could not be used: where, which column, why. Good rows still go through.</summary>
public sealed record RowError(int Row, string? Column, string Problem);

/// <summary>What an import found and did.</summary>
/// <param name="Rows">Every data row of the file (blank lines aside): <paramref name="GoodRows"/> + <paramref name="RejectedRows"/>.</param>
/// <param name="Notes">How values were read where the file left room for doubt (a timestamp without an offset read in the person's time zone).</param>
public sealed record RosterReport(
    int Rows,
    int GoodRows,
    int RejectedRows,
    IReadOnlyList<RowError> Errors,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Updated,
    IReadOnlyList<LifecycleEvent> Events,
    IReadOnlyList<SubmitResult> Results,
    IReadOnlyList<string> Missing,
    int Replayed,
    bool DryRun,
    IReadOnlyList<string> Notes);

/// <param name="Full">The file lists everyone: people the store knows but the file lacks are reported (see <see cref="ConfirmMissing"/>).</param>
/// <param name="ConfirmMissing">With a full roster and <c>missing_people: leave_after_confirmation</c>: offboard the missing.</param>
/// <param name="DryRun">Report what would happen; change nothing.</param>
public sealed record ImportOptions(bool Full = false, bool ConfirmMissing = false, bool DryRun = false);

/// <summary>
/// Compares an HR roster (CSV) with what the store knows and emits the events it implies (see <see cref="HrDiff"/>): a new
/// or changed termination date or status (leave, or contract end), an explicit withdrawal (termination cancelled), a
/// department or title change (move). A column the file lacks changes nothing. New people are added and their parked
/// events replayed. Events carry idempotency keys derived from the row, so importing the same file twice does nothing the
/// second time. Every row is either good or rejected with its row, column and reason; one bad row never drops another.
/// </summary>
public sealed class RosterImporter
{
    private readonly DeprovEngine _engine;
    private readonly RosterOptions _options;

    public RosterImporter(DeprovEngine engine)
    {
        _engine = engine;
        _options = engine.Config.Roster;
    }

    public async Task<RosterReport> ImportAsync(Stream csv, ImportOptions options, string actor, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await csv.CopyToAsync(buffer, cancellationToken);
        var bytes = buffer.ToArray();
        var fileHash = Convert.ToHexString(SHA256.HashData(bytes))[..12];

        var known = new Dictionary<string, Person>(StringComparer.Ordinal);
        for (var offset = 0; ; offset += 10_000)
        {
            var page = await _engine.Store.ListPeopleAsync(10_000, offset, cancellationToken);
            foreach (var p in page)
            {
                known[p.Id] = p;
            }

            if (page.Count < 10_000)
            {
                break;
            }
        }

        var now = _engine.Time.GetUtcNow();
        var parsed = new RosterParser(_options).Parse(bytes, id => known.GetValueOrDefault(id));
        var errors = parsed.Errors.ToList();
        var notes = new List<string>();
        var added = new List<Person>();
        var updated = new List<Person>();
        var events = new List<LifecycleEvent>();
        var good = parsed.Rows.Count + parsed.Duplicates;
        foreach (var row in parsed.Rows)
        {
            var before = known.GetValueOrDefault(row.Record.Id);
            var change = HrDiff.Apply(before, row.Record, _options.Status, _options.DefaultTimeZone, now, "roster");
            if (change.Problem is not null)
            {
                errors.Add(new RowError(row.Line, _options.Columns[RosterParser.FieldName(change.ProblemField!.Value)], change.Problem));
                good--;
                continue;
            }

            if (row.Record.End?.ReadAs is { } readAs)
            {
                notes.Add($"row {row.Line}: {_options.Columns["end_date"]} of {row.Record.Id} {readAs}");
            }

            events.AddRange(change.Events);
            if (change.IsNew)
            {
                added.Add(change.Person);
            }
            else if (change.Changed)
            {
                updated.Add(change.Person);
            }
        }

        var rejected = parsed.Total - good;
        var inFile = parsed.Ids;
        var missing = options.Full ? known.Values.Where(p => p.Status != PersonStatus.Left && !inFile.Contains(p.Id)).Select(p => p.Id).Order(StringComparer.Ordinal).ToList() : [];
        if (options.Full && options.ConfirmMissing && _options.Missing == MissingPeople.LeaveAfterConfirmation)
        {
            events.AddRange(missing.Select(id => new LifecycleEvent(string.Empty, EventKind.Leave, id, now, ExitReason.None, "roster", $"roster:missing:{id}:{fileHash}", now,
                Note: "absent from a full roster; offboarding confirmed by the operator")));
        }

        errors = [.. errors.OrderBy(e => e.Row)];
        if (options.DryRun)
        {
            return new RosterReport(parsed.Total, good, rejected, errors, added.Select(p => p.Id).ToList(), updated.Select(p => p.Id).ToList(), events, [], missing, 0, true, notes);
        }

        // New people first (their events need them); events next (a move is planned against the old role); then the
        // updated HR fields.
        await _engine.Store.UpsertPeopleAsync(added, cancellationToken);
        var replayed = await _engine.ReplayParkedAsync(actor, cancellationToken);
        var results = events.Count > 0 ? await _engine.SubmitManyAsync(events, actor, cancellationToken) : [];
        await _engine.Store.UpsertPeopleAsync(updated, cancellationToken);
        return new RosterReport(parsed.Total, good, rejected, errors, added.Select(p => p.Id).ToList(), updated.Select(p => p.Id).ToList(), events, results, missing, replayed, false, notes);
    }
}
