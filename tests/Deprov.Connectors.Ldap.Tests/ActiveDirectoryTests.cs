using System.DirectoryServices.Protocols;
using System.Globalization;
using System.Runtime.Versioning;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Testing.Ldap;

namespace Deprov.Connectors.Ldap.Tests;

/// <summary>
/// One Samba AD domain controller per test run (provisioning takes seconds); every test makes its own users. The
/// connector binds as the least-privilege service account <see cref="SambaAdDc.ServiceDn"/>, never as Administrator.
/// </summary>
[UnsupportedOSPlatform("windows")]
public sealed class SambaFixture : IAsyncLifetime
{
    public SambaAdDc Dc { get; private set; } = null!;

    public LdapConnection Admin { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Dc = await SambaAdDc.StartAsync();
        Admin = Dc.AdminConnection();
    }

    public async Task DisposeAsync()
    {
        Admin?.Dispose();
        if (Dc is not null)
        {
            await Dc.DisposeAsync();
        }
    }

    public Dictionary<string, object> Settings(string security = "ldaps") => new()
    {
        ["host"] = Dc.Host,
        ["port"] = security == "ldaps" ? 636 : 389,
        ["security"] = security,
        ["trusted_ca_dir"] = Dc.CaDirectory,
        ["bind_dn"] = SambaAdDc.ServiceDn,
        ["bind_password"] = "file:/run/secrets/ad",
        ["flavour"] = "ad",
        ["users"] = new Dictionary<string, object> { ["base"] = SambaAdDc.StaffOu },
        ["page_size"] = 50,
    };

    internal LdapConnector Create(Dictionary<string, object>? settings = null) =>
        SlapdFixture.Create(settings ?? Settings(), new InMemorySecrets().With("file:/run/secrets/ad", Dc.ServicePassword));

    public string Guid(string dn)
    {
        var response = (SearchResponse)Admin.SendRequest(new SearchRequest(dn, "(objectClass=*)", SearchScope.Base, "objectGUID"));
        return new Guid((byte[])response.Entries[0].Attributes["objectGUID"].GetValues(typeof(byte[]))[0]).ToString();
    }

    public string Read(string dn, string attribute)
    {
        var response = (SearchResponse)Admin.SendRequest(new SearchRequest(dn, "(objectClass=*)", SearchScope.Base, attribute));
        var entry = response.Entries[0];
        return entry.Attributes.Contains(attribute) ? (string)entry.Attributes[attribute].GetValues(typeof(string))[0] : string.Empty;
    }

    public string[] Members(string groupDn)
    {
        var response = (SearchResponse)Admin.SendRequest(new SearchRequest(groupDn, "(objectClass=*)", SearchScope.Base, "member"));
        var entry = response.Entries[0];
        return entry.Attributes.Contains("member") ? entry.Attributes["member"].GetValues(typeof(string)).Cast<string>().ToArray() : [];
    }
}

[CollectionDefinition(Name)]
[UnsupportedOSPlatform("windows")]
public sealed class SambaCollection : ICollectionFixture<SambaFixture>
{
    public const string Name = "samba-ad";
}

[Collection(SambaCollection.Name)]
[UnsupportedOSPlatform("windows")]
public sealed class ActiveDirectoryTests(SambaFixture fixture)
{
    private const string Password = "Us3r-Pass-word!";

    [Fact]
    public async Task ExecuteAsync_DisableThenRestore_FlipsOnlyAccountDisableBit()
    {
        // 0x10200: NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD; disable must give 0x10202, restore 0x10200.
        var name = Some.Name("d");
        var dn = SambaAdDc.AddUser(fixture.Admin, name, Password, userAccountControl: 0x10200);
        using var connector = fixture.Create();
        var id = fixture.Guid(dn);
        Assert.True(fixture.Dc.CanBind(dn, Password));

        var disable = Some.Action(ActionKind.DisableAccount, id);
        var disabled = await connector.ExecuteAsync(disable, CancellationToken.None);
        var disabledReadBack = await connector.ReadBackAsync(disable, CancellationToken.None);
        var again = await connector.ExecuteAsync(disable, CancellationToken.None);

        Assert.Equal("66048", disabled.Before["userAccountControl"]);
        Assert.Equal("66050", fixture.Read(dn, "userAccountControl"));
        Assert.True(disabledReadBack.Confirmed);
        Assert.True(again.AlreadyInState);
        Assert.False(fixture.Dc.CanBind(dn, Password));

        var enable = Some.Action(ActionKind.EnableAccount, id, parameters: new Dictionary<string, string> { ["before"] = CoreJson.Serialize(disabled.Before) });
        await connector.ExecuteAsync(enable, CancellationToken.None);

        Assert.True((await connector.ReadBackAsync(enable, CancellationToken.None)).Confirmed);
        Assert.Equal("66048", fixture.Read(dn, "userAccountControl"));
        Assert.True(fixture.Dc.CanBind(dn, Password));
    }

    [Fact]
    public async Task ExecuteAsync_RemoveEntitlement_RemovesFromGroupSideAndNonMemberIsAlreadyInState()
    {
        var user = SambaAdDc.AddUser(fixture.Admin, Some.Name("m"), Password);
        var other = SambaAdDc.AddUser(fixture.Admin, Some.Name("m"), Password);
        var group = SambaAdDc.AddGroup(fixture.Admin, Some.Name("g"), user, other);
        using var connector = fixture.Create();
        var id = fixture.Guid(user);

        var remove = Some.Action(ActionKind.RemoveEntitlement, id, group);
        var first = await connector.ExecuteAsync(remove, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(remove, CancellationToken.None);
        var second = await connector.ExecuteAsync(remove, CancellationToken.None);

        Assert.False(first.AlreadyInState);
        Assert.True(readBack.Confirmed);
        Assert.True(second.AlreadyInState);
        Assert.Equal([other], fixture.Members(group));

        var add = Some.Action(ActionKind.AddEntitlement, id, group);
        await connector.ExecuteAsync(add, CancellationToken.None);
        Assert.True((await connector.ReadBackAsync(add, CancellationToken.None)).Confirmed);
        Assert.Equal(2, fixture.Members(group).Length);
    }

    [Fact]
    public async Task ExecuteAsync_ResetPasswordOverLdaps_OldPasswordNoLongerBinds()
    {
        var dn = SambaAdDc.AddUser(fixture.Admin, Some.Name("r"), Password);
        using var connector = fixture.Create();
        var reset = Some.Action(ActionKind.ResetPassword, fixture.Guid(dn));

        var result = await connector.ExecuteAsync(reset, CancellationToken.None);

        Assert.True((await connector.ReadBackAsync(reset, CancellationToken.None)).Confirmed);
        Assert.True(long.Parse(result.After["pwdLastSet"], CultureInfo.InvariantCulture) > long.Parse(result.Before["pwdLastSet"], CultureInfo.InvariantCulture));
        Assert.False(fixture.Dc.CanBind(dn, Password));
    }

    [Fact]
    public async Task ExecuteAsync_DeleteAccount_GoneAndRepeatIsAlreadyInState()
    {
        var dn = SambaAdDc.AddUser(fixture.Admin, Some.Name("x"), Password);
        using var connector = fixture.Create();
        var delete = Some.Action(ActionKind.DeleteAccount, fixture.Guid(dn));

        Assert.False((await connector.ExecuteAsync(delete, CancellationToken.None)).AlreadyInState);
        Assert.True((await connector.ReadBackAsync(delete, CancellationToken.None)).Confirmed);
        Assert.True((await connector.ExecuteAsync(delete, CancellationToken.None)).AlreadyInState);
    }

    [Fact]
    public async Task DiscoverAsync_OverStartTls_ObjectGuidIdsMembershipsAndDomainAdminsPrivileged()
    {
        var name = Some.Name("s");
        var user = SambaAdDc.AddUser(fixture.Admin, name, Password, mail: $"{name}@example.org");
        var group = SambaAdDc.AddGroup(fixture.Admin, Some.Name("g"), user);
        var settings = fixture.Settings("starttls");
        settings["page_size"] = 3;

        // The whole domain, so that Domain Admins and its member Administrator (both in CN=Users) are seen too.
        settings["users"] = new Dictionary<string, object> { ["base"] = SambaAdDc.DomainDn };
        settings["groups"] = new Dictionary<string, object> { ["base"] = SambaAdDc.DomainDn };
        using var connector = fixture.Create(settings);

        var found = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
            found.Add(o);
        }

        var account = found.OfType<DiscoveredAccount>().Single(a => a.UserName == name);
        Assert.Equal(fixture.Guid(user), account.ExternalId);
        Assert.Equal($"{name}@example.org", account.Email);
        Assert.Equal(name, account.Attributes["sAMAccountName"]);
        Assert.True(account.Enabled);
        Assert.Contains(found.OfType<DiscoveredMembership>(), m => m.AccountExternalId == account.ExternalId && m.EntitlementExternalId == group);
        Assert.True(found.OfType<DiscoveredEntitlement>().Single(e => e.Name == "Domain Admins").Privileged);
        Assert.False(found.OfType<DiscoveredEntitlement>().Single(e => e.ExternalId == group).Privileged);
        Assert.Contains(found.OfType<DiscoveredMembership>(), m => m.EntitlementExternalId.StartsWith("CN=Domain Admins,", StringComparison.Ordinal));
        Assert.True(found.OfType<DiscoveredAccount>().Count() > 3, "more accounts than one page of 3");
    }

    [Fact]
    public async Task DiscoverAsync_GroupsLargerThanOneMemberRange_FollowsRangesToTheEnd()
    {
        // 1,600 members: two range reads (0-1499, then 1500-*); exactly 1,500: the first window holds them all.
        var ou = SambaAdDc.AddOu(fixture.Admin, Some.Name("bulk"), SambaAdDc.StaffOu);
        var users = fixture.Dc.AddUsersInBulk(ou, Some.Name("b"), 1600);
        var big = SambaAdDc.AddGroupIn(fixture.Admin, ou, Some.Name("big"), users);
        var exact = SambaAdDc.AddGroupIn(fixture.Admin, ou, Some.Name("exact"), users[..LdapConnector.MemberRangeWindow]);
        var settings = fixture.Settings();
        settings["users"] = new Dictionary<string, object> { ["base"] = ou };
        settings["groups"] = new Dictionary<string, object> { ["base"] = ou };
        settings["page_size"] = 500;
        using var connector = fixture.Create(settings);

        var accounts = new Dictionary<string, string>(StringComparer.Ordinal);
        var members = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal) { [big] = [], [exact] = [] };
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
            switch (o)
            {
                case DiscoveredAccount a:
                    accounts[a.ExternalId] = a.Attributes["dn"];
                    break;
                case DiscoveredMembership m:
                    Assert.True(members[m.EntitlementExternalId].Add(m.AccountExternalId), $"membership {m.AccountExternalId} in {m.EntitlementExternalId} reported twice");
                    break;
            }
        }

        Assert.Equal(1600, accounts.Count);
        Assert.Equal(users.Order(StringComparer.OrdinalIgnoreCase), members[big].Select(id => accounts[id]).Order(StringComparer.OrdinalIgnoreCase), StringComparer.OrdinalIgnoreCase);
        Assert.Equal(LdapConnector.MemberRangeWindow, members[exact].Count);

        // Group-side change and read-back on the large group (a compare, whatever its size).
        var last = accounts.Single(kv => string.Equals(kv.Value, users[^1], StringComparison.OrdinalIgnoreCase)).Key;
        var remove = Some.Action(ActionKind.RemoveEntitlement, last, big);
        Assert.False((await connector.ExecuteAsync(remove, CancellationToken.None)).AlreadyInState);
        Assert.True((await connector.ReadBackAsync(remove, CancellationToken.None)).Confirmed);
        Assert.Equal(1599, fixture.Members(big).Length);
    }

    [Fact]
    public async Task ExecuteAsync_OutsideTheDelegatedOu_PermanentErrorNamingTheDnAndTheRight()
    {
        // CN=Users is outside the OU the service account was delegated: every write there must be refused.
        var users = $"CN=Users,{SambaAdDc.DomainDn}";
        var dn = SambaAdDc.AddUser(fixture.Admin, Some.Name("o"), Password, parentDn: users);
        var group = SambaAdDc.AddGroupIn(fixture.Admin, users, Some.Name("g"), dn);
        var settings = fixture.Settings();
        settings["users"] = new Dictionary<string, object> { ["base"] = users };
        using var connector = fixture.Create(settings);
        var id = fixture.Guid(dn);

        var disable = await Assert.ThrowsAsync<Deprov.Core.ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.DisableAccount, id), CancellationToken.None));
        var reset = await Assert.ThrowsAsync<Deprov.Core.ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.ResetPassword, id), CancellationToken.None));
        var remove = await Assert.ThrowsAsync<Deprov.Core.ConnectorException>(() => connector.ExecuteAsync(Some.Action(ActionKind.RemoveEntitlement, id, group), CancellationToken.None));

        foreach (var (ex, target, right) in new[] { (disable, dn, "write userAccountControl"), (reset, dn, "Reset Password extended right"), (remove, group, "write attribute 'member' of the group") })
        {
            Assert.False(ex.IsTransient, ex.Message);
            Assert.Contains("insufficientAccessRights (50)", ex.Message, StringComparison.Ordinal);
            Assert.Contains($"'{target}'", ex.Message, StringComparison.Ordinal);
            Assert.Contains(SambaAdDc.ServiceDn, ex.Message, StringComparison.Ordinal);
            Assert.Contains(right, ex.Message, StringComparison.Ordinal);
        }

        Assert.Equal("512", fixture.Read(dn, "userAccountControl"));
        Assert.True(fixture.Dc.CanBind(dn, Password));
        Assert.Equal([dn], fixture.Members(group));
    }

    [Fact]
    public async Task NestedGroups_TwoLevelsBelowDomainAdmins_PrivilegedInTheAccessMapAndRemovalActsOnTheDirectGroup()
    {
        var ou = SambaAdDc.AddOu(fixture.Admin, Some.Name("nest"), SambaAdDc.StaffOu);
        var user = SambaAdDc.AddUser(fixture.Admin, Some.Name("n"), Password, parentDn: ou);
        var protectedUser = SambaAdDc.AddUser(fixture.Admin, Some.Name("p"), Password, parentDn: ou);
        fixture.Admin.SendRequest(new ModifyRequest(protectedUser, DirectoryAttributeOperation.Replace, "adminCount", "1"));
        var inner = SambaAdDc.AddGroupIn(fixture.Admin, ou, Some.Name("inner"), user);
        var outer = SambaAdDc.AddGroupIn(fixture.Admin, ou, Some.Name("outer"), inner);
        var plain = SambaAdDc.AddGroupIn(fixture.Admin, ou, Some.Name("plain"), user);
        var domainAdmins = $"CN=Domain Admins,CN=Users,{SambaAdDc.DomainDn}";
        fixture.Admin.SendRequest(new ModifyRequest(domainAdmins, DirectoryAttributeOperation.Add, "member", outer));
        try
        {
            var settings = fixture.Settings();

            // Domain Admins lies outside groups.base: the nesting above the listed groups is read by DN.
            settings["users"] = new Dictionary<string, object> { ["base"] = ou };
            settings["groups"] = new Dictionary<string, object> { ["base"] = ou };
            using var connector = fixture.Create(settings);
            var found = new List<DiscoveredObject>();
            await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
            {
                found.Add(o);
            }

            var groups = found.OfType<DiscoveredEntitlement>().ToDictionary(e => e.ExternalId, StringComparer.OrdinalIgnoreCase);
            var accounts = found.OfType<DiscoveredAccount>().ToDictionary(a => a.Attributes["dn"], StringComparer.OrdinalIgnoreCase);
            var userId = accounts[user].ExternalId;
            var held = found.OfType<DiscoveredMembership>().Where(m => m.AccountExternalId == userId).Select(m => m.EntitlementExternalId).Order(StringComparer.OrdinalIgnoreCase);

            Assert.True(groups[inner].Privileged);
            Assert.True(groups[outer].Privileged);
            Assert.False(groups[plain].Privileged);
            Assert.Equal(new[] { inner, outer, plain }.Order(StringComparer.OrdinalIgnoreCase), held, StringComparer.OrdinalIgnoreCase);
            Assert.Equal("true", accounts[protectedUser].Attributes["privileged"]);
            Assert.Equal("1", accounts[protectedUser].Attributes["adminCount"]);
            Assert.Equal("false", accounts[user].Attributes["privileged"]);

            var remove = Some.Action(ActionKind.RemoveEntitlement, userId, outer);
            var before = await connector.ReadBackAsync(remove, CancellationToken.None);
            var independentBefore = await connector.ReadIndependentlyAsync(remove, CancellationToken.None);
            var result = await connector.ExecuteAsync(remove, CancellationToken.None);
            var after = await connector.ReadBackAsync(remove, CancellationToken.None);
            var independent = await connector.ReadIndependentlyAsync(remove, CancellationToken.None);

            Assert.False(before.Confirmed);
            Assert.Equal("true", before.Observed["member.nested"]);
            Assert.False(independentBefore!.Confirmed);
            Assert.False(result.AlreadyInState);
            Assert.Equal(inner, result.Before["via"], ignoreCase: true);
            Assert.True(after.Confirmed);
            Assert.True(independent!.Confirmed);
            Assert.Empty(fixture.Members(inner));
            Assert.Equal([user], fixture.Members(plain), StringComparer.OrdinalIgnoreCase);
        }
        finally
        {
            fixture.Admin.SendRequest(new ModifyRequest(domainAdmins, DirectoryAttributeOperation.Delete, "member", outer));
        }
    }
}
