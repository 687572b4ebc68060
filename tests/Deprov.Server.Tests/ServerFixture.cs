using System.Net.Http.Headers;
using Deprov.Connectors.Sandbox;
using Deprov.Core.Security;
using Deprov.Server;
using Deprov.Server.Endpoints;
using Deprov.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Deprov.Server.Tests;

/// <summary>
/// One real server per collection: Kestrel on a free loopback port, a temp <c>deprov.yaml</c> on sandbox systems with a
/// seeded company, a user and an API key per role. Tests create their own users and events so they don't depend on each other.
/// </summary>
public class ServerFixture : IAsyncLifetime
{
    public const string Password = "correct horse battery staple";

    public const string HookSecret = "hook-secret-for-tests";

    public const string BambooKey = "bamboo-key-for-tests";

    public const string Policy = """
        policy:
          tasks:
            manual:
              - { name: exit-checklist, title: Exit checklist, team: hr, when: { event: [leave] } }
        """;

    private TestEnvironment? _env;

    /// <summary>The policy of this fixture's server.</summary>
    protected virtual string PolicyYaml => Policy;

    public WebApplication App { get; private set; } = null!;

    public Uri BaseAddress { get; private set; } = null!;

    public string SetupAnnouncement { get; private set; } = string.Empty;

    public Dictionary<Role, string> Keys { get; } = [];

    public SandboxCompany.Company Company { get; private set; } = null!;

    public TestEnvironment Environment => _env!;

    public async Task InitializeAsync()
    {
        _env = await TestEnvironment.CreateAsync(policy: PolicyYaml);
        Company = await _env.SeedCompanyAsync(people: 40);
        var port = FreePort.Next();
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
        App = await DeprovServer.BuildAsync(new ServerOptions
        {
            ConfigPath = _env.ConfigPath,
            Urls = BaseAddress.ToString().TrimEnd('/'),
            Factories = [new SandboxConnectorFactory()],
            Announce = s => SetupAnnouncement = s,
            LogLevel = LogLevel.Warning,
            Hooks = new HookSecrets { Hr = [HookSecret], BambooHr = [BambooKey] },
        }, CancellationToken.None);
        await App.StartAsync();
        foreach (var role in Enum.GetValues<Role>())
        {
            await AdminActions.CreateUserAsync(_env.Engine.Store, TimeProvider.System, role.ToString().ToLowerInvariant(), role, Password, "admin:fixture", CancellationToken.None);
            var (_, secret) = await AdminActions.CreateApiKeyAsync(_env.Engine.Store, TimeProvider.System, "test " + role, role, "admin:fixture", CancellationToken.None);
            Keys[role] = secret;
        }
    }

    /// <summary>A client that authenticates with the API key of <paramref name="role"/> (null: anonymous). No redirects followed.</summary>
    public HttpClient Client(Role? role)
    {
        var c = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(60) };
        if (role is { } r)
        {
            c.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Keys[r]);
        }

        return c;
    }

    /// <summary>A browser-like client: cookies, no redirects.</summary>
    public HttpClient CookieClient(out System.Net.CookieContainer cookies)
    {
        cookies = new System.Net.CookieContainer();
        return new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, CookieContainer = cookies }) { BaseAddress = BaseAddress };
    }

    public async Task DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        if (_env is not null)
        {
            await _env.DisposeAsync();
        }
    }
}

/// <summary>
/// A server of its own for the fuzz tests: thousands of leave events would trip the safety brake of the shared server
/// and pause other tests' cases.
/// </summary>
public sealed class FuzzServerFixture : ServerFixture
{
    protected override string PolicyYaml => "policy:\n  safety_brake: { enabled: false }\n";
}

[CollectionDefinition(Name)]
public sealed class FuzzServerCollection : ICollectionFixture<FuzzServerFixture>
{
    public const string Name = "fuzz-server";
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
