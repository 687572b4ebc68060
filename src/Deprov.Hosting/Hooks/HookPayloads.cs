using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Hosting.Execution;

namespace Deprov.Hosting.Hooks;

/// <summary>
/// The field names of one event body: the signed webhook (<c>POST /hooks/hr</c>, docs/hr-event.schema.json) and the
/// API (<c>POST /api/events</c>, docs/api-event.schema.json) carry the same event under different names.
/// </summary>
public sealed record EventBodyFormat(string Id, bool IdRequired, string Type, string Person, string Effective, string Reason, string NewDepartment, string NewTitle,
    string System, string Note)
{
    public static EventBodyFormat Hook { get; } = new("id", true, "type", "person", "effective", "reason", "new_department", "new_title", "system", "note");

    public static EventBodyFormat Api { get; } = new("idempotencyKey", false, "kind", "personId", "effectiveAt", "reason", "newDepartment", "newTitle", "holdSystemId", "note");

    public IReadOnlyList<string> Fields => [Id, Type, Person, Effective, Reason, NewDepartment, NewTitle, System, Note];
}

/// <summary>
/// Turns webhook and API bodies into lifecycle events. Parsing is total: any byte sequence either becomes an event or a
/// <see cref="ValidationException"/> whose errors name the JSON path (<c>$.effective</c>), the problem and the fix.
/// The rules are exactly those of the published schemas (docs/hr-event.schema.json, docs/api-event.schema.json).
/// </summary>
public static partial class HookPayloads
{
    /// <summary>The years an HR date may name: outside them the value is a typo (year 202, 9999), never a plan.</summary>
    public const int MinYear = 1900;

    public const int MaxYear = 2200;

    public const int MaxIdLength = 256;

    public const int MaxTextLength = 256;

    public const int MaxNoteLength = 2000;

    private static readonly string[] Kinds = ["leave", "move", "contract_end", "rehire", "termination_cancelled", "legal_hold_set", "legal_hold_released"];

    private static readonly string[] Reasons = ["voluntary", "involuntary"];

    /// <summary>
    /// The generic payload of <c>POST /hooks/hr</c>, documented in docs/hr-triggers.md:
    /// <c>{"id": "evt-1", "type": "leave", "person": "p0042", "effective": "2026-12-31", "reason": "involuntary"}</c>.
    /// </summary>
    public static GenericEvent ParseGeneric(ReadOnlySpan<byte> body) => Parse(body, EventBodyFormat.Hook);

    /// <summary>
    /// Parses one event body. Refused: invalid JSON or UTF-8, a non-object, duplicate or unknown keys, a value of the wrong
    /// type, an enum value not spelled exactly as documented, an empty or over-long string, a control or bidi character in
    /// an id, a date outside <see cref="MinYear"/>–<see cref="MaxYear"/>, a field that does not belong to the event type.
    /// </summary>
    public static GenericEvent Parse(ReadOnlySpan<byte> body, EventBodyFormat format)
    {
        using var doc = ParseJson(body);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Error("$", $"must be a JSON object, not {Kind(root)}.", $"send {{\"{format.Type}\": ..., \"{format.Person}\": ...}}.");
        }

        var errors = new List<ValidationError>();
        var values = Properties(root, "$", errors);
        foreach (var name in values.Keys)
        {
            if (!format.Fields.Contains(name, StringComparer.Ordinal))
            {
                errors.Add(new ValidationError(null, null, Path("$", name), "is not a known field.", $"use only: {string.Join(", ", format.Fields)} (names are case-sensitive)."));
            }
        }

        string? Str(string name, bool required, int max, bool id = false)
        {
            var path = Path("$", name);
            if (!values.TryGetValue(name, out var v))
            {
                if (required)
                {
                    errors.Add(new ValidationError(null, null, path, "is required.", $"add \"{name}\"."));
                }

                return null;
            }

            if (v.ValueKind != JsonValueKind.String)
            {
                errors.Add(new ValidationError(null, null, path, $"must be a string, not {Kind(v)}.", $"write it in double quotes{(v.ValueKind == JsonValueKind.Null ? ", or leave the field out" : string.Empty)}."));
                return null;
            }

            if (ReadString(v) is not { } s)
            {
                errors.Add(new ValidationError(null, null, path, "is not valid UTF-8/UTF-16 text (an invalid byte or a lone surrogate).", "send the text encoded as UTF-8."));
                return null;
            }

            var length = CodePoints(s);
            if (length == 0 || length > max)
            {
                errors.Add(new ValidationError(null, null, path, length == 0 ? "is empty." : $"is {length} characters long; at most {max} are allowed.",
                    s.Length == 0 ? "give a value, or leave the field out." : "shorten it."));
                return null;
            }

            // No store can keep a NUL in text (PostgreSQL refuses it) and no HR value holds one.
            if (s.Contains('\0', StringComparison.Ordinal))
            {
                errors.Add(new ValidationError(null, null, path, "contains U+0000 (a NUL character), which no text may hold.", "remove the NUL character."));
                return null;
            }

            if (id && !GoodId().IsMatch(s))
            {
                errors.Add(new ValidationError(null, null, path, "contains a control, bidirectional-override or replacement character, or starts or ends with a space.",
                    "send the id as the HR system shows it."));
                return null;
            }

            return s;
        }

        var key = Str(format.Id, format.IdRequired, MaxIdLength, id: true);
        var type = Str(format.Type, required: true, 64);
        var person = Str(format.Person, required: true, MaxIdLength, id: true);
        var effective = Str(format.Effective, required: false, 64);
        var reasonText = Str(format.Reason, required: false, 64);
        var newDepartment = Str(format.NewDepartment, false, MaxTextLength);
        var newTitle = Str(format.NewTitle, false, MaxTextLength);
        var system = Str(format.System, false, MaxIdLength, id: true);
        var note = Str(format.Note, false, MaxNoteLength);

        var kind = EventKind.Leave;
        if (type is not null)
        {
            if (Array.IndexOf(Kinds, type) < 0 || !Naming.TryParseEnum(type, out kind))
            {
                errors.Add(new ValidationError(null, null, Path("$", format.Type), $"'{type}' is not an event type.", $"use one of (lower case): {string.Join(", ", Kinds)}."));
                type = null;
            }
        }

        var reason = ExitReason.None;
        if (reasonText is not null)
        {
            if (Array.IndexOf(Reasons, reasonText) < 0 || !Naming.TryParseEnum(reasonText, out reason))
            {
                errors.Add(new ValidationError(null, null, Path("$", format.Reason), $"'{reasonText}' is not a reason.", "use voluntary or involuntary (lower case)."));
            }
        }

        EffectiveText? when = null;
        if (effective is not null)
        {
            when = ParseEffective(effective, out var problem);
            if (when is null)
            {
                errors.Add(new ValidationError(null, null, Path("$", format.Effective), $"'{effective}' {problem}",
                    $"write a date (2026-12-31: the last day worked) or a date-time (2026-12-31T17:00:00+01:00; without an offset it is read in the person's time zone), years {MinYear}–{MaxYear}."));
            }
        }

        if (type is not null)
        {
            // Fields that mean nothing for the event type are refused, not ignored: a sender who puts "system" on a leave
            // believes the leave is limited to that system.
            if (kind == EventKind.Move && newDepartment is null && newTitle is null && !values.ContainsKey(format.NewDepartment) && !values.ContainsKey(format.NewTitle))
            {
                errors.Add(new ValidationError(null, null, Path("$", format.NewDepartment), "is required for a move (or " + format.NewTitle + ").", $"add \"{format.NewDepartment}\" and/or \"{format.NewTitle}\"."));
            }

            if (kind != EventKind.Move)
            {
                foreach (var name in new[] { format.NewDepartment, format.NewTitle }.Where(values.ContainsKey))
                {
                    errors.Add(new ValidationError(null, null, Path("$", name), $"belongs only to a move, not to {type}.", "leave it out."));
                }
            }

            if (kind is not (EventKind.LegalHoldSet or EventKind.LegalHoldReleased) && values.ContainsKey(format.System))
            {
                errors.Add(new ValidationError(null, null, Path("$", format.System), $"belongs only to legal_hold_set and legal_hold_released, not to {type}.", "leave it out."));
            }

            if (kind is not (EventKind.Leave or EventKind.ContractEnd) && values.ContainsKey(format.Reason))
            {
                errors.Add(new ValidationError(null, null, Path("$", format.Reason), $"belongs only to leave and contract_end, not to {type}.", "leave it out."));
            }
        }

        if (errors.Count > 0)
        {
            throw new ValidationException(errors);
        }

        return new GenericEvent(key, kind, person!, when?.Date, when?.Instant, when?.Local, reason, newDepartment, newTitle, system, note);
    }

    /// <summary>What an <c>effective</c> value says: a date, an instant (with offset) or a local date-time (no offset).</summary>
    private sealed record EffectiveText(DateOnly? Date, DateTimeOffset? Instant, DateTime? Local);

    private static EffectiveText? ParseEffective(string text, out string problem)
    {
        problem = string.Empty;
        var m = EffectivePattern().Match(text);
        if (!m.Success)
        {
            problem = "is not a date (2026-12-31) or a date-time (2026-12-31T17:00:00, optionally with an offset: Z or +01:00).";
            return null;
        }

        var year = int.Parse(m.Groups["y"].ValueSpan, CultureInfo.InvariantCulture);
        if (year is < MinYear or > MaxYear)
        {
            problem = $"names the year {year}; HR dates must lie between {MinYear} and {MaxYear}.";
            return null;
        }

        if (!DateOnly.TryParseExact(text.AsSpan(0, 10), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            problem = "is not a day of the calendar.";
            return null;
        }

        if (!m.Groups["time"].Success)
        {
            return new EffectiveText(date, null, null);
        }

        var time = TimeOnly.ParseExact(m.Groups["time"].ValueSpan[..8], "HH:mm:ss", CultureInfo.InvariantCulture);
        var local = date.ToDateTime(time, DateTimeKind.Unspecified);
        if (m.Groups["frac"].Success)
        {
            local = local.AddTicks(long.Parse(m.Groups["frac"].Value.PadRight(7, '0'), CultureInfo.InvariantCulture));
        }

        if (!m.Groups["off"].Success)
        {
            return new EffectiveText(null, null, local);
        }

        var off = m.Groups["off"].Value;
        var offset = off == "Z" ? TimeSpan.Zero
            : new TimeSpan(int.Parse(off.AsSpan(1, 2), CultureInfo.InvariantCulture), int.Parse(off.AsSpan(4, 2), CultureInfo.InvariantCulture), 0) * (off[0] == '-' ? -1 : 1);
        return new EffectiveText(null, new DateTimeOffset(local, offset), null);
    }

    /// <summary>
    /// BambooHR field-based ("global") webhooks carry the changed values: a status of Terminated with a termination date
    /// becomes a leave (or a contract end for contractors), a department or job title change a move. Event-based webhooks
    /// carry only ids and field names; they become changes that need a lookup. The shape is checked strictly (types,
    /// duplicate and unknown keys); the values BambooHR's customers choose (field names) are not restricted.
    /// </summary>
    public static IReadOnlyList<BambooChange> ParseBambooHr(ReadOnlySpan<byte> body)
    {
        using var doc = ParseJson(body);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object)
        {
            throw Error("$", $"must be a JSON object, not {Kind(root)}.", "send BambooHR's JSON payload ({\"employees\": [...]}) unchanged.");
        }

        var errors = new List<ValidationError>();
        var top = Properties(root, "$", errors);
        var changes = new List<BambooChange>();
        if (top.TryGetValue("employees", out var employees))
        {
            Unknown(top, "$", errors, "employees");
            if (employees.ValueKind != JsonValueKind.Array)
            {
                errors.Add(new ValidationError(null, null, "$.employees", $"must be an array, not {Kind(employees)}.", null));
                throw new ValidationException(errors);
            }

            var i = 0;
            foreach (var e in employees.EnumerateArray())
            {
                var path = $"$.employees[{i++}]";
                if (e.ValueKind != JsonValueKind.Object)
                {
                    errors.Add(new ValidationError(null, null, path, $"must be an object, not {Kind(e)}.", null));
                    continue;
                }

                var p = Properties(e, path, errors);
                Unknown(p, path, errors, "id", "action", "timestamp", "fields", "changedFields");
                var id = BambooId(p, "id", path, errors);
                var action = BambooString(p, "action", path, errors);
                var timestamp = BambooString(p, "timestamp", path, errors);
                StringArray(p, "changedFields", path, errors);
                var fields = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
                if (p.TryGetValue("fields", out var f))
                {
                    if (f.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add(new ValidationError(null, null, path + ".fields", $"must be an object, not {Kind(f)}.", null));
                    }
                    else
                    {
                        foreach (var (name, value) in Properties(f, path + ".fields", errors))
                        {
                            var fieldPath = Path(path + ".fields", name);
                            if (value.ValueKind == JsonValueKind.Object)
                            {
                                var inner = Properties(value, fieldPath, errors);
                                Unknown(inner, fieldPath, errors, "value", "previousValue", "previous");
                                _ = inner.TryGetValue("previousValue", out var pv) ? Scalar(pv, fieldPath + ".previousValue", errors) : null;
                                _ = inner.TryGetValue("previous", out var pv2) ? Scalar(pv2, fieldPath + ".previous", errors) : null;
                                fields[name] = inner.TryGetValue("value", out var v) ? Scalar(v, fieldPath + ".value", errors) : null;
                            }
                            else
                            {
                                fields[name] = Scalar(value, fieldPath, errors);
                            }
                        }
                    }
                }

                if (id is not null)
                {
                    changes.Add(new BambooChange(id, action, fields, timestamp, null, path));
                }
            }

            if (i == 0)
            {
                errors.Add(new ValidationError(null, null, "$.employees", "is empty.", "send at least one employee."));
            }
        }
        else if (top.TryGetValue("type", out var typeValue) || top.ContainsKey("data"))
        {
            Unknown(top, "$", errors, "type", "data", "timestamp", "id", "webhookId");
            var type = BambooString(top, "type", "$", errors, required: true);
            var timestamp = BambooString(top, "timestamp", "$", errors);
            _ = BambooString(top, "id", "$", errors);
            _ = BambooString(top, "webhookId", "$", errors);
            if (!top.TryGetValue("data", out var data) || data.ValueKind != JsonValueKind.Object)
            {
                errors.Add(new ValidationError(null, null, "$.data", data.ValueKind == JsonValueKind.Undefined ? "is required." : $"must be an object, not {Kind(data)}.", null));
                throw new ValidationException(errors);
            }

            var d = Properties(data, "$.data", errors);
            Unknown(d, "$.data", errors, "companyId", "employeeId", "changedFields");
            var id = BambooId(d, "employeeId", "$.data", errors);
            var changed = StringArray(d, "changedFields", "$.data", errors);
            if (id is not null && type is not null)
            {
                changes.Add(new BambooChange(id, type, new Dictionary<string, string?>(), timestamp,
                    $"{DeprovEngine.NeedsLookupPrefix}BambooHR event-based webhook {type} for employee {id} (changed: {(changed.Count == 0 ? "nothing named" : string.Join(", ", changed))}) " +
                    "carries ids and field names only, and no BambooHR API source is configured to read the values; Deprov does not guess the event. " +
                    "Send a field-based webhook (employmentStatus, terminationDate, department, jobTitle), or submit the event by hand.", "$"));
            }
        }
        else
        {
            throw Error("$", "is neither a field-based ({\"employees\": [...]}) nor an event-based ({\"type\": ..., \"data\": ...}) BambooHR payload.",
                "send BambooHR's JSON payload unchanged (the webhook's format must be JSON).");
        }

        if (errors.Count > 0)
        {
            throw new ValidationException(errors);
        }

        return changes;
    }

    private static JsonDocument ParseJson(ReadOnlySpan<byte> body)
    {
        try
        {
            return JsonDocument.Parse(body.ToArray(), new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException ex)
        {
            throw Error($"$ (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})", "is not valid JSON: " + ex.Message.Split(" LineNumber:")[0].Split(". Path:")[0].TrimEnd('.') + ".",
                "send one JSON object, UTF-8 encoded.");
        }
    }

    /// <summary>An object's properties; a key given twice is an error (the JSON RFC leaves its meaning undefined).</summary>
    private static Dictionary<string, JsonElement> Properties(JsonElement obj, string path, List<ValidationError> errors)
    {
        var result = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        foreach (var p in obj.EnumerateObject())
        {
            string name;
            try
            {
                name = p.Name;
            }
            catch (InvalidOperationException)
            {
                errors.Add(new ValidationError(null, null, path, "has a key that is not valid UTF-8/UTF-16 text.", "send the keys as documented."));
                continue;
            }

            if (!result.TryAdd(name, p.Value))
            {
                errors.Add(new ValidationError(null, null, Path(path, name), "is given twice.", "send each field once."));
            }
        }

        return result;
    }

    private static void Unknown(Dictionary<string, JsonElement> values, string path, List<ValidationError> errors, params string[] known)
    {
        foreach (var name in values.Keys.Where(n => Array.IndexOf(known, n) < 0))
        {
            errors.Add(new ValidationError(null, null, Path(path, name), "is not a known field.", $"use only: {string.Join(", ", known)}."));
        }
    }

    private static string? BambooString(Dictionary<string, JsonElement> values, string name, string path, List<ValidationError> errors, bool required = false)
    {
        if (!values.TryGetValue(name, out var v))
        {
            if (required)
            {
                errors.Add(new ValidationError(null, null, Path(path, name), "is required.", null));
            }

            return null;
        }

        if (v.ValueKind != JsonValueKind.String || ReadString(v) is not { Length: > 0 and <= MaxTextLength } s)
        {
            errors.Add(new ValidationError(null, null, Path(path, name), $"must be a non-empty string of at most {MaxTextLength} characters, not {Kind(v)}.", null));
            return null;
        }

        return s;
    }

    /// <summary>BambooHR employee ids are numbers, sent as strings or as integers.</summary>
    private static string? BambooId(Dictionary<string, JsonElement> values, string name, string path, List<ValidationError> errors)
    {
        if (!values.TryGetValue(name, out var v))
        {
            errors.Add(new ValidationError(null, null, Path(path, name), "is required.", "send BambooHR's employee id."));
            return null;
        }

        if (v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n >= 0)
        {
            return n.ToString(CultureInfo.InvariantCulture);
        }

        if (v.ValueKind == JsonValueKind.String && ReadString(v) is { Length: > 0 and <= MaxIdLength } s && GoodId().IsMatch(s))
        {
            return s;
        }

        errors.Add(new ValidationError(null, null, Path(path, name), $"must be an employee id (a string or a non-negative integer), not {Kind(v)}.", null));
        return null;
    }

    private static List<string> StringArray(Dictionary<string, JsonElement> values, string name, string path, List<ValidationError> errors)
    {
        var list = new List<string>();
        if (!values.TryGetValue(name, out var v))
        {
            return list;
        }

        if (v.ValueKind != JsonValueKind.Array)
        {
            errors.Add(new ValidationError(null, null, Path(path, name), $"must be an array of field names, not {Kind(v)}.", null));
            return list;
        }

        var i = 0;
        foreach (var x in v.EnumerateArray())
        {
            if (x.ValueKind == JsonValueKind.String && ReadString(x) is { Length: <= MaxTextLength } s)
            {
                list.Add(s);
            }
            else
            {
                errors.Add(new ValidationError(null, null, $"{Path(path, name)}[{i}]", $"must be a field name (a string), not {Kind(x)}.", null));
            }

            i++;
        }

        return list;
    }

    /// <summary>A field value: a string, a number or null (BambooHR sends each as the company configured the field).</summary>
    private static string? Scalar(JsonElement v, string path, List<ValidationError> errors)
    {
        switch (v.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.Number:
                return v.GetRawText();
            case JsonValueKind.String when ReadString(v) is { Length: <= MaxNoteLength } s:
                return s;
            default:
                errors.Add(new ValidationError(null, null, path, $"must be a string, a number or null, not {Kind(v)}.", null));
                return null;
        }
    }

    /// <summary>The string, or null when its bytes are not valid UTF-8 or it escapes a lone surrogate.</summary>
    private static string? ReadString(JsonElement v)
    {
        try
        {
            return v.GetString();
        }
        catch (InvalidOperationException)
        {
            return null;
        }
    }

    /// <summary>The length as JSON Schema counts it (code points: a surrogate pair is one character).</summary>
    private static int CodePoints(string s)
    {
        var n = s.Length;
        foreach (var c in s)
        {
            if (char.IsLowSurrogate(c))
            {
                n--;
            }
        }

        return n;
    }

    private static string Kind(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Number => "a number",
        JsonValueKind.Null => "null",
        JsonValueKind.Array => "an array",
        JsonValueKind.Object => "an object",
        JsonValueKind.String => "a string",
        _ => "nothing",
    };

    private static string Path(string parent, string name) =>
        SimpleName().IsMatch(name) ? $"{parent}.{name}" : $"{parent}['{name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}']";

    private static ValidationException Error(string path, string problem, string? fix) => new([new ValidationError(null, null, path, problem, fix)]);

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,63}$")]
    private static partial Regex SimpleName();

    /// <summary>
    /// An id as the schemas allow it: no control, bidi-override or replacement character (they hide or reorder text in every
    /// list that shows the id), and no space at either end (" " is not an id). The same pattern as in the schemas.
    /// </summary>
    [GeneratedRegex("^[^\\u0000-\\u001F\\u007F-\\u009F\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069\\uFFFD \\u00A0\\u1680\\u2000-\\u200B\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF]([^\\u0000-\\u001F\\u007F-\\u009F\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069\\uFFFD]*[^\\u0000-\\u001F\\u007F-\\u009F\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069\\uFFFD \\u00A0\\u1680\\u2000-\\u200B\\u2028\\u2029\\u202F\\u205F\\u3000\\uFEFF])?$")]
    private static partial Regex GoodId();

    /// <summary>The shapes the schemas allow (docs/hr-event.schema.json): a date, or a date-time with optional fraction and offset.</summary>
    [GeneratedRegex("^(?<y>[0-9]{4})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])(T(?<time>([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9])(\\.(?<frac>[0-9]{1,7}))?(?<off>Z|[+-](0[0-9]|1[0-4]):[0-5][0-9])?)?$",
        RegexOptions.CultureInvariant)]
    private static partial Regex EffectivePattern();
}

/// <summary>
/// A parsed event body. The effective moment is a date (the last day worked: access ends at midnight after it, in the
/// person's time zone), an instant (a date-time with offset), a local date-time (no offset: read in the person's time
/// zone) or nothing (now). <see cref="Id"/> is the idempotency key (null: derived from the content).
/// </summary>
public sealed record GenericEvent(string? Id, EventKind Kind, string Person, DateOnly? Date, DateTimeOffset? Instant, DateTime? Local, ExitReason Reason,
    string? NewDepartment, string? NewTitle, string? System, string? Note)
{
    /// <summary>The effective moment in <paramref name="timeZone"/> (unknown zone: UTC), and a note when a zone was applied.</summary>
    public (DateTimeOffset At, string? Note) EffectiveAt(string? timeZone, DateTimeOffset now)
    {
        var zone = timeZone is not null && TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out var tz) ? tz : TimeZoneInfo.Utc;
        if (Date is { } d)
        {
            return (HrDates.EndOfLastDay(d, zone.Id), $"effective {d:yyyy-MM-dd} read as the last day worked: access ends at midnight after it in {zone.Id}");
        }

        if (Local is { } local)
        {
            // A local time skipped by a daylight-saving jump becomes the next valid moment.
            var l = zone.IsInvalidTime(local) ? local.AddHours(1) : local;
            var at = new DateTimeOffset(l, zone.GetUtcOffset(l));
            return (at.ToUniversalTime(), $"effective {local:yyyy-MM-ddTHH:mm:ss} has no offset: read in the person's time zone {zone.Id} ({at:yyyy-MM-ddTHH:mm:sszzz})");
        }

        return (Instant ?? now, null);
    }
}

/// <summary>One employee's change in a BambooHR webhook. <see cref="Unusable"/> says why it cannot become an event.</summary>
/// <param name="Path">Where the change is in the body (<c>$.employees[0]</c>).</param>
public sealed record BambooChange(string EmployeeId, string? Action, IReadOnlyDictionary<string, string?> Fields, string? Timestamp, string? Unusable, string Path = "$");
