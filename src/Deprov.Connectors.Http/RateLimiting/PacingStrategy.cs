using Polly;

namespace Deprov.Connectors.Http.RateLimiting;

/// <summary>
/// Puts every attempt (retries included) through the system's <see cref="AdaptiveRateLimiter"/>: waits for the
/// attempt's slot, then lets the limiter learn from the answer. A strategy inside the one resilience pipeline, between
/// retry and the attempt timeout (so waiting for a slot does not count against the attempt), instead of a handler of
/// its own: one pipeline per request costs less than two.
/// </summary>
public sealed class PacingStrategy(AdaptiveRateLimiter limiter) : ResilienceStrategy<HttpResponseMessage>
{
    protected override ValueTask<Outcome<HttpResponseMessage>> ExecuteCore<TState>(
        Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback, ResilienceContext context, TState state)
    {
        var slot = limiter.WaitAsync(context.CancellationToken, out var generation);
        if (!slot.IsCompletedSuccessfully)
        {
            return WaitThenSendAsync(slot, generation, callback, context, state);
        }

        var attempt = callback(context, state);
        if (attempt.IsCompletedSuccessfully)
        {
            // Take the result once and hand on a fresh ValueTask: one backed by a pooled source may be consumed only once.
            var outcome = attempt.Result;
            Learn(outcome, generation);
            return new ValueTask<Outcome<HttpResponseMessage>>(outcome);
        }

        return LearnAsync(attempt, generation);
    }

    private async ValueTask<Outcome<HttpResponseMessage>> WaitThenSendAsync<TState>(
        ValueTask slot, int generation, Func<ResilienceContext, TState, ValueTask<Outcome<HttpResponseMessage>>> callback, ResilienceContext context, TState state)
    {
        try
        {
            await slot;
            while (limiter.IsStale(generation))
            {
                // The rate was cut while this request waited: its slot was given at a pace the server refuses. Ask
                // for a slot at the new pace instead of adding to the overshoot the cut is correcting.
                await limiter.WaitAsync(context.CancellationToken, out generation);
            }
        }
        catch (OperationCanceledException e)
        {
            // Polly strategies report failures as outcomes; the pipeline rethrows it to the caller.
            return Outcome.FromException<HttpResponseMessage>(e);
        }

        var outcome = await callback(context, state);
        Learn(outcome, generation);
        return outcome;
    }

    private async ValueTask<Outcome<HttpResponseMessage>> LearnAsync(ValueTask<Outcome<HttpResponseMessage>> attempt, int generation)
    {
        var outcome = await attempt;
        Learn(outcome, generation);
        return outcome;
    }

    private void Learn(Outcome<HttpResponseMessage> outcome, int generation)
    {
        if (outcome.Result is { } response)
        {
            limiter.OnResponse((int)response.StatusCode, response.Headers, generation);
        }
    }
}

/// <summary>Options for <see cref="PacingStrategy"/>; the limiter itself carries the settings.</summary>
public sealed class PacingStrategyOptions : ResilienceStrategyOptions
{
    public PacingStrategyOptions() => Name = "Pacing";
}
