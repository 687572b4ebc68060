using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Testing.Scim;

namespace Deprov.Connectors.Scim.Tests.Confirmation;

public sealed class ScimConfirmationTests
{
    [Theory]
    [InlineData("generic")]
    [InlineData("entra")]
    public async Task RemoveEntitlement_LenientServerAnswersMembershipFilterEmpty_StillRemovesAndConfirmsFromGroupRead(string profile)
    {
        // The case: the server answers the membership filter with 200 and an empty list although the user is a
        // member. The connector must not take that for "already removed".
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { LenientFilters = true });
        var id = server.AddUser(ScimTest.Unique("ann"));
        var group = server.AddGroup("admins", id, server.AddUser(ScimTest.Unique("bob")));
        using var connector = ScimTest.Connect(server, profile);
        var remove = ScimTest.Action(ActionKind.RemoveEntitlement, id, group);

        var result = await connector.ExecuteAsync(remove, default);
        var readBack = await connector.ReadBackAsync(remove, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal("true", result.Before["member"]);
        Assert.Single(server.Requests, r => r.Method == "PATCH");
        Assert.False(server.IsMember(group, id));
        Assert.True(readBack.Confirmed);
        Assert.Equal("group", readBack.Observed["source"]);
    }

    [Fact]
    public async Task ReadBack_MemberBeyondTheCap_ConfirmedFromTheUsersGroupsNotFromTheCappedList()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { MembersCap = 2, UserGroups = true });
        var peers = Enumerable.Range(0, 2).Select(i => server.AddUser(ScimTest.Unique($"p{i}"))).ToArray();
        var id = server.AddUser(ScimTest.Unique("ann"));
        var other = server.AddGroup("other", id);
        var group = server.AddGroup("admins", [.. peers, id]);
        using var connector = ScimTest.Connect(server, configure: s => s["members_cap"] = "2");
        var remove = ScimTest.Action(ActionKind.RemoveEntitlement, id, group);

        // Before: the capped list does not show ann, her groups do.
        var before = await connector.ReadBackAsync(remove, default);
        await connector.ExecuteAsync(remove, default);
        var after = await connector.ReadBackAsync(remove, default);

        Assert.False(before.Confirmed);
        Assert.Equal("user_groups", before.Observed["source"]);
        Assert.Contains("members_cap", before.Observed["doubts"], StringComparison.Ordinal);
        Assert.False(server.IsMember(group, id));
        Assert.True(server.IsMember(other, id));
        Assert.True(after.Confirmed);
        Assert.Equal("user_groups", after.Observed["source"]);
    }

    [Fact]
    public async Task ReadBack_MemberBeyondTheCapWithNoSecondPath_IsNeverConfirmed()
    {
        // A capped list, no user groups, filters answered empty: no read can show ann is gone.
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { MembersCap = 1, LenientFilters = true });
        var peer = server.AddUser(ScimTest.Unique("bob"));
        var id = server.AddUser(ScimTest.Unique("ann"));
        var group = server.AddGroup("admins", peer, id);
        using var connector = ScimTest.Connect(server, configure: s => s["members_cap"] = "1");
        var remove = ScimTest.Action(ActionKind.RemoveEntitlement, id, group);

        var readBack = await connector.ReadBackAsync(remove, default);
        var independent = await connector.ReadIndependentlyAsync(remove, default);

        Assert.True(server.IsMember(group, id));
        Assert.False(readBack.Confirmed);
        Assert.Equal("unknown", readBack.Observed["member"]);
        Assert.True(independent is null or { Confirmed: false });
    }

    [Fact]
    public async Task RemoveEntitlement_PutOnlyServerThatWithholdsMembers_RefusesRatherThanDropOtherMembers()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { PatchSupported = false, EtagSupported = false, GroupReadsOmitMembers = true });
        var peer = server.AddUser(ScimTest.Unique("bob"));
        var id = server.AddUser(ScimTest.Unique("ann"));
        var group = server.AddGroup("admins", peer, id);
        using var connector = ScimTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, group), default));

        Assert.False(e.IsTransient);
        Assert.Contains("PUT", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Requests, r => r.Method == "PUT");
        Assert.True(server.IsMember(group, peer));
    }

    [Fact]
    public async Task ReadBack_UserWithoutActiveAttribute_ConfirmsNeitherDisableNorEnable()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("ann"));
        server.Touch(id, "active", null);
        using var connector = ScimTest.Connect(server);

        var disable = await connector.ReadBackAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);
        var enable = await connector.ReadBackAsync(ScimTest.Action(ActionKind.EnableAccount, id), default);

        Assert.False(disable.Confirmed);
        Assert.False(enable.Confirmed);
        Assert.Equal("false", disable.Observed["activeReported"]);
    }

    [Fact]
    public async Task ReadBack_IgnoredWrite_NotConfirmedAlthoughThePatchAnswerSaysDone()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { IgnoreWrites = true });
        var id = server.AddUser(ScimTest.Unique("ann"));
        using var connector = ScimTest.Connect(server);
        var disable = ScimTest.Action(ActionKind.DisableAccount, id);

        var result = await connector.ExecuteAsync(disable, default);
        var readBack = await connector.ReadBackAsync(disable, default);
        var independent = await connector.ReadIndependentlyAsync(disable, default);

        Assert.Equal("false", result.After["active"]);
        Assert.True(server.IsActive(id));
        Assert.False(readBack.Confirmed);
        Assert.True(independent is { Confirmed: false });
    }
}
