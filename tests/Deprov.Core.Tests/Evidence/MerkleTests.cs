using System.Text.Json;
using Deprov.Core.Evidence;

namespace Deprov.Core.Tests.Evidence;

public sealed class MerkleTests
{
    private static readonly byte[][] CtLeaves = new[] { "", "00", "10", "2021", "3031", "40414243", "5051525354555657", "606162636465666768696a6b6c6d6e6f" }
        .Select(Convert.FromHexString).ToArray();

    // MTH of the first n CT leaves, n = 1..8 (docs: cluster-and-evidence-facts §7.1; size 8 is the merkle repo's root).
    private static readonly string[] CtRoots =
    [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    private static MerkleTree CtTree() => MerkleTree.FromLeafHashes(CtLeaves.Select(l => MerkleHash.Leaf(l)));

    [Fact]
    public void Hashes_Rfc6962Vectors_Match()
    {
        Assert.Equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Convert.ToHexStringLower(MerkleHash.EmptyRoot()));
        Assert.Equal("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d", Convert.ToHexStringLower(MerkleHash.Leaf([])));
        Assert.Equal("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56", Convert.ToHexStringLower(MerkleHash.Leaf("L123456"u8)));
        Assert.Equal("aa217fe888e47007fa15edab33c2b492a722cb106c64667fc2b044444de66bbb", Convert.ToHexStringLower(MerkleHash.Node("N123"u8, "N456"u8)));
    }

    [Fact]
    public void Root_CtVectorEveryPrefix_MatchesPublishedRoots()
    {
        var tree = CtTree();
        var acc = new MerkleAccumulator();
        for (var n = 1; n <= 8; n++)
        {
            acc.Append(MerkleHash.Leaf(CtLeaves[n - 1]));
            Assert.Equal(CtRoots[n - 1], Convert.ToHexStringLower(tree.Root(n)));
            Assert.Equal(CtRoots[n - 1], Convert.ToHexStringLower(acc.Root()));
        }

        Assert.Equal(Convert.ToHexStringLower(MerkleHash.EmptyRoot()), Convert.ToHexStringLower(new MerkleAccumulator().Root()));
    }

    public static TheoryData<string> InclusionVectors() => new(Vectors("inclusion_"));

    public static TheoryData<string> ConsistencyVectors() => new(Vectors("consistency_"));

    [Theory]
    [MemberData(nameof(InclusionVectors))]
    public void VerifyInclusion_PublishedVector_AgreesWithWantErr(string file)
    {
        var v = Load(file);
        var problem = MerkleProof.VerifyInclusion(v.GetProperty("leafIdx").GetInt64(), v.GetProperty("treeSize").GetInt64(),
            B64(v, "leafHash"), Proof(v), B64(v, "root"));
        Assert.Equal(v.GetProperty("wantErr").GetBoolean(), problem is not null);
        if (!v.GetProperty("wantErr").GetBoolean())
        {
            // Our generator must produce exactly the published proof from the CT leaves.
            var generated = CtTree().InclusionProof(v.GetProperty("leafIdx").GetInt64(), v.GetProperty("treeSize").GetInt64());
            Assert.Equal(Proof(v).Select(Convert.ToBase64String), generated.Select(Convert.ToBase64String));
        }
    }

    [Theory]
    [MemberData(nameof(ConsistencyVectors))]
    public void VerifyConsistency_PublishedVector_AgreesWithWantErr(string file)
    {
        var v = Load(file);
        var size1 = v.GetProperty("size1").GetInt64();
        var size2 = v.GetProperty("size2").GetInt64();
        var problem = MerkleProof.VerifyConsistency(size1, size2, Proof(v), B64(v, "root1"), B64(v, "root2"));
        Assert.Equal(v.GetProperty("wantErr").GetBoolean(), problem is not null);
        if (!v.GetProperty("wantErr").GetBoolean())
        {
            Assert.Equal(Proof(v).Select(Convert.ToBase64String), CtTree().ConsistencyProof(size1, size2).Select(Convert.ToBase64String));
        }
    }

    [Fact]
    public void Proofs_EveryIndexAndSizeUpTo40_VerifyAndFailWhenAnyHashIsFlipped()
    {
        var leaves = Enumerable.Range(0, 40).Select(i => MerkleHash.Leaf(BitConverter.GetBytes(i))).ToList();
        var tree = MerkleTree.FromLeafHashes(leaves);
        for (var size = 1; size <= 40; size++)
        {
            var root = tree.Root(size);
            for (var i = 0; i < size; i++)
            {
                var proof = tree.InclusionProof(i, size);
                Assert.Null(MerkleProof.VerifyInclusion(i, size, leaves[i], proof, root));
                Assert.NotNull(MerkleProof.VerifyInclusion(i, size, leaves[(i + 1) % 40], proof, root));
                if (proof.Count > 0)
                {
                    var bad = proof.Select(p => (byte[])p.Clone()).ToList();
                    bad[^1][0] ^= 1;
                    Assert.NotNull(MerkleProof.VerifyInclusion(i, size, leaves[i], bad, root));
                }
            }

            for (var size1 = 0; size1 <= size; size1++)
            {
                var proof = tree.ConsistencyProof(size1, size);
                Assert.Null(MerkleProof.VerifyConsistency(size1, size, proof, tree.Root(size1), root));
                if (size1 > 0 && size1 < size)
                {
                    Assert.NotNull(MerkleProof.VerifyConsistency(size1, size, proof, tree.Root(size1 - 1), root));
                }
            }
        }
    }

    private static IEnumerable<string> Vectors(string prefix) =>
        Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "Evidence", "Vectors"), prefix + "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal)!;

    private static JsonElement Load(string file) =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Evidence", "Vectors", file))).RootElement;

    private static byte[] B64(JsonElement v, string name) => Convert.FromBase64String(v.GetProperty(name).GetString()!);

    private static List<byte[]> Proof(JsonElement v) => v.GetProperty("proof").EnumerateArray().Select(p => Convert.FromBase64String(p.GetString()!)).ToList();
}
