using Deprov.Connectors.Graph.Tests.Fake;
using Deprov.Connectors.Graph.Tests.Support;
using Deprov.Core;
using Deprov.Core.Model;
using Deprov.Core.Planning;

namespace Deprov.Connectors.Graph.Tests;

public sealed class GraphEntitlementTests
{
    [Fact]
    public async Task RemoveEntitlement_Member_DeletesTheReferenceAndReadsItBack()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var group = server.AddGroup("engineering", members: ann);
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, group.Id);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.False(server.IsMember(group, ann));
        Assert.True(readBack.Confirmed);
        var delete = Assert.Single(server.ApiRequests, r => r.Method == "DELETE");
        Assert.Equal($"/v1.0/groups/{group.Id}/members/{ann.Id}/$ref", delete.Path);
    }

    [Fact]
    public async Task ReadBackRemoveEntitlement_WrongGroupId_IsNotConfirmed()
    {
        // Graph answers the member read with 404 for a group that is not there, the same as for "not a member".
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        server.AddGroup("engineering", members: ann);
        using var connector = GraphTest.Connect(server);

        var readBack = await connector.ReadBackAsync(GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, Guid.NewGuid().ToString()), default);

        Assert.False(readBack.Confirmed);
        Assert.Equal("false", readBack.Observed["group_exists"]);
    }

    [Fact]
    public async Task RemoveEntitlement_AppMayAlsoWriteUsers_AlwaysSendsRefSoTheUserSurvives()
    {
        await using var server = await GraphTestServer.StartAsync();
        // With User.ReadWrite.All a DELETE without /$ref would delete the user object itself.
        server.Granted.Add("User.ReadWrite.All");
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var groups = Enumerable.Range(0, 3).Select(i => server.AddGroup($"g{i}", members: ann)).ToList();
        using var connector = GraphTest.Connect(server);

        foreach (var g in groups)
        {
            await connector.ExecuteAsync(GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, g.Id), default);
        }

        Assert.NotNull(server.User(ann.Id));
        Assert.Equal(0, server.UsersDeletedByMissingRef);
        var deletes = server.ApiRequests.Where(r => r.Method == "DELETE").ToList();
        Assert.Equal(3, deletes.Count);
        Assert.All(deletes, d => Assert.EndsWith("/$ref", d.Path, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Fake_MemberDeleteWithoutRef_IsRefusedUnderLeastPrivilegeAndDeletesTheUserOtherwise()
    {
        // The hazard the connector avoids, shown on the fake itself.
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var group = server.AddGroup("g", members: ann);
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", await GraphTest.TokenAsync(server));

        using var refused = await http.DeleteAsync($"groups/{group.Id}/members/{ann.Id}");
        server.Granted.Add("User.ReadWrite.All");
        using var deleted = await http.DeleteAsync($"groups/{group.Id}/members/{ann.Id}");

        Assert.Equal(403, (int)refused.StatusCode);
        Assert.Equal(204, (int)deleted.StatusCode);
        Assert.Null(server.User(ann.Id));
        Assert.Equal(1, server.UsersDeletedByMissingRef);
    }

    [Fact]
    public async Task RemoveEntitlement_NotAMember_IsAlreadyInStateWithoutADelete()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var group = server.AddGroup("engineering");
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, group.Id);

        var result = await connector.ExecuteAsync(action, default);

        Assert.True(result.AlreadyInState);
        Assert.DoesNotContain(server.ApiRequests, r => r.Method == "DELETE");
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
    }

    [Fact]
    public async Task RemoveEntitlement_MemberLeftBetweenCheckAndDelete_404IsAlreadyInState()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var group = server.AddGroup("engineering", members: ann);
        using var connector = GraphTest.Connect(server);
        server.Faults.FailNext(1, 404, method: "DELETE");

        var result = await connector.ExecuteAsync(GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, group.Id), default);

        Assert.True(result.AlreadyInState);
    }

    [Fact]
    public async Task RemoveEntitlement_DynamicGroup_IsPermanentWithGraphsMessage()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var group = server.AddGroup("all-staff", dynamic: true, members: ann);
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.RemoveEntitlement, ann.Id, group.Id), default));

        Assert.False(e.IsTransient);
        Assert.Contains("400", e.Message, StringComparison.Ordinal);
        Assert.Contains("Dynamic group membership", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddEntitlement_NotAMember_PostsODataIdAndReplayIsAlreadyInState()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var group = server.AddGroup("engineering");
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.AddEntitlement, ann.Id, group.Id);

        var result = await connector.ExecuteAsync(action, default);
        var replay = await connector.ExecuteAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.True(replay.AlreadyInState);
        Assert.True(server.IsMember(group, ann));
        Assert.True((await connector.ReadBackAsync(action, default)).Confirmed);
        var post = Assert.Single(server.ApiRequests, r => r.Method == "POST");
        Assert.Equal($"/v1.0/groups/{group.Id}/members/$ref", post.Path);
        Assert.Equal($"{{\"@odata.id\":\"{server.BaseUrl}directoryObjects/{ann.Id}\"}}", post.Body);
    }

    [Fact]
    public async Task AddEntitlement_AddedByOthersAfterTheCheck_400AlreadyExistsIsAlreadyInState()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var group = server.AddGroup("engineering");
        using var connector = GraphTest.Connect(server);
        // The membership check sees no member; the member is added before the POST lands.
        server.Faults.FailNext(1, 404, method: "GET", pathContains: "/members/");
        group.Members.Add(ann.Id);

        var result = await connector.ExecuteAsync(GraphTest.Action(ActionKind.AddEntitlement, ann.Id, group.Id), default);

        Assert.True(result.AlreadyInState);
        Assert.Single(server.ApiRequests, r => r.Method == "POST");
    }

    [Fact]
    public async Task ReclaimLicence_Assigned_SendsEmptyAddLicensesAndReadsItBack()
    {
        await using var server = await GraphTestServer.StartAsync();
        var sku = server.AddSku("SPE_E5");
        var ann = server.AddUser(GraphTest.Unique("ann"));
        ann.Licences[sku.SkuId] = ["plan-a", "plan-b"];
        using var connector = GraphTest.Connect(server);
        var action = GraphTest.Action(ActionKind.ReclaimLicence, ann.Id, sku.SkuId);

        var result = await connector.ExecuteAsync(action, default);
        var readBack = await connector.ReadBackAsync(action, default);
        var replay = await connector.ExecuteAsync(action, default);

        Assert.False(result.AlreadyInState);
        Assert.Equal("plan-a,plan-b", result.Before["disabledPlans"]);
        Assert.Equal("false", result.After["assigned"]);
        Assert.Empty(ann.Licences);
        Assert.True(readBack.Confirmed);
        Assert.True(replay.AlreadyInState);
        var post = Assert.Single(server.ApiRequests, r => r.Method == "POST");
        Assert.Equal($"/v1.0/users/{ann.Id}/assignLicense", post.Path);
        Assert.Equal($"{{\"addLicenses\":[],\"removeLicenses\":[\"{sku.SkuId}\"]}}", post.Body);
    }

    [Fact]
    public async Task AssignLicence_RestoreOfAReclaim_GivesTheLicenceBackWithItsDisabledPlans()
    {
        await using var server = await GraphTestServer.StartAsync();
        var sku = server.AddSku("SPE_E5");
        var ann = server.AddUser(GraphTest.Unique("ann"));
        ann.Licences[sku.SkuId] = ["plan-a"];
        using var connector = GraphTest.Connect(server);
        var reclaim = await connector.ExecuteAsync(GraphTest.Action(ActionKind.ReclaimLicence, ann.Id, sku.SkuId), default);
        var restore = GraphTest.Action(ActionKind.AssignLicence, ann.Id, sku.SkuId, parameters: new() { ["before"] = CoreJson.Serialize(reclaim.Before) });

        var result = await connector.ExecuteAsync(restore, default);
        var replay = await connector.ExecuteAsync(restore, default);

        Assert.False(result.AlreadyInState);
        Assert.True(replay.AlreadyInState);
        Assert.Equal(new[] { "plan-a" }, ann.Licences[sku.SkuId]);
        Assert.True((await connector.ReadBackAsync(restore, default)).Confirmed);
        Assert.Contains("\"removeLicenses\":[]", server.ApiRequests.Last(r => r.Method == "POST").Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReclaimLicence_UnknownSku_IsPermanentWithGraphsMessage()
    {
        await using var server = await GraphTestServer.StartAsync();
        var ann = server.AddUser(GraphTest.Unique("ann"));
        var bogus = Guid.NewGuid().ToString();
        ann.Licences[bogus] = [];
        using var connector = GraphTest.Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GraphTest.Action(ActionKind.ReclaimLicence, ann.Id, bogus), default));

        Assert.False(e.IsTransient);
        Assert.Contains("Request_BadRequest", e.Message, StringComparison.Ordinal);
        Assert.Contains("valid company License", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fake_AssignLicenseWithoutAddLicenses_IsRefusedAsTheKnownIssueSays()
    {
        // What a client that drops the empty addLicenses list gets (the PowerShell SDK bug the reference cites).
        await using var server = await GraphTestServer.StartAsync();
        var sku = server.AddSku("SPE_E5");
        var ann = server.AddUser(GraphTest.Unique("ann"));
        ann.Licences[sku.SkuId] = [];
        using var http = new HttpClient { BaseAddress = server.BaseUrl };
        http.DefaultRequestHeaders.Authorization = new("Bearer", await GraphTest.TokenAsync(server));
        using var body = new StringContent($"{{\"removeLicenses\":[\"{sku.SkuId}\"]}}", System.Text.Encoding.UTF8, "application/json");

        using var response = await http.PostAsync($"users/{ann.Id}/assignLicense", body);

        Assert.Equal(400, (int)response.StatusCode);
        Assert.Contains("The missing parameters are: addLicenses", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Single(ann.Licences);
    }
}
