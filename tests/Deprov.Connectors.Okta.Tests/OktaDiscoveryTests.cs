using Deprov.Connectors.Okta.Tests.Fake;
using Deprov.Connectors.Okta.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Okta.Tests;

public sealed class OktaDiscoveryTests
{
    [Fact]
    public async Task DiscoverAsync_UsersOverSeveralPages_ListsEveryUserOnceWithStatusAndSignIn()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var lastLogin = new DateTimeOffset(2026, 10, 30, 17, 5, 0, TimeSpan.Zero);
        var ann = server.AddUser("ann@example.com", email: "ann.work@example.com", employeeNumber: "E100", lastLogin: lastLogin);
        var ids = new Dictionary<string, string>
        {
            ["ACTIVE"] = ann,
            ["SUSPENDED"] = server.AddUser("sue@example.com", status: "SUSPENDED"),
            ["DEPROVISIONED"] = server.AddUser("dee@example.com", status: "DEPROVISIONED"),
            ["LOCKED_OUT"] = server.AddUser("lou@example.com", status: "LOCKED_OUT"),
            ["STAGED"] = server.AddUser("stu@example.com", status: "STAGED"),
            ["PASSWORD_EXPIRED"] = server.AddUser("pat@example.com", status: "PASSWORD_EXPIRED"),
        };
        var more = Enumerable.Range(0, 3).Select(i => server.AddUser($"u{i}@example.com")).ToList();
        using var connector = OktaTest.Connect(server, s => s["page_size"] = "2");

        var accounts = (await OktaTest.DiscoverAllAsync(connector)).OfType<DiscoveredAccount>().ToList();

        Assert.Equal(9, accounts.Count);
        Assert.Equal(accounts.Count, accounts.Select(a => a.ExternalId).Distinct().Count());
        var a = accounts.Single(x => x.ExternalId == ann);
        Assert.Equal("ann@example.com", a.UserName);
        Assert.Equal("ann.work@example.com", a.Email);
        Assert.Equal(lastLogin, a.LastSignInAt);
        Assert.True(a.Enabled);
        Assert.Equal("E100", a.Attributes["employeeNumber"]);
        Assert.Equal("ann@example.com", a.Attributes["login"]);
        Assert.Equal("ann.work@example.com", a.Attributes["email"]);
        Assert.Equal("ACTIVE", a.Attributes["status"]);
        Assert.False(accounts.Single(x => x.ExternalId == ids["SUSPENDED"]).Enabled);
        Assert.False(accounts.Single(x => x.ExternalId == ids["DEPROVISIONED"]).Enabled);
        Assert.False(accounts.Single(x => x.ExternalId == ids["STAGED"]).Enabled);
        Assert.True(accounts.Single(x => x.ExternalId == ids["LOCKED_OUT"]).Enabled);
        Assert.True(accounts.Single(x => x.ExternalId == ids["PASSWORD_EXPIRED"]).Enabled);
        Assert.Null(accounts.Single(x => x.ExternalId == more[0]).LastSignInAt);
        // Paged with limit/after, and the DEPROVISIONED users fetched by their own filtered listing.
        Assert.True(server.Requests.Count(r => r.Path == "/api/v1/users" && r.Query.Contains("after=", StringComparison.Ordinal)) >= 3);
        Assert.Contains(server.Requests, r => r.Path == "/api/v1/users" && r.Query.Contains("filter=status%20eq%20%22DEPROVISIONED%22", StringComparison.Ordinal));
    }

    [Fact]
    public async Task DiscoverAsync_Groups_ReportsOktaGroupsWithPrivilegeAndPagedMembers()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var users = Enumerable.Range(0, 5).Select(i => server.AddUser($"m{i}@example.com")).ToList();
        var admins = server.AddGroup("Okta-Super-Admins", users[0]);
        var staff = server.AddGroup("staff", [.. users]);
        var everyone = server.AddGroupOfType("Everyone", "BUILT_IN", [.. users]);
        var adGroup = server.AddGroupOfType("Domain Admins", "APP_GROUP", users[1]);
        using var connector = OktaTest.Connect(server, s =>
        {
            s["page_size"] = "2";
            s["privileged_groups"] = new[] { "*admin*" };
        });

        var all = await OktaTest.DiscoverAllAsync(connector);

        var groups = all.OfType<DiscoveredEntitlement>().ToList();
        Assert.Equal(new[] { admins, staff }, groups.Select(g => g.ExternalId));
        Assert.True(groups.Single(g => g.ExternalId == admins).Privileged);
        Assert.False(groups.Single(g => g.ExternalId == staff).Privileged);
        Assert.Equal("Okta-Super-Admins", groups[0].Name);
        var memberships = all.OfType<DiscoveredMembership>().ToList();
        Assert.Equal(users.Order(), memberships.Where(m => m.EntitlementExternalId == staff).Select(m => m.AccountExternalId).Order());
        Assert.Single(memberships, m => m.EntitlementExternalId == admins);
        Assert.DoesNotContain(memberships, m => m.EntitlementExternalId == everyone || m.EntitlementExternalId == adGroup);
    }

    [Fact]
    public async Task DiscoverAsync_GroupDeletedWhileListing_IsSkipped()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var u = server.AddUser("a@example.com");
        var doomed = server.AddGroup("doomed", u);
        var kept = server.AddGroup("kept", u);
        using var connector = OktaTest.Connect(server);
        var all = new List<DiscoveredObject>();

        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), default))
        {
            all.Add(o);
            if (o is DiscoveredEntitlement e && e.ExternalId == doomed)
            {
                server.RemoveGroup(doomed);
            }
        }

        var memberships = all.OfType<DiscoveredMembership>().ToList();
        Assert.Equal(kept, Assert.Single(memberships).EntitlementExternalId);
    }

    [Fact]
    public async Task DiscoverAsync_NextLinkToAnotherHost_IsNotFollowed()
    {
        await using var server = await OktaFakeServer.StartAsync(new OktaFakeOptions { NextLinkOrigin = new Uri("http://attacker.example/") });
        server.AddUser("a@example.com");
        server.AddUser("b@example.com");
        using var connector = OktaTest.Connect(server, s => s["page_size"] = "1");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => OktaTest.DiscoverAllAsync(connector));

        Assert.False(e.IsTransient);
        Assert.Contains("attacker.example", e.Message, StringComparison.Ordinal);
        Assert.Contains("not followed", e.Message, StringComparison.Ordinal);
    }
}
