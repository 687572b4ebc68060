using Deprov.Connectors.Http.RateLimiting;
using Microsoft.Extensions.Time.Testing;

namespace Deprov.Connectors.Okta.Tests.RateLimiting;

/// <summary>The <see cref="AdaptiveRateLimiter.WindowQuota"/> option the Okta connector turns on.</summary>
public sealed class WindowQuotaTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeSeconds(1_700_000_000);

    [Fact]
    public async Task OnResponse_WindowQuota429WithReset_PausesUntilResetWithoutCuttingThePace()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = new AdaptiveRateLimiter(null, TimeSpan.FromSeconds(120), time) { WindowQuota = true };

        limiter.OnResponse(429, null, 0, Start.AddSeconds(30));
        var waiting = limiter.WaitAsync(default).AsTask();

        Assert.True(double.IsPositiveInfinity(limiter.CurrentRate));
        time.Advance(TimeSpan.FromSeconds(30.1));
        Assert.False(waiting.IsCompleted);
        time.Advance(AdaptiveRateLimiter.WindowResetMargin);
        await waiting;
    }

    [Fact]
    public async Task OnResponse_WindowQuotaRemainingZero_PausesUntilResetAndTheMargin()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = new AdaptiveRateLimiter(null, TimeSpan.FromSeconds(120), time) { WindowQuota = true };

        limiter.OnResponse(200, null, 0, Start.AddSeconds(10));
        var waiting = limiter.WaitAsync(default).AsTask();

        time.Advance(TimeSpan.FromSeconds(10.1));
        Assert.False(waiting.IsCompleted);
        time.Advance(AdaptiveRateLimiter.WindowResetMargin);
        await waiting;
    }

    [Fact]
    public async Task OnResponse_WindowQuota429WithResetAlreadyPast_PausesOneSecond()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = new AdaptiveRateLimiter(null, TimeSpan.FromSeconds(120), time) { WindowQuota = true };

        limiter.OnResponse(429, null, 0, Start.AddSeconds(-5));
        var waiting = limiter.WaitAsync(default).AsTask();

        Assert.False(waiting.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1.1));
        await waiting;
    }

    [Fact]
    public void OnResponse_WindowQuota429WithoutQuotaHeaders_CutsThePaceAsBefore()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = new AdaptiveRateLimiter(null, TimeSpan.FromSeconds(120), time) { WindowQuota = true };

        limiter.OnResponse(429, null, null, null);

        Assert.False(double.IsPositiveInfinity(limiter.CurrentRate));
    }

    [Fact]
    public void OnResponse_DefaultOptions429WithReset_StillCutsThePace()
    {
        var time = new FakeTimeProvider(Start);
        var limiter = new AdaptiveRateLimiter(null, TimeSpan.FromSeconds(120), time);

        limiter.OnResponse(429, null, 0, Start.AddSeconds(30));

        Assert.False(limiter.WindowQuota);
        Assert.False(double.IsPositiveInfinity(limiter.CurrentRate));
    }
}
