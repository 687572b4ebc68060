using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Deprov.Connectors.Sandbox;
using Deprov.Core.Security;
using Deprov.Core.Store;
using Deprov.Hosting;
using Deprov.Hosting.Hooks;
using Deprov.Server.Endpoints;
using Deprov.Testing;
using Microsoft.Extensions.Logging;

namespace Deprov.Server.Tests.Endpoints;

/// <summary>
/// A server started while another process holds the store's worker lock (a CLI command, here a real held lock on the
/// same file) says so — <c>/ready</c> 503 while accepted events wait, the status counts them, the 202 does not promise
/// planning — and becomes the worker when the lock is let go.
/// </summary>
public sealed class WorkerLockTests
{
    private const string Secret = "worker-lock-test-secret";

    private static HttpRequestMessage Signed(string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var at = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, "/hooks/hr") { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = new("application/json");
        request.Headers.Add("Deprov-Signature", $"t={at},v1={WebhookSignature.Sign(Secret, at, bytes)}");
        return request;
    }

    [Fact]
    public async Task Serve_StartedWhileTheLockIsHeld_WaitsVisiblyThenBecomesTheWorkerWhenItIsReleased()
    {
        await using var env = await TestEnvironment.CreateAsync();
        var company = await env.SeedCompanyAsync(people: 6);
        var person = company.People[2].Id;
        var held = DeprovHost.TryAcquireWorkerLock(env.Engine.Config);
        Assert.NotNull(held);
        var port = FreePort.Next();
        var app = await DeprovServer.BuildAsync(new ServerOptions
        {
            ConfigPath = env.ConfigPath,
            Urls = $"http://127.0.0.1:{port}",
            Factories = [new SandboxConnectorFactory()],
            Announce = _ => { },
            LogLevel = LogLevel.Warning,
            Hooks = new HookSecrets { Hr = [Secret] },
            WorkerLockRetry = TimeSpan.FromMilliseconds(50),
        }, CancellationToken.None);
        try
        {
            await app.StartAsync();
            var (_, key) = await AdminActions.CreateApiKeyAsync(env.Engine.Store, TimeProvider.System, "status", Role.Auditor, "admin:test", CancellationToken.None);
            using var anonymous = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            using var auditor = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            auditor.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

            using (var ready = await anonymous.GetAsync(new Uri("/ready", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode); // nothing waits yet
            }

            using (var accepted = await anonymous.SendAsync(Signed($"{{\"id\":\"hris-{Guid.NewGuid():N}\",\"type\":\"leave\",\"person\":\"{person}\",\"reason\":\"voluntary\"}}")))
            {
                Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
                var message = JsonDocument.Parse(await accepted.Content.ReadAsStringAsync()).RootElement.GetProperty("message").GetString()!;
                Assert.DoesNotContain("plans it now", message, StringComparison.Ordinal);
                Assert.Contains("not the worker", message, StringComparison.Ordinal);
            }

            using (var ready = await anonymous.GetAsync(new Uri("/ready", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
                var body = await ready.Content.ReadAsStringAsync();
                Assert.Contains("wait for a worker", body, StringComparison.Ordinal);
                Assert.DoesNotContain(person, body, StringComparison.Ordinal);
            }

            using (var stats = await auditor.GetAsync(new Uri("/api/stats", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, stats.StatusCode);
                var root = JsonDocument.Parse(await stats.Content.ReadAsStringAsync()).RootElement;
                Assert.Equal(1, root.GetProperty("unplanned").GetProperty("count").GetInt32());
                Assert.NotEqual(JsonValueKind.Null, root.GetProperty("unplanned").GetProperty("since").ValueKind);
                Assert.False(root.GetProperty("worker").GetBoolean());
            }

            Assert.Empty(await env.Engine.Store.ListCasesAsync(new CaseQuery(person), CancellationToken.None));

            // The holder exits: the server takes the lock over and plans what waited. No sleep: poll the condition, bounded.
            held.Dispose();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            while ((await env.Engine.Store.ListCasesAsync(new CaseQuery(person), timeout.Token)).Count == 0)
            {
                await Task.Yield();
            }

            using (var ready = await anonymous.GetAsync(new Uri("/ready", UriKind.Relative)))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            }

            using (var stats = await auditor.GetAsync(new Uri("/api/stats", UriKind.Relative)))
            {
                var root = JsonDocument.Parse(await stats.Content.ReadAsStringAsync()).RootElement;
                Assert.True(root.GetProperty("worker").GetBoolean());
                Assert.Equal(0, root.GetProperty("unplanned").GetProperty("count").GetInt32());
            }
        }
        finally
        {
            held.Dispose();
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
