using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Deprov.Store.Relational;

/// <summary>One membership held by an account: the entitlement, how it was granted, when it expires and since when it
/// has held (null: since before anything was recorded).</summary>
internal readonly record struct Membership(string EntitlementId, int Source, long? ExpiresAt, long? Since);

/// <summary>
/// An account's memberships, stored in one column of its row (<c>accounts.memberships</c>, migration 5) as a JSON array
/// of <c>[entitlement_id, source, expires_at, since]</c> arrays; NULL when it holds none. One row per account instead of
/// one per membership: a first discovery of 5,000,000 memberships writes no extra B-tree rows at all, and a re-run
/// rewrites an account's set only when it changed. JSON so that SQL can still read it (<c>json_each</c>) where a query
/// needs the memberships of a few accounts (access maps, access history).
/// </summary>
internal static class MembershipSet
{
    /// <summary>SQL expressions over <c>json_each(a.memberships) j</c>.</summary>
    public const string Entitlement = "json_extract(j.value, '$[0]')";
    public const string Source = "json_extract(j.value, '$[1]')";
    public const string Expires = "json_extract(j.value, '$[2]')";
    public const string Since = "json_extract(j.value, '$[3]')";

    /// <summary>Encodes sets into one reused UTF-8 buffer: a first discovery encodes a million of them.</summary>
    public sealed class Encoder : IDisposable
    {
        private readonly ArrayBufferWriter<byte> _buffer = new(4096);
        private readonly Utf8JsonWriter _writer;

        public Encoder()
        {
            _writer = new Utf8JsonWriter(_buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true });
        }

        /// <summary>The set as UTF-8 JSON, valid until the next call; empty for an empty set (stored as NULL).</summary>
        public ReadOnlySpan<byte> Encode(IReadOnlyList<Membership> memberships)
        {
            _buffer.ResetWrittenCount();
            if (memberships.Count == 0)
            {
                return [];
            }

            _writer.Reset(_buffer);
            _writer.WriteStartArray();
            for (var i = 0; i < memberships.Count; i++)
            {
                var m = memberships[i];
                _writer.WriteStartArray();
                _writer.WriteStringValue(m.EntitlementId);
                _writer.WriteNumberValue(m.Source);
                WriteNullable(m.ExpiresAt);
                WriteNullable(m.Since);
                _writer.WriteEndArray();
            }

            _writer.WriteEndArray();
            _writer.Flush();
            return _buffer.WrittenSpan;
        }

        public void Dispose() => _writer.Dispose();

        public string? EncodeString(IReadOnlyList<Membership> memberships) =>
            memberships.Count == 0 ? null : Encoding.UTF8.GetString(Encode(memberships));

        private void WriteNullable(long? value)
        {
            if (value is { } v)
            {
                _writer.WriteNumberValue(v);
            }
            else
            {
                _writer.WriteNullValue();
            }
        }
    }

    public static List<Membership> Decode(string? json)
    {
        var list = new List<Membership>();
        if (string.IsNullOrEmpty(json))
        {
            return list;
        }

        var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(json));
        Expect(ref reader, JsonTokenType.StartArray);
        while (reader.Read() && reader.TokenType == JsonTokenType.StartArray)
        {
            Expect(ref reader, JsonTokenType.String);
            var entitlement = reader.GetString()!;
            Expect(ref reader, JsonTokenType.Number);
            var source = reader.GetInt32();
            var expires = ReadNullableLong(ref reader);
            var since = ReadNullableLong(ref reader);
            Expect(ref reader, JsonTokenType.EndArray);
            list.Add(new Membership(entitlement, source, expires, since));
        }

        return list;
    }

    private static long? ReadNullableLong(ref Utf8JsonReader reader)
    {
        reader.Read();
        return reader.TokenType switch
        {
            JsonTokenType.Null => null,
            JsonTokenType.Number => reader.GetInt64(),
            var t => throw new FormatException($"accounts.memberships: expected a number or null, found {t}."),
        };
    }

    private static void Expect(ref Utf8JsonReader reader, JsonTokenType type)
    {
        if (!reader.Read() || reader.TokenType != type)
        {
            throw new FormatException($"accounts.memberships: expected {type}, found {reader.TokenType}.");
        }
    }
}
