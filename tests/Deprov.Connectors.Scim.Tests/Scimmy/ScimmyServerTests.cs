using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Planning;

namespace Deprov.Connectors.Scim.Tests.Scimmy;

/// <summary>
/// The connector against scimmy, a SCIM 2.0 server nobody here wrote: scimmy parses the filters and applies the PATCH
/// operations. Every profile whose wire form a generic server understands runs discovery, leave, rehire and delete,
/// and every confirmation must come from a read that could have shown otherwise.
/// </summary>
[Collection(ScimmyCollection.Name)]
public sealed class ScimmyServerTests(ScimmyFixture fixture)
{
    // Entra's string booleans ("False") are refused by scimmy, so entra runs membership only (see Entra test below).
    public static TheoryData<string> Profiles => new() { "generic", "okta", "salesforce", "github_emu", "zoom" };

    private sealed record World(string Prefix, string Leaver, string Peer, string Admins, string Solo);

    /// <summary>A leaver in "admins" with a peer, and alone in "solo"; names share a unique prefix for filtered discovery.</summary>
    private async Task<World> SeedAsync()
    {
        var prefix = "t" + Guid.NewGuid().ToString("N")[..8];
        var leaver = await fixture.Server.CreateUserAsync($"{prefix}-leaver@example.com");
        var peer = await fixture.Server.CreateUserAsync($"{prefix}-peer@example.com");
        var admins = await fixture.Server.CreateGroupAsync($"{prefix}-admins", [leaver, peer]);
        var solo = await fixture.Server.CreateGroupAsync($"{prefix}-solo", [leaver]);
        return new World(prefix, leaver, peer, admins, solo);
    }

    private static string Show(ReadBackResult? read) =>
        read is null ? "no second path" : string.Join(", ", read.Observed.Select(kv => $"{kv.Key}={kv.Value}"));

    private static ConnectorAction Act(ActionKind kind, string user, string? group = null, Dictionary<string, string>? parameters = null) =>
        ScimTest.Action(kind, user, group, parameters);

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task DiscoverAsync_Scimmy_ListsAccountsGroupsAndMemberships(string profile)
    {
        var w = await SeedAsync();
        using var connector = fixture.Connect(profile, s =>
        {
            // scimmy evaluates these filters itself; the shared server holds other tests' objects too.
            s["user_filter"] = $"userName sw \"{w.Prefix}\"";
            s["group_filter"] = $"displayName sw \"{w.Prefix}\"";
            s["privileged_groups"] = new[] { "*-admins" };
        });

        var found = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new(null), default))
        {
            found.Add(o);
        }

        Assert.Equal(new[] { w.Leaver, w.Peer }.Order(StringComparer.Ordinal), found.OfType<DiscoveredAccount>().Select(a => a.ExternalId).Order(StringComparer.Ordinal), StringComparer.Ordinal);
        Assert.All(found.OfType<DiscoveredAccount>(), a => Assert.True(a.Enabled));
        var groups = found.OfType<DiscoveredEntitlement>().ToDictionary(g => g.ExternalId);
        Assert.Equal(2, groups.Count);
        Assert.True(groups[w.Admins].Privileged);
        Assert.False(groups[w.Solo].Privileged);
        var memberships = found.OfType<DiscoveredMembership>().Select(m => (m.AccountExternalId, m.EntitlementExternalId)).ToHashSet();
        Assert.Equal(new[] { (w.Leaver, w.Admins), (w.Peer, w.Admins), (w.Leaver, w.Solo) }.Order(), memberships.Order());
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task LeaveThenRehire_Scimmy_EachStepConfirmedByTwoReads(string profile)
    {
        var w = await SeedAsync();
        using var connector = fixture.Connect(profile);
        var disable = Act(ActionKind.DisableAccount, w.Leaver);
        var removals = new[] { Act(ActionKind.RemoveEntitlement, w.Leaver, w.Admins), Act(ActionKind.RemoveEntitlement, w.Leaver, w.Solo) };

        var disabled = await connector.ExecuteAsync(disable, default);
        Assert.False((bool)(await fixture.Server.GetUserAsync(w.Leaver))!["active"]!);
        Assert.True((await connector.ReadBackAsync(disable, default)).Confirmed);
        Assert.True(await connector.ReadIndependentlyAsync(disable, default) is { Confirmed: true, Observed: var byFilter } && byFilter["active"] == "false");

        // Admins keeps a peer: the group read and the members filter (proven on the peer) both show the leaver gone.
        Assert.False((await connector.ExecuteAsync(removals[0], default)).AlreadyInState);
        Assert.False(await fixture.Server.IsMemberAsync(w.Admins, w.Leaver));
        Assert.True(await fixture.Server.IsMemberAsync(w.Admins, w.Peer));
        Assert.True((await connector.ReadBackAsync(removals[0], default)).Confirmed);
        var independent = await connector.ReadIndependentlyAsync(removals[0], default);
        Assert.True(independent is { Confirmed: true }, Show(independent));
        Assert.Equal("members_filter", independent!.Observed["source"]);

        // Solo loses its only member: scimmy then omits "members", which the group read trusts because this server has
        // shown members before. scimmy refuses any members filter while a group has no members (400), so the second
        // read cannot tell; it must not say otherwise.
        Assert.False((await connector.ExecuteAsync(removals[1], default)).AlreadyInState);
        Assert.False(await fixture.Server.IsMemberAsync(w.Solo, w.Leaver));
        Assert.True((await connector.ReadBackAsync(removals[1], default)).Confirmed);
        var soloIndependent = await connector.ReadIndependentlyAsync(removals[1], default);
        Assert.True(soloIndependent is null or { Confirmed: false }, Show(soloIndependent));
        Assert.NotEqual("true", soloIndependent?.Observed["member"]);

        // Rehire: enable with the disable step's before-state, then re-add both memberships.
        var enable = Act(ActionKind.EnableAccount, w.Leaver, parameters: new() { ["before"] = CoreJson.Serialize(disabled.Before) });
        var adds = new[] { Act(ActionKind.AddEntitlement, w.Leaver, w.Admins), Act(ActionKind.AddEntitlement, w.Leaver, w.Solo) };
        Assert.False((await connector.ExecuteAsync(enable, default)).AlreadyInState);
        foreach (var a in adds)
        {
            Assert.False((await connector.ExecuteAsync(a, default)).AlreadyInState);
        }

        Assert.True((bool)(await fixture.Server.GetUserAsync(w.Leaver))!["active"]!);
        Assert.True(await fixture.Server.IsMemberAsync(w.Solo, w.Leaver));
        foreach (var action in adds.Prepend(enable))
        {
            Assert.True((await connector.ReadBackAsync(action, default)).Confirmed, action.Describe());
        }
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task DeleteAccount_Scimmy_ConfirmedByNotFoundWhichConfirmsNothingElse(string profile)
    {
        var w = await SeedAsync();
        using var connector = fixture.Connect(profile);

        var result = await connector.ExecuteAsync(Act(ActionKind.DeleteAccount, w.Peer), default);

        Assert.False(result.AlreadyInState);
        Assert.Null(await fixture.Server.GetUserAsync(w.Peer));
        Assert.True((await connector.ReadBackAsync(Act(ActionKind.DeleteAccount, w.Peer), default)).Confirmed);
        Assert.False((await connector.ReadBackAsync(Act(ActionKind.DisableAccount, w.Peer), default)).Confirmed);
        // scimmy leaves a deleted user in the groups that listed it: the group still says member, so no removal passes.
        Assert.False((await connector.ReadBackAsync(Act(ActionKind.RemoveEntitlement, w.Peer, w.Admins), default)).Confirmed);
    }

    [Theory]
    [MemberData(nameof(Profiles))]
    public async Task ReadBack_Scimmy_MemberNotYetRemovedIsNeverConfirmed(string profile)
    {
        // The case: the inventory says member, nothing was cut. Neither read may say the access is gone.
        var w = await SeedAsync();
        using var connector = fixture.Connect(profile);
        var remove = Act(ActionKind.RemoveEntitlement, w.Leaver, w.Admins);

        var first = await connector.ReadBackAsync(remove, default);
        var second = await connector.ReadIndependentlyAsync(remove, default);

        Assert.False(first.Confirmed);
        Assert.Equal("true", first.Observed["member"]);
        Assert.True(second is { Confirmed: false }, "the members filter must see the membership");
        Assert.Equal("members_filter", second!.Observed["source"]);
    }

    [Fact]
    public async Task RemoveEntitlement_EntraOnScimmy_RefusedMembersEqFilterFallsBackToMembersValue()
    {
        // scimmy answers Entra's "members eq" with 400 invalidValue; the connector uses "members.value eq" instead.
        var w = await SeedAsync();
        using var connector = fixture.Connect("entra");
        var remove = Act(ActionKind.RemoveEntitlement, w.Leaver, w.Admins);

        Assert.False((await connector.ExecuteAsync(remove, default)).AlreadyInState);
        var independent = await connector.ReadIndependentlyAsync(remove, default);

        Assert.False(await fixture.Server.IsMemberAsync(w.Admins, w.Leaver));
        Assert.True((await connector.ReadBackAsync(remove, default)).Confirmed);
        Assert.True(independent is { Confirmed: true });
    }

    [Fact]
    public async Task DisableAccount_EntraStringBooleanOnScimmy_IsRefusedLoudly()
    {
        var w = await SeedAsync();
        using var connector = fixture.Connect("entra");

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(Act(ActionKind.DisableAccount, w.Leaver), default));

        Assert.False(e.IsTransient);
        Assert.Contains("invalidValue", e.Message, StringComparison.Ordinal);
        Assert.True((bool)(await fixture.Server.GetUserAsync(w.Leaver))!["active"]!);
    }

    [Fact]
    public async Task DisableAccount_SlackProfileOnServerWhereDeleteDeletes_IsNotConfirmed()
    {
        // Slack's DELETE deactivates; scimmy's deletes. The user is gone, which confirms a delete, not a disable.
        var w = await SeedAsync();
        using var connector = fixture.Connect("slack");
        var disable = Act(ActionKind.DisableAccount, w.Leaver);

        await connector.ExecuteAsync(disable, default);

        Assert.Null(await fixture.Server.GetUserAsync(w.Leaver));
        Assert.False((await connector.ReadBackAsync(disable, default)).Confirmed);
    }
}
