using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Deprov.Core.Reconciliation;
using Deprov.Core.Security;
using Deprov.Server.Endpoints;
using Deprov.Server.Tests.Security;

namespace Deprov.Server.Tests.Endpoints;

/// <summary>Manual correlation links from the API and the console (issue 7). Each test links its own sandbox orphan account.</summary>
[Collection(ServerCollection.Name)]
public sealed class LinkEndpointTests
{
    private readonly ServerFixture _server;

    public LinkEndpointTests(ServerFixture server) => _server = server;

    private static async Task<JsonElement?> AccountOfAsync(HttpClient client, string personId, string accountId)
    {
        var profile = await client.GetFromJsonAsync<JsonElement>($"/api/people/{personId}");
        foreach (var a in profile.GetProperty("access").GetProperty("accounts").EnumerateArray())
        {
            if (a.GetProperty("id").GetString() == accountId)
            {
                return a;
            }
        }

        return null;
    }

    [Fact]
    public async Task ApiLink_AsOperator_OwnsTheAccount_AndIsAudited()
    {
        var person = _server.Company.People[20].Id;
        using var operatorClient = _server.Client(Role.Operator);
        Assert.Null(await AccountOfAsync(operatorClient, person, "slack/sl-orphan-1"));

        var response = await operatorClient.PostAsJsonAsync("/api/links", new { system = "slack", account = "sl-orphan-1", person });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var link = await response.Content.ReadFromJsonAsync<JsonElement>();
        var actor = link.GetProperty("linkedBy").GetString()!;
        Assert.StartsWith("key:", actor, StringComparison.Ordinal);

        var account = await AccountOfAsync(operatorClient, person, "slack/sl-orphan-1");
        Assert.NotNull(account);
        Assert.Equal($"manual (by {actor})", account.Value.GetProperty("correlationRule").GetString());

        using var auditor = _server.Client(Role.Auditor);
        var audit = await auditor.GetFromJsonAsync<JsonElement>($"/api/audit?person={person}&action=correlation_link");
        var entry = Assert.Single(audit.EnumerateArray()).GetProperty("entry");
        Assert.Equal(actor, entry.GetProperty("actor").GetString());
        Assert.Equal("slack/sl-orphan-1", entry.GetProperty("target").GetString());
        var links = await auditor.GetFromJsonAsync<JsonElement>("/api/links?system=slack");
        Assert.Contains(links.EnumerateArray(), l => l.GetProperty("accountExternalId").GetString() == "sl-orphan-1" && l.GetProperty("personId").GetString() == person);
    }

    [Theory]
    [InlineData(Role.Auditor)]
    [InlineData(Role.Hr)]
    public async Task ApiLink_AsAuditorOrHr_IsForbidden_AndChangesNothing(Role role)
    {
        var person = _server.Company.People[22].Id;
        using var client = _server.Client(role);
        var response = await client.PostAsJsonAsync("/api/links", new { system = "slack", account = "sl-shared-1", person });
        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        using var anonymous = _server.Client(null);
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.PostAsJsonAsync("/api/links", new { system = "slack", account = "sl-shared-1", person })).StatusCode);
        using var operatorClient = _server.Client(Role.Operator);
        Assert.Null(await AccountOfAsync(operatorClient, person, "slack/sl-shared-1"));
    }

    [Theory]
    [InlineData("slack", "sl-orphan-1", "", HttpStatusCode.BadRequest, "Missing person")]
    [InlineData("", "", "", HttpStatusCode.BadRequest, "Missing system, account, person")]
    [InlineData("no-such-system", "sl-orphan-1", "P", HttpStatusCode.NotFound, "There is no system 'no-such-system'. Configured systems: badges, directory")]
    [InlineData("slack", "sl-typo-9", "P", HttpStatusCode.NotFound, "No discovery of 'slack' has seen an account with external id 'sl-typo-9'")]
    [InlineData("slack", "sl-orphan-1", "nobody-here", HttpStatusCode.NotFound, "There is no person 'nobody-here'")]
    public async Task ApiLink_BadInput_SaysWhatIsWrong(string system, string account, string person, HttpStatusCode status, string message)
    {
        person = person == "P" ? _server.Company.People[23].Id : person;
        using var client = _server.Client(Role.Operator);
        var response = await client.PostAsJsonAsync("/api/links", new { system, account, person });
        Assert.Equal(status, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains(message, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConsoleForm_AsOperator_LinksWithCsrf_ShowsTheResult_AndTheOwner()
    {
        var person = _server.Company.People[21].Id;
        var user = "op" + Guid.NewGuid().ToString("N")[..10];
        await AdminActions.CreateUserAsync(_server.Environment.Engine.Store, TimeProvider.System, user, Role.Operator, ServerFixture.Password, "admin:test", CancellationToken.None);
        using var client = _server.CookieClient(out _);
        var login = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = await SignInTests.TokenAsync(client),
            ["user"] = user,
            ["password"] = ServerFixture.Password,
        }));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);

        var systems = await client.GetStringAsync("/systems");
        Assert.Contains("href=\"/links\"", systems, StringComparison.Ordinal);
        var page = await client.GetStringAsync("/links");
        Assert.Contains("<form method=\"post\" action=\"/links\">", page, StringComparison.Ordinal);
        Assert.Contains("<label for=\"person\">", page, StringComparison.Ordinal);

        var form = new Dictionary<string, string> { ["system"] = "slack", ["account"] = "sl-shared-1", ["person"] = person };
        var withoutToken = await client.PostAsync("/links", new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.BadRequest, withoutToken.StatusCode);
        Assert.Contains("CSRF", await withoutToken.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        form["__RequestVerificationToken"] = await SignInTests.TokenAsync(client, "/links");
        var unknownPerson = await client.PostAsync("/links", new FormUrlEncodedContent(new Dictionary<string, string>(form) { ["person"] = "nobody-at-all" }));
        Assert.Equal(HttpStatusCode.NotFound, unknownPerson.StatusCode);
        var refusal = await unknownPerson.Content.ReadAsStringAsync();
        Assert.Contains("role=\"alert\"", refusal, StringComparison.Ordinal);
        Assert.Contains("There is no person &#x27;nobody-at-all&#x27;", refusal, StringComparison.Ordinal);
        Assert.Contains("value=\"sl-shared-1\"", refusal, StringComparison.Ordinal); // the form keeps what was typed

        var ok = await client.PostAsync("/links", new FormUrlEncodedContent(form));
        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var done = await ok.Content.ReadAsStringAsync();
        Assert.Contains($"Linked slack/sl-shared-1 to <a href=\"/people/{person}\">{person}</a>", done, StringComparison.Ordinal);
        Assert.Contains($"manual (by admin:{user})", done, StringComparison.Ordinal);

        var profile = await client.GetStringAsync($"/people/{person}");
        Assert.Contains($"<td>shared-slack@example.com</td><td>manual (by admin:{user})</td>", profile, StringComparison.Ordinal);
        using var auditor = _server.Client(Role.Auditor);
        var audit = await auditor.GetFromJsonAsync<JsonElement>($"/api/audit?person={person}&action=correlation_link");
        Assert.Equal($"admin:{user}", Assert.Single(audit.EnumerateArray()).GetProperty("entry").GetProperty("actor").GetString());
    }

    [Fact]
    public async Task LinksPage_ListsOpenOrphanFindings_WithALabelledLinkFormPerAccount_ButNoFormForAuditors()
    {
        var store = _server.Environment.Engine.Store;
        await store.RecordFindingsAsync("slack",
            [new DetectedFinding(FindingKind.Orphan, "slack", "slack/sl-orphan-1", "slack/sl-orphan-1", null, null, null, "conflict (email): P1, P2")],
            TimeProvider.System.GetUtcNow(), CancellationToken.None);
        var id = FindingIds.For(FindingKind.Orphan, "slack/sl-orphan-1");

        using var operatorClient = _server.Client(Role.Operator);
        var page = await operatorClient.GetStringAsync("/links");
        Assert.Contains($"<tr id=\"finding-{id}\"><td>slack</td><td>sl-orphan-1</td><td>conflict (email): P1, P2</td>", page, StringComparison.Ordinal);
        Assert.Contains("<input type=\"hidden\" name=\"account\" value=\"sl-orphan-1\">", page, StringComparison.Ordinal);
        Assert.Contains($"<label for=\"person-{id}\" class=\"sr\">Person id for sl-orphan-1</label><input id=\"person-{id}\" name=\"person\" required", page, StringComparison.Ordinal);

        using var auditor = _server.Client(Role.Auditor);
        var readOnly = await auditor.GetStringAsync("/links");
        Assert.Contains($"<tr id=\"finding-{id}\">", readOnly, StringComparison.Ordinal);
        Assert.DoesNotContain("action=\"/links\"", readOnly, StringComparison.Ordinal);
    }
}
