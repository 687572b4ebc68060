using System.Globalization;
using System.Security.Cryptography;
using CsvHelper;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;

namespace Deprov.Hosting.Roster;

/// <summary>A row that could not be used: where, which column, why. Good rows still go through.</summary>
public sealed record RowError(int Row, string? Column, string Problem);

/// <summary>What an import found and did.</summary>
public sealed record RosterReport(
    int Rows,
    int GoodRows,
    IReadOnlyList<RowError> Errors,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Updated,
    IReadOnlyList<LifecycleEvent> Events,
    IReadOnlyList<SubmitResult> Results,
    IReadOnlyList<string> Missing,
    int Replayed,
    bool DryRun);

/// <param name="Full">The file lists everyone: people the store knows but the file lacks are reported (see <see cref="ConfirmMissing"/>).</param>
/// <param name="ConfirmMissing">With a full roster and <c>missing_people: leave_after_confirmation</c>: offboard the missing.</param>
/// <param name="DryRun">Report what would happen; change nothing.</param>
public sealed record ImportOptions(bool Full = false, bool ConfirmMissing = false, bool DryRun = false);

/// <summary>
/// Compares an HR roster (CSV) with what the store knows and emits the events it implies: a new or changed termination
/// date (leave, or contract end for contractors and vendors), a withdrawn date (termination cancelled), a department or
/// title change (move). New people are added and their parked events replayed. Events carry idempotency keys derived
/// from the row, so importing the same file twice does nothing the second time.
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
        var fileHash = Convert.ToHexString(SHA256.HashData(buffer.ToArray()))[..12];
        buffer.Position = 0;
        var (rows, errors, total) = Parse(buffer);

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
        var added = new List<Person>();
        var updated = new List<Person>();
        var events = new List<LifecycleEvent>();
        foreach (var row in rows)
        {
            var p = row.Person;
            if (!known.TryGetValue(p.Id, out var before))
            {
                added.Add(p);
                if (p.EndDate is { } end)
                {
                    events.Add(Ending(p, end, row.Reason, now));
                }

                continue;
            }

            if (p.Department != before.Department || p.Title != before.Title)
            {
                events.Add(new LifecycleEvent(string.Empty, EventKind.Move, p.Id, now, ExitReason.None, "roster", $"roster:move:{p.Id}:{p.Department}:{p.Title}", now,
                    p.Department, p.Title));
            }

            if (p.EndDate is { } endDate && endDate != before.EndDate)
            {
                events.Add(Ending(p, endDate, row.Reason, now));
            }
            else if (p.EndDate is null && before.EndDate is { } withdrawn)
            {
                events.Add(new LifecycleEvent(string.Empty, EventKind.TerminationCancelled, p.Id, now, ExitReason.None, "roster",
                    $"roster:withdrawn:{p.Id}:{withdrawn:yyyy-MM-dd}", now, Note: $"end date {withdrawn:yyyy-MM-dd} withdrawn from the roster"));
            }

            if (p with { Status = before.Status } != before)
            {
                updated.Add(p with { Status = before.Status });
            }
        }

        var inFile = rows.Select(r => r.Person.Id).ToHashSet(StringComparer.Ordinal);
        var missing = options.Full ? known.Values.Where(p => p.Status != PersonStatus.Left && !inFile.Contains(p.Id)).Select(p => p.Id).Order(StringComparer.Ordinal).ToList() : [];
        if (options.Full && options.ConfirmMissing && _options.Missing == MissingPeople.LeaveAfterConfirmation)
        {
            events.AddRange(missing.Select(id => new LifecycleEvent(string.Empty, EventKind.Leave, id, now, ExitReason.None, "roster", $"roster:missing:{id}:{fileHash}", now,
                Note: "absent from a full roster; offboarding confirmed by the operator")));
        }

        if (options.DryRun)
        {
            return new RosterReport(total, rows.Count, errors, added.Select(p => p.Id).ToList(), updated.Select(p => p.Id).ToList(), events, [], missing, 0, true);
        }

        // New people first (their events need them); events next (a move is planned against the old role); then the
        // updated HR fields.
        await _engine.Store.UpsertPeopleAsync(added, cancellationToken);
        var replayed = await _engine.ReplayParkedAsync(actor, cancellationToken);
        var results = events.Count > 0 ? await _engine.SubmitManyAsync(events, actor, cancellationToken) : [];
        await _engine.Store.UpsertPeopleAsync(updated, cancellationToken);
        return new RosterReport(total, rows.Count, errors, added.Select(p => p.Id).ToList(), updated.Select(p => p.Id).ToList(), events, results, missing, replayed, false);
    }

    private static LifecycleEvent Ending(Person p, DateOnly end, ExitReason reason, DateTimeOffset now)
    {
        var kind = p.WorkerType is WorkerType.Contractor or WorkerType.Vendor ? EventKind.ContractEnd : EventKind.Leave;
        return new LifecycleEvent(string.Empty, kind, p.Id, HrDates.EndOfLastDay(end, p.TimeZone), reason, "roster", $"roster:{kind.Snake()}:{p.Id}:{end:yyyy-MM-dd}", now,
            Note: $"roster end date {end:yyyy-MM-dd}");
    }

    private sealed record Row(int Line, Person Person, ExitReason Reason);

    private (List<Row> Rows, List<RowError> Errors, int Total) Parse(Stream stream)
    {
        var rows = new List<Row>();
        var errors = new List<RowError>();
        var seen = new Dictionary<string, (int Line, Person Person)>(StringComparer.Ordinal);
        // CsvHelper handles the byte order mark, detects the separator (, ; tab |), quoted fields and blank lines.
        using var csv = CsvReader.Create(stream, CsvReaderOptions.Default with { TrimWhitespace = true, TrackLineNumbers = true }, leaveOpen: true);
        var header = csv.Headers.Select(h => h.Trim()).ToList();
        if (header.Count == 0)
        {
            errors.Add(new RowError(1, null, "the file is empty: a header row is needed."));
            return (rows, errors, 0);
        }

        foreach (var required in new[] { "id", "email" })
        {
            if (!header.Contains(_options.Columns[required], StringComparer.OrdinalIgnoreCase))
            {
                errors.Add(new RowError(1, _options.Columns[required], $"the header has no '{_options.Columns[required]}' column (the person's {required}); found: {string.Join(", ", header)}. Rename the column or map it under roster.columns in deprov.yaml."));
                return (rows, errors, 0);
            }
        }

        var index = RosterOptions.Fields.ToDictionary(f => f, f => header.FindIndex(h => string.Equals(h, _options.Columns[f], StringComparison.OrdinalIgnoreCase)), StringComparer.Ordinal);
        var total = 0;
        while (csv.Read())
        {
            total++;
            var line = (int)csv.LineNumber;
            var rowErrors = new List<RowError>();
            string? Get(string field)
            {
                var i = index[field];
                var v = i >= 0 && !csv.IsEmpty(i) ? csv.GetString(i) : null;
                return string.IsNullOrWhiteSpace(v) ? null : v.Trim();
            }

            DateOnly? Date(string field)
            {
                if (Get(field) is not { } text)
                {
                    return null;
                }

                var formats = _options.DateFormats.GetValueOrDefault(field) ?? ["yyyy-MM-dd"];
                if (DateOnly.TryParseExact(text, [.. formats], CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
                {
                    return d;
                }

                rowErrors.Add(new RowError(line, _options.Columns[field], $"'{text}' is not a date in the format(s) {string.Join(" or ", formats)} (set under roster.date_formats.{field})."));
                return null;
            }

            var id = Get("id");
            var email = Get("email");
            if (id is null)
            {
                rowErrors.Add(new RowError(line, _options.Columns["id"], "is empty: every row needs the person's HR id."));
            }

            if (email is null || !email.Contains('@', StringComparison.Ordinal))
            {
                rowErrors.Add(new RowError(line, _options.Columns["email"], email is null ? "is empty." : $"'{email}' is not an email address."));
            }

            var worker = WorkerType.Employee;
            if (Get("worker_type") is { } wt && !Naming.TryParseEnum(wt, out worker))
            {
                rowErrors.Add(new RowError(line, _options.Columns["worker_type"], $"'{wt}' is not a worker type; use one of {Naming.AllowedValues<WorkerType>()}."));
            }

            var reason = ExitReason.Voluntary;
            if (Get("termination_reason") is { } tr && !Naming.TryParseEnum(tr, out reason))
            {
                rowErrors.Add(new RowError(line, _options.Columns["termination_reason"], $"'{tr}' is not a reason; use voluntary or involuntary."));
            }

            var tz = Get("time_zone") ?? _options.DefaultTimeZone;
            if (!TimeZoneInfo.TryFindSystemTimeZoneById(tz, out _))
            {
                rowErrors.Add(new RowError(line, _options.Columns["time_zone"], $"'{tz}' is not a known time zone (IANA id such as Europe/Paris)."));
            }

            var start = Date("start_date");
            var end = Date("end_date");
            if (rowErrors.Count > 0)
            {
                errors.AddRange(rowErrors);
                continue;
            }

            var person = new Person(id!, email!, Get("name") ?? email!, Get("manager"), Get("department") ?? string.Empty, Get("title") ?? string.Empty,
                Get("location") ?? string.Empty, worker, PersonStatus.Active, start, end, tz);
            if (seen.TryGetValue(person.Id, out var first))
            {
                if (first.Person != person)
                {
                    errors.Add(new RowError(line, _options.Columns["id"], $"'{person.Id}' already appears on row {first.Line} with different values; the first row is kept. Remove one of them."));
                }

                continue;
            }

            seen[person.Id] = (line, person);
            rows.Add(new Row(line, person, reason));
        }

        return (rows, errors, total);
    }
}
