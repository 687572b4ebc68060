using Deprov.Connectors.Graph.Tests.Fake;
using Deprov.Connectors.Graph.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Graph.Tests;

public sealed class GraphDiscoveryTests
{
    private static async Task<List<DiscoveredObject>> DiscoverAsync(GraphConnector connector)
    {
        var all = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), default))
        {
            all.Add(o);
        }

        return all;
    }

    [Fact]
    public async Task DiscoverAsync_UsersOverSeveralPages_AllWithCorrelationAttributesAndLastSignIn()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.PageSize = 2;
        var signIn = new DateTimeOffset(2026, 3, 1, 8, 30, 0, TimeSpan.Zero);
        var users = Enumerable.Range(0, 5).Select(i => server.AddUser($"user{i}@contoso.com", enabled: i != 3, mail: $"user{i}@contoso.com", employeeId: $"E{i}", lastSignIn: signIn)).ToList();
        using var connector = GraphTest.Connect(server);

        var accounts = (await DiscoverAsync(connector)).OfType<DiscoveredAccount>().ToList();

        Assert.Equal(users.Select(u => u.Id), accounts.Select(a => a.ExternalId));
        var a3 = accounts[3];
        Assert.Equal("user3@contoso.com", a3.UserName);
        Assert.Equal("user3@contoso.com", a3.Email);
        Assert.False(a3.Enabled);
        Assert.Equal(signIn, a3.LastSignInAt);
        Assert.Equal("E3", a3.Attributes["employeeId"]);
        Assert.Equal("user3@contoso.com", a3.Attributes["userPrincipalName"]);
        Assert.Equal("user3@contoso.com", a3.Attributes["mail"]);
        // Five users at two per page: three pages, the later ones by @odata.nextLink.
        var pages = server.ApiRequests.Where(r => r.Path == "/v1.0/users").ToList();
        Assert.Equal(3, pages.Count);
        Assert.Contains("$select=id,userPrincipalName,mail,employeeId,accountEnabled,userType,assignedLicenses,signInActivity", Uri.UnescapeDataString(pages[0].Query), StringComparison.Ordinal);
        Assert.Contains("$skiptoken=4", pages[2].Query, StringComparison.Ordinal);
        Assert.True(connector.Describe().ReportsSignIns);
    }

    [Fact]
    public async Task DiscoverAsync_SignInActivityOff_DoesNotNeedAuditLogPermission()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.Granted.Remove("AuditLog.Read.All");
        server.AddUser("ann@contoso.com");
        using var connector = GraphTest.Connect(server, s => s["sign_in_activity"] = "false");

        var account = Assert.Single((await DiscoverAsync(connector)).OfType<DiscoveredAccount>());

        Assert.Null(account.LastSignInAt);
        Assert.False(connector.Describe().ReportsSignIns);
    }

    [Fact]
    public async Task DiscoverAsync_SignInActivityWithoutAuditLogPermission_IsPermanentNamingIt()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.Granted.Remove("AuditLog.Read.All");
        server.AddUser("ann@contoso.com");
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => DiscoverAsync(connector));

        Assert.False(e.IsTransient);
        Assert.Contains("AuditLog.Read.All", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiscoverAsync_GroupsAndMembers_PrivilegedByGlobOrRoleAssignableAndMembersPaged()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.PageSize = 2;
        var people = Enumerable.Range(0, 3).Select(i => server.AddUser($"p{i}@contoso.com")).ToArray();
        var staff = server.AddGroup("all-staff", members: people);
        var admins = server.AddGroup("workspace-admins", members: people[0]);
        var roles = server.AddGroup("helpdesk", roleAssignable: true, members: people[1]);
        using var connector = GraphTest.Connect(server, s => s["privileged_groups"] = new[] { "*admin*" });

        var all = await DiscoverAsync(connector);

        var groups = all.OfType<DiscoveredEntitlement>().Where(e => e.Kind == EntitlementKind.Group).ToDictionary(e => e.Name);
        Assert.False(groups["all-staff"].Privileged);
        Assert.True(groups["workspace-admins"].Privileged);
        Assert.True(groups["helpdesk"].Privileged);
        var memberships = all.OfType<DiscoveredMembership>().Where(m => m.EntitlementExternalId == staff.Id).Select(m => m.AccountExternalId);
        Assert.Equal(people.Select(p => p.Id), memberships);
        Assert.Contains(all.OfType<DiscoveredMembership>(), m => m.EntitlementExternalId == roles.Id && m.AccountExternalId == people[1].Id);
        Assert.Contains(all.OfType<DiscoveredMembership>(), m => m.EntitlementExternalId == admins.Id && m.AccountExternalId == people[0].Id);
        Assert.Equal(2, server.ApiRequests.Count(r => r.Path == $"/v1.0/groups/{staff.Id}/members"));
    }

    [Fact]
    public async Task DiscoverAsync_SubscribedSkus_AreLicenceEntitlementsAndAssignedLicencesMemberships()
    {
        await using var server = await GraphTestServer.StartAsync();
        var e5 = server.AddSku("SPE_E5");
        server.AddSku("VISIOCLIENT");
        var ann = server.AddUser("ann@contoso.com");
        ann.Licences[e5.SkuId] = [];
        using var connector = GraphTest.Connect(server);

        var all = await DiscoverAsync(connector);

        var licences = all.OfType<DiscoveredEntitlement>().Where(e => e.Kind == EntitlementKind.Licence).ToList();
        Assert.Equal(["SPE_E5", "VISIOCLIENT"], licences.Select(l => l.Name).Order(StringComparer.Ordinal));
        Assert.Equal(e5.SkuId, licences.Single(l => l.Name == "SPE_E5").ExternalId);
        Assert.Contains(all.OfType<DiscoveredMembership>(), m => m.AccountExternalId == ann.Id && m.EntitlementExternalId == e5.SkuId);
    }

    [Fact]
    public async Task DiscoverAsync_ManagedDevices_OwnerIsTheAccountsUserNameWhateverTheCase()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.PageSize = 1;
        server.AddUser("Ann.Lee@contoso.com");
        var phone = server.AddDevice("F2LX1", "iPhone 15", "ann.lee@CONTOSO.com");
        var kiosk = server.AddDevice("K-77", "Surface Go", null);
        using var connector = GraphTest.Connect(server);

        var devices = (await DiscoverAsync(connector)).OfType<DiscoveredDevice>().ToDictionary(d => d.ExternalId);

        Assert.Equal(2, devices.Count);
        Assert.Equal("Ann.Lee@contoso.com", devices[phone.Id].OwnerUserName);
        Assert.Equal("F2LX1", devices[phone.Id].SerialNumber);
        Assert.Equal("iPhone 15", devices[phone.Id].Model);
        Assert.Equal(DeviceStatus.Active, devices[phone.Id].Status);
        Assert.Null(devices[kiosk.Id].OwnerUserName);
    }

    [Fact]
    public async Task DiscoverAsync_DevicesOff_DoesNotCallIntune()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.AddDevice("F2LX1", "iPhone 15", "ann@contoso.com");
        using var connector = GraphTest.Connect(server, s => s["devices"] = "false");

        var all = await DiscoverAsync(connector);

        Assert.Empty(all.OfType<DiscoveredDevice>());
        Assert.DoesNotContain(server.ApiRequests, r => r.Path.Contains("deviceManagement", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DiscoverAsync_NextLinkToAnotherHost_IsNotFollowedWithTheToken()
    {
        await using var server = await GraphTestServer.StartAsync();
        server.PageSize = 1;
        server.NextLinkRoot = new Uri("http://203.0.113.9/");
        server.AddUser("ann@contoso.com");
        server.AddUser("bob@contoso.com");
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => DiscoverAsync(connector));

        Assert.False(e.IsTransient);
        Assert.Contains("outside", e.Message, StringComparison.Ordinal);
        Assert.Single(server.ApiRequests, r => r.Path == "/v1.0/users");
    }
}
