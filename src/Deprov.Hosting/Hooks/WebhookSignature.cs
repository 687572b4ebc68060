using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Deprov.Hosting.Hooks;

/// <summary>Why a signed request was refused. Never contains the secret or the expected signature.</summary>
public sealed record SignatureFailure(string Reason);

/// <summary>
/// Verifies signed HR webhooks against the raw request bytes.
/// Generic (<c>POST /hooks/hr</c>): header <c>Deprov-Signature: t=&lt;unix seconds&gt;,v1=&lt;hex&gt;[,v1=…]</c> where
/// <c>v1 = hex(HMAC-SHA256(secret, t + "." + body))</c>; several v1 values allow secret rotation.
/// BambooHR: <c>X-BambooHR-Signature = hex(HMAC-SHA256(key, body + X-BambooHR-Timestamp))</c>.
/// Both: the timestamp must be within the replay window (default 5 minutes); comparison is constant-time.
/// </summary>
public sealed class WebhookSignature
{
    // Signatures accepted in one header: one per secret during a rotation, with room to spare.
    private const int MaxSignatures = 8;

    private readonly TimeProvider _time;
    private readonly TimeSpan _window;

    public WebhookSignature(TimeProvider time, TimeSpan? window = null)
    {
        _time = time;
        _window = window ?? TimeSpan.FromMinutes(5);
    }

    public static string Sign(string secret, long timestamp, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(timestamp.ToString(CultureInfo.InvariantCulture) + ".");
        byte[] message = [.. prefix, .. body];
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    public static string SignBambooHr(string key, string timestamp, ReadOnlySpan<byte> body)
    {
        byte[] message = [.. body, .. Encoding.UTF8.GetBytes(timestamp)];
        return Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(key), message));
    }

    /// <summary>Checks a generic Deprov signature header. Returns null when valid.</summary>
    public SignatureFailure? VerifyGeneric(string? header, ReadOnlySpan<byte> body, IReadOnlyList<string> secrets)
    {
        var malformedSignature = false;
        if (string.IsNullOrWhiteSpace(header))
        {
            return new SignatureFailure("missing Deprov-Signature header");
        }

        // Parsed without splitting into strings: every webhook passes here.
        long? t = null;
        Span<byte> given = stackalloc byte[32 * MaxSignatures];
        var count = 0;
        foreach (var range in header.AsSpan().Split(','))
        {
            var part = header.AsSpan(range).Trim();
            var eq = part.IndexOf('=');
            if (eq <= 0)
            {
                continue;
            }

            var name = part[..eq];
            var value = part[(eq + 1)..];
            if (name.SequenceEqual("t") && long.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var ts))
            {
                t = ts;
            }
            else if (name.SequenceEqual("v1") && count < MaxSignatures && value.Length == 64
                && Convert.FromHexString(value, given.Slice(32 * count, 32), out _, out var written) == System.Buffers.OperationStatus.Done && written == 32)
            {
                count++;
            }
            else if (name.SequenceEqual("v1"))
            {
                malformedSignature = true;
            }
        }

        if (t is null || (count == 0 && !malformedSignature))
        {
            return new SignatureFailure("malformed Deprov-Signature header (expected t=<unix seconds>,v1=<hex>)");
        }

        if (UnixTime(t.Value) is not { } at)
        {
            return new SignatureFailure($"Deprov-Signature t={t.Value} is not a time (expected the current unix time in seconds)");
        }

        if (Stale(at) is { } stale)
        {
            return stale;
        }

        Span<byte> expected = stackalloc byte[32];
        foreach (var secret in secrets)
        {
            Mac(secret, t.Value, body, expected);
            for (var i = 0; i < count; i++)
            {
                if (CryptographicOperations.FixedTimeEquals(expected, given.Slice(32 * i, 32)))
                {
                    return null;
                }
            }
        }

        return new SignatureFailure("signature does not match");
    }

    /// <summary>HMAC-SHA256(secret, t + "." + body) into <paramref name="destination"/> (32 bytes).</summary>
    private static void Mac(string secret, long timestamp, ReadOnlySpan<byte> body, Span<byte> destination)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(21 + body.Length);
        try
        {
            timestamp.TryFormat(buffer, out var n, default, CultureInfo.InvariantCulture);
            buffer[n++] = (byte)'.';
            body.CopyTo(buffer.AsSpan(n));
            HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), buffer.AsSpan(0, n + body.Length), destination);
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Checks BambooHR's signature headers. Returns null when valid.</summary>
    public SignatureFailure? VerifyBambooHr(string? signature, string? timestamp, ReadOnlySpan<byte> body, IReadOnlyList<string> keys)
    {
        if (string.IsNullOrWhiteSpace(signature) || string.IsNullOrWhiteSpace(timestamp))
        {
            return new SignatureFailure("missing X-BambooHR-Signature or X-BambooHR-Timestamp header");
        }

        // BambooHR's timestamp is usually unix seconds, sometimes ISO-8601: freshness is enforced when it parses.
        var isUnix = long.TryParse(timestamp, NumberStyles.Integer, CultureInfo.InvariantCulture, out var unix);
        DateTimeOffset? at = isUnix ? UnixTime(unix)
            : DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var iso) ? iso : null;
        if (at is null)
        {
            return new SignatureFailure(isUnix ? $"X-BambooHR-Timestamp {unix} is not a time (expected the current unix time in seconds)"
                : "X-BambooHR-Timestamp is neither unix seconds nor an ISO-8601 time");
        }

        if (Stale(at.Value) is { } stale)
        {
            return stale;
        }

        var given = Encoding.ASCII.GetBytes(signature.Trim().ToLowerInvariant());
        foreach (var key in keys)
        {
            if (CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(SignBambooHr(key, timestamp, body)), given))
            {
                return null;
            }
        }

        return new SignatureFailure("signature does not match");
    }

    /// <summary>The moment of a unix timestamp, or null when it is negative or beyond year 9999 (where the conversion would throw).</summary>
    private static DateTimeOffset? UnixTime(long seconds) =>
        seconds is >= 0 and <= 253_402_300_799 ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;

    private SignatureFailure? Stale(DateTimeOffset at)
    {
        var skew = _time.GetUtcNow() - at;
        return skew.Duration() > _window
            ? new SignatureFailure($"timestamp is {Math.Abs(skew.TotalSeconds):0} s {(skew > TimeSpan.Zero ? "old" : "in the future")}; the window is {_window.TotalSeconds:0} s (replay protection)")
            : null;
    }
}
