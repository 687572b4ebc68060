using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Testing.Scim;

namespace Deprov.Connectors.Scim.Tests;

public sealed class ScimDiscoveryTests
{
    private static async Task<List<DiscoveredObject>> DiscoverAll(ScimConnector connector)
    {
        var all = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new(null), default))
        {
            all.Add(o);
        }

        return all;
    }

    [Fact]
    public async Task DiscoverAsync_MoreUsersThanAPage_PagesThroughAll()
    {
        // The server caps pages at 7 while we ask for 5: paging must follow what came back, not what was asked.
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { MaxPageSize = 7 });
        var ids = Enumerable.Range(0, 23).Select(i => server.AddUser(ScimTest.Unique($"p{i}"))).ToList();
        using var connector = ScimTest.Connect(server, configure: s => s["page_size"] = "10");

        var accounts = (await DiscoverAll(connector)).OfType<DiscoveredAccount>().ToList();

        Assert.Equal(ids.Order(StringComparer.Ordinal), accounts.Select(a => a.ExternalId).Order(StringComparer.Ordinal));
        var pages = server.Requests.Where(r => r.Path.EndsWith("/Users", StringComparison.Ordinal)).Select(r => r.Query).ToList();
        Assert.Equal(4, pages.Count);
        Assert.Contains("startIndex=22&count=7", pages[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiscoverAsync_ServerGzipsPages_ReadsThemAndAsksForGzipOnReadsOnly()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { GzipResponses = true });
        var ids = Enumerable.Range(0, 12).Select(i => server.AddUser(ScimTest.Unique($"z{i}"))).ToList();
        using var connector = ScimTest.Connect(server, configure: s => s["page_size"] = "5");

        var accounts = (await DiscoverAll(connector)).OfType<DiscoveredAccount>().ToList();
        var gzippedReads = server.GzippedResponses;
        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, ids[0]), default);

        Assert.Equal(ids.Order(StringComparer.Ordinal), accounts.Select(a => a.ExternalId).Order(StringComparer.Ordinal));
        Assert.True(gzippedReads >= 3, $"only {gzippedReads} answers were gzipped");
        Assert.Equal(gzippedReads, server.GzippedResponses);
        Assert.False(server.IsActive(ids[0]));
    }

    [Fact]
    public async Task DiscoverAsync_Users_CarryCorrelationAttributes()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser("ann@example.com", active: false, email: "ann.work@example.com", employeeNumber: "E42", externalId: "hr-42");
        using var connector = ScimTest.Connect(server);

        var account = Assert.Single((await DiscoverAll(connector)).OfType<DiscoveredAccount>());

        Assert.Equal(id, account.ExternalId);
        Assert.Equal("ann@example.com", account.UserName);
        Assert.Equal("ann.work@example.com", account.Email);
        Assert.False(account.Enabled);
        Assert.Equal("E42", account.Attributes["employeeNumber"]);
        Assert.Equal("hr-42", account.Attributes["externalId"]);
        Assert.Null(account.LastSignInAt);
    }

    [Fact]
    public async Task DiscoverAsync_UserFilter_IsSentAndApplied()
    {
        await using var server = await ScimTestServer.StartAsync();
        server.AddUser("a@corp.example");
        server.AddUser("b@other.example");
        using var connector = ScimTest.Connect(server, configure: s => s["user_filter"] = "userName ew \"@corp.example\" and active eq true");

        var accounts = (await DiscoverAll(connector)).OfType<DiscoveredAccount>().ToList();

        Assert.Equal("a@corp.example", Assert.Single(accounts).UserName);
    }

    [Fact]
    public async Task DiscoverAsync_Groups_YieldsEntitlementsMembershipsAndPrivilegedFlags()
    {
        await using var server = await ScimTestServer.StartAsync();
        var a = server.AddUser(ScimTest.Unique("a"));
        var b = server.AddUser(ScimTest.Unique("b"));
        var admins = server.AddGroup("Org Admins", a);
        var eng = server.AddGroup("Engineering", a, b);
        using var connector = ScimTest.Connect(server, configure: s => s["privileged_groups"] = new[] { "*admin*", "Billing" });

        var all = await DiscoverAll(connector);

        var groups = all.OfType<DiscoveredEntitlement>().ToDictionary(g => g.ExternalId);
        Assert.True(groups[admins].Privileged);
        Assert.False(groups[eng].Privileged);
        var memberships = all.OfType<DiscoveredMembership>().Select(m => (m.AccountExternalId, m.EntitlementExternalId)).ToHashSet();
        Assert.Equal(new HashSet<(string, string)> { (a, admins), (a, eng), (b, eng) }, memberships);
    }
}
