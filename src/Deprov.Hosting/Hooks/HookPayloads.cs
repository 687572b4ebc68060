using System.Globalization;
using System.Text.Json;
using Deprov.Core;
using Deprov.Core.Model;

namespace Deprov.Hosting.Hooks;

/// <summary>
/// Turns webhook bodies into lifecycle events. Every problem names its JSON path (<c>$.effective</c>) and the fix.
/// </summary>
public static class HookPayloads
{
    /// <summary>
    /// The generic payload (<c>POST /hooks/hr</c> and <c>POST /api/events</c>), documented in docs/hr-triggers.md:
    /// <c>{"id": "evt-1", "type": "leave", "person": "p0042", "effective": "2026-12-31", "reason": "involuntary",
    /// "new_department": "...", "new_title": "...", "system": "...", "note": "..."}</c>. <c>id</c> is the idempotency key.
    /// A date without a time means the end of that day in the person's time zone (resolved by the caller).
    /// </summary>
    public static GenericEvent ParseGeneric(ReadOnlySpan<byte> body)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException ex)
        {
            throw new ValidationException([new ValidationError(null, null, $"$ (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine})", "is not valid JSON: " + ex.Message.Split('.')[0] + ".", "send a JSON object.")]);
        }

        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new ValidationException([new ValidationError(null, null, "$", $"must be a JSON object, not {root.ValueKind.ToString().ToLowerInvariant()}.", "send {\"type\": ..., \"person\": ...}.")]);
            }

            var errors = new List<ValidationError>();
            var known = new[] { "id", "type", "person", "effective", "reason", "new_department", "new_title", "system", "note" };
            foreach (var p in root.EnumerateObject())
            {
                if (!known.Contains(p.Name, StringComparer.Ordinal))
                {
                    errors.Add(new ValidationError(null, null, $"$.{p.Name}", "is not a known field.", $"use: {string.Join(", ", known)}."));
                }
            }

            string? Str(string name, bool required)
            {
                if (!root.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null)
                {
                    if (required)
                    {
                        errors.Add(new ValidationError(null, null, $"$.{name}", "is required.", $"add \"{name}\"."));
                    }

                    return null;
                }

                if (v.ValueKind != JsonValueKind.String || v.GetString()!.Length == 0)
                {
                    errors.Add(new ValidationError(null, null, $"$.{name}", $"must be a non-empty string, not {v.ValueKind.ToString().ToLowerInvariant()}.", null));
                    return null;
                }

                return v.GetString();
            }

            var id = Str("id", required: true);
            var type = Str("type", required: true);
            var person = Str("person", required: true);
            var effective = Str("effective", required: false);
            var reasonText = Str("reason", required: false);
            var kind = EventKind.Leave;
            if (type is not null && !Naming.TryParseEnum(type, out kind))
            {
                errors.Add(new ValidationError(null, null, "$.type", $"'{type}' is not an event type.", $"use one of: {Naming.AllowedValues<EventKind>()}."));
            }

            var reason = ExitReason.None;
            if (reasonText is not null && !Naming.TryParseEnum(reasonText, out reason))
            {
                errors.Add(new ValidationError(null, null, "$.reason", $"'{reasonText}' is not a reason.", "use voluntary or involuntary."));
            }

            DateOnly? date = null;
            DateTimeOffset? instant = null;
            if (effective is not null)
            {
                if (DateOnly.TryParseExact(effective, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d))
                {
                    date = d;
                }
                else if (DateTimeOffset.TryParse(effective, CultureInfo.InvariantCulture, DateTimeStyles.None, out var dto) && effective.Contains('T', StringComparison.Ordinal))
                {
                    instant = dto;
                }
                else
                {
                    errors.Add(new ValidationError(null, null, "$.effective", $"'{effective}' is not a date (2026-12-31) or a date-time with offset (2026-12-31T17:00:00+01:00).", null));
                }
            }

            var newDepartment = Str("new_department", false);
            var newTitle = Str("new_title", false);
            if (kind == EventKind.Move && newDepartment is null && newTitle is null && errors.Count == 0)
            {
                errors.Add(new ValidationError(null, null, "$.new_department", "a move needs new_department or new_title.", null));
            }

            if (errors.Count > 0)
            {
                throw new ValidationException(errors);
            }

            return new GenericEvent(id!, kind, person!, date, instant, reason, newDepartment, newTitle, Str("system", false), Str("note", false));
        }
    }

    /// <summary>
    /// BambooHR field-based ("global") webhooks carry the changed values: a status of Terminated with a termination
    /// date becomes a leave (or a contract end for contractors), a department or job title change a move. Event-based
    /// webhooks carry only field names; they become parked events naming what is missing.
    /// </summary>
    public static IReadOnlyList<BambooChange> ParseBambooHr(ReadOnlySpan<byte> body)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body.ToArray());
        }
        catch (JsonException ex)
        {
            throw new ValidationException([new ValidationError(null, null, $"$ (line {ex.LineNumber + 1})", "is not valid JSON.", "check the webhook's format is JSON, not form-encoded.")]);
        }

        using (doc)
        {
            var root = doc.RootElement;
            var changes = new List<BambooChange>();
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("employees", out var employees) && employees.ValueKind == JsonValueKind.Array)
            {
                var i = 0;
                foreach (var e in employees.EnumerateArray())
                {
                    var path = $"$.employees[{i++}]";
                    var id = e.TryGetProperty("id", out var idv) ? idv.ToString() : throw new ValidationException([new ValidationError(null, null, path + ".id", "is required.", null)]);
                    var fields = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                    if (e.TryGetProperty("fields", out var f) && f.ValueKind == JsonValueKind.Object)
                    {
                        foreach (var p in f.EnumerateObject())
                        {
                            fields[p.Name] = p.Value.ValueKind == JsonValueKind.Object && p.Value.TryGetProperty("value", out var v) ? v.ToString() : p.Value.ToString();
                        }
                    }

                    var action = e.TryGetProperty("action", out var a) ? a.GetString() : null;
                    var timestamp = e.TryGetProperty("timestamp", out var ts) ? ts.GetString() : null;
                    changes.Add(new BambooChange(id, action, fields, timestamp, null));
                }

                return changes;
            }

            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("type", out var type) && root.TryGetProperty("data", out var data))
            {
                var id = data.TryGetProperty("employeeId", out var idv) ? idv.ToString()
                    : throw new ValidationException([new ValidationError(null, null, "$.data.employeeId", "is required.", null)]);
                var changed = data.TryGetProperty("changedFields", out var cf) && cf.ValueKind == JsonValueKind.Array ? cf.EnumerateArray().Select(x => x.ToString()).ToList() : [];
                changes.Add(new BambooChange(id, type.GetString(), new Dictionary<string, string?>(), root.TryGetProperty("timestamp", out var t) ? t.GetString() : null,
                    $"BambooHR event-based webhook ({type.GetString()}, changed: {string.Join(", ", changed)}) carries no values; use a field-based webhook with employmentStatus, terminationDate, department and jobTitle"));
                return changes;
            }

            throw new ValidationException([new ValidationError(null, null, "$", "is neither a field-based ({\"employees\": [...]}) nor an event-based ({\"type\": ..., \"data\": ...}) BambooHR payload.", null)]);
        }
    }
}

/// <summary>A parsed generic event; the effective moment is either a date (end of day, person's time zone) or an instant.</summary>
public sealed record GenericEvent(string Id, EventKind Kind, string Person, DateOnly? Date, DateTimeOffset? Instant, ExitReason Reason, string? NewDepartment, string? NewTitle,
    string? System, string? Note);

/// <summary>One employee's change in a BambooHR webhook. <see cref="Unusable"/> says why it cannot become an event.</summary>
public sealed record BambooChange(string EmployeeId, string? Action, IReadOnlyDictionary<string, string?> Fields, string? Timestamp, string? Unusable);
