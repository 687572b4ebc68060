using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Deprov.Core.Security;

namespace Deprov.Server.Tests.Endpoints;

/// <summary>The doctor over the API (<c>GET /api/systems/{id}/check</c>) and accepting a shrink (<c>POST /api/findings/{id}/accept</c>).</summary>
[Collection(ServerCollection.Name)]
public sealed class CheckEndpointTests
{
    private readonly ServerFixture _server;

    public CheckEndpointTests(ServerFixture server) => _server = server;

    [Fact]
    public async Task Check_AsOperator_ReturnsEveryProbe_PassedOnTheSandbox()
    {
        using var client = _server.Client(Role.Operator);

        var check = await client.GetFromJsonAsync<JsonElement>("/api/systems/slack/check");

        Assert.Equal("slack", check.GetProperty("systemId").GetString());
        Assert.True(check.GetProperty("passed").GetBoolean());
        Assert.Equal(["connect", "accounts", "confirm_membership", "confirm_disable"], check.GetProperty("probes").EnumerateArray().Select(p => p.GetProperty("probe").GetString()));
    }

    [Fact]
    public async Task Check_UnknownSystem_Is404NamingTheConfiguredOnes_AndAuditorsAreRefused()
    {
        using var client = _server.Client(Role.Admin);
        var response = await client.GetAsync(new Uri("/api/systems/nosuch/check", UriKind.Relative));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("There is no system 'nosuch'", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var auditor = _server.Client(Role.Auditor);
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.GetAsync(new Uri("/api/systems/slack/check", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task Accept_NoSuchOpenShrinkFinding_Is404WithTheFix()
    {
        using var client = _server.Client(Role.Operator);

        var response = await client.PostAsync(new Uri("/api/findings/F-0000000000000000/accept", UriKind.Relative), null);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("deprov findings --kind inventory_shrink", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        using var auditor = _server.Client(Role.Auditor);
        Assert.Equal(HttpStatusCode.Forbidden, (await auditor.PostAsync(new Uri("/api/findings/F-0000000000000000/accept", UriKind.Relative), null)).StatusCode);
    }
}
