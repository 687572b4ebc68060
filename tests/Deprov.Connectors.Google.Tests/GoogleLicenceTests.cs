using Deprov.Connectors.Google.Tests.Fake;
using Deprov.Connectors.Google.Tests.Support;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Google.Tests;

/// <summary>Licences through the Enterprise License Manager API: discovery, reclaim, restore, errors and settings.</summary>
public sealed class GoogleLicenceTests
{
    private const string Starter = "Google-Apps:1010020027";

    private static Dictionary<string, object> Sku(string product, string sku) => new() { ["product"] = product, ["sku"] = sku };

    private static GoogleConnector Connect(GoogleTestServer server, Action<Dictionary<string, object>>? configure = null) =>
        GoogleTest.Connect(server, s =>
        {
            s["customer"] = GoogleTestServer.CustomerId;
            s["licensing_base_url"] = server.Root.ToString();
            s["licences"] = new[] { Sku("Google-Apps", "1010020027"), Sku("101047", "1010470002") };
            configure?.Invoke(s);
        });

    private static async Task<List<DiscoveredObject>> DiscoverAsync(GoogleConnector connector)
    {
        var all = new List<DiscoveredObject>();
        await foreach (var o in connector.DiscoverAsync(new DiscoveryRequest(null), CancellationToken.None))
        {
            all.Add(o);
        }

        return all;
    }

    [Fact]
    public async Task Discover_AssignmentsOverSeveralPages_OneLicencePerSkuJoinedToUsersByPrimaryEmail()
    {
        await using var server = await GoogleTestServer.StartAsync();
        server.PageSize = 2;
        var ann = server.AddUser("ann@example.com");
        var bob = server.AddUser("bob@example.com");
        var cid = server.AddUser("cid@example.com");
        server.AddSku("Google-Apps", "1010020027", "Google Workspace Business Starter", ann, bob, cid);
        server.AddSku("101047", "1010470002", "Gemini Labs", bob);
        server.AddSku("Google-Apps", "1010020028", "Google Workspace Business Standard", ann);
        using var connector = Connect(server);

        var all = await DiscoverAsync(connector);

        var licences = all.OfType<DiscoveredEntitlement>().Where(e => e.Kind == EntitlementKind.Licence).ToList();
        Assert.Equal([Starter, "101047:1010470002"], licences.Select(l => l.ExternalId));
        Assert.Equal(["Google Workspace Business Starter", "Gemini Labs"], licences.Select(l => l.Name));
        Assert.All(licences, l => Assert.False(l.Privileged));
        Assert.Equal([ann.Id, bob.Id, cid.Id], all.OfType<DiscoveredMembership>().Where(m => m.EntitlementExternalId == Starter).Select(m => m.AccountExternalId));
        Assert.Equal([bob.Id], all.OfType<DiscoveredMembership>().Where(m => m.EntitlementExternalId == "101047:1010470002").Select(m => m.AccountExternalId));
        // Three holders at two per page: the second page was fetched with the first's nextPageToken.
        var listings = server.Requests.Where(r => r.Path == "/apps/licensing/v1/product/Google-Apps/sku/1010020027/users").ToList();
        Assert.Equal(2, listings.Count);
        Assert.All(listings, r => Assert.Contains($"customerId={GoogleTestServer.CustomerId}", r.Query, StringComparison.Ordinal));
        Assert.Contains("pageToken=pt-2", listings[1].Query, StringComparison.Ordinal);
        // The SKU that is not configured is never read.
        Assert.DoesNotContain(server.Requests, r => r.Path.Contains("1010020028", StringComparison.Ordinal));
        Assert.Contains(GoogleTestServer.LicensingScope, server.LastClaims!["scope"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reclaim_FreesTheSeat_ReplayAlreadyInState_ReadBackConfirms()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        var bob = server.AddUser("bob@example.com");
        var sku = server.AddSku("Google-Apps", "1010020027", "Google Workspace Business Starter", ann, bob);
        using var connector = Connect(server);
        var action = GoogleTest.Action(ActionKind.ReclaimLicence, ann.Id, groupId: Starter);

        var first = await connector.ExecuteAsync(action, CancellationToken.None);
        var replay = await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.False(first.AlreadyInState);
        Assert.Equal("true", first.Before["assigned"]);
        Assert.Equal("Google Workspace Business Starter", first.Before["skuName"]);
        Assert.Equal("ann@example.com", first.Before["userId"]);
        Assert.Equal("false", first.After["assigned"]);
        Assert.True(replay.AlreadyInState);
        Assert.True(readBack.Confirmed);
        Assert.Equal("false", readBack.Observed["assigned"]);
        Assert.Equal([bob.Id], server.Read(() => sku.Holders.ToList()));
        Assert.Single(server.Requests, r => r.Method == "DELETE" && r.Path == "/apps/licensing/v1/product/Google-Apps/sku/1010020027/user/ann@example.com");
    }

    [Fact]
    public async Task Reclaim_NotHeld_AlreadyInStateWithoutDelete()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        server.AddSku("Google-Apps", "1010020027", "Google Workspace Business Starter");
        using var connector = Connect(server);
        var action = GoogleTest.Action(ActionKind.ReclaimLicence, ann.Id, groupId: Starter);

        var result = await connector.ExecuteAsync(action, CancellationToken.None);

        Assert.True(result.AlreadyInState);
        Assert.Equal("false", result.Before["assigned"]);
        Assert.True((await connector.ReadBackAsync(action, CancellationToken.None)).Confirmed);
        Assert.DoesNotContain(server.Requests, r => r.Method == "DELETE");
    }

    [Fact]
    public async Task Reclaim_UserDeleted_AlreadyInStateButNotConfirmed()
    {
        await using var server = await GoogleTestServer.StartAsync();
        server.AddSku("Google-Apps", "1010020027", "Google Workspace Business Starter");
        using var connector = Connect(server);
        var action = GoogleTest.Action(ActionKind.ReclaimLicence, "100999", groupId: Starter);

        Assert.True((await connector.ExecuteAsync(action, CancellationToken.None)).AlreadyInState);
        Assert.False((await connector.ReadBackAsync(action, CancellationToken.None)).Confirmed);
    }

    [Fact]
    public async Task Assign_RestoresTheSeatByPrimaryEmail_ReplayAlreadyInState_ReadBackConfirms()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        var sku = server.AddSku("Google-Apps", "1010020027", "Google Workspace Business Starter");
        using var connector = Connect(server);
        var action = GoogleTest.Action(ActionKind.AssignLicence, ann.Id, groupId: Starter);

        var first = await connector.ExecuteAsync(action, CancellationToken.None);
        var replay = await connector.ExecuteAsync(action, CancellationToken.None);
        var readBack = await connector.ReadBackAsync(action, CancellationToken.None);

        Assert.False(first.AlreadyInState);
        Assert.Equal("false", first.Before["assigned"]);
        Assert.Equal("true", first.After["assigned"]);
        Assert.True(replay.AlreadyInState);
        Assert.True(readBack.Confirmed);
        Assert.Equal([ann.Id], server.Read(() => sku.Holders.ToList()));
        Assert.Single(server.Requests, r => r.Method == "POST" && r.Path == "/apps/licensing/v1/product/Google-Apps/sku/1010020027/user"
            && r.Body == "{\"userId\":\"ann@example.com\"}");
    }

    [Fact]
    public async Task Reclaim_ScopeNotInToken_PermanentNamingTheLicensingScope()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        server.AddSku("Google-Apps", "1010020027", "Google Workspace Business Starter", ann);
        // An explicit scope list that forgot apps.licensing: the token is issued, the Licensing API refuses it.
        using var connector = Connect(server, s => s["scopes"] = GoogleSettings.BaseScopes);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.ReclaimLicence, ann.Id, groupId: Starter), CancellationToken.None));

        Assert.False(e.IsTransient);
        Assert.Contains("403", e.Message, StringComparison.Ordinal);
        Assert.Contains(GoogleTestServer.LicensingScope, e.Message, StringComparison.Ordinal);
        Assert.Contains("insufficientPermissions", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reclaim_BackendError503_RetriedAndSucceeds()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        var sku = server.AddSku("Google-Apps", "1010020027", "Google Workspace Business Starter", ann);
        using var connector = Connect(server);
        server.Faults.FailNext(1, 503, "backendError", "DELETE", "/apps/licensing/");

        var result = await connector.ExecuteAsync(GoogleTest.Action(ActionKind.ReclaimLicence, ann.Id, groupId: Starter), CancellationToken.None);

        Assert.False(result.AlreadyInState);
        Assert.Equal(1, server.Faults.Answered);
        Assert.Empty(server.Read(() => sku.Holders.ToList()));
    }

    [Fact]
    public async Task Reclaim_LicenceNotConfigured_PermanentNamingTheSetting()
    {
        await using var server = await GoogleTestServer.StartAsync();
        var ann = server.AddUser("ann@example.com");
        using var connector = Connect(server);

        var e = await Assert.ThrowsAsync<ConnectorException>(() => connector.ExecuteAsync(GoogleTest.Action(ActionKind.ReclaimLicence, ann.Id, groupId: "Google-Apps:1010020028"), CancellationToken.None));

        Assert.False(e.IsTransient);
        Assert.Contains("'licences'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Create_WithoutLicences_NoLicensingScopeAndNoLicenceActions()
    {
        await using var server = await GoogleTestServer.StartAsync();
        using var plain = GoogleTest.Connect(server);
        using var licensed = Connect(server);

        Assert.DoesNotContain(GoogleSettings.LicensingScope, GoogleSettings.Parse(GoogleTest.Settings(GoogleTest.BaseSettings(server)), []).Scopes);
        Assert.DoesNotContain(ActionKind.ReclaimLicence, plain.Describe().Supported);
        Assert.Contains(ActionKind.ReclaimLicence, licensed.Describe().Supported);
        Assert.Contains(ActionKind.AssignLicence, licensed.Describe().Supported);
    }

    [Fact]
    public void Validate_LicencesWithMyCustomerOrBadIds_EachReported()
    {
        var values = new Dictionary<string, object>
        {
            ["admin_email"] = "admin@example.com",
            ["key"] = "file:/run/secrets/google-sa.json",
            ["licences"] = new[] { Sku("Google-Apps", "1010020027"), Sku("Google Apps", "x/y"), new Dictionary<string, object> { ["product"] = "Google-Apps" } },
        };

        var errors = new GoogleConnectorFactory().Validate(GoogleTest.System, GoogleTest.Settings(values)).Select(e => e.ToString()).ToList();

        Assert.Contains(errors, e => e.Contains(".customer", StringComparison.Ordinal) && e.Contains("my_customer", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("licences[1]", StringComparison.Ordinal) && e.Contains("'Google Apps'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("licences[2].sku", StringComparison.Ordinal) && e.Contains("missing", StringComparison.Ordinal));
        Assert.Equal(3, errors.Count);
    }
}
