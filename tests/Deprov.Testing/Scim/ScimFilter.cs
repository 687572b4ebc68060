using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Deprov.Testing.Scim;

/// <summary>
/// RFC 7644 §3.4.2.2 filters: <c>eq ne co sw ew pr gt ge lt le</c>, <c>and or not</c>, grouping, value paths
/// (<c>emails[type eq "work"]</c>) and Entra's <c>emails[type eq "work"].value eq "x"</c>. Attribute names and operators
/// are case-insensitive; string comparison is case-insensitive except for <c>id</c> (caseExact).
/// </summary>
public abstract record ScimFilter
{
    public abstract bool Matches(JsonObject resource);

    public static ScimFilter Parse(string text)
    {
        var p = new Parser(text);
        var f = p.ParseOr();
        p.ExpectEnd();
        return f;
    }

    internal sealed record And(ScimFilter L, ScimFilter R) : ScimFilter
    {
        public override bool Matches(JsonObject resource) => L.Matches(resource) && R.Matches(resource);
    }

    internal sealed record Or(ScimFilter L, ScimFilter R) : ScimFilter
    {
        public override bool Matches(JsonObject resource) => L.Matches(resource) || R.Matches(resource);
    }

    internal sealed record Not(ScimFilter Inner) : ScimFilter
    {
        public override bool Matches(JsonObject resource) => !Inner.Matches(resource);
    }

    /// <summary><c>attr[filter]</c> (optionally followed by <c>.sub op value</c>): any element matches.</summary>
    internal sealed record ValuePath(string Attribute, ScimFilter Inner, Compare? Then) : ScimFilter
    {
        public override bool Matches(JsonObject resource) =>
            ScimPaths.Get(resource, Attribute) is JsonArray items
            && items.OfType<JsonObject>().Any(i => Inner.Matches(i) && (Then is null || Then.Matches(i)));
    }

    internal sealed record Compare(string Path, string Op, JsonNode? Value) : ScimFilter
    {
        public override bool Matches(JsonObject resource)
        {
            var values = ScimPaths.Values(resource, Path).ToList();
            if (Op == "pr")
            {
                return values.Any(v => v is not null && !(v is JsonValue s && s.GetValueKind() == JsonValueKind.String && s.GetValue<string>().Length == 0));
            }

            var caseExact = Path.Equals("id", StringComparison.OrdinalIgnoreCase);
            return Op == "ne" ? !values.Any(v => Test(v, "eq", caseExact)) : values.Any(v => Test(v, Op, caseExact));
        }

        private bool Test(JsonNode? actual, string op, bool caseExact)
        {
            if (actual is JsonObject complex)
            {
                // Comparing a complex attribute without a sub-attribute compares its "value" (e.g. members eq "id").
                actual = complex["value"];
            }

            if (actual is not JsonValue a)
            {
                return false;
            }

            if (Value is JsonValue bv && bv.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
            {
                var want = bv.GetValue<bool>();
                var have = a.GetValueKind() switch
                {
                    JsonValueKind.True => true,
                    JsonValueKind.False => false,
                    JsonValueKind.String when bool.TryParse(a.GetValue<string>(), out var b) => b,
                    _ => (bool?)null,
                };
                return have is not null && (op == "eq" ? have == want : throw ScimProtocolException.InvalidFilter($"operator '{op}' is not defined for booleans"));
            }

            if (Value is JsonValue nv && nv.GetValueKind() == JsonValueKind.Number)
            {
                if (a.GetValueKind() != JsonValueKind.Number)
                {
                    return false;
                }

                var c = a.GetValue<double>().CompareTo(nv.GetValue<double>());
                return Ordered(op, c);
            }

            if (Value is not JsonValue sv || sv.GetValueKind() != JsonValueKind.String)
            {
                return op == "eq" && Value is null && actual is null;
            }

            var have2 = a.GetValueKind() == JsonValueKind.String ? a.GetValue<string>() : a.ToJsonString();
            var want2 = sv.GetValue<string>();
            var cmp = caseExact ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
            return op switch
            {
                "eq" => string.Equals(have2, want2, cmp),
                "co" => have2.Contains(want2, cmp),
                "sw" => have2.StartsWith(want2, cmp),
                "ew" => have2.EndsWith(want2, cmp),
                _ => Ordered(op, string.Compare(have2, want2, cmp)),
            };
        }

        private static bool Ordered(string op, int c) => op switch
        {
            "gt" => c > 0,
            "ge" => c >= 0,
            "lt" => c < 0,
            "le" => c <= 0,
            "eq" => c == 0,
            _ => throw ScimProtocolException.InvalidFilter($"operator '{op}' is not valid here"),
        };
    }

    private sealed class Parser(string text)
    {
        private static readonly HashSet<string> Operators = ["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"];
        private int _pos;

        public void ExpectEnd()
        {
            SkipWs();
            if (_pos < text.Length)
            {
                throw ScimProtocolException.InvalidFilter($"unexpected '{text[_pos..]}' at position {_pos} in filter '{text}'");
            }
        }

        public ScimFilter ParseOr()
        {
            var left = ParseAnd();
            while (TryKeyword("or"))
            {
                left = new Or(left, ParseAnd());
            }

            return left;
        }

        private ScimFilter ParseAnd()
        {
            var left = ParseUnary();
            while (TryKeyword("and"))
            {
                left = new And(left, ParseUnary());
            }

            return left;
        }

        private ScimFilter ParseUnary()
        {
            SkipWs();
            if (TryKeyword("not"))
            {
                SkipWs();
                Expect('(');
                var inner = ParseOr();
                Expect(')');
                return new Not(inner);
            }

            if (Peek() == '(')
            {
                _pos++;
                var inner = ParseOr();
                Expect(')');
                return inner;
            }

            var path = ReadAttrPath();
            if (Peek() == '[')
            {
                _pos++;
                var inner = ParseOr();
                Expect(']');
                Compare? then = null;
                if (Peek() == '.')
                {
                    _pos++;
                    var sub = ReadAttrPath();
                    then = ReadComparison(sub);
                }

                return new ValuePath(path, inner, then);
            }

            return ReadComparison(path);
        }

        private Compare ReadComparison(string path)
        {
            SkipWs();
            var op = ReadWord().ToLowerInvariant();
            if (op == "pr")
            {
                return new Compare(path, "pr", null);
            }

            if (!Operators.Contains(op))
            {
                throw ScimProtocolException.InvalidFilter($"unknown operator '{op}' after '{path}' in filter '{text}'");
            }

            SkipWs();
            return new Compare(path, op, ReadValue());
        }

        private JsonNode? ReadValue()
        {
            SkipWs();
            if (Peek() == '"')
            {
                var start = _pos;
                _pos++;
                while (_pos < text.Length && text[_pos] != '"')
                {
                    _pos += text[_pos] == '\\' ? 2 : 1;
                }

                if (_pos >= text.Length)
                {
                    throw ScimProtocolException.InvalidFilter($"unterminated string in filter '{text}'");
                }

                _pos++;
                return JsonNode.Parse(text[start.._pos]);
            }

            var word = ReadWord();
            return word.ToLowerInvariant() switch
            {
                "true" => JsonValue.Create(true),
                "false" => JsonValue.Create(false),
                "null" => null,
                _ when double.TryParse(word, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => JsonValue.Create(d),
                _ => throw ScimProtocolException.InvalidFilter($"invalid value '{word}' in filter '{text}'"),
            };
        }

        private string ReadAttrPath()
        {
            SkipWs();
            var sb = new StringBuilder();
            while (_pos < text.Length && (char.IsLetterOrDigit(text[_pos]) || text[_pos] is ':' or '.' or '$' or '_' or '-'))
            {
                // A '.' directly after ']' is handled by the caller; inside a path it separates sub-attributes.
                sb.Append(text[_pos++]);
            }

            if (sb.Length == 0)
            {
                throw ScimProtocolException.InvalidFilter($"expected an attribute at position {_pos} in filter '{text}'");
            }

            return sb.ToString();
        }

        private string ReadWord()
        {
            var start = _pos;
            while (_pos < text.Length && !char.IsWhiteSpace(text[_pos]) && text[_pos] is not (')' or ']' or '(' or '['))
            {
                _pos++;
            }

            return text[start.._pos];
        }

        private bool TryKeyword(string keyword)
        {
            SkipWs();
            if (_pos + keyword.Length <= text.Length
                && string.Compare(text, _pos, keyword, 0, keyword.Length, StringComparison.OrdinalIgnoreCase) == 0
                && (_pos + keyword.Length == text.Length || text[_pos + keyword.Length] is ' ' or '('))
            {
                _pos += keyword.Length;
                return true;
            }

            return false;
        }

        private char Peek()
        {
            SkipWs();
            return _pos < text.Length ? text[_pos] : '\0';
        }

        private void Expect(char c)
        {
            if (Peek() != c)
            {
                throw ScimProtocolException.InvalidFilter($"expected '{c}' at position {_pos} in filter '{text}'");
            }

            _pos++;
        }

        private void SkipWs()
        {
            while (_pos < text.Length && char.IsWhiteSpace(text[_pos]))
            {
                _pos++;
            }
        }
    }
}
