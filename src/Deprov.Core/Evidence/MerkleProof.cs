namespace Deprov.Core.Evidence;

/// <summary>
/// Verifies RFC 9162 proofs (§2.1.3.2 inclusion, §2.1.4.2 consistency). Each method returns null when the proof holds,
/// or why it does not: a verifier that only said "false" would leave an auditor guessing.
/// </summary>
public static class MerkleProof
{
    /// <summary>Checks that <paramref name="leafHash"/> is leaf <paramref name="index"/> of the tree of
    /// <paramref name="size"/> leaves whose root is <paramref name="root"/>.</summary>
    public static string? VerifyInclusion(long index, long size, ReadOnlySpan<byte> leafHash, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (index < 0 || index >= size)
        {
            return $"leaf index {index} is outside a tree of {size} leaves";
        }

        if (leafHash.Length != MerkleHash.Size || root.Length != MerkleHash.Size || proof.Any(p => p is null || p.Length != MerkleHash.Size))
        {
            return "a hash is not 32 bytes long";
        }

        var fn = index;
        var sn = size - 1;
        var r = leafHash.ToArray();
        foreach (var p in proof)
        {
            if (sn == 0)
            {
                return $"the proof has more hashes than a tree of {size} leaves needs";
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                r = MerkleHash.Node(p, r);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                r = MerkleHash.Node(r, p);
            }

            fn >>= 1;
            sn >>= 1;
        }

        if (sn != 0)
        {
            return $"the proof has fewer hashes than a tree of {size} leaves needs";
        }

        return r.AsSpan().SequenceEqual(root) ? null : "the proof does not lead to the root: the leaf or the proof was altered, or it belongs to another tree";
    }

    /// <summary>Checks that the tree of <paramref name="size1"/> leaves with root <paramref name="root1"/> is a prefix of
    /// the tree of <paramref name="size2"/> leaves with root <paramref name="root2"/>.</summary>
    public static string? VerifyConsistency(long size1, long size2, IReadOnlyList<byte[]> proof, ReadOnlySpan<byte> root1, ReadOnlySpan<byte> root2)
    {
        ArgumentNullException.ThrowIfNull(proof);
        if (size1 < 0 || size2 < size1)
        {
            return $"size {size1} cannot be a prefix of size {size2}";
        }

        if (root1.Length != MerkleHash.Size || root2.Length != MerkleHash.Size || proof.Any(p => p is null || p.Length != MerkleHash.Size))
        {
            return "a hash is not 32 bytes long";
        }

        // The cases RFC 9162 leaves to the caller: equal sizes and the empty tree need (and allow) no proof.
        if (size1 == size2)
        {
            return proof.Count != 0 ? "a proof between equal sizes must be empty"
                : root1.SequenceEqual(root2) ? null : "the two roots of the same size differ";
        }

        if (size1 == 0)
        {
            return proof.Count == 0 ? null : "a proof from the empty tree must be empty";
        }

        if (proof.Count == 0)
        {
            return "the proof is empty";
        }

        var path = proof.ToList();
        if ((size1 & (size1 - 1)) == 0)
        {
            path.Insert(0, root1.ToArray());
        }

        var fn = size1 - 1;
        var sn = size2 - 1;
        while ((fn & 1) == 1)
        {
            fn >>= 1;
            sn >>= 1;
        }

        var fr = path[0];
        var sr = path[0];
        foreach (var c in path.Skip(1))
        {
            if (sn == 0)
            {
                return $"the proof has more hashes than sizes {size1} and {size2} need";
            }

            if ((fn & 1) == 1 || fn == sn)
            {
                fr = MerkleHash.Node(c, fr);
                sr = MerkleHash.Node(c, sr);
                if ((fn & 1) == 0)
                {
                    while ((fn & 1) == 0 && fn != 0)
                    {
                        fn >>= 1;
                        sn >>= 1;
                    }
                }
            }
            else
            {
                sr = MerkleHash.Node(sr, c);
            }

            fn >>= 1;
            sn >>= 1;
        }

        if (sn != 0)
        {
            return $"the proof has fewer hashes than sizes {size1} and {size2} need";
        }

        if (!fr.AsSpan().SequenceEqual(root1))
        {
            return $"the proof does not lead to the root of size {size1}";
        }

        return sr.AsSpan().SequenceEqual(root2) ? null : $"the proof does not lead to the root of size {size2}";
    }
}
