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
        if (string.IsNullOrWhiteSpace(header))
        {
            return new SignatureFailure("missing Deprov-Signature header");
        }

        long? t = null;
        var signatures = new List<string>();
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var kv = part.Split('=', 2);
            if (kv.Length != 2)
            {
                continue;
            }

            if (kv[0] == "t" && long.TryParse(kv[1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ts))
            {
                t = ts;
            }
            else if (kv[0] == "v1")
            {
                signatures.Add(kv[1]);
            }
        }

        if (t is null || signatures.Count == 0)
        {
            return new SignatureFailure("malformed Deprov-Signature header (expected t=<unix seconds>,v1=<hex>)");
        }

        if (Stale(DateTimeOffset.FromUnixTimeSeconds(t.Value)) is { } stale)
        {
            return stale;
        }

        foreach (var secret in secrets)
        {
            var expected = Encoding.ASCII.GetBytes(Sign(secret, t.Value, body));
            if (signatures.Any(s => CryptographicOperations.FixedTimeEquals(expected, Encoding.ASCII.GetBytes(s.ToLowerInvariant()))))
            {
                return null;
            }
        }

        return new SignatureFailure("signature does not match");
    }

    /// <summary>Checks BambooHR's signature headers. Returns null when valid.</summary>
    public SignatureFailure? VerifyBambooHr(string? signature, string? timestamp, ReadOnlySpan<byte> body, IReadOnlyList<string> keys)
    {
        if (string.IsNullOrWhiteSpace(signature) || string.IsNullOrWhiteSpace(timestamp))
        {
            return new SignatureFailure("missing X-BambooHR-Signature or X-BambooHR-Timestamp header");
        }

        // BambooHR's timestamp is usually unix seconds, sometimes ISO-8601: freshness is enforced when it parses.
        DateTimeOffset? at = long.TryParse(timestamp, NumberStyles.Integer, CultureInfo.InvariantCulture, out var unix) ? DateTimeOffset.FromUnixTimeSeconds(unix)
            : DateTimeOffset.TryParse(timestamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var iso) ? iso : null;
        if (at is null)
        {
            return new SignatureFailure("X-BambooHR-Timestamp is neither unix seconds nor an ISO-8601 time");
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

    private SignatureFailure? Stale(DateTimeOffset at)
    {
        var skew = _time.GetUtcNow() - at;
        return skew.Duration() > _window
            ? new SignatureFailure($"timestamp is {Math.Abs(skew.TotalSeconds):0} s {(skew > TimeSpan.Zero ? "old" : "in the future")}; the window is {_window.TotalSeconds:0} s (replay protection)")
            : null;
    }
}
