namespace Deprov.Connectors.Scim.RateLimiting;

/// <summary>Puts every attempt (retries included) through the system's <see cref="AdaptiveRateLimiter"/>.</summary>
internal sealed class RateLimitHandler(AdaptiveRateLimiter limiter) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await limiter.WaitAsync(cancellationToken);
        var response = await base.SendAsync(request, cancellationToken);
        limiter.OnResponse((int)response.StatusCode, response.Headers);
        return response;
    }
}
