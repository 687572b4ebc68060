using System.Text.Json.Nodes;
using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Testing.Scim;

namespace Deprov.Connectors.Scim.Tests.Profiles;

public sealed class ScimProfileTests
{
    private static JsonNode Op(ScimTestServer server, string method) =>
        JsonNode.Parse(server.Requests.Last(r => r.Method == method).Body!)!["Operations"]![0]!;

    [Theory]
    [InlineData("generic", "replace", "active", false)]
    [InlineData("okta", "replace", null, false)]
    [InlineData("github_org", "replace", null, false)]
    [InlineData("github_emu", "replace", "active", false)]
    [InlineData("entra", "Replace", "active", true)]
    [InlineData("salesforce", "replace", "active", false)]
    [InlineData("zoom", "replace", null, false)]
    public async Task DisableAccount_Profile_SendsItsPatchShape(string profile, string op, string? path, bool stringBoolean)
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique(profile));
        using var connector = ScimTest.Connect(server, profile);

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);

        Assert.False(server.IsActive(id));
        var sent = Op(server, "PATCH");
        Assert.Equal(op, (string?)sent["op"]);
        Assert.Equal(path, (string?)sent["path"]);
        var value = path is null ? sent["value"]!["active"]! : sent["value"]!;
        Assert.Equal(stringBoolean ? "\"False\"" : "false", value.ToJsonString());
        Assert.True((await connector.ReadBackAsync(ScimTest.Action(ActionKind.DisableAccount, id), default)).Confirmed);
    }

    [Fact]
    public async Task DisableAccount_Slack_DeleteDeactivatesAndUserStaysReadable()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { DeleteDeactivates = true, ServiceProviderConfigPath = "ServiceProviderConfigs", EtagSupported = false });
        var id = server.AddUser(ScimTest.Unique("slack"));
        using var connector = ScimTest.Connect(server, "slack");

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);
        var readBack = await connector.ReadBackAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);
        var enable = await connector.ExecuteAsync(ScimTest.Action(ActionKind.EnableAccount, id, parameters: new() { ["before"] = CoreJsonOf(result.Before) }), default);

        Assert.Single(server.Requests, r => r.Method == "DELETE");
        Assert.True(readBack.Confirmed);
        Assert.Equal("false", readBack.Observed["active"]);
        Assert.False(enable.AlreadyInState);
        Assert.True(server.IsActive(id));
        Assert.DoesNotContain(ActionKind.DeleteAccount, connector.Describe().Supported);
        // Slack v1 spells the config endpoint in the plural; the profile falls back to it.
        Assert.Contains(server.Requests, r => r.Path.EndsWith("/ServiceProviderConfigs", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("entra", "Remove")]
    [InlineData("salesforce", "remove")]
    [InlineData("github_emu", "remove")]
    public async Task RemoveEntitlement_ValueListProfile_SendsMembersPathWithValueList(string profile, string op)
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { PatchReturnsNoContent = profile == "entra", RejectFilterInPatchPath = profile == "github_emu" });
        var id = server.AddUser(ScimTest.Unique(profile));
        var keep = server.AddUser(ScimTest.Unique("keep"));
        var group = server.AddGroup("Team", id, keep);
        using var connector = ScimTest.Connect(server, profile);

        var result = await connector.ExecuteAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, group), default);

        Assert.False(result.AlreadyInState);
        Assert.False(server.IsMember(group, id));
        Assert.True(server.IsMember(group, keep));
        var sent = Op(server, "PATCH");
        Assert.Equal(op, (string?)sent["op"]);
        Assert.Equal("members", (string?)sent["path"]);
        Assert.Equal(id, (string?)sent["value"]![0]!["value"]);
        Assert.True((await connector.ReadBackAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, group), default)).Confirmed);
    }

    [Fact]
    public async Task RemoveEntitlement_Okta_SendsRfcValueFilterPath()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("okta"));
        var group = server.AddGroup("Team", id);
        using var connector = ScimTest.Connect(server, "okta");

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, group), default);

        Assert.Equal($"members[value eq \"{id}\"]", (string?)Op(server, "PATCH")["path"]);
        Assert.False(server.IsMember(group, id));
    }

    [Fact]
    public async Task DiscoverAsync_Entra_ListsGroupsWithoutMembersThenFetchesMembers()
    {
        await using var server = await ScimTestServer.StartAsync();
        var id = server.AddUser(ScimTest.Unique("entra"));
        var group = server.AddGroup("Team", id);
        using var connector = ScimTest.Connect(server, "entra");

        var memberships = new List<DiscoveredMembership>();
        await foreach (var o in connector.DiscoverAsync(new(null), default))
        {
            if (o is DiscoveredMembership m)
            {
                memberships.Add(m);
            }
        }

        Assert.Equal(new DiscoveredMembership(id, group), Assert.Single(memberships));
        Assert.Contains(server.Requests, r => r.Path.EndsWith("/Groups", StringComparison.Ordinal) && r.Query.Contains("excludedAttributes=members", StringComparison.Ordinal));
        Assert.Contains(server.Requests, r => r.Path.EndsWith($"/Groups/{group}", StringComparison.Ordinal) && r.Query.Contains("attributes=members", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Describe_GithubOrg_ClaimsNoGroupsAndNoEnable()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { NoGroups = true, RequireUserAgent = true });
        var id = server.AddUser(ScimTest.Unique("gh"));
        using var connector = ScimTest.Connect(server, "github_org");

        var supported = connector.Describe().Supported;
        var discovered = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new(null), default))
        {
            discovered.Add(o);
        }

        Assert.Equal(new HashSet<ActionKind> { ActionKind.DisableAccount, ActionKind.DeleteAccount }, supported);
        Assert.Single(discovered);
        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(ScimTest.Action(ActionKind.RemoveEntitlement, id, "g"), default));
        Assert.False(e.IsTransient);
        Assert.All(server.Requests, r => Assert.StartsWith("Deprov-SCIM", r.UserAgent, StringComparison.Ordinal));
    }

    [Fact]
    public async Task DeleteAccount_GithubEmu_HardDeprovisionsWithDelete()
    {
        await using var server = await ScimTestServer.StartAsync(new ScimServerOptions { RequireUserAgent = true });
        var id = server.AddUser(ScimTest.Unique("emu"));
        using var connector = ScimTest.Connect(server, "github_emu");

        await connector.ExecuteAsync(ScimTest.Action(ActionKind.DeleteAccount, id), default);

        Assert.Null(server.GetUser(id));
    }

    private static string CoreJsonOf(IReadOnlyDictionary<string, string> map) => Deprov.Core.Planning.CoreJson.Serialize(map);
}
