using Polly;

namespace Deprov.Connectors.Scim.RateLimiting;

/// <summary>
/// Puts every attempt (retries included) through the system's <see cref="AdaptiveRateLimiter"/>: waits for the
/// attempt's slot, then lets the limiter learn from the answer. A strategy inside the one resilience pipeline, between
/// retry and the attempt timeout (so waiting for a slot does not count against the attempt), instead of a handler of
/// its own: one pipeline per request costs less than two.
/// </summary>
internal sealed class PacingStrategy(AdaptiveRateLimiter limiter) : ResilienceStrategy<HttpResponseMessage>
{
    protected override ValueTask<Outcome<HttpResponseMessage>> ExecuteCore<TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback, ResilienceContext context, TState state)
    {
        var slot = limiter.WaitAsync(context.CancellationToken);
        if (!slot.IsCompletedSuccessfully)
        {
            return WaitThenSendAsync(slot, callback, context, state);
        }

        var attempt = callback(context, state);
        if (attempt.IsCompletedSuccessfully)
        {
            // Take the result once and hand on a fresh ValueTask: one backed by a pooled source may be consumed only once.
            var outcome = attempt.Result;
            Learn(outcome);
            return new ValueTask<Outcome<HttpResponseMessage>>(outcome);
        }

        return LearnAsync(attempt);
    }

    private async ValueTask<Outcome<HttpResponseMessage>> WaitThenSendAsync<TState>(
        ValueTask slot, Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback, ResilienceContext context, TState state)
    {
        try
        {
            await slot;
        }
        catch (OperationCanceledException e)
        {
            // Polly strategies report failures as outcomes; the pipeline rethrows it to the caller.
            return Outcome.FromException<HttpResponseMessage>(e);
        }

        var outcome = await callback(context, state);
        Learn(outcome);
        return outcome;
    }

    private async ValueTask<Outcome<HttpResponseMessage>> LearnAsync(ValueTask<Outcome<HttpResponseMessage>> attempt)
    {
        var outcome = await attempt;
        Learn(outcome);
        return outcome;
    }

    private void Learn(Outcome<HttpResponseMessage> outcome)
    {
        if (outcome.Result is { } response)
        {
            limiter.OnResponse((int)response.StatusCode, response.Headers);
        }
    }
}

/// <summary>Options for <see cref="PacingStrategy"/>; the limiter itself carries the settings.</summary>
internal sealed class PacingStrategyOptions : ResilienceStrategyOptions
{
    public PacingStrategyOptions() => Name = "Pacing";
}
