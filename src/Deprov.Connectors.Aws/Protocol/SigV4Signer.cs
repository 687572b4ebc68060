using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Deprov.Connectors.Aws.Protocol;

/// <summary>One request as Signature Version 4 sees it.</summary>
/// <param name="CanonicalUri">The path as sent (already percent-encoded once), e.g. <c>/</c>.</param>
/// <param name="Query">The query string as sent, without <c>?</c> (empty for the POSTs Deprov sends).</param>
/// <param name="Headers">The headers to sign, names in any case; <c>host</c> and <c>x-amz-date</c> must be among them.</param>
internal sealed record SigV4Request(string Method, string CanonicalUri, string Query, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Payload);

/// <summary>
/// AWS Signature Version 4 (<c>AWS4-HMAC-SHA256</c>) for one service and region, as AWS documents it ("Create a signed AWS
/// API request"): canonical request → string to sign → key derived from the secret, the date, the region and the service
/// → HMAC-SHA256 signature in the <c>Authorization</c> header. The unit tests check every stage against AWS's published
/// IAM <c>ListUsers</c> example. Not a general signer: no S3 rules (single path encoding, unsigned payloads), no
/// presigned URLs, no session token (Deprov signs with a long-lived access key).
/// </summary>
internal static class SigV4Signer
{
    public const string Algorithm = "AWS4-HMAC-SHA256";

    /// <summary>The <c>X-Amz-Date</c> value: UTC, basic ISO 8601 (<c>20150830T123600Z</c>).</summary>
    public static string AmzDate(DateTimeOffset at) => at.UtcDateTime.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    /// <summary><c>date/region/service/aws4_request</c>.</summary>
    public static string Scope(string amzDate, string region, string service) => $"{amzDate[..8]}/{region}/{service}/aws4_request";

    /// <summary>The header names signed, lower-case, sorted, joined by <c>;</c>.</summary>
    public static string SignedHeaders(SigV4Request request) =>
        string.Join(';', request.Headers.Select(h => h.Key.ToLowerInvariant()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal));

    public static string CanonicalRequest(SigV4Request request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var headers = new StringBuilder();
        foreach (var group in request.Headers.GroupBy(h => h.Key.ToLowerInvariant(), StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            // Several values of one header are joined by commas; runs of spaces inside a value count as one.
            headers.Append(group.Key).Append(':').Append(string.Join(',', group.Select(h => Trim(h.Value)))).Append('\n');
        }

        return string.Join('\n', request.Method.ToUpperInvariant(), CanonicalPath(request.CanonicalUri), CanonicalQuery(request.Query),
            headers.ToString(), SignedHeaders(request), Hex(SHA256.HashData(request.Payload)));
    }

    public static string StringToSign(string canonicalRequest, string amzDate, string scope) =>
        $"{Algorithm}\n{amzDate}\n{scope}\n{Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonicalRequest)))}";

    /// <summary>kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").</summary>
    public static byte[] SigningKey(string secretAccessKey, string date, string region, string service)
    {
        var key = HMACSHA256.HashData(Encoding.UTF8.GetBytes("AWS4" + secretAccessKey), Encoding.UTF8.GetBytes(date));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(region));
        key = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(service));
        return HMACSHA256.HashData(key, "aws4_request"u8);
    }

    /// <summary>The hex signature of <paramref name="request"/>, whose <c>x-amz-date</c> header gives the time.</summary>
    public static string Signature(SigV4Request request, string secretAccessKey, string region, string service)
    {
        ArgumentNullException.ThrowIfNull(request);
        var amzDate = request.Headers.FirstOrDefault(h => string.Equals(h.Key, "x-amz-date", StringComparison.OrdinalIgnoreCase)).Value
            ?? throw new ArgumentException("A SigV4 request must carry an x-amz-date header.", nameof(request));
        var toSign = StringToSign(CanonicalRequest(request), amzDate, Scope(amzDate, region, service));
        return Hex(HMACSHA256.HashData(SigningKey(secretAccessKey, amzDate[..8], region, service), Encoding.UTF8.GetBytes(toSign)));
    }

    /// <summary>The <c>Authorization</c> header value: <c>AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...</c>.</summary>
    public static string Authorization(SigV4Request request, string accessKeyId, string secretAccessKey, string region, string service)
    {
        ArgumentNullException.ThrowIfNull(request);
        var amzDate = request.Headers.First(h => string.Equals(h.Key, "x-amz-date", StringComparison.OrdinalIgnoreCase)).Value;
        return $"{Algorithm} Credential={accessKeyId}/{Scope(amzDate, region, service)}, SignedHeaders={SignedHeaders(request)}, "
            + $"Signature={Signature(request, secretAccessKey, region, service)}";
    }

    /// <summary>RFC 3986 percent-encoding as SigV4 wants it: every byte but <c>A-Z a-z 0-9 - _ . ~</c>, upper-case hex.</summary>
    public static string UriEncode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var sb = new StringBuilder(text.Length);
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var c = (char)b;
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '~')
            {
                sb.Append(c);
            }
            else
            {
                sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }

        return sb.ToString();
    }

    public static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);

    // Services other than S3 encode each path segment once more (the path as sent is already encoded once).
    private static string CanonicalPath(string path) =>
        path.Length == 0 ? "/" : string.Join('/', path.Split('/').Select(UriEncode));

    private static string CanonicalQuery(string query)
    {
        if (query.Length == 0)
        {
            return string.Empty;
        }

        var pairs = query.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p =>
        {
            var eq = p.IndexOf('=', StringComparison.Ordinal);
            var (k, v) = eq < 0 ? (p, string.Empty) : (p[..eq], p[(eq + 1)..]);
            return (Key: UriEncode(Uri.UnescapeDataString(k)), Value: UriEncode(Uri.UnescapeDataString(v)));
        });
        return string.Join('&', pairs.OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}"));
    }

    private static string Trim(string value)
    {
        var sb = new StringBuilder(value.Length);
        var space = false;
        foreach (var c in value.Trim())
        {
            if (c == ' ')
            {
                if (!space)
                {
                    sb.Append(c);
                }

                space = true;
            }
            else
            {
                sb.Append(c);
                space = false;
            }
        }

        return sb.ToString();
    }
}
