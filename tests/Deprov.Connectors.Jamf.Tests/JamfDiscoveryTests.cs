using Deprov.Connectors.Jamf.Tests.Fake;
using Deprov.Connectors.Jamf.Tests.Support;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Jamf.Tests;

/// <summary>Discovery: paging, sections, the owner used for correlation.</summary>
public sealed class JamfDiscoveryTests
{
    private static async Task<List<DiscoveredDevice>> DiscoverAsync(JamfConnector connector)
    {
        var list = new List<DiscoveredDevice>();
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
            list.Add(Assert.IsType<DiscoveredDevice>(o));
        }

        return list;
    }

    [Fact]
    public async Task DiscoverAsync_ComputersOverSeveralPages_AllFoundWithSerialModelOwner()
    {
        await using var server = await JamfFakeServer.StartAsync();
        for (var i = 0; i < 7; i++)
        {
            server.AddComputer($"C{i:D3}", $"user{i}", $"user{i}@example.com");
        }

        using var connector = JamfTest.Connect(server, configure: s => { s["page_size"] = "3"; s["device_types"] = new[] { "computers" }; });

        var devices = await DiscoverAsync(connector);

        Assert.Equal(7, devices.Count);
        Assert.Equal(7, devices.Select(d => d.ExternalId).Distinct().Count());
        var first = devices.Single(d => d.SerialNumber == "C000");
        Assert.StartsWith("computers/", first.ExternalId, StringComparison.Ordinal);
        Assert.Equal("user0@example.com", first.OwnerUserName);
        Assert.Equal("MacBook Pro (14-inch, M3, 2023)", first.Model);
        Assert.Equal(DeviceStatus.Active, first.Status);
        var pages = server.Requests.Where(r => r.Path == "/api/v1/computers-inventory").ToList();
        Assert.Equal(3, pages.Count); // 3 + 3 + 1
        Assert.All(pages, p => Assert.Contains("section=USER_AND_LOCATION", p.Query, StringComparison.Ordinal));
        Assert.Contains("page=2&page-size=3", pages[2].Query, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiscoverAsync_ExactMultipleOfPageSize_StopsOnTotalCount()
    {
        await using var server = await JamfFakeServer.StartAsync();
        for (var i = 0; i < 4; i++)
        {
            server.AddComputer($"C{i}");
        }

        using var connector = JamfTest.Connect(server, configure: s => { s["page_size"] = "2"; s["device_types"] = new[] { "computers" }; });

        Assert.Equal(4, (await DiscoverAsync(connector)).Count);
        Assert.Equal(2, server.Requests.Count(r => r.Path == "/api/v1/computers-inventory"));
    }

    [Fact]
    public async Task DiscoverAsync_MobileDevices_EmailAddressOrUserNameAsOwner()
    {
        await using var server = await JamfFakeServer.StartAsync();
        var withEmail = server.AddMobileDevice("F1", "bob", "bob@example.com");
        var userOnly = server.AddMobileDevice("F2", "carol@example.com", null);
        var nobody = server.AddMobileDevice("F3");
        using var connector = JamfTest.Connect(server, configure: s => s["device_types"] = new[] { "mobile_devices" });

        var devices = (await DiscoverAsync(connector)).ToDictionary(d => d.ExternalId);

        Assert.Equal(3, devices.Count);
        Assert.Equal("bob@example.com", devices[JamfTest.Mobile(withEmail)].OwnerUserName);
        Assert.Equal("carol@example.com", devices[JamfTest.Mobile(userOnly)].OwnerUserName);
        Assert.Null(devices[JamfTest.Mobile(nobody)].OwnerUserName);
        Assert.Equal("iPhone 15", devices[JamfTest.Mobile(withEmail)].Model);
        Assert.DoesNotContain(server.Requests, r => r.Path == "/api/v1/computers-inventory");
    }

    [Fact]
    public async Task DiscoverAsync_Default_BothInventories()
    {
        await using var server = await JamfFakeServer.StartAsync();
        server.AddComputer("C1", "ann", "ann@example.com");
        server.AddMobileDevice("F1", "ann", "ann@example.com");
        using var connector = JamfTest.Connect(server);

        var devices = await DiscoverAsync(connector);

        Assert.Equal(["computers/", "mobile-devices/"], devices.Select(d => d.ExternalId[..(d.ExternalId.IndexOf('/') + 1)]).Order().ToArray());
    }

    [Fact]
    public async Task DiscoverAsync_Empty_NothingAndOneRequestEach()
    {
        await using var server = await JamfFakeServer.StartAsync();
        using var connector = JamfTest.Connect(server);

        Assert.Empty(await DiscoverAsync(connector));
        Assert.Single(server.Requests, r => r.Path == "/api/v1/computers-inventory");
        Assert.Single(server.Requests, r => r.Path == "/api/v2/mobile-devices/detail");
    }
}
