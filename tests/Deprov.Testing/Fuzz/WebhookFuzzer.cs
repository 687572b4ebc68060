using System.Globalization;
using System.Text;
using System.Text.Json;
using Deprov.Hosting.Hooks;
using Json.Schema;

namespace Deprov.Testing.Fuzz;

/// <summary>Where a fuzzed request goes.</summary>
public enum FuzzTarget
{
    /// <summary><c>POST /hooks/hr</c> (generic body, Deprov-Signature).</summary>
    Hook,
    /// <summary><c>POST /api/events</c> (API body, bearer key).</summary>
    Api,
    /// <summary><c>POST /hooks/bamboohr</c> (BambooHR body, X-BambooHR-* headers).</summary>
    BambooHr,
}

/// <summary>One generated request and what the generator knows about it.</summary>
/// <param name="SignatureValid">Whether the signature headers are valid (always true for the API, which uses a key).</param>
/// <param name="Key">The idempotency key the body names, when it names one the oracle can look up.</param>
public sealed record FuzzCase(FuzzTarget Target, string Path, byte[] Body, IReadOnlyList<KeyValuePair<string, string>> Headers, bool SignatureValid, string? Key);

/// <summary>
/// A seeded generator of webhook and API requests: it builds a valid body, then applies random mutations (wrong types,
/// unknown and duplicate keys, enum spellings, out-of-range and malformed dates, control and bidi characters, lone
/// surrogates, invalid UTF-8, truncation, other shapes) and random signature headers (valid, stale, overflowing,
/// negative, garbage, missing). Shared by the property tests and <c>deprov bench fuzz</c>.
/// </summary>
public sealed class WebhookFuzzer
{
    private static readonly string[] Kinds = ["leave", "move", "contract_end", "rehire", "termination_cancelled", "legal_hold_set", "legal_hold_released"];
    private static readonly string[] Junk = ["0", "-1", "1e308", "true", "false", "null", "[]", "{}", "[\"a\"]", "{\"a\":1}", "\"\"", "\" \"", "12.5"];
    private static readonly string[] Effectives =
    [
        "2026-12-31", "2027-01-15T17:00:00Z", "2027-01-15T17:00:00+01:00", "2027-03-29T02:30:00", "2026-12-31T23:59:59.1234567-05:30", "1900-01-01", "2200-12-31",
        "202-12-31", "9999-12-31", "0001-01-01", "1899-12-31", "2201-01-01", "2026-02-30", "2026-13-01", "2026-12-31t17:00:00z", "12/20/2026", "2026-12-31T24:00:00Z",
        "2026-12-31T17:00:00+15:00", "2026-12-31T17:00", "2026-12-31 17:00:00", "someday", "", "2026-12-31T17:00:00.12345678Z", "2024-02-29", "2023-02-29",
    ];

    private static readonly string[] BadStrings =
    [
        "", "\\u0000", "a\\u0007b", "\\u202Eevil", "\\uD800", "x\\uDC00y", "\\uFFFD", "=SUM(1)", "<script>", "LEAVE", "Leave", " leave", "INVOLUNTARY", "Involuntary",
        "\\u00e9t\\u00e9", "\\uD83D\\uDE00", "a\\nb", " ", "p ", "\\u00A0p", "\\uFEFF",
    ];

    private readonly Random _rng;
    private readonly IReadOnlyList<string> _people;
    private readonly IReadOnlyList<string> _systems;
    private readonly string _hookSecret;
    private readonly string _bambooKey;
    private readonly string _runId;
    private long _n;

    public WebhookFuzzer(int seed, IReadOnlyList<string> people, IReadOnlyList<string> systems, string hookSecret, string bambooKey)
    {
        _rng = new Random(seed);
        _people = people;
        _systems = systems;
        _hookSecret = hookSecret;
        _bambooKey = bambooKey;
        _runId = seed.ToString("x", CultureInfo.InvariantCulture) + "-" + Guid.NewGuid().ToString("N")[..6];
    }

    /// <summary>The next request, for a server whose clock reads <paramref name="now"/>.</summary>
    public FuzzCase Next(DateTimeOffset now, FuzzTarget? target = null)
    {
        var t = target ?? (FuzzTarget)_rng.Next(3);
        return t switch
        {
            FuzzTarget.BambooHr => Bamboo(now),
            _ => Generic(t, now),
        };
    }

    private FuzzCase Generic(FuzzTarget target, DateTimeOffset now)
    {
        var names = target == FuzzTarget.Hook ? EventBodyFormat.Hook : EventBodyFormat.Api;
        var fields = new List<(string Name, string Json)>();
        var kind = Kinds[_rng.Next(_rng.Next(4) == 0 ? Kinds.Length : 5)];
        var key = $"fz-{_runId}-{Interlocked.Increment(ref _n)}";
        fields.Add((names.Id, Q(key)));
        fields.Add((names.Type, Q(kind)));
        fields.Add((names.Person, Q(_rng.Next(10) == 0 ? $"unknown-{_runId}-{_n}" : _people[_rng.Next(_people.Count)])));
        if (_rng.Next(2) == 0)
        {
            fields.Add((names.Effective, Q(_rng.Next(3) == 0 ? Effectives[_rng.Next(Effectives.Length)] : Effectives[_rng.Next(7)])));
        }

        if (kind is "leave" or "contract_end" && _rng.Next(2) == 0)
        {
            fields.Add((names.Reason, Q(_rng.Next(2) == 0 ? "voluntary" : "involuntary")));
        }

        if (kind == "move")
        {
            fields.Add((_rng.Next(2) == 0 ? names.NewDepartment : names.NewTitle, Q("Dept " + _rng.Next(100))));
        }

        if (kind.StartsWith("legal_hold", StringComparison.Ordinal) && _rng.Next(2) == 0)
        {
            fields.Add((names.System, Q(_systems[_rng.Next(_systems.Count)])));
        }

        if (_rng.Next(3) == 0)
        {
            fields.Add((names.Note, Q("HR-" + _rng.Next(10_000))));
        }

        var mutations = _rng.Next(4) == 0 ? 0 : _rng.Next(1, 4);
        var raw = (string?)null;
        byte[]? bytes = null;
        for (var m = 0; m < mutations; m++)
        {
            switch (_rng.Next(12))
            {
                case 0 when fields.Count > 0:
                    fields.RemoveAt(_rng.Next(fields.Count));
                    break;
                case 1:
                    fields.Add((_rng.Next(2) == 0 ? "extra" : names.Fields[_rng.Next(names.Fields.Count)].ToUpperInvariant(), Q("x")));
                    break;
                case 2 when fields.Count > 0:
                    fields.Add(fields[_rng.Next(fields.Count)]);
                    break;
                case 3 when fields.Count > 0:
                {
                    var i = _rng.Next(fields.Count);
                    fields[i] = (fields[i].Name, Junk[_rng.Next(Junk.Length)]);
                    break;
                }

                case 4 when fields.Count > 0:
                {
                    var i = _rng.Next(fields.Count);
                    fields[i] = (fields[i].Name, "\"" + BadStrings[_rng.Next(BadStrings.Length)] + "\"");
                    break;
                }

                case 5:
                    fields.Add((names.Effective, Q(Effectives[_rng.Next(Effectives.Length)])));
                    break;
                case 6:
                    fields.Add((new[] { names.System, names.NewTitle, names.Reason, names.NewDepartment }[_rng.Next(4)], Q(_rng.Next(2) == 0 ? _systems[0] : "x")));
                    break;
                case 7:
                    fields.Add((names.Note, Q(new string('n', _rng.Next(2) == 0 ? 2000 : 2001))));
                    break;
                case 8:
                    raw = new[] { "[]", "\"leave\"", "42", "null", "", "{", "{\"id\":", "[{\"id\":\"x\"}]", "\uFEFF{}" }[_rng.Next(9)];
                    break;
                case 9:
                    bytes = InvalidUtf8(Build(fields));
                    break;
                case 10 when fields.Count > 0:
                {
                    var i = _rng.Next(fields.Count);
                    fields[i] = (fields[i].Name, Q(new string('p', _rng.Next(2) == 0 ? 256 : 257)));
                    break;
                }

                default:
                {
                    var b = Encoding.UTF8.GetBytes(Build(fields));
                    bytes = b[..Math.Max(0, b.Length - _rng.Next(1, 6))];
                    break;
                }
            }
        }

        var body = bytes ?? Encoding.UTF8.GetBytes(raw ?? Build(fields));
        if (target == FuzzTarget.Api)
        {
            return new FuzzCase(target, "/api/events", body, [], true, key);
        }

        var (headers, valid) = GenericHeaders(body, now);
        return new FuzzCase(target, "/hooks/hr", body, headers, valid, "hook:" + key);
    }

    private (List<KeyValuePair<string, string>> Headers, bool Valid) GenericHeaders(byte[] body, DateTimeOffset now)
    {
        var ts = now.ToUnixTimeSeconds();
        var sig = WebhookSignature.Sign(_hookSecret, ts, body);
        var roll = _rng.Next(20);
        var value = roll switch
        {
            0 => null,
            1 => $"t=99999999999999999,v1={sig}",
            2 => $"t=-{_rng.Next(1, int.MaxValue)},v1={WebhookSignature.Sign(_hookSecret, -1, body)}",
            3 => $"t={ts},v1={WebhookSignature.Sign("wrong", ts, body)}",
            4 => $"t={ts - 3600},v1={WebhookSignature.Sign(_hookSecret, ts - 3600, body)}",
            5 => "garbage",
            6 => $"t={ts},v1=zz{sig[2..]}",
            7 => $"t=9223372036854775807,v1={sig}",
            8 => $"t={ts},v1={sig[..10]}",
            9 => $"t=1e9,v1={sig}",
            _ => $"t={ts},v1={sig}",
        };
        return (value is null ? [] : [new("Deprov-Signature", value)], roll >= 10);
    }

    private FuzzCase Bamboo(DateTimeOffset now)
    {
        var person = _rng.Next(10) == 0 ? $"unknown-{_runId}-{Interlocked.Increment(ref _n)}" : _people[_rng.Next(_people.Count)];
        string body;
        var shape = _rng.Next(14);
        var status = new[] { "Terminated", "Active", "On Leave", "terminated", "Full-Time" }[_rng.Next(5)];
        var date = new[] { "2027-01-31", "12/20/2026", "9999-12-31", "2026-02-30", "", "202-01-01" }[_rng.Next(_rng.Next(3) == 0 ? 6 : 1)];
        var stamp = now.AddSeconds(-Interlocked.Increment(ref _n)).ToString("O", CultureInfo.InvariantCulture);
        body = shape switch
        {
            0 => "[]",
            1 => "{\"employees\":{}}",
            2 => "{\"employees\":[1,\"x\",null]}",
            3 => $"{{\"employees\":[{{\"id\":{{\"a\":1}},\"fields\":{{}}}}]}}",
            4 => $"{{\"employees\":[{{\"id\":{Q(person)},\"fields\":[]}}]}}",
            5 => $"{{\"type\":\"employee.updated\",\"data\":{{\"employeeId\":{Q(person)},\"changedFields\":[\"jobTitle\"]}}}}",
            6 => $"{{\"type\":\"employee.updated\",\"data\":\"x\"}}",
            7 => $"{{\"employees\":[{{\"id\":{Q(person)},\"id\":\"other\",\"fields\":{{}}}}]}}",
            8 => $"{{\"employees\":[{{\"id\":{Q(person)},\"fields\":{{\"employmentStatus\":{{\"value\":{{\"deep\":[1]}}}}}}}}]}}",
            9 => "{\"employees\":[]}",
            10 => $"{{\"employees\":[{{\"id\":{Q(person)},\"action\":\"Updated\",\"timestamp\":{Q(stamp)},\"fields\":{{\"employmentStatus\":{{\"value\":\"\\uD800\"}}}}}}]}}",
            11 => $"{{\"employees\":[{{\"id\":{Q(person)},\"action\":\"Updated\",\"timestamp\":{Q(stamp)},\"fields\":{{\"jobTitle\":{{\"value\":\"Title {_rng.Next(100)}\"}}}}}}]}}",
            _ => $"{{\"employees\":[{{\"id\":{Q(person)},\"action\":\"Updated\",\"timestamp\":{Q(stamp)},\"fields\":{{\"employmentStatus\":{{\"value\":{Q(status)}}},\"terminationDate\":{{\"value\":{Q(date)}}}}}}}]}}",
        };
        var bytes = Encoding.UTF8.GetBytes(body);
        if (_rng.Next(12) == 0)
        {
            bytes = InvalidUtf8(body);
        }

        var ts = now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        var roll = _rng.Next(16);
        var (timestamp, signWith) = roll switch
        {
            0 => ("99999999999999999", _bambooKey),
            1 => ("-5", _bambooKey),
            2 => ("garbage", _bambooKey),
            3 => (ts, "wrong-key"),
            4 => (now.AddHours(-1).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture), _bambooKey),
            5 => (now.ToString("O", CultureInfo.InvariantCulture), _bambooKey),
            6 => ("", _bambooKey),
            _ => (ts, _bambooKey),
        };
        var headers = new List<KeyValuePair<string, string>> { new("X-BambooHR-Signature", WebhookSignature.SignBambooHr(signWith, timestamp, bytes)) };
        if (timestamp.Length > 0)
        {
            headers.Add(new("X-BambooHR-Timestamp", timestamp));
        }

        return new FuzzCase(FuzzTarget.BambooHr, "/hooks/bamboohr", bytes, headers, roll is 5 or >= 7, null);
    }

    private static string Q(string s) => JsonSerializer.Serialize(s);

    private static string Build(List<(string Name, string Json)> fields) => "{" + string.Join(",", fields.Select(f => Q(f.Name) + ":" + f.Json)) + "}";

    /// <summary>The body with an invalid UTF-8 sequence put into its first string value.</summary>
    private byte[] InvalidUtf8(string json)
    {
        var b = Encoding.UTF8.GetBytes(json).ToList();
        var quote = b.IndexOf((byte)'"', b.IndexOf((byte)':') is var colon and >= 0 ? colon : 0);
        var at = quote >= 0 ? quote + 1 : b.Count;
        b.InsertRange(at, _rng.Next(2) == 0 ? [0xC3] : [0xFF, 0xFE]);
        if (_rng.Next(2) == 0 && quote >= 0)
        {
            b.InsertRange(at, [0xC3, 0x28]);
        }

        return [.. b];
    }
}

/// <summary>
/// What the published schemas say about a body: valid JSON without duplicate keys, valid text, schema-valid, and every
/// date a real calendar day (the one rule the schema's pattern cannot express).
/// </summary>
public sealed class EventSchemaOracle
{
    private readonly JsonSchema _hook;
    private readonly JsonSchema _api;

    public EventSchemaOracle(string docsDirectory)
    {
        _hook = JsonSchema.FromText(File.ReadAllText(System.IO.Path.Combine(docsDirectory, "hr-event.schema.json")));
        _api = JsonSchema.FromText(File.ReadAllText(System.IO.Path.Combine(docsDirectory, "api-event.schema.json")));
    }

    /// <summary>The docs folder of the repository this code was built from (found upwards from the current directory).</summary>
    public static string FindDocs()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(d.FullName, "docs", "hr-event.schema.json")))
            {
                return System.IO.Path.Combine(d.FullName, "docs");
            }
        }

        throw new InvalidOperationException("docs/hr-event.schema.json was not found above " + AppContext.BaseDirectory);
    }

    /// <summary>Whether the body is valid for the schema of <paramref name="target"/> (Hook or Api).</summary>
    public bool IsValid(FuzzTarget target, byte[] body, out string why)
    {
        try
        {
            _ = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            why = "invalid UTF-8";
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(body, new JsonDocumentOptions { AllowDuplicateProperties = false });
            if (!ValidText(doc.RootElement))
            {
                why = "lone surrogate or invalid text";
                return false;
            }

            if (!(target == FuzzTarget.Api ? _api : _hook).Evaluate(doc.RootElement).IsValid)
            {
                why = "schema-invalid";
                return false;
            }

            var name = target == FuzzTarget.Api ? "effectiveAt" : "effective";
            if (doc.RootElement.TryGetProperty(name, out var effective)
                && !DateOnly.TryParseExact(effective.GetString().AsSpan(0, 10), "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            {
                why = "not a calendar day";
                return false;
            }
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or ArgumentException)
        {
            why = "not parseable JSON without duplicate keys: " + ex.Message;
            return false;
        }

        why = string.Empty;
        return true;
    }

    private static bool ValidText(JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.String:
                try
                {
                    _ = e.GetString();
                    return true;
                }
                catch (InvalidOperationException)
                {
                    return false;
                }

            case JsonValueKind.Object:
                foreach (var p in e.EnumerateObject())
                {
                    try
                    {
                        _ = p.Name;
                    }
                    catch (InvalidOperationException)
                    {
                        return false;
                    }

                    if (!ValidText(p.Value))
                    {
                        return false;
                    }
                }

                return true;
            case JsonValueKind.Array:
                return e.EnumerateArray().All(ValidText);
            default:
                return true;
        }
    }
}
