using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>How a change is confirmed: on the group or account entry read by DN, and never by an answer that only says "not found".</summary>
[Collection(SlapdCollection.Name)]
public sealed class ConfirmationTests(SlapdFixture fixture)
{
    private static readonly Dictionary<string, (string Kind, int[] Members)> Groups = new()
    {
        ["admins"] = ("groupOfNames", [0, 1]),
        ["vpn"] = ("groupOfUniqueNames", [0, 1]),
        ["unix"] = ("posixGroup", [0]),
    };

    [Fact]
    public async Task RemoveEntitlement_UsersBaseDoesNotExist_PermanentErrorNamingTheSettingAndMemberStays()
    {
        var tree = await fixture.NewTreeAsync(2, Groups);
        var id = await fixture.EntryUuidAsync(tree.UserDn(0));
        var settings = fixture.SettingsFor(tree);
        settings["users"] = new Dictionary<string, object> { ["base"] = $"ou=nowhere,{tree.Base}" };
        using var connector = fixture.Create(settings);
        var action = Some.Action(ActionKind.RemoveEntitlement, id, tree.GroupDn("admins"));

        var execute = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(action, CancellationToken.None));
        var readBack = await Assert.ThrowsAsync<ConnectorException>(() => connector.ReadBackAsync(action, CancellationToken.None));
        var independent = await Assert.ThrowsAsync<ConnectorException>(() => connector.ReadIndependentlyAsync(action, CancellationToken.None));

        foreach (var ex in new[] { execute, readBack, independent })
        {
            Assert.False(ex.IsTransient, ex.Message);
            Assert.Contains($"'ou=nowhere,{tree.Base}' (users.base) does not exist", ex.Message, StringComparison.Ordinal);
            Assert.Contains("Set 'users.base'", ex.Message, StringComparison.Ordinal);
        }

        Assert.Contains(tree.UserDn(0), await fixture.ValuesAsync(tree.GroupDn("admins"), "member"));
    }

    [Theory]
    [InlineData("admins")]
    [InlineData("vpn")]
    [InlineData("unix")]
    public async Task RemoveEntitlement_UsersBaseIsAnExistingWrongSubtree_NeverConfirmed(string group)
    {
        var tree = await fixture.NewTreeAsync(2, Groups);
        var id = await fixture.EntryUuidAsync(tree.UserDn(0));
        var settings = fixture.SettingsFor(tree);
        settings["users"] = new Dictionary<string, object> { ["base"] = tree.Groups };
        using var connector = fixture.Create(settings);
        var action = Some.Action(ActionKind.RemoveEntitlement, id, tree.GroupDn(group), userName: "u00000");

        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);
        var independent = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        Assert.True(result.AlreadyInState);
        Assert.Contains("cannot be confirmed", result.Detail, StringComparison.Ordinal);
        Assert.False(readBack.Confirmed);
        Assert.Equal("false", readBack.Observed["account_exists"]);
        Assert.NotNull(independent);
        Assert.False(independent.Confirmed);
        Assert.Equal(2, (await fixture.ValuesAsync(tree.GroupDn("admins"), "member")).Count);
    }

    [Theory]
    [InlineData("admins", "member")]
    [InlineData("vpn", "uniqueMember")]
    [InlineData("unix", "memberUid")]
    public async Task RemoveEntitlement_Applied_ConfirmedOnTheGroupEntryByBothReadsWhichSawTheMemberBefore(string group, string attribute)
    {
        var tree = await fixture.NewTreeAsync(2, Groups);
        var id = await fixture.EntryUuidAsync(tree.UserDn(0));
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var action = Some.Action(ActionKind.RemoveEntitlement, id, tree.GroupDn(group));

        var readBackBefore = await connector.ReadBackAsync(action, CancellationToken.None);
        var independentBefore = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
        await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);
        var independent = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        Assert.False(readBackBefore.Confirmed);
        Assert.Equal("true", readBackBefore.Observed[$"{attribute}.present"]);
        Assert.False(independentBefore!.Confirmed);
        Assert.True(readBack.Confirmed);
        Assert.Equal("false", readBack.Observed[$"{attribute}.present"]);
        Assert.True(independent!.Confirmed);
        Assert.Equal("true", independent.Observed["matched"]);
    }

    [Fact]
    public async Task RemoveEntitlement_GroupDoesNotExist_NotConfirmed()
    {
        var tree = await fixture.NewTreeAsync(1, Groups);
        var id = await fixture.EntryUuidAsync(tree.UserDn(0));
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var action = Some.Action(ActionKind.RemoveEntitlement, id, tree.GroupDn("gone"));

        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);
        var independent = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        Assert.False(readBack.Confirmed);
        Assert.Equal("false", readBack.Observed["group_exists"]);
        Assert.False(independent!.Confirmed);
    }

    [Fact]
    public async Task AddEntitlement_Applied_ConfirmedByBothReads()
    {
        var tree = await fixture.NewTreeAsync(3, Groups);
        var id = await fixture.EntryUuidAsync(tree.UserDn(2));
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var action = Some.Action(ActionKind.AddEntitlement, id, tree.GroupDn("admins"));

        var independentBefore = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
        await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);
        var independent = await connector.ReadIndependentlyAsync(action, CancellationToken.None);

        Assert.False(independentBefore!.Confirmed);
        Assert.True(readBack.Confirmed);
        Assert.True(independent!.Confirmed);
    }

    [Fact]
    public async Task DisableAccount_ReadIndependently_FalseBeforeTrueAfterAndNotFoundNeverConfirms()
    {
        var tree = await fixture.NewTreeAsync(1);
        var id = await fixture.EntryUuidAsync(tree.UserDn(0));
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var action = Some.Action(ActionKind.DisableAccount, id);
        var unknown = Some.Action(ActionKind.DisableAccount, Guid.NewGuid().ToString());

        var before = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
        await connector.ExecuteAsync(action, CancellationToken.None);
        var after = await connector.ReadIndependentlyAsync(action, CancellationToken.None);
        var notFound = await connector.ReadIndependentlyAsync(unknown, CancellationToken.None);
        var notFoundReadBack = await connector.ReadBackAsync(unknown, CancellationToken.None);

        Assert.False(before!.Confirmed);
        Assert.True(after!.Confirmed);
        Assert.Equal(tree.UserDn(0), after.Observed["dn"]);
        Assert.False(notFound!.Confirmed);
        Assert.Equal("false", notFound.Observed["account_exists"]);
        Assert.False(notFoundReadBack.Confirmed);
    }
}

/// <summary>OpenLDAP's "a groupOfNames must have a member": removing the last one through <c>placeholder_member</c>.</summary>
[Collection(SlapdCollection.Name)]
public sealed class PlaceholderMemberTests(SlapdFixture fixture)
{
    private const string Placeholder = "cn=nobody,ou=services," + Deprov.Testing.Ldap.SlapdServer.Suffix;

    [Theory]
    [InlineData("admins", "member")]
    [InlineData("vpn", "uniqueMember")]
    public async Task RemoveEntitlement_LastMemberWithPlaceholder_RemovedConfirmedAndPlaceholderIsNobodysAccess(string group, string attribute)
    {
        var tree = await fixture.NewTreeAsync(1, new Dictionary<string, (string Kind, int[] Members)>
        {
            ["admins"] = ("groupOfNames", [0]),
            ["vpn"] = ("groupOfUniqueNames", [0]),
        });
        var settings = fixture.SettingsFor(tree);
        settings["placeholder_member"] = Placeholder;
        using var connector = fixture.Create(settings);
        var action = Some.Action(ActionKind.RemoveEntitlement, await fixture.EntryUuidAsync(tree.UserDn(0)), tree.GroupDn(group));

        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);
        var again = await connector.ExecuteAsync(action, CancellationToken.None);
        var found = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
            found.Add(o);
        }

        Assert.False(result.AlreadyInState);
        Assert.True(readBack.Confirmed);
        Assert.True(again.AlreadyInState);
        Assert.Equal([Placeholder], await fixture.ValuesAsync(tree.GroupDn(group), attribute));
        Assert.DoesNotContain(found.OfType<DiscoveredMembership>(), m => m.EntitlementExternalId == tree.GroupDn(group));
    }

    [Fact]
    public async Task RemoveEntitlement_LastMemberWithoutPlaceholder_PermanentErrorNamingTheSetting()
    {
        var tree = await fixture.NewTreeAsync(1, new Dictionary<string, (string Kind, int[] Members)> { ["admins"] = ("groupOfNames", [0]) });
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var action = Some.Action(ActionKind.RemoveEntitlement, await fixture.EntryUuidAsync(tree.UserDn(0)), tree.GroupDn("admins"));

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(action, CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.Contains("placeholder_member", ex.Message, StringComparison.Ordinal);
        Assert.Equal([tree.UserDn(0)], await fixture.ValuesAsync(tree.GroupDn("admins"), "member"));
    }
}
