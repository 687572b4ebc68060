using System.Threading.RateLimiting;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Policy;
using Deprov.Hosting.Configuration;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Deprov.Hosting.Execution;

/// <summary>One connected system at run time: its connector, how many calls may be in flight, and the retry pipeline.</summary>
public sealed class SystemRuntime : IAsyncDisposable
{
    /// <summary>Retry notes for the audit trail, collected per execution.</summary>
    internal static readonly ResiliencePropertyKey<List<string>> RetryNotes = new("deprov.retries");

    /// <summary>The rate-limit waits the step being executed has used and may still use.</summary>
    internal static readonly ResiliencePropertyKey<RateLimitBudget> RateLimits = new("deprov.rate-limits");

    private readonly RateLimiter? _rateLimiter;
    private readonly TimeProvider _time;
    private long _pausedUntilTicks = DateTimeOffset.MinValue.UtcTicks;

    public SystemRuntime(SystemConfig config, IConnector connector, ExecutionPolicy policy, TimeProvider time, TimeSpan callTimeout)
    {
        Config = config;
        _time = time;
        Connector = connector;
        Descriptor = connector.Describe();
        Gate = new SemaphoreSlim(config.Concurrency, config.Concurrency);
        var builder = new ResiliencePipelineBuilder { TimeProvider = time, Name = config.System.Id };

        // Two retries, outermost first. Failures (transient errors) are retried with backoff up to max_attempts; a
        // rate-limited answer is the system pacing us, not a failure: the inner retry waits it out and tries again
        // without using one of those attempts (and without growing their backoff), up to max_rate_limit_waits per step.
        // max_attempts: 1 means no inline retry (Polly refuses a retry strategy of zero retries).
        if (policy.MaxAttempts > 1)
        {
            AddFailureRetry(builder, policy);
        }

        AddRateLimitRetry(builder, policy);
        builder.AddTimeout(callTimeout);
        if (config.RateLimitPerSecond > 0)
        {
            var period = TimeSpan.FromMilliseconds(Math.Max(10, 1000 / config.RateLimitPerSecond));
            var perPeriod = Math.Max(1, (int)Math.Round(config.RateLimitPerSecond * period.TotalSeconds));
            _rateLimiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
            {
                TokenLimit = perPeriod,
                TokensPerPeriod = perPeriod,
                ReplenishmentPeriod = period,
                QueueLimit = int.MaxValue,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
                AutoReplenishment = true,
            });
            builder.AddRateLimiter(_rateLimiter);
        }

        Pipeline = builder.Build();
    }

    private void AddFailureRetry(ResiliencePipelineBuilder builder, ExecutionPolicy policy) =>
        builder.AddRetry(new RetryStrategyOptions
        {
            // A Retry-After longer than the inline limit is not waited for here: the step is rescheduled durably.
            ShouldHandle = new PredicateBuilder()
                .Handle<ConnectorException>(e => e.IsTransient && !e.IsRateLimited && (e.RetryAfter is null || e.RetryAfter <= policy.MaxDelay))
                .Handle<TimeoutRejectedException>(),
            MaxRetryAttempts = Math.Max(0, policy.MaxAttempts - 1),
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = policy.BaseDelay,
            MaxDelay = policy.MaxDelay,
            DelayGenerator = static args => ValueTask.FromResult(args.Outcome.Exception is ConnectorException { RetryAfter: { } ra } ? (TimeSpan?)ra : null),
            OnRetry = args =>
            {
                if (args.Outcome.Exception is ConnectorException { RetryAfter: { } wait })
                {
                    PauseFor(wait); // the system asked everyone to wait, not just this caller
                }

                if (args.Context.Properties.TryGetValue(RetryNotes, out var notes))
                {
                    notes.Add($"attempt {args.AttemptNumber + 1} failed ({args.Outcome.Exception?.Message}); retried after {args.RetryDelay.TotalMilliseconds:0} ms");
                }

                return default;
            },
        });

    private void AddRateLimitRetry(ResiliencePipelineBuilder builder, ExecutionPolicy policy) =>
        builder.AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = args => ValueTask.FromResult(
                args.Outcome.Exception is ConnectorException { IsRateLimited: true, RetryAfter: { } ra } && ra <= policy.MaxDelay
                && (!args.Context.Properties.TryGetValue(RateLimits, out var budget) || budget.CanWait)),
            // Per execution; the step's budget (checked above) is what bounds a step across its calls and claims.
            MaxRetryAttempts = policy.MaxRateLimitWaits,
            DelayGenerator = static args => ValueTask.FromResult(args.Outcome.Exception is ConnectorException { RetryAfter: { } ra } ? (TimeSpan?)ra : null),
            OnRetry = args =>
            {
                var wait = args.RetryDelay;
                PauseFor(wait); // the system asked everyone to wait, not just this caller
                var budget = args.Context.Properties.TryGetValue(RateLimits, out var b) ? b : null;
                budget?.Spend();
                if (args.Context.Properties.TryGetValue(RetryNotes, out var notes))
                {
                    var count = budget is null ? string.Empty : $" {budget.Used} of {budget.Cap}";
                    notes.Add($"rate limited ({args.Outcome.Exception?.Message}); waited {wait.TotalMilliseconds:0} ms as asked (rate-limit wait{count}, not an attempt)");
                }

                return default;
            },
        });

    public SystemConfig Config { get; }

    /// <summary>When the system last asked us to back off (Retry-After), every call waits until then.</summary>
    public DateTimeOffset PausedUntil => new(Interlocked.Read(ref _pausedUntilTicks), TimeSpan.Zero);

    public void PauseFor(TimeSpan wait)
    {
        var until = _time.GetUtcNow().Add(wait).UtcTicks;
        long current;
        do
        {
            current = Interlocked.Read(ref _pausedUntilTicks);
            if (current >= until)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _pausedUntilTicks, until, current) != current);
    }

    /// <summary>Waits while the system is paused by a Retry-After.</summary>
    public async ValueTask WaitIfPausedAsync(CancellationToken cancellationToken)
    {
        var wait = PausedUntil - _time.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait, _time, cancellationToken);
        }
    }

    public IConnector Connector { get; }

    public ConnectorDescriptor Descriptor { get; }

    /// <summary>Limits the calls in flight to this system.</summary>
    public SemaphoreSlim Gate { get; }

    public ResiliencePipeline Pipeline { get; }

    public async ValueTask DisposeAsync()
    {
        Gate.Dispose();
        if (_rateLimiter is not null)
        {
            await _rateLimiter.DisposeAsync();
        }

        switch (Connector)
        {
            case IAsyncDisposable ad:
                await ad.DisposeAsync();
                break;
            case IDisposable d:
                d.Dispose();
                break;
        }
    }
}
