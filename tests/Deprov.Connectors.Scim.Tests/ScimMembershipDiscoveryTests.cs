using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Testing.Scim;

namespace Deprov.Connectors.Scim.Tests;

/// <summary>
/// Discovery finds every membership however the server shows it, or fails loudly; it never returns "no memberships"
/// because the server did not show them.
/// </summary>
public sealed class ScimMembershipDiscoveryTests
{
    public static readonly TheoryData<string> GroupProfiles = new() { "generic", "slack", "okta", "entra", "salesforce", "zoom", "github_emu" };

    public enum Mode
    {
        Faithful,
        GroupReadsOmitMembers,
        GroupReadsOmitMembersWithUserGroups,
        OmitEmptyMembers,
        LenientFilters,
        MembersCap,
    }

    public static TheoryData<string, Mode> ProfilesAndModes()
    {
        var data = new TheoryData<string, Mode>();
        foreach (var profile in GroupProfiles)
        {
            foreach (var mode in Enum.GetValues<Mode>())
            {
                data.Add(profile, mode);
            }
        }

        return data;
    }

    private static ScimServerOptions OptionsFor(Mode mode) => mode switch
    {
        Mode.Faithful => new(),
        Mode.GroupReadsOmitMembers => new() { GroupReadsOmitMembers = true },
        Mode.GroupReadsOmitMembersWithUserGroups => new() { GroupReadsOmitMembers = true, UserGroups = true },
        Mode.OmitEmptyMembers => new() { OmitEmptyMembers = true },
        Mode.LenientFilters => new() { LenientFilters = true },
        Mode.MembersCap => new() { MembersCap = 2 },
        _ => throw new ArgumentOutOfRangeException(nameof(mode)),
    };

    private static async Task<List<DiscoveredObject>> DiscoverAll(ScimConnector connector)
    {
        var all = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new(null), default))
        {
            all.Add(o);
        }

        return all;
    }

    private static HashSet<(string, string)> Memberships(IEnumerable<DiscoveredObject> all) =>
        all.OfType<DiscoveredMembership>().Select(m => (m.AccountExternalId, m.EntitlementExternalId)).ToHashSet();

    [Theory]
    [MemberData(nameof(ProfilesAndModes))]
    public async Task DiscoverAsync_EveryProfileAndHabit_FindsEveryMembershipExactly(string profile, Mode mode)
    {
        await using var server = await ScimTestServer.StartAsync(OptionsFor(mode));
        var a = server.AddUser(ScimTest.Unique("a"));
        var b = server.AddUser(ScimTest.Unique("b"));
        var c = server.AddUser(ScimTest.Unique("c"));
        var admins = server.AddGroup("workspace-admins", a, b);
        var eng = server.AddGroup("engineering", a, b, c);
        var empty = server.AddGroup("nobody");
        var solo = server.AddGroup("solo", c);
        using var connector = ScimTest.Connect(server, profile, s =>
        {
            if (mode is Mode.MembersCap)
            {
                s["members_cap"] = "2";
            }
        });

        var all = await DiscoverAll(connector);

        Assert.Equal([admins, eng, empty, solo], all.OfType<DiscoveredEntitlement>().Select(g => g.ExternalId).Order(StringComparer.Ordinal));
        Assert.Equal(new HashSet<(string, string)> { (a, admins), (b, admins), (a, eng), (b, eng), (c, eng), (c, solo) }, Memberships(all));
        Assert.Equal(6, all.OfType<DiscoveredMembership>().Count());
    }

    [Theory]
    [MemberData(nameof(GroupProfiles))]
    public async Task DiscoverAsync_NoPathShowsMembers_FailsLoudlyNamingTheFix(string profile)
    {
        // Group reads without members, no users' groups, and a filter answered with an empty list whatever it asks.
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { GroupReadsOmitMembers = true, LenientFilters = true });
        var a = server.AddUser(ScimTest.Unique("a"));
        server.AddGroup("workspace-admins", a);
        using var connector = ScimTest.Connect(server, profile);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => DiscoverAll(connector));

        Assert.False(e.IsTransient);
        Assert.Contains("SCIM app: cannot discover group memberships", e.Message, StringComparison.Ordinal);
        Assert.Contains("each group read by id", e.Message, StringComparison.Ordinal);
        Assert.Contains("a members filter per user", e.Message, StringComparison.Ordinal);
        Assert.Contains("memberships: none", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiscoverAsync_MembersCapWithoutAnotherPath_FailsLoudlyNamingTheCap()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { MembersCap = 2, LenientFilters = true });
        var users = Enumerable.Range(0, 3).Select(i => server.AddUser(ScimTest.Unique($"u{i}"))).ToArray();
        server.AddGroup("engineering", users);
        using var connector = ScimTest.Connect(server, configure: s => s["members_cap"] = "2");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => DiscoverAll(connector));

        Assert.False(e.IsTransient);
        Assert.Contains("members_cap (2)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DiscoverAsync_EveryGroupEmptyOnAServerThatOmitsEmptyMembers_FailsUntilAReadHasShownMembers()
    {
        // scimmy's habit: an empty group has no members attribute, which looks the same as a server that withholds them.
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { OmitEmptyMembers = true });
        var a = server.AddUser(ScimTest.Unique("a"));
        var g = server.AddGroup("engineering");
        using var fresh = ScimTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => DiscoverAll(fresh));
        Assert.Contains("showed the members of none of 1 group(s)", e.Message, StringComparison.Ordinal);

        // Once this server has shown members on a group read, a group without them is empty.
        server.AddMember(g, a);
        using var proven = ScimTest.Connect(server);
        Assert.Equal([(a, g)], Memberships(await DiscoverAll(proven)));
        server.RemoveMember(g, a);

        var all = await DiscoverAll(proven);

        Assert.Single(all.OfType<DiscoveredEntitlement>());
        Assert.Empty(all.OfType<DiscoveredMembership>());
    }

    [Theory]
    [InlineData("generic")]
    [InlineData("entra")]
    [InlineData("zoom")]
    public async Task DiscoverAsync_TwiceWithOneConnector_FindsTheMembershipsAgain(string profile)
    {
        // What the first discovery proved must not turn the second one's unread groups into empty ones.
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { OmitEmptyMembers = true });
        var a = server.AddUser(ScimTest.Unique("a"));
        var eng = server.AddGroup("engineering", a);
        server.AddGroup("nobody");
        using var connector = ScimTest.Connect(server, profile);

        Assert.Equal([(a, eng)], Memberships(await DiscoverAll(connector)));
        Assert.Equal([(a, eng)], Memberships(await DiscoverAll(connector)));
    }

    [Fact]
    public async Task DiscoverAsync_MembershipsNone_ListsNoGroups()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { GroupReadsOmitMembers = true });
        var a = server.AddUser(ScimTest.Unique("a"));
        server.AddGroup("workspace-admins", a);
        using var connector = ScimTest.Connect(server, configure: s => s["memberships"] = "none");

        var all = await DiscoverAll(connector);

        Assert.Single(all.OfType<DiscoveredAccount>());
        Assert.Empty(all.OfType<DiscoveredEntitlement>());
        Assert.DoesNotContain(server.Requests, r => r.Path.Contains("/Groups", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("generic", Mode.Faithful, 0, 0)]
    [InlineData("generic", Mode.OmitEmptyMembers, 0, 0)]
    [InlineData("generic", Mode.GroupReadsOmitMembersWithUserGroups, 0, 0)]
    [InlineData("entra", Mode.Faithful, 2, 0)]
    [InlineData("entra", Mode.OmitEmptyMembers, 2, 0)]
    [InlineData("entra", Mode.GroupReadsOmitMembersWithUserGroups, 0, 0)]
    [InlineData("generic", Mode.GroupReadsOmitMembers, 2, 2)]
    public async Task DiscoverAsync_RequestsPerGroup_AreTheCheapestPathThatShowsMembers(string profile, Mode mode, int groupReads, int filterQueries)
    {
        // Two groups, one user: the members filter costs one query per user plus one control query to prove it.
        await using var server = await ScimTestServer.StartAsync(OptionsFor(mode));
        var a = server.AddUser(ScimTest.Unique("a"));
        var eng = server.AddGroup("engineering", a);
        server.AddGroup("nobody");
        using var connector = ScimTest.Connect(server, profile);

        Assert.Equal([(a, eng)], Memberships(await DiscoverAll(connector)));

        Assert.Equal(groupReads, server.Requests.Count(r => r.Path.Contains("/Groups/", StringComparison.Ordinal)));
        Assert.Equal(filterQueries, server.Requests.Count(r => r.Query.Contains("filter=", StringComparison.Ordinal)));
    }
}
