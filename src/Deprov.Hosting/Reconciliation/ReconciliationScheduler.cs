using Deprov.Hosting.Execution;
using Microsoft.Extensions.Logging;

namespace Deprov.Hosting.Reconciliation;

/// <summary>
/// Runs scheduled discoveries inside the worker: each system with a <c>reconciliation.schedule</c> interval is
/// reconciled when its last discovery (stored, so a restart does not re-run everything) is that old. Time comes from the
/// engine's <see cref="TimeProvider"/>.
/// </summary>
public sealed class ReconciliationScheduler
{
    private readonly DeprovEngine _engine;
    private readonly ILogger _logger;

    public ReconciliationScheduler(DeprovEngine engine, ILogger logger)
    {
        _engine = engine;
        _logger = logger;
    }

    /// <summary>Reconciles due systems; returns when the next one is due (null when no system has a schedule).</summary>
    public async Task<DateTimeOffset?> RunDueAsync(CancellationToken cancellationToken)
    {
        var now = _engine.Time.GetUtcNow();
        var due = new List<string>();
        DateTimeOffset? next = null;
        foreach (var s in _engine.Config.Systems)
        {
            var every = _engine.Config.Reconciliation.ScheduleFor(s.System.Id);
            if (every <= TimeSpan.Zero)
            {
                continue;
            }

            var last = await _engine.Store.GetDiscoveryStateAsync(s.System.Id, cancellationToken);
            var at = last is null ? now : last.CompletedAt + every;
            if (at <= now)
            {
                due.Add(s.System.Id);
                at = now + every;
            }

            next = next is null || at < next ? at : next;
        }

        if (due.Count > 0)
        {
            foreach (var r in await new Reconciler(_engine).ReconcileAsync(due, "deprov:scheduler", force: false, null, cancellationToken))
            {
                if (r.Error is not null)
                {
                    Log.ReconcileFailed(_logger, r.SystemId, r.Error);
                }
                else
                {
                    Log.Reconciled(_logger, r.SystemId, r.NewFindings, r.OpenFindings, r.Unchanged);
                }
            }
        }

        return next;
    }

    /// <summary>Runs until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var next = await RunDueAsync(cancellationToken);
            if (next is null)
            {
                return;
            }

            var wait = next.Value - _engine.Time.GetUtcNow();
            await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1), _engine.Time, cancellationToken);
        }
    }
}

