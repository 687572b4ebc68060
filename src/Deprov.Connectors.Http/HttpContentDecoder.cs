using System.IO.Compression;
using System.Net.Http.Headers;

namespace Deprov.Connectors.Http;

/// <summary>Reads answers without <c>AutomaticDecompression</c>: bodies are decoded only when the server encoded them.</summary>
public static class HttpContentDecoder
{
    /// <summary>The value to send as <c>Accept-Encoding</c> on reads whose answers are worth compressing.</summary>
    public const string AcceptEncoding = "gzip, deflate, br";

    /// <summary>The body's bytes, decoded per <c>Content-Encoding</c> (gzip, deflate, br; anything else as it came).</summary>
    public static async Task<byte[]> ReadBytesAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(response);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return FirstValue(response.Content.Headers, "Content-Encoding") is { } encoding
            ? await DecompressAsync(bytes, encoding, cancellationToken)
            : bytes;
    }

    /// <summary>The header as sent (an ETag is opaque: a vendor's unquoted one is kept as it came).</summary>
    public static string? FirstValue(HttpHeaders headers, string name)
    {
        ArgumentNullException.ThrowIfNull(headers);
        if (headers.NonValidated.TryGetValues(name, out var values))
        {
            foreach (var value in values)
            {
                return value;
            }
        }

        return null;
    }

    private static async Task<byte[]> DecompressAsync(byte[] bytes, string encoding, CancellationToken cancellationToken)
    {
        using var input = new MemoryStream(bytes);
        await using Stream decoder = encoding.Trim().ToUpperInvariant() switch
        {
            "GZIP" or "X-GZIP" => new GZipStream(input, CompressionMode.Decompress),
            // HTTP's "deflate" is the zlib format (RFC 9110 §8.4.1.2).
            "DEFLATE" => new ZLibStream(input, CompressionMode.Decompress),
            "BR" => new BrotliStream(input, CompressionMode.Decompress),
            _ => input,
        };
        if (ReferenceEquals(decoder, input))
        {
            // "identity", or an encoding we never asked for: leave the bytes as they came.
            return bytes;
        }

        using var output = new MemoryStream(bytes.Length * 4);
        await decoder.CopyToAsync(output, cancellationToken);
        return output.ToArray();
    }
}
