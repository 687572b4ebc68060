namespace Deprov.Core.Evidence;

/// <summary>
/// Appends leaf hashes one at a time and gives the RFC 6962 root of everything appended so far, keeping only one hash
/// per set bit of the size (the "compact range"). Used to recompute a checkpoint's root while streaming the trail.
/// </summary>
public sealed class MerkleAccumulator
{
    // _stack[i] is the root of a complete subtree; sizes are decreasing powers of two, matching the set bits of Size.
    private readonly List<byte[]> _stack = [];

    public long Size { get; private set; }

    public void Append(byte[] leafHash)
    {
        ArgumentNullException.ThrowIfNull(leafHash);
        var hash = leafHash;
        Size++;
        // Each trailing zero bit of the new size is a pair of equal-sized subtrees that now merge.
        for (var s = Size; (s & 1) == 0; s >>= 1)
        {
            hash = MerkleHash.Node(_stack[^1], hash);
            _stack.RemoveAt(_stack.Count - 1);
        }

        _stack.Add(hash);
    }

    /// <summary>The root of the tree of all leaves appended so far (the empty root when none).</summary>
    public byte[] Root()
    {
        if (_stack.Count == 0)
        {
            return MerkleHash.EmptyRoot();
        }

        // Right-partial subtrees fold from the smallest (rightmost) upward: MTH(D[0:n]) = H(left-full, rest).
        var root = _stack[^1];
        for (var i = _stack.Count - 2; i >= 0; i--)
        {
            root = MerkleHash.Node(_stack[i], root);
        }

        return root;
    }
}

/// <summary>
/// A whole tree held in memory (every complete subtree's hash, about 2n hashes) to produce inclusion and consistency
/// proofs in O(log² n) each, following the PATH and SUBPROOF recursions of RFC 6962 §2.1.1–2.1.2.
/// </summary>
public sealed class MerkleTree
{
    // _levels[h][i] = hash of the complete subtree of leaves [i·2^h, (i+1)·2^h).
    private readonly List<List<byte[]>> _levels = [[]];

    public long Size => _levels[0].Count;

    public static MerkleTree FromLeafHashes(IEnumerable<byte[]> leafHashes)
    {
        ArgumentNullException.ThrowIfNull(leafHashes);
        var tree = new MerkleTree();
        foreach (var leaf in leafHashes)
        {
            tree.Append(leaf);
        }

        return tree;
    }

    public void Append(byte[] leafHash)
    {
        ArgumentNullException.ThrowIfNull(leafHash);
        _levels[0].Add(leafHash);
        var index = _levels[0].Count - 1;
        for (var h = 0; (index & 1) == 1; h++)
        {
            if (_levels.Count <= h + 1)
            {
                _levels.Add([]);
            }

            var level = _levels[h];
            _levels[h + 1].Add(MerkleHash.Node(level[index - 1], level[index]));
            index >>= 1;
        }
    }

    /// <summary>The root of the first <paramref name="size"/> leaves (the current size by default).</summary>
    public byte[] Root(long? size = null)
    {
        var n = size ?? Size;
        CheckSize(n);
        return n == 0 ? MerkleHash.EmptyRoot() : SubtreeRoot(0, n);
    }

    /// <summary>The audit path for leaf <paramref name="index"/> in the tree of the first <paramref name="size"/> leaves,
    /// sibling nearest the leaf first.</summary>
    public IReadOnlyList<byte[]> InclusionProof(long index, long size)
    {
        CheckSize(size);
        if (index < 0 || index >= size)
        {
            throw new ArgumentOutOfRangeException(nameof(index), $"Leaf {index} is not in a tree of {size} leaves.");
        }

        var proof = new List<byte[]>();
        Path(index, 0, size, proof);
        return proof;
    }

    /// <summary>The proof that the tree of the first <paramref name="size1"/> leaves is a prefix of the tree of the first
    /// <paramref name="size2"/> (empty when the sizes are equal or size1 is 0).</summary>
    public IReadOnlyList<byte[]> ConsistencyProof(long size1, long size2)
    {
        CheckSize(size2);
        if (size1 < 0 || size1 > size2)
        {
            throw new ArgumentOutOfRangeException(nameof(size1), $"Size {size1} must be between 0 and {size2}.");
        }

        var proof = new List<byte[]>();
        if (size1 > 0 && size1 < size2)
        {
            SubProof(size1, 0, size2, true, proof);
        }

        return proof;
    }

    // PATH(m, D[lo:hi]): the siblings from the leaf up, built by recursing first and appending the sibling after.
    private void Path(long m, long lo, long hi, List<byte[]> proof)
    {
        var n = hi - lo;
        if (n == 1)
        {
            return;
        }

        var k = MerkleHash.SplitPoint(n);
        if (m < k)
        {
            Path(m, lo, lo + k, proof);
            proof.Add(SubtreeRoot(lo + k, hi));
        }
        else
        {
            Path(m - k, lo + k, hi, proof);
            proof.Add(SubtreeRoot(lo, lo + k));
        }
    }

    private void SubProof(long m, long lo, long hi, bool whole, List<byte[]> proof)
    {
        var n = hi - lo;
        if (m == n)
        {
            if (!whole)
            {
                proof.Add(SubtreeRoot(lo, hi));
            }

            return;
        }

        var k = MerkleHash.SplitPoint(n);
        if (m <= k)
        {
            SubProof(m, lo, lo + k, whole, proof);
            proof.Add(SubtreeRoot(lo + k, hi));
        }
        else
        {
            SubProof(m - k, lo + k, hi, false, proof);
            proof.Add(SubtreeRoot(lo, lo + k));
        }
    }

    // MTH(D[lo:hi]) for lo aligned as the recursion produces it: complete aligned subtrees come from the level tables.
    private byte[] SubtreeRoot(long lo, long hi)
    {
        var n = hi - lo;
        if ((n & (n - 1)) == 0)
        {
            var h = System.Numerics.BitOperations.Log2((ulong)n);
            if (lo % n == 0)
            {
                return _levels[h][(int)(lo >> h)];
            }
        }

        var k = MerkleHash.SplitPoint(n);
        return MerkleHash.Node(SubtreeRoot(lo, lo + k), SubtreeRoot(lo + k, hi));
    }

    private void CheckSize(long size)
    {
        if (size < 0 || size > Size)
        {
            throw new ArgumentOutOfRangeException(nameof(size), $"Size {size} must be between 0 and {Size}, the leaves held.");
        }
    }
}
