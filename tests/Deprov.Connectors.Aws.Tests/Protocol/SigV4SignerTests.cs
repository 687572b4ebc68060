using System.Text;
using Deprov.Connectors.Aws.Protocol;

namespace Deprov.Connectors.Aws.Tests.Protocol;

/// <summary>
/// AWS's published Signature Version 4 example (IAM <c>GET /?Action=ListUsers&amp;Version=2010-05-08</c> on
/// <c>iam.amazonaws.com</c> at 20150830T123600Z, key AKIDEXAMPLE / wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY), stage by stage.
/// </summary>
public sealed class SigV4SignerTests
{
    private const string Secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    private static readonly SigV4Request Example = new("GET", "/", "Action=ListUsers&Version=2010-05-08",
    [
        new("Content-Type", "application/x-www-form-urlencoded; charset=utf-8"),
        new("Host", "iam.amazonaws.com"),
        new("X-Amz-Date", "20150830T123600Z"),
    ], []);

    [Fact]
    public void CanonicalRequest_AwsExample_HashesToThePublishedValue()
    {
        var canonical = SigV4Signer.CanonicalRequest(Example);

        Assert.Equal(
            "GET\n/\nAction=ListUsers&Version=2010-05-08\ncontent-type:application/x-www-form-urlencoded; charset=utf-8\nhost:iam.amazonaws.com\n"
            + "x-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            canonical);
        Assert.Equal("f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
            SigV4Signer.Hex(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(canonical))));
    }

    [Fact]
    public void SigningKey_AwsExample_IsThePublishedKey() =>
        Assert.Equal("c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9", SigV4Signer.Hex(SigV4Signer.SigningKey(Secret, "20150830", "us-east-1", "iam")));

    [Fact]
    public void Authorization_AwsExample_IsThePublishedHeader()
    {
        Assert.Equal(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\nf536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
            SigV4Signer.StringToSign(SigV4Signer.CanonicalRequest(Example), "20150830T123600Z", SigV4Signer.Scope("20150830T123600Z", "us-east-1", "iam")));
        Assert.Equal(
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, "
            + "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7",
            SigV4Signer.Authorization(Example, "AKIDEXAMPLE", Secret, "us-east-1", "iam"));
    }

    [Fact]
    public void Signature_BodyOrSecretChanged_Differs()
    {
        var post = Example with { Method = "POST", Query = string.Empty, Payload = Encoding.UTF8.GetBytes("Action=ListUsers&Version=2010-05-08") };
        var signature = SigV4Signer.Signature(post, Secret, "us-east-1", "iam");

        Assert.NotEqual(signature, SigV4Signer.Signature(post with { Payload = Encoding.UTF8.GetBytes("Action=DeleteUser&Version=2010-05-08") }, Secret, "us-east-1", "iam"));
        Assert.NotEqual(signature, SigV4Signer.Signature(post, Secret + "x", "us-east-1", "iam"));
        Assert.NotEqual(signature, SigV4Signer.Signature(post, Secret, "eu-west-1", "iam"));
    }

    [Theory]
    [InlineData("AbZ09-_.~", "AbZ09-_.~")]
    [InlineData("a b/c=d", "a%20b%2Fc%3Dd")]
    [InlineData("é", "%C3%A9")]
    public void UriEncode_Rfc3986_OnlyUnreservedKept(string text, string expected) => Assert.Equal(expected, SigV4Signer.UriEncode(text));
}
