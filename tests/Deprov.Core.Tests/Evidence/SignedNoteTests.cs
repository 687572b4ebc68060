using System.Security.Cryptography;
using System.Text;
using Deprov.Core.Evidence;

namespace Deprov.Core.Tests.Evidence;

public sealed class SignedNoteTests
{
    [Fact]
    public void KeyId_SpecExample_MatchesPublishedVerifierKey()
    {
        // The worked example of C2SP signed-note: example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k.
        var (name, id, type, key) = NoteKeys.ParseVerifierKey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k");
        Assert.Equal("example.com/foo", name);
        Assert.Equal(0x530d903au, id);
        Assert.Equal(NoteKeys.Ed25519, type);
        Assert.Equal("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k", NoteKeys.VerifierKey(name, type, key));
    }

    [Fact]
    public void ParseVerifierKey_AlteredKey_IsRejected()
    {
        var ex = Assert.Throws<FormatException>(() => NoteKeys.ParseVerifierKey("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2K"));
        Assert.Contains("does not match", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SignParseVerify_RoundTrip_AndAnyEditBreaksIt()
    {
        using var signer = new HmacTestSigner("deprov.test/audit");
        var checkpoint = new Checkpoint("deprov.test/audit", 224, SHA256.HashData("x"u8));
        var text = SignedNote.Sign(checkpoint.ToNoteText(), signer).ToString();

        var note = SignedNote.Parse(text);
        Assert.Null(note.Verify([signer.Verifier]));
        Assert.Equal(checkpoint.Size, Checkpoint.Parse(note.Text).Size);
        Assert.Equal(checkpoint.RootHash, Checkpoint.Parse(note.Text).RootHash);

        var edited = SignedNote.Parse(text.Replace("\n224\n", "\n225\n", StringComparison.Ordinal));
        Assert.Contains("does not verify", edited.Verify([signer.Verifier]), StringComparison.Ordinal);

        using var other = new HmacTestSigner("deprov.test/other");
        Assert.Contains("no signature by a trusted key", note.Verify([other.Verifier]), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("origin\n10\n", "needs origin, tree size and root hash")]
    [InlineData("origin\n010\nAAAA\n", "leading zeros")]
    [InlineData("origin\n10\nAAAA\n", "32")]
    [InlineData("or igin\n10\nAAAA\n", "origin")]
    [InlineData("origin\n10\nnot base64!\n", "not base64")]
    public void CheckpointParse_BadText_NamesTheLine(string text, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => Checkpoint.Parse(text));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\n1\nx\n", "no blank line")]
    [InlineData("a\n\nnot a signature\n", "not a signature line")]
    [InlineData("a\n\n\u2014 k AAAA\n", "too short")]
    public void NoteParse_BadText_SaysWhy(string text, string expected)
    {
        var ex = Assert.Throws<FormatException>(() => SignedNote.Parse(text));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>A stand-in signer for the format tests (Core holds no Ed25519): HMAC-SHA256 under a random key.</summary>
    private sealed class HmacTestSigner : NoteSigner, IDisposable
    {
        private readonly HMACSHA256 _hmac = new(RandomNumberGenerator.GetBytes(32));

        public HmacTestSigner(string name)
        {
            Name = name;
            KeyId = NoteKeys.KeyId(name, 0xfe, _hmac.Key);
            Verifier = new HmacVerifier(this);
        }

        public override string Name { get; }

        public override uint KeyId { get; }

        public NoteVerifier Verifier { get; }

        public override byte[] Sign(ReadOnlySpan<byte> message) => _hmac.ComputeHash(message.ToArray());

        public void Dispose() => _hmac.Dispose();

        private sealed class HmacVerifier(HmacTestSigner signer) : NoteVerifier
        {
            public override string Name => signer.Name;

            public override uint KeyId => signer.KeyId;

            public override bool Verify(ReadOnlySpan<byte> message, ReadOnlySpan<byte> signature) =>
                CryptographicOperations.FixedTimeEquals(signer.Sign(message), signature);
        }
    }
}
