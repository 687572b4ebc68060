using Deprov.Connectors.Okta.Tests.Fake;
using Deprov.Connectors.Okta.Tests.Support;
using Deprov.Core.Model;

namespace Deprov.Connectors.Okta.Tests;

/// <summary>
/// Okta's per-minute window, shrunk to a second so the test runs in seconds: the shared AdaptiveRateLimiter reads
/// <c>X-Rate-Limit-Remaining: 0</c> and waits until <c>X-Rate-Limit-Reset</c> instead of spending requests on 429s.
/// </summary>
public sealed class OktaRateLimitTests
{
    [Fact]
    public async Task ExecuteAsync_BurstOfDisablesAgainstSmallWindow_FinishesWithoutA429()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ids = Enumerable.Range(0, 10).Select(i => server.AddUser(OktaTest.Unique($"q{i}"))).ToList();
        using var connector = OktaTest.Connect(server);
        // Each disable is two requests (read, suspend): 20 requests through a window of 8.
        server.Faults.EnforceQuota(8, TimeSpan.FromSeconds(1));

        foreach (var id in ids)
        {
            await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default);
        }

        Assert.All(ids, id => Assert.Equal("SUSPENDED", server.StatusOf(id)));
        Assert.Equal(0, server.Faults.Answered429);
    }

    [Fact]
    public async Task ExecuteAsync_ConcurrentBurstAgainstSmallWindow_AllSucceedWithFew429s()
    {
        await using var server = await OktaFakeServer.StartAsync();
        var ids = Enumerable.Range(0, 12).Select(i => server.AddUser(OktaTest.Unique($"c{i}"))).ToList();
        using var connector = OktaTest.Connect(server);
        server.Faults.EnforceQuota(10, TimeSpan.FromSeconds(1));
        using var gate = new SemaphoreSlim(3);

        await Task.WhenAll(ids.Select(async id =>
        {
            await gate.WaitAsync();
            try
            {
                await connector.ExecuteAsync(OktaTest.Action(ActionKind.DisableAccount, id), default);
            }
            finally
            {
                gate.Release();
            }
        }));

        Assert.All(ids, id => Assert.Equal("SUSPENDED", server.StatusOf(id)));
        // When a window runs out, the other requests already in flight (concurrency - 1) may draw a 429 each; nothing
        // more: 24 requests through windows of 10 run two windows out. And those 429s mean "the window is used up", not
        // "too fast": the pace is not cut, so later windows run at full speed.
        const int windowsRunOut = ((12 * 2) - 1) / 10;
        Assert.InRange(server.Faults.Answered429, 0, windowsRunOut * (3 - 1));
        Assert.True(double.IsPositiveInfinity(connector.Limiter.CurrentRate), $"pace cut to {connector.Limiter.CurrentRate}/s");
    }
}
