using System.Text.Json.Nodes;
using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core.Model;
using Deprov.Testing.Scim;

namespace Deprov.Connectors.Scim.Tests;

public sealed class ScimConnectorActionTests
{
    [Fact]
    public async Task DisableAccount_ActiveUser_PatchesActiveFalseAndReadBackConfirms()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { Auth = ScimAuthMode.Bearer });
        var id = server.AddUser(ScimTest.Unique("ann"));
        using var connector = ScimTest.Connect(server);

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);
        var readBack = await connector.ReadBackAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(result.AlreadyInState);
        Assert.Equal("true", result.Before["active"]);
        Assert.Equal("false", result.After["active"]);
        Assert.True(readBack.Confirmed);
        Assert.False(server.IsActive(id));
        var patch = Assert.Single(server.Requests, r => r.Method == "PATCH");
        var op = JsonNode.Parse(patch.Body!)!["Operations"]![0]!;
        Assert.Equal("replace", (string?)op["op"]);
        Assert.Equal("active", (string?)op["path"]);
        Assert.False(op["value"]!.GetValue<bool>());
        Assert.NotNull(patch.IfMatch);
    }

    [Fact]
    public async Task DisableAccount_AlreadyInactive_IsNoOpAndSaysSo()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("bob"), active: false);
        using var connector = ScimTest.Connect(server);

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.Before["active"]);
        Assert.DoesNotContain(server.Requests, r => r.Method == "PATCH");
    }

    [Fact]
    public async Task DisableAccount_MissingUser_IsAlreadyInStateButNotConfirmed()
    {
        await using var server = await ScimTestServer.StartAsync();
        using var connector = ScimTest.Connect(server);

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, "no-such-user"), default);
        var readBack = await connector.ReadBackAsync(ScimTest.Action(ActionKind.DisableAccount, "no-such-user"), default);

        // A 404 confirms only a delete: a wrong id must not pass as a disabled account.
        Assert.True(result.AlreadyInState);
        Assert.False(readBack.Confirmed);
        Assert.Equal("false", readBack.Observed["present"]);
    }

    [Fact]
    public async Task DisableAccount_ServerWithoutPatch_GetsThenPutsFullResourceWithIfMatch()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { PatchSupported = false });
        var id = server.AddUser(ScimTest.Unique("cid"), employeeNumber: "E1");
        using var connector = ScimTest.Connect(server);

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(result.AlreadyInState);
        Assert.False(server.IsActive(id));
        Assert.DoesNotContain(server.Requests, r => r.Method == "PATCH");
        var put = Assert.Single(server.Requests, r => r.Method == "PUT");
        Assert.NotNull(put.IfMatch);
        // The full resource went back: nothing else was lost.
        Assert.Equal("E1", (string?)server.GetUser(id)![ScimPaths.EnterpriseUser]!["employeeNumber"]);
    }

    [Fact]
    public async Task DisableAccount_PatchAdvertisedButAnswered501_FallsBackToPut()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { PatchSupported = false });
        var id = server.AddUser(ScimTest.Unique("dan"));
        using var connector = ScimTest.Connect(server, configure: s => s["patch"] = "on");

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(server.IsActive(id));
        Assert.Single(server.Requests, r => r.Method == "PATCH");
        Assert.Single(server.Requests, r => r.Method == "PUT");
    }

    [Fact]
    public async Task DisableAccount_StaleEtag_RereadsAndRetriesOnce()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("eve"));
        using var connector = ScimTest.Connect(server);
        server.Faults.StaleEtagNext(1);

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(result.AlreadyInState);
        Assert.False(server.IsActive(id));
        Assert.Equal(2, server.Requests.Count(r => r.Method == "PATCH"));
    }

    [Fact]
    public async Task DisableAccount_EtagStaleTwice_ThrowsTransient()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("fay"));
        using var connector = ScimTest.Connect(server);
        server.Faults.StaleEtagNext(2);

        var e = await Assert.ThrowsAsync<Deprov.Core.ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default));

        Assert.True(e.IsTransient);
        Assert.Contains("412", e.Message, StringComparison.Ordinal);
        Assert.Contains("Resource has changed", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DisableAccount_ChangedByAnotherAdminSinceDiscovery_UsesFreshState()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("gus"));
        using var connector = ScimTest.Connect(server);
        await foreach (var _ in connector.DiscoverAsync(new(null), default))
        {
        }

        server.Touch(id, "active", false);
        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        // The remembered ETag was stale: the conditional PATCH failed, the fresh read showed the user already inactive.
        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.Before["active"]);
    }

    [Fact]
    public async Task RemoveEntitlement_Member_SendsValueFilterPathAndReadBackConfirms()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("hal"));
        var other = server.AddUser(ScimTest.Unique("ida"));
        var group = server.AddGroup("Engineering", id, other);
        using var connector = ScimTest.Connect(server);

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, group), default);
        var readBack = await connector.ReadBackAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, group), default);

        Assert.False(result.AlreadyInState);
        Assert.Equal("true", result.Before["member"]);
        Assert.True(readBack.Confirmed);
        Assert.False(server.IsMember(group, id));
        Assert.True(server.IsMember(group, other));
        var patch = Assert.Single(server.Requests, r => r.Method == "PATCH");
        Assert.Equal($"members[value eq \"{id}\"]", (string?)JsonNode.Parse(patch.Body!)!["Operations"]![0]!["path"]);
    }

    [Fact]
    public async Task RemoveEntitlement_NotAMember_IsAlreadyInState()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("jo"));
        var group = server.AddGroup("Sales", server.AddUser(ScimTest.Unique("kim")));
        using var connector = ScimTest.Connect(server);

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, group), default);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.Before["member"]);
        Assert.Equal("group", result.Before["source"]);
        Assert.DoesNotContain(server.Requests, r => r.Method == "PATCH");
    }

    [Fact]
    public async Task RemoveEntitlement_EmptyGroupOnFreshConnector_SendsTheRemovalAndDoesNotConfirm()
    {
        // An empty members list from a server that has never shown members could be members withheld: not an answer.
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("jo"));
        var group = server.AddGroup("Sales");
        using var connector = ScimTest.Connect(server);

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, group), default);
        var readBack = await connector.ReadBackAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, group), default);

        Assert.Equal("unknown", result.Before["member"]);
        Assert.Single(server.Requests, r => r.Method == "PATCH");
        Assert.False(readBack.Confirmed, string.Join(", ", readBack.Observed.Select(kv => $"{kv.Key}={kv.Value}")));
        Assert.Contains("not yet", readBack.Observed["doubts"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task RemoveEntitlement_ServerWithoutPatch_PutsGroupWithoutTheMember()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { PatchSupported = false });
        var id = server.AddUser(ScimTest.Unique("kim"));
        var keep = server.AddUser(ScimTest.Unique("lee"));
        var group = server.AddGroup("Ops", id, keep);
        using var connector = ScimTest.Connect(server);

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, group), default);

        Assert.False(server.IsMember(group, id));
        Assert.True(server.IsMember(group, keep));
    }

    [Fact]
    public async Task AddEntitlement_Restore_ReAddsMembershipAndIsIdempotent()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("max"));
        var group = server.AddGroup("Admins");
        using var connector = ScimTest.Connect(server);

        var first = await connector.ExecuteAsync(ScimTest.Action(ActionKind.AddEntitlement, id, group), default);
        var second = await connector.ExecuteAsync(ScimTest.Action(ActionKind.AddEntitlement, id, group), default);
        var readBack = await connector.ReadBackAsync(ScimTest.Action(ActionKind.AddEntitlement, id, group), default);

        Assert.False(first.AlreadyInState);
        Assert.True(second.AlreadyInState);
        Assert.True(readBack.Confirmed);
        Assert.True(server.IsMember(group, id));
    }

    [Fact]
    public async Task EnableAccount_WasActiveBefore_ReactivatesAndConfirms()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("ned"), active: false);
        using var connector = ScimTest.Connect(server);
        var action = ScimTest.Action(ActionKind.EnableAccount, id, parameters: new() { ["before"] = """{"active":"true","userName":"ned"}""" });

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.True(server.IsActive(id));
        Assert.True(readBack.Confirmed);
    }

    [Fact]
    public async Task EnableAccount_WasInactiveBefore_LeavesUserInactive()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("oli"), active: false);
        using var connector = ScimTest.Connect(server);
        var action = ScimTest.Action(ActionKind.EnableAccount, id, parameters: new() { ["before"] = """{"active":"false"}""" });

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.False(server.IsActive(id));
        Assert.True(readBack.Confirmed);
    }

    [Fact]
    public async Task EnableAccount_UserGone_ThrowsPermanent()
    {
        await using var server = await ScimTestServer.StartAsync();
        using var connector = ScimTest.Connect(server);

        var e = await Assert.ThrowsAsync<Deprov.Core.ConnectorException>(() =>
            connector.ExecuteAsync(ScimTest.Action(ActionKind.EnableAccount, "gone", parameters: new() { ["before"] = """{"active":"true"}""" }), default));

        Assert.False(e.IsTransient);
        Assert.Contains("gone", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeleteAccount_ExistingUser_DeletesAndReadBackConfirmsAbsence()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("pam"));
        var group = server.AddGroup("G", id);
        using var connector = ScimTest.Connect(server);

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.DeleteAccount, id), default);
        var again = await connector.ExecuteAsync(ScimTest.Action(ActionKind.DeleteAccount, id), default);
        var readBack = await connector.ReadBackAsync(ScimTest.Action(ActionKind.DeleteAccount, id), default);

        Assert.False(result.AlreadyInState);
        Assert.True(again.AlreadyInState);
        Assert.True(readBack.Confirmed);
        Assert.Null(server.GetUser(id));
        Assert.False(server.IsMember(group, id));
        Assert.NotNull(Assert.Single(server.Requests, r => r.Method == "DELETE").IfMatch);
    }
}
