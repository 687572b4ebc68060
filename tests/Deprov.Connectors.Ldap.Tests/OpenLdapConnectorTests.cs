using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Testing.Ldap;

namespace Deprov.Connectors.Ldap.Tests;

[Collection(SlapdCollection.Name)]
public sealed class OpenLdapConnectorTests(SlapdFixture fixture)
{
    private static readonly Dictionary<string, (string Kind, int[] Members)> ThreeKinds = new()
    {
        ["staff"] = ("groupOfNames", [0, 1, 2]),
        ["vpn"] = ("groupOfUniqueNames", [0, 2]),
        ["unix"] = ("posixGroup", [0, 1]),
        ["admins"] = ("groupOfNames", [0]),
    };

    [Fact]
    public async Task DiscoverAsync_MoreUsersThanOnePage_StreamsEveryAccountGroupAndMembership()
    {
        var tree = await fixture.NewTreeAsync(25, ThreeKinds);
        var settings = fixture.SettingsFor(tree);
        settings["page_size"] = 7;
        settings["correlate_attribute"] = "employeeNumber";
        settings["privileged_groups"] = new[] { "admin*" };
        using var connector = fixture.Create(settings);

        var found = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
            found.Add(o);
        }

        var accounts = found.OfType<DiscoveredAccount>().ToList();
        Assert.Equal(25, accounts.Count);
        var u0 = accounts.Single(a => a.UserName == "u00000");
        Assert.Equal(await fixture.EntryUuidAsync(tree.UserDn(0)), u0.ExternalId);
        Assert.Equal($"u00000@{tree.Ou}.example.com", u0.Email);
        Assert.Equal("E00000", u0.Attributes["employeeNumber"]);
        Assert.Equal("u00000", u0.Attributes["uid"]);
        Assert.True(u0.Enabled);

        var groups = found.OfType<DiscoveredEntitlement>().ToDictionary(g => g.Name);
        Assert.Equal(["admins", "staff", "unix", "vpn"], groups.Keys.Order());
        Assert.True(groups["admins"].Privileged);
        Assert.False(groups["staff"].Privileged);
        Assert.Equal(tree.GroupDn("vpn"), groups["vpn"].ExternalId);

        var byId = accounts.ToDictionary(a => a.ExternalId, a => a.UserName);
        var memberships = found.OfType<DiscoveredMembership>()
            .Select(m => $"{byId[m.AccountExternalId]}@{m.EntitlementExternalId[3..m.EntitlementExternalId.IndexOf(',', StringComparison.Ordinal)]}")
            .Order().ToList();
        Assert.Equal(
            ["u00000@admins", "u00000@staff", "u00000@unix", "u00000@vpn", "u00001@staff", "u00001@unix", "u00002@staff", "u00002@vpn"],
            memberships);
    }

    [Fact]
    public async Task ExecuteAsync_DisableAccount_LocksViaPpolicyAndUserCannotBind()
    {
        var tree = await fixture.NewTreeAsync(2);
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var id = await fixture.EntryUuidAsync(tree.UserDn(1));
        Assert.Equal(0, await fixture.Server.TryBindAsync(tree.UserDn(1), Some.Tree.Password(1)));

        var action = Some.Action(ActionKind.DisableAccount, id);
        var result = await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.False(result.AlreadyInState);
        Assert.Equal(string.Empty, result.Before["pwdAccountLockedTime"]);
        Assert.Equal(tree.UserDn(1), result.Before["dn"]);
        Assert.Equal(["000001010000Z"], await fixture.ValuesAsync(tree.UserDn(1), "pwdAccountLockedTime"));
        Assert.True(readBack.Confirmed);
        Assert.Equal(49, await fixture.Server.TryBindAsync(tree.UserDn(1), Some.Tree.Password(1)));
        Assert.Equal(0, await fixture.Server.TryBindAsync(tree.UserDn(0), Some.Tree.Password(0)));
    }

    [Fact]
    public async Task ExecuteAsync_DisableTwice_SecondIsAlreadyInState()
    {
        var tree = await fixture.NewTreeAsync(1);
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var action = Some.Action(ActionKind.DisableAccount, await fixture.EntryUuidAsync(tree.UserDn(0)));

        await connector.ExecuteAsync(action, CancellationToken.None);
        var second = await connector.ExecuteAsync(action, CancellationToken.None);

        Assert.True(second.AlreadyInState);
        Assert.Equal("000001010000Z", second.Before["pwdAccountLockedTime"]);
    }

    [Fact]
    public async Task ReadBackAsync_DisableNotApplied_NotConfirmed()
    {
        var tree = await fixture.NewTreeAsync(1);
        using var connector = fixture.Create(fixture.SettingsFor(tree));

        var readBack = await connector.ReadBackAsync(Some.Action(ActionKind.DisableAccount, await fixture.EntryUuidAsync(tree.UserDn(0))), CancellationToken.None);

        Assert.False(readBack.Confirmed);
        Assert.Equal(string.Empty, readBack.Observed["pwdAccountLockedTime"]);
    }

    [Fact]
    public async Task ExecuteAsync_DisableWithDisabledOuThenRestore_MovesAndComesBackWithGroups()
    {
        var tree = await fixture.NewTreeAsync(2, ThreeKinds);
        var settings = fixture.SettingsFor(tree);
        settings["disabled_ou"] = tree.Disabled;
        settings["users"] = new Dictionary<string, object> { ["base"] = tree.Base };
        using var connector = fixture.Create(settings);
        var id = await fixture.EntryUuidAsync(tree.UserDn(0));

        // Leaver: disable (moves the entry), then remove memberships from the group side.
        var disable = Some.Action(ActionKind.DisableAccount, id);
        var disabled = await connector.ExecuteAsync(disable, CancellationToken.None);
        Assert.True((await connector.ReadBackAsync(disable, CancellationToken.None)).Confirmed);
        var movedDn = $"uid=u00000,{tree.Disabled}";
        Assert.Equal(movedDn, disabled.After["dn"]);
        Assert.Equal(new[] { movedDn, tree.UserDn(1), tree.UserDn(2) }.Order(), (await fixture.ValuesAsync(tree.GroupDn("staff"), "member")).Order());
        foreach (var group in new[] { "staff", "vpn", "unix" })
        {
            var remove = Some.Action(ActionKind.RemoveEntitlement, id, tree.GroupDn(group));
            var removed = await connector.ExecuteAsync(remove, CancellationToken.None);
            Assert.False(removed.AlreadyInState, group);
            Assert.True((await connector.ReadBackAsync(remove, CancellationToken.None)).Confirmed, group);
        }

        Assert.DoesNotContain(movedDn, await fixture.ValuesAsync(tree.GroupDn("staff"), "member"));
        Assert.DoesNotContain(movedDn, await fixture.ValuesAsync(tree.GroupDn("vpn"), "uniqueMember"));
        Assert.DoesNotContain("u00000", await fixture.ValuesAsync(tree.GroupDn("unix"), "memberUid"));

        // Restore: enable from the disable step's Before, re-add the groups.
        var enable = Some.Action(ActionKind.EnableAccount, id, parameters: new Dictionary<string, string> { ["before"] = CoreJson.Serialize(disabled.Before) });
        var enabled = await connector.ExecuteAsync(enable, CancellationToken.None);
        Assert.Equal(tree.UserDn(0), enabled.After["dn"]);
        Assert.True((await connector.ReadBackAsync(enable, CancellationToken.None)).Confirmed);
        foreach (var group in new[] { "staff", "vpn", "unix" })
        {
            var add = Some.Action(ActionKind.AddEntitlement, id, tree.GroupDn(group));
            Assert.False((await connector.ExecuteAsync(add, CancellationToken.None)).AlreadyInState, group);
            Assert.True((await connector.ReadBackAsync(add, CancellationToken.None)).Confirmed, group);
        }

        Assert.Empty(await fixture.ValuesAsync(tree.UserDn(0), "pwdAccountLockedTime"));
        Assert.Contains(tree.UserDn(0), await fixture.ValuesAsync(tree.GroupDn("staff"), "member"));
        Assert.Contains(tree.UserDn(0), await fixture.ValuesAsync(tree.GroupDn("vpn"), "uniqueMember"));
        Assert.Contains("u00000", await fixture.ValuesAsync(tree.GroupDn("unix"), "memberUid"));
        Assert.Equal(0, await fixture.Server.TryBindAsync(tree.UserDn(0), Some.Tree.Password(0)));
    }

    [Fact]
    public async Task ExecuteAsync_RemoveEntitlementOfNonMember_SucceedsAlreadyInState()
    {
        var tree = await fixture.NewTreeAsync(3, ThreeKinds);
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var id = await fixture.EntryUuidAsync(tree.UserDn(1));

        foreach (var group in new[] { "vpn", "admins" })
        {
            var result = await connector.ExecuteAsync(Some.Action(ActionKind.RemoveEntitlement, id, tree.GroupDn(group)), CancellationToken.None);
            Assert.True(result.AlreadyInState, group);
            Assert.Equal("absent", result.Before["member"]);
        }

        Assert.Equal(3, (await fixture.ValuesAsync(tree.GroupDn("staff"), "member")).Count);
    }

    [Fact]
    public async Task ExecuteAsync_AddEntitlementAlreadyMember_SucceedsAlreadyInState()
    {
        var tree = await fixture.NewTreeAsync(3, ThreeKinds);
        using var connector = fixture.Create(fixture.SettingsFor(tree));

        var result = await connector.ExecuteAsync(Some.Action(ActionKind.AddEntitlement, await fixture.EntryUuidAsync(tree.UserDn(1)), tree.GroupDn("staff")), CancellationToken.None);

        Assert.True(result.AlreadyInState);
    }

    [Fact]
    public async Task ExecuteAsync_ResetPasswordOfLockedAccount_OldPasswordFailsAndLockStays()
    {
        var tree = await fixture.NewTreeAsync(1);
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var id = await fixture.EntryUuidAsync(tree.UserDn(0));
        await connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, id), CancellationToken.None);

        var reset = Some.Action(ActionKind.ResetPassword, id);
        var result = await connector.ExecuteAsync(reset, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(reset, CancellationToken.None);

        Assert.True(readBack.Confirmed);
        Assert.NotEqual(result.Before["pwdChangedTime"], result.After["pwdChangedTime"]);
        Assert.Equal(["dn", "pwdChangedTime"], result.Before.Keys.Order());
        Assert.Equal(["dn", "password", "pwdChangedTime"], result.After.Keys.Order());
        Assert.Equal("set to a random value that was not stored", result.After["password"]);
        Assert.Equal(["000001010000Z"], await fixture.ValuesAsync(tree.UserDn(0), "pwdAccountLockedTime"));
        var hash = Assert.Single(await fixture.ValuesAsync(tree.UserDn(0), "userPassword"));
        Assert.DoesNotContain(Some.Tree.Password(0), hash, StringComparison.Ordinal);
        Assert.Equal(49, await fixture.Server.TryBindAsync(tree.UserDn(0), Some.Tree.Password(0)));
    }

    [Fact]
    public async Task ExecuteAsync_ResetPasswordOfActiveAccount_OldPasswordNoLongerBinds()
    {
        var tree = await fixture.NewTreeAsync(1);
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var reset = Some.Action(ActionKind.ResetPassword, await fixture.EntryUuidAsync(tree.UserDn(0)));

        await connector.ExecuteAsync(reset, CancellationToken.None);

        Assert.True((await connector.ReadBackAsync(reset, CancellationToken.None)).Confirmed);
        Assert.Equal(49, await fixture.Server.TryBindAsync(tree.UserDn(0), Some.Tree.Password(0)));
        Assert.Empty(await fixture.ValuesAsync(tree.UserDn(0), "pwdAccountLockedTime"));
    }

    [Fact]
    public async Task ExecuteAsync_DeleteAccount_GoneThenSecondDeleteIsAlreadyInState()
    {
        var tree = await fixture.NewTreeAsync(2, ThreeKinds);
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var delete = Some.Action(ActionKind.DeleteAccount, await fixture.EntryUuidAsync(tree.UserDn(0)));

        var first = await connector.ExecuteAsync(delete, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(delete, CancellationToken.None);
        var second = await connector.ExecuteAsync(delete, CancellationToken.None);

        Assert.False(first.AlreadyInState);
        Assert.Equal(tree.UserDn(0), first.Before["dn"]);
        Assert.True(readBack.Confirmed);
        Assert.True(second.AlreadyInState);
        Assert.Empty(await fixture.Server.SearchAsync(tree.People, "(uid=u00000)", ["dn"]));
    }

    [Fact]
    public async Task ExecuteAsync_ManyConcurrentDisables_AllAppliedThroughThePool()
    {
        var tree = await fixture.NewTreeAsync(40);
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var ids = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => fixture.EntryUuidAsync(tree.UserDn(i))));

        var results = await Task.WhenAll(ids.Select(async id =>
        {
            var action = Some.Action(ActionKind.DisableAccount, id);
            await connector.ExecuteAsync(action, CancellationToken.None);
            return await connector.ReadBackAsync(action, CancellationToken.None);
        }));

        Assert.All(results, r => Assert.True(r.Confirmed));
        var locked = await fixture.Server.SearchAsync(tree.People, "(pwdAccountLockedTime=000001010000Z)", ["dn"]);
        Assert.Equal(40, locked.Split('\n').Count(l => l.StartsWith("dn: ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task ExecuteAsync_WrongBindPassword_PermanentErrorNamingBindDnWithoutPassword()
    {
        var tree = await fixture.NewTreeAsync(1);
        const string wrong = "definitely-wrong-password-123";
        using var connector = fixture.Create(fixture.SettingsFor(tree), wrong);

        var ex = await Assert.ThrowsAsync<ConnectorException>(() =>
            connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, tree.UserDn(0)), CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.Contains("invalidCredentials (49)", ex.Message, StringComparison.Ordinal);
        Assert.Contains(SlapdServer.ServiceDn, ex.Message, StringComparison.Ordinal);
        Assert.Contains("env:LDAP_BIND_PASSWORD", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(wrong, ex.ToString(), StringComparison.Ordinal);
        Assert.NotNull(ex.InnerException);
    }

    [Fact]
    public async Task ExecuteAsync_BindAccountWithoutWriteRights_PermanentErrorNamingDnAndRight()
    {
        var tree = await fixture.NewTreeAsync(1, ThreeKinds);
        using var connector = fixture.Create(fixture.SettingsFor(tree, SlapdServer.ReadOnlyDn), fixture.Server.ReadOnlyPassword);
        var id = await fixture.EntryUuidAsync(tree.UserDn(0));

        var disable = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, id), CancellationToken.None));
        var remove = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.RemoveEntitlement, id, tree.GroupDn("staff")), CancellationToken.None));

        Assert.False(disable.IsTransient);
        Assert.Contains("insufficientAccessRights (50)", disable.Message, StringComparison.Ordinal);
        Assert.Contains($"'{tree.UserDn(0)}'", disable.Message, StringComparison.Ordinal);
        Assert.Contains($"'{SlapdServer.ReadOnlyDn}' lacks the right to write pwdAccountLockedTime", disable.Message, StringComparison.Ordinal);
        Assert.Contains($"lacks the right to write attribute 'member' of the group on '{tree.GroupDn("staff")}'", remove.Message, StringComparison.Ordinal);
        Assert.Empty(await fixture.ValuesAsync(tree.UserDn(0), "pwdAccountLockedTime"));
    }

    [Fact]
    public async Task DiscoverAsync_ServerSizeLimitReached_FailsInsteadOfReturningPartialInventory()
    {
        // The read-only account has slapd's default limit of 500 entries; the service account is unlimited.
        var tree = await fixture.NewTreeAsync(510);
        using var limited = fixture.Create(fixture.SettingsFor(tree, SlapdServer.ReadOnlyDn), fixture.Server.ReadOnlyPassword);
        using var unlimited = fixture.Create(fixture.SettingsFor(tree));

        var ex = await Assert.ThrowsAsync<ConnectorException>(async () =>
        {
            await foreach (var o in limited.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
            {
                Assert.NotNull(o);
            }
        });
        var count = 0;
        await foreach (var o in unlimited.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
            count += o is DiscoveredAccount ? 1 : 0;
        }

        Assert.False(ex.IsTransient);
        Assert.Contains("sizeLimitExceeded (4)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("size.prtotal=unlimited", ex.Message, StringComparison.Ordinal);
        Assert.Equal(510, count);
    }

    [Fact]
    public async Task ExecuteAsync_EntryBehindReferral_PermanentErrorWithReferralUrl()
    {
        var tree = await fixture.NewTreeAsync(0);
        await fixture.Server.ModifyAsync($"""
            dn: ou=elsewhere,{tree.Base}
            objectClass: referral
            objectClass: extensibleObject
            ou: elsewhere
            ref: ldap://ldap2.example.net/ou=elsewhere,{tree.Base}

            """);
        using var connector = fixture.Create(fixture.SettingsFor(tree));

        var ex = await Assert.ThrowsAsync<ConnectorException>(() =>
            connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, $"uid=x,ou=elsewhere,{tree.Base}"), CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.Contains("referral (10)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("ldap2.example.net", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ExecuteAsync_UnknownAccount_PermanentErrorNamingTheId()
    {
        var tree = await fixture.NewTreeAsync(0);
        using var connector = fixture.Create(fixture.SettingsFor(tree));
        var id = Guid.NewGuid().ToString();

        var ex = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, id), CancellationToken.None));

        Assert.False(ex.IsTransient);
        Assert.Contains($"entryUUID={id}", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_OpenLdap_ClaimsDirectoryActionsButNotSessionRevocation()
    {
        using var connector = fixture.Create(fixture.SettingsFor(new Some.Tree(SlapdServer.Suffix)));

        var d = connector.Describe();

        Assert.Equal("ldap", d.Kind);
        Assert.DoesNotContain(ActionKind.RevokeSessions, d.Supported);
        Assert.Equal(
            [ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.DeleteAccount, ActionKind.ResetPassword, ActionKind.RemoveEntitlement, ActionKind.AddEntitlement],
            d.Supported.Order());
    }
}
