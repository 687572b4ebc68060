using Deprov.Connectors.Aws.Tests.Fake;
using Deprov.Connectors.Aws.Tests.Support;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Aws.Tests;

public sealed class AwsIamDiscoveryTests
{
    private static readonly DateTimeOffset PasswordUse = new(2026, 10, 1, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset KeyUse = new(2026, 11, 2, 9, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task DiscoverAsync_SeveralPages_EveryUserGroupMembershipAndKey()
    {
        await using var server = await IamFakeServer.StartAsync();
        var ann = server.AddUser("ann", passwordLastUsed: PasswordUse, keyLastUsed: KeyUse, emailTag: "ann.lee@example.com");
        var bob = server.AddUser("bob@example.com", keys: 0);
        var ci = server.AddUser("ci-deploy", loginProfile: false, keys: 1, inactiveKeys: 1);
        var old = server.AddUser("old", loginProfile: false, keys: 0, inactiveKeys: 1);
        var eng = server.AddGroup("engineering", null, ann, bob, ci);
        server.AddGroup("ops", null, ann);
        server.AddGroup("empty");
        using var connector = AwsTest.Connect(server, s => s["page_size"] = "2");

        var all = await AwsTest.DiscoverAllAsync(connector);

        var accounts = all.OfType<DiscoveredAccount>().ToDictionary(a => a.ExternalId);
        Assert.Equal([ann, bob, ci, old], accounts.Keys.Order(StringComparer.Ordinal));
        Assert.Contains(server.Requests, r => r.Action == "ListUsers" && r.Parameters.ContainsKey("Marker"));
        Assert.All(server.Requests.Where(r => r.Action == "ListUsers"), r => Assert.Equal("2", r.Parameters["MaxItems"]));

        Assert.Equal("ann.lee@example.com", accounts[ann].Email);
        Assert.Equal(KeyUse, accounts[ann].LastSignInAt);
        Assert.True(accounts[ann].Enabled);
        Assert.Equal("true", accounts[ann].Attributes["loginProfile"]);
        Assert.StartsWith("arn:aws:iam::123456789012:user/", accounts[ann].Attributes["arn"], StringComparison.Ordinal);
        Assert.Equal("bob@example.com", accounts[bob].Email);
        Assert.Null(accounts[ci].Email);
        Assert.True(accounts[ci].Enabled);
        Assert.False(accounts[old].Enabled);

        var credentials = all.OfType<DiscoveredCredential>().ToList();
        Assert.Equal(4, credentials.Count);
        Assert.All(credentials, c => Assert.Equal(CredentialKind.ApiToken, c.Kind));
        var annKey = Assert.Single(credentials, c => c.OwnerUserName == ann);
        Assert.Equal($"ann/{server.KeysOf(ann)[0]}", annKey.ExternalId);
        Assert.True(annKey.Active);
        Assert.Contains("last used 2026-11-02", annKey.Name, StringComparison.Ordinal);
        Assert.Equal(1, credentials.Count(c => c.OwnerUserName == ci && c.Active));
        Assert.False(Assert.Single(credentials, c => c.OwnerUserName == old).Active);

        Assert.Equal(["empty", "engineering", "ops"], all.OfType<DiscoveredEntitlement>().Select(e => e.ExternalId).Order(StringComparer.Ordinal));
        var members = all.OfType<DiscoveredMembers>().ToDictionary(m => m.EntitlementExternalId);
        Assert.Equal([ann, bob, ci], members[eng].AccountExternalIds.Order(StringComparer.Ordinal));
        Assert.Contains(server.Requests, r => r.Action == "GetGroup" && r.Parameters.ContainsKey("Marker"));
        Assert.False(members.ContainsKey("empty"));
    }

    [Fact]
    public async Task DiscoverAsync_AdministratorAccessOrConfiguredPolicy_Privileged()
    {
        await using var server = await IamFakeServer.StartAsync();
        var root = server.AddUser("root-ish", policies: ["AdministratorAccess"]);
        var iam = server.AddUser("iam-admin", policies: ["IAMFullAccess", "ReadOnlyAccess"]);
        var reader = server.AddUser("reader", policies: ["ReadOnlyAccess"]);
        server.AddGroup("admins", ["AdministratorAccess"], reader);
        server.AddGroup("billing", ["Billing"]);
        server.AddGroup("break-glass-admins");
        using var connector = AwsTest.Connect(server, s =>
        {
            s["privileged_policies"] = new[] { "*FullAccess" };
            s["privileged_groups"] = new[] { "break-glass-*" };
        });

        var all = await AwsTest.DiscoverAllAsync(connector);

        var accounts = all.OfType<DiscoveredAccount>().ToDictionary(a => a.ExternalId);
        Assert.Equal("true", accounts[root].Attributes["privileged"]);
        Assert.Equal("AdministratorAccess", accounts[root].Attributes["privilegedPolicies"]);
        Assert.Equal("true", accounts[iam].Attributes["privileged"]);
        Assert.Equal("IAMFullAccess", accounts[iam].Attributes["privilegedPolicies"]);
        Assert.Equal("false", accounts[reader].Attributes["privileged"]);
        var groups = all.OfType<DiscoveredEntitlement>().ToDictionary(e => e.ExternalId);
        Assert.True(groups["admins"].Privileged);
        Assert.False(groups["billing"].Privileged);
        Assert.True(groups["break-glass-admins"].Privileged);
    }

    [Fact]
    public async Task DiscoverAsync_EmailDomainAndNoTags_BareNamesGetTheDomainWithoutListUserTags()
    {
        await using var server = await IamFakeServer.StartAsync();
        server.AddUser("carol", emailTag: "ignored@example.org");
        using var connector = AwsTest.Connect(server, s =>
        {
            s["email_tag"] = string.Empty;
            s["email_domain"] = "example.com";
        });

        var account = Assert.Single((await AwsTest.DiscoverAllAsync(connector)).OfType<DiscoveredAccount>());

        Assert.Equal("carol@example.com", account.Email);
        Assert.Equal(0, server.Calls("ListUserTags"));
    }

    [Fact]
    public async Task DiscoverAsync_EverySignedRequest_PostFormWithVersion()
    {
        await using var server = await IamFakeServer.StartAsync();
        server.AddUser("dan");
        using var connector = AwsTest.Connect(server);

        await AwsTest.DiscoverAllAsync(connector);

        Assert.All(server.Requests, r =>
        {
            Assert.Equal("POST", r.Method);
            Assert.Equal("2010-05-08", r.Parameters["Version"]);
            Assert.StartsWith($"AWS4-HMAC-SHA256 Credential={server.Options.AccessKeyId}/", r.Authorization, StringComparison.Ordinal);
            Assert.Contains("/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=", r.Authorization, StringComparison.Ordinal);
        });
    }
}
