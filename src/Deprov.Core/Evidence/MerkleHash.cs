using System.Security.Cryptography;

namespace Deprov.Core.Evidence;

/// <summary>
/// RFC 6962 / RFC 9162 Merkle tree hashing with SHA-256: a leaf is <c>SHA-256(0x00 ‖ data)</c>, an interior node is
/// <c>SHA-256(0x01 ‖ left ‖ right)</c>, and a tree of n &gt; 1 leaves splits at the largest power of two below n (no
/// duplicated last leaf). The distinct prefixes stop a leaf from being passed off as a node.
/// </summary>
public static class MerkleHash
{
    public const int Size = 32;

    /// <summary>The root of the empty tree: SHA-256 of nothing.</summary>
    public static byte[] EmptyRoot() => SHA256.HashData(ReadOnlySpan<byte>.Empty);

    public static byte[] Leaf(ReadOnlySpan<byte> data)
    {
        var hash = new byte[Size];
        Leaf(data, hash);
        return hash;
    }

    public static void Leaf(ReadOnlySpan<byte> data, Span<byte> hash)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        sha.AppendData([0x00]);
        sha.AppendData(data);
        sha.GetHashAndReset(hash);
    }

    /// <summary>The leaf hash of a record whose data is exactly one 32-byte value (the audit chain hash).</summary>
    public static byte[] Leaf32(ReadOnlySpan<byte> data32)
    {
        Span<byte> buffer = stackalloc byte[1 + Size];
        buffer[0] = 0x00;
        data32.CopyTo(buffer[1..]);
        return SHA256.HashData(buffer[..(1 + data32.Length)]);
    }

    public static byte[] Node(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right)
    {
        // Children are 32-byte hashes in every tree; the general form keeps the function true to its definition.
        Span<byte> buffer = stackalloc byte[1 + left.Length + right.Length];
        buffer[0] = 0x01;
        left.CopyTo(buffer[1..]);
        right.CopyTo(buffer[(1 + left.Length)..]);
        return SHA256.HashData(buffer);
    }

    /// <summary>The largest power of two strictly below <paramref name="n"/> (n ≥ 2): where RFC 6962 splits a tree.</summary>
    internal static long SplitPoint(long n)
    {
        var k = 1L;
        while (k << 1 < n)
        {
            k <<= 1;
        }

        return k;
    }
}
