using Deprov.Connectors.Google.Tests.Fake;
using Deprov.Connectors.Google.Tests.Support;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google.Tests;

public sealed class GoogleDiscoveryTests
{
    private static async Task<List<DiscoveredObject>> DiscoverAsync(GoogleConnector connector)
    {
        var all = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
            all.Add(o);
        }

        return all;
    }

    [Fact]
    public async Task Discover_PagesEverythingAndMapsCorrelationAttributes()
    {
        await using var server = await GoogleTestServer.StartAsync();
        server.PageSize = 2;
        var signedIn = new DateTimeOffset(2025, 5, 1, 8, 30, 0, TimeSpan.Zero);
        var ann = server.AddUser("ann@example.com", employeeId: "E100", lastLogin: signedIn, isAdmin: true);
        ann.Aliases.Add("annie@example.com");
        var bob = server.AddUser("bob@example.com", suspended: true);
        var cid = server.AddUser("cid@example.com");
        var eng = server.AddGroup("eng@example.com", ann, bob, cid);
        server.AddGroup("it-admins@example.com", ann);
        server.AddGroup("sales@example.com");
        var phone = server.AddDevice("F2LX1", "iPhone 15", "ANNIE@example.com");
        var wiped = server.AddDevice("ZX9", "Pixel 8", "cid@example.com");
        wiped.Status = "ACCOUNT_WIPED";
        using var connector = GoogleTest.Connect(server, s => s["privileged_groups"] = new[] { "*admin*" });

        var all = await DiscoverAsync(connector);

        var accounts = all.OfType<DiscoveredAccount>().ToList();
        Assert.Equal(["ann@example.com", "bob@example.com", "cid@example.com"], accounts.Select(a => a.UserName));
        var a = accounts[0];
        Assert.Equal(ann.Id, a.ExternalId);
        Assert.Equal("ann@example.com", a.Email);
        Assert.True(a.Enabled);
        Assert.Equal(signedIn, a.LastSignInAt);
        Assert.Equal("E100", a.Attributes["employeeId"]);
        Assert.Equal("true", a.Attributes["isAdmin"]);
        Assert.Equal("true", a.Attributes["privileged"]);
        Assert.False(accounts[1].Enabled);
        // Google reports 1970-01-01 for "never signed in".
        Assert.Null(accounts[1].LastSignInAt);
        Assert.Equal("false", accounts[1].Attributes["privileged"]);

        var groups = all.OfType<DiscoveredEntitlement>().ToList();
        Assert.Equal(3, groups.Count);
        Assert.True(groups.Single(g => g.Name == "it-admins@example.com").Privileged);
        Assert.False(groups.Single(g => g.Name == "eng@example.com").Privileged);
        Assert.Equal(3, all.OfType<DiscoveredMembership>().Count(m => m.EntitlementExternalId == eng.Id));
        Assert.Equal(4, all.OfType<DiscoveredMembership>().Count());

        var devices = all.OfType<DiscoveredDevice>().ToList();
        var d = devices.Single(x => x.ExternalId == phone.ResourceId);
        // Registered with an alias in another case: linked to the account's primary address.
        Assert.Equal("ann@example.com", d.OwnerUserName);
        Assert.Equal("F2LX1", d.SerialNumber);
        Assert.Equal(DeviceStatus.Active, d.Status);
        Assert.Equal(DeviceStatus.Wiped, devices.Single(x => x.ExternalId == wiped.ResourceId).Status);

        var credential = all.OfType<DiscoveredCredential>().Single(c => c.OwnerUserName == "ann@example.com");
        Assert.Equal("tokens:" + ann.Id, credential.ExternalId);
        Assert.Equal(CredentialKind.ApiToken, credential.Kind);

        // Three users at two a page: two pages, the second asked for with the token the first returned.
        var userPages = server.ApiRequests.Where(r => r.Path == "/admin/directory/v1/users").ToList();
        Assert.Equal(2, userPages.Count);
        Assert.Contains("customer=my_customer", userPages[0].Query, StringComparison.Ordinal);
        Assert.Contains("projection=full", userPages[0].Query, StringComparison.Ordinal);
        Assert.Contains("pageToken=pt-2", userPages[1].Query, StringComparison.Ordinal);
        Assert.Equal(2, server.ApiRequests.Count(r => r.Path == $"/admin/directory/v1/groups/{eng.Id}/members"));
    }

    [Fact]
    public async Task Discover_DevicesAndTokensOff_NeitherListed()
    {
        await using var server = await GoogleTestServer.StartAsync();
        server.AddUser("ann@example.com");
        server.AddDevice("F2LX1", "iPhone 15", "ann@example.com");
        using var connector = GoogleTest.Connect(server, s =>
        {
            s["devices"] = "false";
            s["tokens"] = "false";
        });

        var all = await DiscoverAsync(connector);

        Assert.Empty(all.OfType<DiscoveredDevice>());
        Assert.Empty(all.OfType<DiscoveredCredential>());
        Assert.DoesNotContain(server.ApiRequests, r => r.Path.Contains("/devices/", StringComparison.Ordinal));
        Assert.DoesNotContain("device", server.LastClaims!["scope"]!.GetValue<string>(), StringComparison.Ordinal);
    }
}
