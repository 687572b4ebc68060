using System.Net;
using System.Text;
using System.Xml.Linq;
using Deprov.Connectors.Aws.Protocol;

namespace Deprov.Connectors.Aws.Tests.Fake;

/// <summary>The fake refuses what IAM refuses, so the connector's tests cannot pass against a lenient server.</summary>
public sealed class IamFakeServerTests
{
    private static readonly XNamespace Ns = "https://iam.amazonaws.com/doc/2010-05-08/";

    [Fact]
    public async Task Post_Unsigned_403MissingAuthenticationToken()
    {
        await using var server = await IamFakeServer.StartAsync();
        using var http = new HttpClient();

        using var response = await http.PostAsync(server.Endpoint, Form("Action=ListUsers&Version=2010-05-08"));

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("MissingAuthenticationToken", await CodeAsync(response));
    }

    [Theory]
    [InlineData("Action=ListUsers", HttpStatusCode.BadRequest, "MissingParameter")]
    [InlineData("Version=2010-05-08", HttpStatusCode.BadRequest, "MissingAction")]
    [InlineData("Action=ListUsers&Version=2010-05-08&MaxItems=0", HttpStatusCode.BadRequest, "ValidationError")]
    [InlineData("Action=GetUser&Version=2010-05-08&UserName=nobody", HttpStatusCode.NotFound, "NoSuchEntity")]
    [InlineData("Action=CreateUser2&Version=2010-05-08", HttpStatusCode.BadRequest, "InvalidAction")]
    public async Task Post_SignedButWrong_DocumentedStatusAndCode(string body, HttpStatusCode status, string code)
    {
        await using var server = await IamFakeServer.StartAsync();
        using var http = new HttpClient();
        using var request = Signed(server, body);

        using var response = await http.SendAsync(request);

        Assert.Equal(status, response.StatusCode);
        Assert.Equal(code, await CodeAsync(response));
    }

    [Fact]
    public async Task Post_SignedThenBodyTampered_403SignatureDoesNotMatch()
    {
        await using var server = await IamFakeServer.StartAsync();
        using var http = new HttpClient();
        using var request = Signed(server, "Action=ListUsers&Version=2010-05-08");
        request.Content = Form("Action=DeleteUser&Version=2010-05-08&UserName=ann");

        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Equal("SignatureDoesNotMatch", await CodeAsync(response));
    }

    private static HttpRequestMessage Signed(IamFakeServer server, string body)
    {
        var amzDate = SigV4Signer.AmzDate(TimeProvider.System.GetUtcNow());
        var request = new HttpRequestMessage(HttpMethod.Post, server.Endpoint) { Content = Form(body) };
        request.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        var signed = new SigV4Request("POST", "/", string.Empty,
            [new("content-type", "application/x-www-form-urlencoded; charset=utf-8"), new("host", server.Endpoint.Authority), new("x-amz-date", amzDate)],
            Encoding.UTF8.GetBytes(body));
        request.Headers.TryAddWithoutValidation("Authorization",
            SigV4Signer.Authorization(signed, server.Options.AccessKeyId, server.Options.SecretAccessKey, "us-east-1", "iam"));
        return request;
    }

    private static ByteArrayContent Form(string body)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
        return content;
    }

    private static async Task<string?> CodeAsync(HttpResponseMessage response)
    {
        var doc = XDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(Ns + "ErrorResponse", doc.Root!.Name);
        Assert.NotNull(doc.Root.Element(Ns + "RequestId"));
        return doc.Root.Element(Ns + "Error")?.Element(Ns + "Code")?.Value;
    }
}
