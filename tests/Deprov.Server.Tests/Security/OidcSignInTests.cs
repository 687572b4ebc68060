using System.Net;
using Deprov.Connectors.Sandbox;
using Deprov.Server.Security;
using Deprov.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Deprov.Server.Tests.Security;

/// <summary>A server configured for OpenID Connect against <see cref="FakeOidcProvider"/>, both on loopback.</summary>
public sealed class OidcFixture : IAsyncLifetime
{
    private TestEnvironment? _env;

    public FakeOidcProvider Provider { get; private set; } = null!;

    public WebApplication App { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Provider = await FakeOidcProvider.StartAsync();
        _env = await TestEnvironment.CreateAsync();
        BaseAddress = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        App = await DeprovServer.BuildAsync(new ServerOptions
        {
            ConfigPath = _env.ConfigPath,
            Urls = BaseAddress.ToString().TrimEnd('/'),
            Factories = [new SandboxConnectorFactory()],
            Announce = _ => { },
            LogLevel = LogLevel.Warning,
            RunWorker = false,
            Oidc = new OidcSettings(Provider.Issuer.ToString().TrimEnd('/'), FakeOidcProvider.ClientId, FakeOidcProvider.ClientSecret),
        }, CancellationToken.None);
        await App.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        if (_env is not null)
        {
            await _env.DisposeAsync();
        }

        await Provider.DisposeAsync();
    }
}

public sealed class OidcSignInTests : IClassFixture<OidcFixture>
{
    private readonly OidcFixture _fixture;

    public OidcSignInTests(OidcFixture fixture) => _fixture = fixture;

    private sealed record SignIn(HttpResponseMessage Callback, HttpClient Browser, CookieContainer Cookies);

    /// <summary>What a browser does: start at the console, follow the redirect to the provider, come back to the callback.</summary>
    private async Task<SignIn> SignInAsync(FakeOidcProvider.TokenShape shape)
    {
        _fixture.Provider.Next = shape;
        var cookies = new CookieContainer();
        var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies }) { BaseAddress = _fixture.BaseAddress };
        var challenge = await browser.GetAsync("/login/oidc");
        Assert.Equal(HttpStatusCode.Redirect, challenge.StatusCode);
        var authorize = challenge.Headers.Location!;
        Assert.StartsWith(_fixture.Provider.Issuer + "authorize?", authorize.ToString(), StringComparison.Ordinal);
        Assert.Contains("code_challenge_method=S256", authorize.Query, StringComparison.Ordinal);
        Assert.Contains("nonce=", authorize.Query, StringComparison.Ordinal);

        var back = await browser.GetAsync(authorize);
        Assert.Equal(HttpStatusCode.Redirect, back.StatusCode);
        var callback = back.Headers.Location!;
        Assert.Equal("/signin-oidc", callback.AbsolutePath);
        return new SignIn(await browser.GetAsync(callback), browser, cookies);
    }

    [Fact]
    public async Task SignIn_ValidToken_CreatesSessionWithTheMappedRole()
    {
        var verifiedBefore = _fixture.Provider.PkceVerified;
        var signIn = await SignInAsync(new FakeOidcProvider.TokenShape(Roles: ["staff", "deprov-auditor"], UserName: "ann@example.com"));
        using var browser = signIn.Browser;

        Assert.Equal(HttpStatusCode.Redirect, signIn.Callback.StatusCode);
        Assert.NotNull(signIn.Cookies.GetCookies(_fixture.BaseAddress)["deprov.session"]);

        // The redirect chain ends on a same-site page whose refresh reaches the console (a SameSite=Strict cookie is not
        // sent on the cross-site chain itself).
        Assert.Equal("/login/oidc/done", signIn.Callback.Headers.Location!.OriginalString);
        var done = await browser.GetAsync("/login/oidc/done");
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Contains("http-equiv=\"refresh\" content=\"0;url=/\"", await done.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(verifiedBefore + 1, _fixture.Provider.PkceVerified);

        // Auditor: reads, but may not operate or administer.
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/api/people")).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync("/api/admin/users")).StatusCode);
    }

    [Fact]
    public async Task SignIn_HrRole_MayNotReadPeople()
    {
        var signIn = await SignInAsync(new FakeOidcProvider.TokenShape(Roles: ["hr"]));
        using var browser = signIn.Browser;
        Assert.Equal(HttpStatusCode.Redirect, signIn.Callback.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await browser.GetAsync("/api/people")).StatusCode);
    }

    public static TheoryData<string> Refusals() => ["wrong issuer", "wrong audience", "expired", "wrong nonce", "no role"];

    [Theory]
    [MemberData(nameof(Refusals))]
    public async Task SignIn_BadToken_IsRefusedWithoutSession(string problem)
    {
        var good = new FakeOidcProvider.TokenShape(Roles: ["admin"]);
        var shape = problem switch
        {
            "wrong issuer" => good with { Issuer = "http://127.0.0.1:1/not-the-provider" },
            "wrong audience" => good with { Audience = "some-other-client" },
            "expired" => good with { ExpiresIn = TimeSpan.FromMinutes(-10) }, // beyond the 5 min clock skew
            "wrong nonce" => good with { Nonce = "a-nonce-this-browser-never-sent" },
            "no role" => good with { Roles = null },
            _ => throw new ArgumentOutOfRangeException(nameof(problem)),
        };

        var signIn = await SignInAsync(shape);
        using var browser = signIn.Browser;
        Assert.Equal(HttpStatusCode.Unauthorized, signIn.Callback.StatusCode);
        Assert.Contains("Sign-in refused", await signIn.Callback.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null(signIn.Cookies.GetCookies(_fixture.BaseAddress)["deprov.session"]);
        Assert.Equal(HttpStatusCode.Unauthorized, (await browser.GetAsync("/api/people")).StatusCode);
    }
}
