using System.Globalization;
using System.Text.Json;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.HrSources;
using Deprov.Core.Model;

namespace Deprov.Connectors.BambooHr;

/// <summary>
/// BambooHR as an <see cref="IHrSource"/>. Changes come from <c>GET employees/changed?since=</c> (the answer's
/// <c>latest</c> is the next cursor), each changed employee is then read with future-dated values
/// (<c>onlyCurrent=false</c>, so a termination entered ahead is seen before it takes effect); a full listing is one custom
/// report over every employee, active or not. The fields read are <see cref="Fields"/>; the employment status
/// (<c>employmentHistoryStatus</c>, the current or future-dated row of the employment-status table) is the only word a
/// termination, a cancel or a rehire is taken from.
/// </summary>
internal sealed class BambooHrSource : IHrSource
{
    /// <summary>The BambooHR fields read, by their API names.</summary>
    internal static readonly string[] Fields = ["firstName", "lastName", "workEmail", "department", "jobTitle", "employmentHistoryStatus", "terminationDate"];

    private readonly BambooHrClient _client;
    private readonly BambooHrSettings _settings;
    private readonly HrStatusMapping _statuses;
    private readonly TimeProvider _time;

    public BambooHrSource(string id, BambooHrSettings settings, HrStatusMapping statuses, ConnectorContext context)
    {
        Id = id;
        _settings = settings;
        _statuses = statuses;
        _time = context.Time;
        _client = new BambooHrClient(id, settings, context.Secrets, context.Time);
    }

    public string Id { get; }

    public string Kind => BambooHrSourceFactory.KindName;

    public async Task<HrSourceListing> ListAllAsync(CancellationToken cancellationToken)
    {
        // BambooHR's report gives no change position: the next changed-since listing starts a little before this one did,
        // so a change made while the report was read is read again (harmless: events are idempotent) rather than missed.
        var cursor = (_time.GetUtcNow() - TimeSpan.FromMinutes(5)).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var before = _client.Calls;
        using var doc = await _client.ReportAsync(["id", .. Fields], cancellationToken);
        if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("employees", out var employees) || employees.ValueKind != JsonValueKind.Array)
        {
            throw new ConnectorException($"BambooHR {Id}: the custom report's answer has no 'employees' list; nothing was read.", isTransient: false);
        }

        var records = new List<HrSourceRecord>(employees.GetArrayLength());
        var i = 0;
        foreach (var e in employees.EnumerateArray())
        {
            records.Add(Map(e, expectedId: null, $"employees[{i++}]"));
        }

        return new HrSourceListing(records, cursor, _client.Calls - before, []);
    }

    public async Task<HrSourceListing> ListChangedAsync(string cursor, CancellationToken cancellationToken)
    {
        var before = _client.Calls;
        using var doc = await _client.ChangedAsync(cursor, cancellationToken);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("latest", out var latestNode) || latestNode.ValueKind != JsonValueKind.String
            || !DateTimeOffset.TryParse(latestNode.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
        {
            throw new ConnectorException($"BambooHR {Id}: the changed-employees answer has no valid 'latest' time; the cursor stays at {cursor}.", isTransient: false);
        }

        var notes = new List<string>();
        var ids = new List<string>();
        if (root.TryGetProperty("employees", out var employees))
        {
            // An object keyed by employee id (BambooHR's documented shape); an empty list stands for "none" too.
            if (employees.ValueKind == JsonValueKind.Object)
            {
                foreach (var p in employees.EnumerateObject())
                {
                    var action = p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("action", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
                    if (!IsEmployeeId(p.Name))
                    {
                        notes.Add($"changed entry '{Clip(p.Name)}' is not a BambooHR employee id; skipped.");
                    }
                    else if (string.Equals(action, "Deleted", StringComparison.OrdinalIgnoreCase))
                    {
                        // A deleted record says nothing about employment: never read as a termination.
                        notes.Add($"{p.Name}: deleted in BambooHR; nothing implied (a termination is an employment status).");
                    }
                    else
                    {
                        ids.Add(p.Name);
                    }
                }
            }
            else if (employees.ValueKind != JsonValueKind.Array || employees.GetArrayLength() > 0)
            {
                throw new ConnectorException($"BambooHR {Id}: the changed-employees answer's 'employees' is {employees.ValueKind}, not an object keyed by id.", isTransient: false);
            }
        }

        var records = new HrSourceRecord?[ids.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, ids.Count), new ParallelOptions { MaxDegreeOfParallelism = _settings.MaxConcurrency, CancellationToken = cancellationToken },
            async (index, ct) => records[index] = await ReadAsync(ids[index], ct));
        var found = new List<HrSourceRecord>(ids.Count);
        for (var i = 0; i < ids.Count; i++)
        {
            if (records[i] is { } r)
            {
                found.Add(r);
            }
            else
            {
                notes.Add($"{ids[i]}: changed, but BambooHR no longer knows the employee; nothing implied.");
            }
        }

        return new HrSourceListing(found, latestNode.GetString(), _client.Calls - before, notes);
    }

    public async Task<HrSourceRecord?> ReadAsync(string hrId, CancellationToken cancellationToken)
    {
        if (!IsEmployeeId(hrId))
        {
            return new HrSourceRecord(hrId, null, Problem: "is not a BambooHR employee id (digits only); nothing was read.");
        }

        using var doc = await _client.EmployeeAsync(hrId, Fields, cancellationToken);
        return doc is null ? null : Map(doc.RootElement, hrId, "$");
    }

    public ValueTask DisposeAsync()
    {
        _client.Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// One employee as Deprov reads it. A field absent from the answer is not mapped (it says nothing); a value that is not
    /// a string, or holds control or bidirectional characters, makes the whole record unusable (reported, never guessed).
    /// The termination date counts only under a status that means terminated or contract ended: BambooHR keeps an old
    /// termination date after a rehire.
    /// </summary>
    internal HrSourceRecord Map(JsonElement e, string? expectedId, string path)
    {
        if (e.ValueKind != JsonValueKind.Object)
        {
            return new HrSourceRecord(expectedId ?? path, null, Problem: $"{path} is {e.ValueKind}, not an employee object.");
        }

        var values = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var p in e.EnumerateObject())
        {
            switch (p.Value.ValueKind)
            {
                case JsonValueKind.String:
                    values[p.Name] = p.Value.GetString();
                    break;
                case JsonValueKind.Number when p.Name == "id":
                    values[p.Name] = p.Value.GetRawText();
                    break;
                case JsonValueKind.Null:
                    values[p.Name] = null;
                    break;
                default:
                    if (Fields.Contains(p.Name, StringComparer.Ordinal) || p.Name == "id")
                    {
                        return new HrSourceRecord(expectedId ?? path, null, Problem: $"{path}.{p.Name} is {p.Value.ValueKind}, not a string; nothing of this employee was used.");
                    }

                    break;
            }
        }

        var id = values.GetValueOrDefault("id") ?? expectedId;
        if (id is null || !IsEmployeeId(id))
        {
            return new HrSourceRecord(id is null ? expectedId ?? path : Clip(id), null, Problem: $"{path}.id is {(id is null ? "missing" : $"'{Clip(id)}'")}, not a BambooHR employee id (digits).");
        }

        if (expectedId is not null && id != expectedId)
        {
            return new HrSourceRecord(expectedId, null, Problem: $"asked for employee {expectedId}, BambooHR answered employee {id}; nothing was used.");
        }

        foreach (var (key, value) in values)
        {
            if (value is not null && (value.Length > 512 || value.Any(IsForbidden)))
            {
                return new HrSourceRecord(id, null, Problem: $"{path}.{key} holds {(value.Length > 512 ? "more than 512 characters" : "a control or bidirectional character")}; nothing of this employee was used.");
            }
        }

        var mapped = new HashSet<HrField>();
        string? Field(string key, HrField field)
        {
            if (!values.TryGetValue(key, out var v))
            {
                return null;
            }

            mapped.Add(field);
            return string.IsNullOrWhiteSpace(v) ? null : v.Trim();
        }

        var email = Field("workEmail", HrField.Email);
        var department = Field("department", HrField.Department);
        var title = Field("jobTitle", HrField.Title);
        string? name = null;
        if (values.TryGetValue("firstName", out var first) && values.TryGetValue("lastName", out var last))
        {
            mapped.Add(HrField.Name);
            var full = $"{first?.Trim()} {last?.Trim()}".Trim();
            name = full.Length == 0 ? null : full;
        }

        HrStatusMeaning? status = null;
        DateOnly? lastDay = null;
        if (values.TryGetValue("employmentHistoryStatus", out var statusText))
        {
            if (string.IsNullOrWhiteSpace(statusText))
            {
                // Known to be empty: says nothing, so nothing is cancelled or ended by it.
            }
            else if (!_statuses.TryMap(statusText, out var meaning))
            {
                return new HrSourceRecord(id, null, Problem: $"employmentHistoryStatus '{Clip(statusText)}' is not mapped (known: {_statuses.Known}); nothing of this employee was used. " +
                    "Fix: add it to hr_sources[].status.values (active, on_leave, terminated or contract_ended).");
            }
            else
            {
                mapped.Add(HrField.Status);
                status = meaning;
                if (meaning is HrStatusMeaning.Terminated or HrStatusMeaning.ContractEnded)
                {
                    var dateText = values.GetValueOrDefault("terminationDate");
                    if (!string.IsNullOrWhiteSpace(dateText) && dateText != "0000-00-00")
                    {
                        if (!DateOnly.TryParseExact(dateText, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day))
                        {
                            return new HrSourceRecord(id, null, Problem: $"is {statusText}, but terminationDate '{Clip(dateText)}' is not a yyyy-MM-dd date; nothing of this employee was used. " +
                                "Submit the leave with its date by hand (deprov leave), and check the field in BambooHR.");
                        }

                        lastDay = day;
                        mapped.Add(HrField.EndDate);
                        // BambooHR's Terminated says the employment ended; whether that is a leave or a contract end is the
                        // worker type's to say, as for a BambooHR webhook: with its date, the termination is passed as an end date.
                        status = meaning == HrStatusMeaning.Terminated ? null : meaning;
                        mapped.Remove(HrField.Status);
                    }
                }
                else
                {
                    mapped.Add(HrField.EndDate);
                }
            }
        }

        var record = new HrRecord(id, mapped)
        {
            Email = email,
            Name = name,
            Department = department,
            Title = title,
            Status = status,
        };
        return new HrSourceRecord(id, record, lastDay);
    }

    private static bool IsEmployeeId(string id) => id.Length is > 0 and <= 18 && id.All(char.IsAsciiDigit);

    private static bool IsForbidden(char c) =>
        char.IsControl(c) || c is '\uFFFD' or '\u200E' or '\u200F' or '\u061C' || c is >= '\u202A' and <= '\u202E' || c is >= '\u2066' and <= '\u2069';

    private static string Clip(string text) => text.Length > 64 ? text[..64] + "…" : text;
}
