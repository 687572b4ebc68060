using Deprov.Connectors.Scim.RateLimiting;
using Deprov.Connectors.Scim.Tests.Support;
using Deprov.Core.Model;
using Deprov.Testing.Scim;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Connectors.Scim.Tests.RateLimiting;

public sealed class AdaptiveRateLimiterTests
{
    [Fact]
    public async Task WaitAsync_Ceiling_SpacesRequestsEvenly()
    {
        var time = new FakeTimeProvider();
        var limiter = new AdaptiveRateLimiter(10, TimeSpan.FromSeconds(30), time);

        await limiter.WaitAsync(default);
        var second = limiter.WaitAsync(default).AsTask();
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.False(second.IsCompleted);
        time.Advance(TimeSpan.FromMilliseconds(1));
        await second;
    }

    [Fact]
    public void OnResponse_429_CutsRateToJustUnderWhatTheServerAccepted()
    {
        var time = new FakeTimeProvider();
        var limiter = new AdaptiveRateLimiter(100, TimeSpan.FromSeconds(30), time);
        // The server accepts 40 per second while we send at 100.
        for (var i = 0; i < 40; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(12.5));
            limiter.OnResponse(200, null, null, null);
        }

        limiter.OnResponse(429, TimeSpan.FromSeconds(1), null, null);

        Assert.InRange(limiter.CurrentRate, 75, 77);
        limiter.OnResponse(429, TimeSpan.FromSeconds(1), null, null);
        Assert.InRange(limiter.CurrentRate, 75, 77);
    }

    [Fact]
    public void OnResponse_QuietSeconds_RaisesRateUpToCeiling()
    {
        var time = new FakeTimeProvider();
        var limiter = new AdaptiveRateLimiter(100, TimeSpan.FromSeconds(30), time);
        time.Advance(TimeSpan.FromSeconds(1));
        limiter.OnResponse(429, null, null, null);
        var cut = limiter.CurrentRate;

        for (var i = 0; i < 200; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            limiter.OnResponse(200, null, null, null);
        }

        Assert.True(cut < 100);
        Assert.Equal(100, limiter.CurrentRate);
    }

    [Fact]
    public async Task OnResponse_LongRetryAfter_PausesEveryone()
    {
        var time = new FakeTimeProvider();
        var limiter = new AdaptiveRateLimiter(null, TimeSpan.FromSeconds(30), time);

        limiter.OnResponse(429, TimeSpan.FromSeconds(10), null, null);
        var waiting = limiter.WaitAsync(default).AsTask();

        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1.1));
        await waiting;
    }

    [Fact]
    public async Task OnResponse_QuotaExhaustedHeaders_PausesUntilReset()
    {
        var time = new FakeTimeProvider(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000));
        var limiter = new AdaptiveRateLimiter(null, TimeSpan.FromSeconds(120), time);

        limiter.OnResponse(200, null, 0, DateTimeOffset.FromUnixTimeSeconds(1_700_000_060));
        var waiting = limiter.WaitAsync(default).AsTask();

        time.Advance(TimeSpan.FromSeconds(59));
        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1.1));
        await waiting;
    }

    [Fact]
    public async Task ExecuteAsync_ServerEnforcingRate_AllSucceedWithFew429s()
    {
        await using var server = await ScimTestServer.StartAsync();
        var ids = Enumerable.Range(0, 120).Select(i => server.AddUser(ScimTest.Unique($"r{i}"))).ToList();
        // The documented limit (our ceiling) is twice what the server grants: the limiter has to learn the real one.
        using var connector = ScimTest.Connect(server, configure: s => s["rate_limit_per_second"] = "200");
        await foreach (var _ in connector.DiscoverAsync(new(null), default))
        {
        }

        server.Faults.EnforceRate(100, 10);
        using var gate = new SemaphoreSlim(8);
        await Task.WhenAll(ids.Select(async id =>
        {
            await gate.WaitAsync();
            try
            {
                await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);
            }
            finally
            {
                gate.Release();
            }
        }));

        Assert.All(ids, id => Assert.False(server.IsActive(id)));
        Assert.True(connector.Limiter.CurrentRate < 200, $"rate {connector.Limiter.CurrentRate} was not learned");
        Assert.InRange(server.Faults.Answered429, 1, 40);
    }

    [Fact]
    public async Task ExecuteAsync_OktaStyleQuotaHeaders_WaitsForResetInsteadOfHitting429()
    {
        await using var server = await ScimTestServer.StartAsync();
        var ids = Enumerable.Range(0, 8).Select(i => server.AddUser(ScimTest.Unique($"q{i}"))).ToList();
        using var connector = ScimTest.Connect(server);
        await foreach (var _ in connector.DiscoverAsync(new(null), default))
        {
        }

        server.Faults.EnforceQuota(5, TimeSpan.FromSeconds(1));
        foreach (var id in ids)
        {
            await connector.ExecuteAsync(ScimTest.Action(ActionKind.DisableAccount, id), default);
        }

        Assert.All(ids, id => Assert.False(server.IsActive(id)));
        Assert.Equal(0, server.Faults.Answered429);
    }
}
