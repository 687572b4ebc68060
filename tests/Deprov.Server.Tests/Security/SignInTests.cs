using System.Net;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Deprov.Core.Security;
using Deprov.Server.Endpoints;
using Deprov.Server.Security;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Server.Tests.Security;

[Collection(ServerCollection.Name)]
public sealed partial class SignInTests
{
    private readonly ServerFixture _server;

    public SignInTests(ServerFixture server) => _server = server;

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenField();

    internal static async Task<string> TokenAsync(HttpClient client, string path = "/login") =>
        TokenField().Match(await client.GetStringAsync(path)).Groups[1].Value;

    private static Task<HttpResponseMessage> LoginAsync(HttpClient client, string token, string user, string password) =>
        client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["__RequestVerificationToken"] = token, ["user"] = user, ["password"] = password }));

    private async Task<string> NewUserAsync(Role role)
    {
        var name = "u" + Guid.NewGuid().ToString("N")[..10];
        await AdminActions.CreateUserAsync(_server.Environment.Engine.Store, TimeProvider.System, name, role, ServerFixture.Password, "admin:test", CancellationToken.None);
        return name;
    }

    [Fact]
    public async Task Login_WithoutCsrfToken_IsRefused()
    {
        using var client = _server.CookieClient(out _);
        var response = await client.PostAsync("/login", new FormUrlEncodedContent(new Dictionary<string, string> { ["user"] = "admin", ["password"] = ServerFixture.Password }));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("CSRF", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CookieSession_UnsafeRequestWithoutCsrfHeader_IsRefused_WithHeader_Succeeds()
    {
        var user = await NewUserAsync(Role.Hr);
        using var client = _server.CookieClient(out var cookies);
        var login = await LoginAsync(client, await TokenAsync(client), user, ServerFixture.Password);
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        var session = cookies.GetCookies(_server.BaseAddress)["deprov.session"];
        Assert.NotNull(session);
        Assert.True(session.HttpOnly);

        var body = new { kind = "leave", personId = "nobody-" + Guid.NewGuid().ToString("N")[..6] };
        var without = await client.PostAsJsonAsync("/api/events", body);
        Assert.Equal(HttpStatusCode.BadRequest, without.StatusCode);
        Assert.Contains("CSRF", await without.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/events") { Content = JsonContent.Create(body) };
        request.Headers.Add(Csrf.HeaderName, await TokenAsync(client, "/events/new"));
        var with = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, with.StatusCode); // parked: the person is unknown
        Assert.Contains("parked", await with.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Login_AfterFiveFailures_IsThrottledEvenWithTheRightPassword()
    {
        var user = await NewUserAsync(Role.Auditor);
        using var client = _server.CookieClient(out _);
        for (var i = 0; i < LoginThrottle.MaxFailures; i++)
        {
            var bad = await LoginAsync(client, await TokenAsync(client), user, "wrong password " + i);
            Assert.Equal(HttpStatusCode.Unauthorized, bad.StatusCode);
        }

        var blocked = await LoginAsync(client, await TokenAsync(client), user, ServerFixture.Password);
        Assert.Equal((HttpStatusCode)429, blocked.StatusCode);
        Assert.True(blocked.Headers.RetryAfter is not null || blocked.Headers.Contains("Retry-After"));
    }

    [Fact]
    public void LoginThrottle_WindowPasses_AllowsAgain()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var throttle = new LoginThrottle(time);
        for (var i = 0; i < LoginThrottle.MaxFailures; i++)
        {
            Assert.Null(throttle.RetryAfter("alice", "10.0.0.1"));
            throttle.Failed("alice", "10.0.0.1");
        }

        Assert.Equal(LoginThrottle.Window, throttle.RetryAfter("ALICE", "10.0.0.2"));
        Assert.Null(throttle.RetryAfter("bob", "10.0.0.1"));
        time.Advance(LoginThrottle.Window);
        Assert.Null(throttle.RetryAfter("alice", "10.0.0.1"));
    }

    [Fact]
    public async Task ApiKey_Revoked_IsRefused_AndRevocationIsAudited()
    {
        using var admin = _server.Client(Role.Admin);
        var created = await admin.PostAsJsonAsync("/api/admin/api-keys", new { name = "temp", role = "auditor" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var key = (await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>());
        var secret = key.GetProperty("secret").GetString()!;
        var id = key.GetProperty("key").GetProperty("id").GetString()!;

        using var client = _server.Client(null);
        client.DefaultRequestHeaders.Authorization = new("Bearer", secret);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/api/stats")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await admin.DeleteAsync($"/api/admin/api-keys/{id}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync("/api/stats")).StatusCode);

        var audit = await admin.GetStringAsync($"/api/audit?action=api_key_revoked");
        Assert.Contains(id, audit, StringComparison.Ordinal);
        var all = await admin.GetStringAsync("/api/audit?limit=1000");
        Assert.DoesNotContain(secret, all, StringComparison.Ordinal);
        Assert.DoesNotContain(secret[4..], all, StringComparison.Ordinal);
    }
}
