using System.Net;
using Deprov.Core.Model;
using Deprov.Core.Security;
using Deprov.Server.Endpoints;
using Deprov.Server.Tests.Security;
using Deprov.Testing;

namespace Deprov.Server.Tests.Endpoints;

/// <summary>
/// A person whose id, name and fields are HTML, quotes and URL syntax: every console page shows the text as written,
/// encoded, and every link to the person still leads to the person (ids are URL-encoded inside hrefs).
/// </summary>
[Collection(ServerCollection.Name)]
public sealed class ConsoleEscapingTests
{
    private const string Script = "<script>alert(1)</script>";

    private readonly ServerFixture _server;

    public ConsoleEscapingTests(ServerFixture server) => _server = server;

    [Fact]
    public async Task Pages_HostilePerson_EncodedAndLinksLeadToThePerson()
    {
        var id = "p<x>\"'&?#" + Guid.NewGuid().ToString("N")[..6];
        var person = Some.Person(id) with { DisplayName = $"{Script} & \"Eve\" \u202E[red]", Title = "<b>boss</b>", Department = "R&D \"x\"", Email = "e\"><img src=x>@example.com" };
        var store = _server.Environment.Engine.Store;
        await store.UpsertPeopleAsync([person], CancellationToken.None);
        var result = await _server.Environment.Engine.SubmitAsync(Some.Leave(id, TimeProvider.System.GetUtcNow().AddDays(30)) with { Note = Script }, "admin:test", CancellationToken.None);
        var user = "esc" + Guid.NewGuid().ToString("N")[..10];
        await AdminActions.CreateUserAsync(store, TimeProvider.System, user, Role.Admin, ServerFixture.Password, "admin:test", CancellationToken.None);
        using var client = _server.CookieClient(out _);
        var login = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["__RequestVerificationToken"] = await SignInTests.TokenAsync(client),
            ["user"] = user,
            ["password"] = ServerFixture.Password,
        }));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);

        var link = $"/people/{Uri.EscapeDataString(id)}";
        var pages = new List<string> { link, "/people?offset=0", "/tasks?all=true", "/holds", "/", $"/audit?person={Uri.EscapeDataString(id)}" };
        if (result.Plan is not null)
        {
            pages.Add($"/cases/{Uri.EscapeDataString(result.Plan.Case.Id)}");
        }

        var all = new List<string>();
        foreach (var page in pages)
        {
            var response = await client.GetAsync(new Uri(page, UriKind.Relative));
            var html = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{page} → {(int)response.StatusCode}\n{html}");
            Assert.DoesNotContain(Script, html, StringComparison.Ordinal);
            Assert.DoesNotContain("<b>boss", html, StringComparison.Ordinal);
            Assert.DoesNotContain("<img", html, StringComparison.Ordinal);
            all.Add(html);
        }

        var profile = all[0];
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;", profile, StringComparison.Ordinal);
        Assert.Contains("&lt;b&gt;boss&lt;/b&gt;", profile, StringComparison.Ordinal);
        if (result.Plan is not null)
        {
            Assert.Contains($"href=\"{link}\"", all[^1], StringComparison.Ordinal); // the case page links back to this person
        }
    }
}
