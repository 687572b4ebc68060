using Deprov.Connectors.Http.RateLimiting;
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

        // Every second the requests go out at the current pace and all are accepted.
        for (var i = 0; i < 200; i++)
        {
            var n = (int)Math.Ceiling(limiter.CurrentRate);
            for (var j = 0; j < n; j++)
            {
                time.Advance(TimeSpan.FromSeconds(1.0 / n));
                limiter.OnResponse(200, null, null, null);
            }
        }

        Assert.True(cut < 100);
        Assert.Equal(100, limiter.CurrentRate);
    }

    [Fact]
    public void OnResponse_QuietSecondsWithoutDemand_DoNotRaiseRate()
    {
        var time = new FakeTimeProvider();
        var limiter = new AdaptiveRateLimiter(100, TimeSpan.FromSeconds(30), time);
        for (var i = 0; i < 40; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(12.5));
            limiter.OnResponse(200, null, null, null);
        }

        limiter.OnResponse(429, null, null, null);
        var cut = limiter.CurrentRate;
        Assert.InRange(cut, 75, 77);

        // One request a second: nothing says the server would take the pace it was cut from.
        for (var i = 0; i < 30; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            limiter.OnResponse(200, null, null, null);
        }

        Assert.Equal(cut, limiter.CurrentRate);
    }

    [Fact]
    public async Task OnResponse_429ToRequestPacedBeforeCut_IsNotCutAgain()
    {
        var time = new FakeTimeProvider();
        var limiter = new AdaptiveRateLimiter(100, TimeSpan.FromSeconds(30), time);
        await limiter.WaitAsync(default, out var before);
        for (var i = 0; i < 40; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(12.5));
            limiter.OnResponse(200, null, null, null, before);
        }

        limiter.OnResponse(429, TimeSpan.FromSeconds(1), null, null, before);
        var cut = limiter.CurrentRate;
        Assert.True(limiter.IsStale(before));

        // The requests queued at the old pace come back rejected well after the cut: old news.
        for (var i = 0; i < 30; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(50));
            limiter.OnResponse(429, TimeSpan.FromSeconds(1), null, null, before);
        }

        Assert.Equal(cut, limiter.CurrentRate);
    }

    [Fact]
    public async Task OnResponse_GrossShareOf429sAtNewPace_CutsAgainAtOnce()
    {
        var time = new FakeTimeProvider();
        var limiter = new AdaptiveRateLimiter(400, TimeSpan.FromSeconds(30), time);
        for (var i = 0; i < 200; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(2.5));
            limiter.OnResponse(200, null, null, null);
        }

        limiter.OnResponse(429, TimeSpan.FromSeconds(1), null, null);
        Assert.InRange(limiter.CurrentRate, 375, 381);

        // At the new pace the server still accepts only half: 10 accepted, 10 rejected within 60 ms of the cut.
        await limiter.WaitAsync(default, out var generation);
        for (var i = 0; i < 10; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(3));
            limiter.OnResponse(200, null, null, null, generation);
            limiter.OnResponse(429, TimeSpan.FromSeconds(1), null, null, generation);
        }

        Assert.InRange(limiter.CurrentRate, 170, 190);
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
