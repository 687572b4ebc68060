using System.Buffers;
using System.Text;
using System.Text.Unicode;
using CsvHelper;
using Deprov.Core.Model;

namespace Deprov.Hosting.Roster;

/// <summary>
/// Reads a roster file into <see cref="HrRecord"/>s. Total: every data row ends up either in <see cref="ParsedRoster.Rows"/>
/// (or counted as an identical duplicate) or in <see cref="ParsedRoster.Errors"/> with its row (the file's line), column and
/// reason. Broken quoting and rows with the wrong number of fields are errors, never merged with the next rows; a file
/// that is not in the expected encoding is refused as a whole, naming the first place and the fix.
/// </summary>
internal sealed class RosterParser(RosterOptions options)
{
    private static readonly SearchValues<char> FormulaStart = SearchValues.Create("=+-@\t\r");

    internal sealed record ParsedRow(int Line, HrRecord Record);

    internal sealed record ParsedRoster(IReadOnlyList<ParsedRow> Rows, IReadOnlyList<RowError> Errors, int Total, int Duplicates, IReadOnlySet<string> Ids);

    internal static string FieldName(HrField field) => Naming.ToSnake(field.ToString());

    public ParsedRoster Parse(byte[] bytes, Func<string, Person?> known)
    {
        var rows = new List<ParsedRow>();
        var errors = new List<RowError>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var (text, encodingProblem) = Decode(bytes);
        if (text.Length == 0 || text.AsSpan().Trim().IsEmpty)
        {
            errors.Add(new RowError(1, null, "the file is empty: a header row is needed."));
            return new ParsedRoster(rows, errors, 0, 0, ids);
        }

        var malformed = new List<CsvMalformedRecord>();
        // Every line break ends a record: one unmatched quote cannot swallow the rows after it. Broken quoting and field
        // counts that differ from the header are skipped by the reader and reported here, row by row.
        using var csv = CsvReader.FromText(text, CsvReaderOptions.Default with
        {
            TrimWhitespace = true,
            TrackLineNumbers = true,
            AllowLineBreaksInQuotes = false,
            MalformedData = CsvMalformedDataHandling.Skip,
            FieldCountMismatch = CsvFieldCountHandling.Skip,
            OnMalformedRecord = malformed.Add,
        });
        List<string> header;
        try
        {
            header = csv.Headers.Select(h => h.Trim()).ToList();
        }
        catch (CsvFormatException ex)
        {
            errors.Add(new RowError(1, null, $"the header row cannot be read ({ex.Message}); write one column name per field, separated by commas."));
            return new ParsedRoster(rows, errors, 0, 0, ids);
        }

        if (header.Count == 0 || header.All(h => h.Length == 0))
        {
            errors.Add(new RowError(1, null, "the file is empty: a header row is needed."));
            return new ParsedRoster(rows, errors, 0, 0, ids);
        }

        if (malformed.Count > 0)
        {
            errors.Add(new RowError(1, null, $"the header row has broken quoting ({Describe(malformed[0].Reason)}); fix the header."));
            return new ParsedRoster(rows, errors, 0, 0, ids);
        }

        foreach (var required in new[] { "id", "email" })
        {
            if (!header.Contains(options.Columns[required], StringComparer.OrdinalIgnoreCase))
            {
                var found = string.Join(", ", header.Select(Printable));
                errors.Add(new RowError(1, options.Columns[required], $"the header has no '{options.Columns[required]}' column (the person's {required}); found: {found}. Rename the column or map it under roster.columns in deprov.yaml."));
                return new ParsedRoster(rows, errors, 0, 0, ids);
            }
        }

        var index = RosterOptions.Fields.ToDictionary(f => f, f => header.FindIndex(h => string.Equals(h, options.Columns[f], StringComparison.OrdinalIgnoreCase)), StringComparer.Ordinal);
        var mapped = Enum.GetValues<HrField>().Where(f => index[FieldName(f)] >= 0).ToHashSet();
        var seen = new Dictionary<string, (int Line, HrRecord Record)>(StringComparer.Ordinal);
        var total = 0;
        var duplicates = 0;
        var reported = 0;
        while (true)
        {
            bool more;
            try
            {
                more = csv.Read();
            }
            catch (CsvFormatException ex)
            {
                // The reader skips what it can; a record it cannot even delimit ends the file here, reported, not silently.
                total++;
                errors.Add(new RowError((int)Math.Max(ex.LineNumber, 1), null, $"the file cannot be read past this row: {ex.Message}"));
                break;
            }

            for (; reported < malformed.Count; reported++)
            {
                total++;
                errors.Add(Malformed(malformed[reported], header, csv.Separator));
            }

            if (!more)
            {
                break;
            }

            total++;
            var line = (int)csv.LineNumber;
            var rowErrors = new List<RowError>();
            string? Get(string field)
            {
                var i = index[field];
                var v = i >= 0 && !csv.IsEmpty(i) ? csv.GetString(i) : null;
                v = string.IsNullOrWhiteSpace(v) ? null : v.Trim();
                if (v is not null && BadCharacter(v) is { } bad)
                {
                    rowErrors.Add(new RowError(line, options.Columns[field], bad));
                    return null;
                }

                return v;
            }

            var id = Get("id");
            if (id is null)
            {
                if (!rowErrors.Any(e => e.Column == options.Columns["id"]))
                {
                    rowErrors.Add(new RowError(line, options.Columns["id"], "is empty: every row needs the person's HR id."));
                }
            }
            else if (IdProblem(id) is { } idProblem)
            {
                rowErrors.Add(new RowError(line, options.Columns["id"], idProblem));
            }

            var email = Get("email");
            if (EmailProblem(email) is { } emailProblem && !rowErrors.Any(e => e.Column == options.Columns["email"]))
            {
                rowErrors.Add(new RowError(line, options.Columns["email"], emailProblem));
            }

            var manager = Get("manager");
            if (manager is not null && IdProblem(manager) is { } managerProblem)
            {
                rowErrors.Add(new RowError(line, options.Columns["manager"], managerProblem));
            }

            WorkerType? worker = null;
            if (Get("worker_type") is { } wt)
            {
                if (Naming.TryParseEnum<WorkerType>(wt, out var w) && !int.TryParse(wt, out _))
                {
                    worker = w;
                }
                else
                {
                    rowErrors.Add(new RowError(line, options.Columns["worker_type"], $"'{Printable(wt)}' is not a worker type; use one of {Naming.AllowedValues<WorkerType>()}."));
                }
            }

            var reason = ExitReason.Voluntary;
            if (Get("termination_reason") is { } tr && (!Naming.TryParseEnum(tr, out reason) || reason == ExitReason.None || int.TryParse(tr, out _)))
            {
                rowErrors.Add(new RowError(line, options.Columns["termination_reason"], $"'{Printable(tr)}' is not a reason; use voluntary or involuntary."));
            }

            var tz = Get("time_zone");
            if (tz is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(tz, out _))
            {
                rowErrors.Add(new RowError(line, options.Columns["time_zone"], $"'{Printable(tz)}' is not a known time zone (IANA id such as Europe/Paris)."));
                tz = null;
            }

            HrStatusMeaning? status = null;
            if (Get("status") is { } st)
            {
                if (options.Status.TryMap(st, out var meaning))
                {
                    status = meaning;
                }
                else
                {
                    rowErrors.Add(new RowError(line, options.Columns["status"], $"'{Printable(st)}' is not a status Deprov knows ({options.Status.Known}); map it under roster.status.values in deprov.yaml."));
                }
            }

            // Dates are read in the person's time zone: the row's, else the stored one, else the default.
            var zone = tz ?? (id is null ? null : known(id)?.TimeZone) ?? options.DefaultTimeZone;
            HrMoment? Date(string field)
            {
                if (Get(field) is not { } value)
                {
                    return null;
                }

                var formats = options.DateFormats.GetValueOrDefault(field) ?? ["yyyy-MM-dd"];
                if (HrDates.TryParse(value, formats, zone, out var moment, out var problem))
                {
                    return moment;
                }

                rowErrors.Add(new RowError(line, options.Columns[field], $"{Printable(problem!)} (formats: roster.date_formats.{field})"));
                return null;
            }

            var start = Date("start_date");
            var end = Date("end_date");
            var name = Get("name");
            var department = Get("department");
            var title = Get("title");
            var location = Get("location");
            if (rowErrors.Count > 0)
            {
                errors.AddRange(rowErrors);
                continue;
            }

            var record = new HrRecord(id!, mapped)
            {
                Email = email,
                Name = name,
                Manager = manager,
                Department = department,
                Title = title,
                Location = location,
                WorkerType = worker,
                TimeZone = tz,
                StartDate = start?.LocalDate,
                End = end,
                Status = status,
                Reason = reason,
            };
            ids.Add(record.Id);
            if (seen.TryGetValue(record.Id, out var first))
            {
                if (!Same(first.Record, record))
                {
                    errors.Add(new RowError(line, options.Columns["id"], $"'{record.Id}' already appears on row {first.Line} with different values; the first row is kept. Remove one of them."));
                }
                else
                {
                    duplicates++;
                }

                continue;
            }

            seen[record.Id] = (line, record);
            rows.Add(new ParsedRow(line, record));
        }

        if (encodingProblem is not null)
        {
            // A file that is not in its encoding is refused whole: its other rows may be misread in ways no check sees.
            errors.Insert(0, new RowError(encodingProblem.Value.Line, encodingProblem.Value.Column is { } c && c < header.Count ? header[c] : null, encodingProblem.Value.Problem));
            return new ParsedRoster([], errors, total, 0, ids);
        }

        return new ParsedRoster(rows, errors, total, duplicates, ids);
    }

    private static bool Same(HrRecord a, HrRecord b) =>
        a with { Mapped = b.Mapped } == b && a.Mapped.SetEquals(b.Mapped);

    private static RowError Malformed(CsvMalformedRecord m, List<string> header, char separator)
    {
        var line = (int)Math.Max(m.LineNumber, 1);
        if (m.Reason == CsvMalformedReason.FieldCountMismatch)
        {
            var count = CountFields(m.RawRecord, separator);
            var column = count < header.Count ? header[count] : null;
            var what = count < header.Count
                ? $"has {count} of the header's {header.Count} fields: '{column}' and the columns after it are missing. Add the missing separators (empty values are fine)."
                : $"has {count} fields but the header has {header.Count}: a value with an unquoted '{separator}'? Put such values in double quotes.";
            return new RowError(line, column ?? $"(field {header.Count + 1})", $"row rejected: it {what}");
        }

        var at = QuoteProblemField(m.RawRecord, separator);
        return new RowError(line, at >= 0 && at < header.Count ? header[at] : $"(field {at + 1})",
            $"row rejected: {Describe(m.Reason)}. Quote the whole value and double any quote inside it (\"O\"\"Brien\"), or remove the quote.");
    }

    private static string Describe(CsvMalformedReason reason) => reason switch
    {
        CsvMalformedReason.UnterminatedQuote or CsvMalformedReason.LineBreakInQuotes => "a quote is opened and never closed on this line",
        CsvMalformedReason.StrayQuote => "a quote inside an unquoted value",
        CsvMalformedReason.TextAfterClosingQuote => "text after the closing quote of a value",
        _ => $"broken quoting ({reason})",
    };

    private static int CountFields(string raw, char separator)
    {
        using var r = CsvReader.FromText(raw + "\n", CsvReaderOptions.Default with { HasHeader = false, Separator = separator, AllowLineBreaksInQuotes = false });
        return r.Read() ? r.FieldCount : 0;
    }

    // The 0-based field of the first quoting problem on one line, by the RFC 4180 rules the reader applies.
    internal static int QuoteProblemField(string raw, char separator)
    {
        var field = 0;
        var i = 0;
        while (i <= raw.Length)
        {
            while (i < raw.Length && raw[i] is ' ' or '\t')
            {
                i++;
            }

            if (i < raw.Length && raw[i] == '"')
            {
                i++;
                while (true)
                {
                    if (i >= raw.Length)
                    {
                        return field;
                    }

                    if (raw[i] == '"')
                    {
                        if (i + 1 < raw.Length && raw[i + 1] == '"')
                        {
                            i += 2;
                            continue;
                        }

                        i++;
                        break;
                    }

                    i++;
                }

                while (i < raw.Length && raw[i] is ' ' or '\t')
                {
                    i++;
                }

                if (i < raw.Length && raw[i] != separator)
                {
                    return field;
                }
            }
            else
            {
                while (i < raw.Length && raw[i] != separator)
                {
                    if (raw[i] == '"')
                    {
                        return field;
                    }

                    i++;
                }
            }

            i++;
            field++;
        }

        return 0;
    }

    /// <summary>
    /// An HR id: letters, digits and <c>. _ - : / @ +</c>, starting with a letter or digit, at most 128 characters. This
    /// refuses control and bidi characters, U+FFFD (an undecodable byte), markup and spreadsheet formula prefixes.
    /// </summary>
    internal static string? IdProblem(string id)
    {
        if (BadCharacter(id) is { } bad)
        {
            return bad;
        }

        if (FormulaStart.Contains(id[0]))
        {
            return $"'{Printable(id)}' starts with '{Printable(id[..1])}', which a spreadsheet runs as a formula; an HR id starts with a letter or digit.";
        }

        if (id.Length > 128)
        {
            return $"is {id.Length} characters long; an HR id has at most 128.";
        }

        if (!char.IsLetterOrDigit(id[0]))
        {
            return $"'{Printable(id)}' must start with a letter or digit.";
        }

        foreach (var c in id)
        {
            if (!char.IsLetterOrDigit(c) && c is not ('.' or '_' or '-' or ':' or '/' or '@' or '+'))
            {
                return $"'{Printable(id)}' contains '{Printable(c.ToString())}'; an HR id has letters, digits and . _ - : / @ + only.";
            }
        }

        return null;
    }

    /// <summary>One @, a non-empty local part, a domain with a dot, no spaces or control characters, no formula prefix.</summary>
    internal static string? EmailProblem(string? email)
    {
        if (email is null)
        {
            return "is empty.";
        }

        if (BadCharacter(email) is { } bad)
        {
            return bad;
        }

        if (FormulaStart.Contains(email[0]))
        {
            return $"'{Printable(email)}' starts with '{Printable(email[..1])}', which a spreadsheet runs as a formula; it is not an email address.";
        }

        var at = email.IndexOf('@', StringComparison.Ordinal);
        var domain = at < 0 ? string.Empty : email[(at + 1)..];
        if (at <= 0 || domain.Contains('@', StringComparison.Ordinal) || email.Any(char.IsWhiteSpace) || email.Length > 254
            || domain.Length < 3 || !domain.Contains('.', StringComparison.Ordinal) || domain[0] == '.' || domain[^1] == '.' || domain.Contains("..", StringComparison.Ordinal)
            || email.IndexOfAny(['<', '>', '"', '(', ')', ',', ';', '\\', '[', ']']) >= 0)
        {
            return $"'{Printable(email)}' is not an email address (one @, a name before it, a domain with a dot after it, no spaces).";
        }

        return null;
    }

    /// <summary>Control characters, bidi controls and U+FFFD are refused in every value: they hide what a value says.</summary>
    internal static string? BadCharacter(string value)
    {
        foreach (var c in value)
        {
            var why = c switch
            {
                '\uFFFD' => "U+FFFD, the replacement for a byte that is not valid text (check the file's encoding)",
                >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' or '\u200E' or '\u200F' or '\u061C' => $"U+{(int)c:X4}, a bidirectional control that reorders how text is shown",
                _ when char.IsControl(c) => $"U+{(int)c:X4}, a control character",
                _ when char.IsSurrogate(c) && !char.IsSurrogatePair(value, value.IndexOf(c, StringComparison.Ordinal)) => $"U+{(int)c:X4}, a lone surrogate",
                _ => null,
            };
            if (why is not null)
            {
                return $"'{Printable(value)}' contains {why}; remove it.";
            }
        }

        return null;
    }

    /// <summary>A value as it can be shown in a message: control, bidi and invisible characters written as \uXXXX.</summary>
    internal static string Printable(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value.Length > 80 ? value[..80] + "…" : value)
        {
            if (char.IsControl(c) || c is >= '\u202A' and <= '\u202E' or >= '\u2066' and <= '\u2069' or '\u200E' or '\u200F' or '\u061C' or '\uFEFF' || char.IsSurrogate(c))
            {
                sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>
    /// The file's text: a byte order mark (UTF-8, UTF-16 LE or BE) decides; without one, <c>roster.encoding</c> if set, else
    /// UTF-8. Text that is not valid in its encoding is decoded with U+FFFD in place of the bad bytes (so rows can be
    /// reported), and the problem says where the first bad byte is and how to fix the file.
    /// </summary>
    private (string Text, (int Line, int? Column, string Problem)? Problem) Decode(byte[] bytes)
    {
        Encoding encoding;
        var skip = 0;
        string name;
        if (bytes.AsSpan().StartsWith((byte[])[0xEF, 0xBB, 0xBF]))
        {
            (encoding, skip, name) = (new UTF8Encoding(false, true), 3, "UTF-8");
        }
        else if (bytes.AsSpan().StartsWith((byte[])[0xFF, 0xFE, 0x00, 0x00]) || bytes.AsSpan().StartsWith((byte[])[0x00, 0x00, 0xFE, 0xFF]))
        {
            return (string.Empty, (1, null, "the file is UTF-32, which Deprov does not read; re-save it as UTF-8 (in Excel: CSV UTF-8)."));
        }
        else if (bytes.AsSpan().StartsWith((byte[])[0xFF, 0xFE]))
        {
            (encoding, skip, name) = (new UnicodeEncoding(false, false, true), 2, "UTF-16 LE");
        }
        else if (bytes.AsSpan().StartsWith((byte[])[0xFE, 0xFF]))
        {
            (encoding, skip, name) = (new UnicodeEncoding(true, false, true), 2, "UTF-16 BE");
        }
        else if (options.Encoding is { } configured)
        {
            return (configured.GetString(bytes), null);
        }
        else
        {
            (encoding, name) = (new UTF8Encoding(false, true), "UTF-8");
        }

        var body = bytes.AsSpan(skip);
        try
        {
            return (encoding.GetString(body), null);
        }
        catch (DecoderFallbackException ex)
        {
            var lenient = (Encoding)encoding.Clone();
            lenient.DecoderFallback = DecoderFallback.ReplacementFallback;
            var text = lenient.GetString(body);
            var at = FirstInvalid(body, name, ex);
            var lineNo = 1 + body[..at].Count((byte)'\n');
            var fix = name == "UTF-8"
                ? "The file is probably Latin-1 or Windows-1252: re-save it as UTF-8 (in Excel: CSV UTF-8), or set roster.encoding: windows-1252 (or latin1) in deprov.yaml."
                : $"Re-save it as UTF-8 (in Excel: CSV UTF-8).";
            var byteText = at < body.Length ? $"byte 0x{body[at]:X2}" : "the last byte";
            var lineStart = body[..at].LastIndexOf((byte)'\n') + 1;
            var column = ColumnAt(lenient.GetString(body[lineStart..at]));
            return (text, (lineNo, column, $"the file is refused: {byteText} on line {lineNo} is not valid {name}, so its text would be guessed. {fix}"));
        }
    }

    private static int FirstInvalid(ReadOnlySpan<byte> body, string name, DecoderFallbackException ex)
    {
        if (name == "UTF-8")
        {
            var chars = new char[body.Length];
            var status = Utf8.ToUtf16(body, chars, out var read, out _, replaceInvalidSequences: false);
            return status == OperationStatus.Done ? body.Length - 1 : read;
        }

        return Math.Clamp(ex.Index, 0, Math.Max(body.Length - 1, 0));
    }

    // The field a position on a line falls in, counting unquoted separators (the separator is not known yet: the first of , ; tab | that appears).
    private static int? ColumnAt(string linePrefix)
    {
        var inQuotes = false;
        char? sep = null;
        var count = 0;
        foreach (var c in linePrefix)
        {
            if (c == '"')
            {
                inQuotes = !inQuotes;
            }
            else if (!inQuotes && (sep is null ? c is ',' or ';' or '\t' or '|' : c == sep))
            {
                sep = c;
                count++;
            }
        }

        return count;
    }
}
