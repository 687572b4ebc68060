using System.Threading.Channels;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using Microsoft.Extensions.Logging;
using Polly;

namespace Deprov.Hosting.Execution;

public enum RunMode
{
    /// <summary>Run until nothing is in flight and nothing is due within <see cref="EngineOptions.IdleHorizon"/> (CLI commands).
    /// Steps due later (staged cuts, deletes after retention) stay scheduled.</summary>
    UntilIdle,
    /// <summary>Run until cancelled, waking for due steps and new work (the worker, the server).</summary>
    Forever,
}

public sealed partial class DeprovEngine
{
    /// <summary>Durable re-schedules of one step (each a claim) before it becomes a task. Inline retries happen inside each claim.</summary>
    private const int MaxClaims = 3;

    private int _inFlight;

    /// <summary>When the run loop next looks for leaving people whose termination took effect.</summary>
    private DateTimeOffset _nextLeaveCheck = DateTimeOffset.MinValue;

    /// <summary>How often the run loop looks for due terminations at the latest: another process (the API server, a
    /// CLI command) may have recorded a leave the loop has not seen.</summary>
    private static readonly TimeSpan LeaveCheckInterval = TimeSpan.FromSeconds(30);

    /// <summary>Turns leaving people whose termination is effective now into left (see <see cref="PersonLifecycle"/>).
    /// The run loop does it as terminations fall due; reconciliation and the CLI's views call it before they read people.</summary>
    public async Task<int> ApplyDueLeavesAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var (changed, next) = await _store.ApplyDueLeavesAsync(now, cancellationToken);
        _nextLeaveCheck = next is { } n && n < now + LeaveCheckInterval ? n : now + LeaveCheckInterval;
        return changed;
    }

    /// <summary>Executes due steps. On start, steps left running by a crashed process run again and recorded-but-unhandled
    /// events are planned, so nothing accepted is lost.</summary>
    public async Task RunAsync(RunMode mode, CancellationToken cancellationToken)
    {
        if (mode == RunMode.Forever)
        {
            Interlocked.Increment(ref _workers);
        }

        try
        {
            await RunLoopAsync(mode, cancellationToken);
        }
        finally
        {
            if (mode == RunMode.Forever)
            {
                Interlocked.Decrement(ref _workers);
            }
        }
    }

    private int _workers;

    /// <summary>This engine runs as the worker (<see cref="RunMode.Forever"/>): it plans accepted events as they arrive.</summary>
    public bool IsWorker => Volatile.Read(ref _workers) > 0;

    private async Task RunLoopAsync(RunMode mode, CancellationToken cancellationToken)
    {
        var recovered = await _store.RecoverRunningStepsAsync(_time.GetUtcNow(), cancellationToken);
        if (recovered > 0)
        {
            Log.StepsRecovered(_logger, recovered);
        }

        await HandleUnhandledEventsAsync(cancellationToken);
        using var planning = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var planner = mode == RunMode.Forever ? PlanAcceptedLoopAsync(planning.Token) : Task.CompletedTask;

        // The worker also runs scheduled discoveries (reconciliation.schedule), beside step execution.
        var scheduler = mode == RunMode.Forever ? RunSchedulerAsync(planning.Token) : Task.CompletedTask; // stopped with the planner if the loop fails
        var completions = Channel.CreateUnbounded<StepCompletion>(new UnboundedChannelOptions { SingleReader = true });
        var committer = CommitLoopAsync(completions.Reader);
        var running = new HashSet<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (committer.IsCompleted)
                {
                    await committer; // surfaces a store failure
                }

                if (_time.GetUtcNow() >= _nextLeaveCheck)
                {
                    await ApplyDueLeavesAsync(cancellationToken);
                }

                // Read before querying: if nothing was in flight when the queries started, they saw every commit.
                var inFlightBefore = Volatile.Read(ref _inFlight);
                var free = _options.MaxInFlight - inFlightBefore;
                var claimedCount = 0;
                if (free > 0)
                {
                    var claimed = await _store.ClaimDueStepsAsync(_time.GetUtcNow(), free, cancellationToken);
                    claimedCount = claimed.Count;
                    foreach (var cs in claimed)
                    {
                        Interlocked.Increment(ref _inFlight);
                        var t = RunStepAsync(cs, completions.Writer, cancellationToken);
                        lock (running)
                        {
                            running.Add(t);
                        }

                        _ = t.ContinueWith(done =>
                        {
                            lock (running)
                            {
                                running.Remove(done);
                            }
                        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                    }

                    if (claimedCount == free)
                    {
                        continue; // there may be more due right now
                    }
                }

                var next = await _store.GetNextDueAsync(cancellationToken);
                var now = _time.GetUtcNow();
                // Idle means nothing in flight and nothing due soon: a retry a few seconds away is waited for; a staged
                // step or a delete days away stays scheduled for the worker.
                if (mode == RunMode.UntilIdle && inFlightBefore == 0 && Volatile.Read(ref _inFlight) == 0 && claimedCount == 0 && (next is null || next > now + _options.IdleHorizon))
                {
                    break;
                }

                var wait = next is { } n && n > now ? n - now : (next is null ? TimeSpan.FromSeconds(1) : TimeSpan.Zero);
                if (wait > TimeSpan.FromSeconds(1))
                {
                    wait = TimeSpan.FromSeconds(1); // another process (the server, a CLI) may add work to the store
                }

                if (wait > TimeSpan.Zero || claimedCount == 0)
                {
                    await WaitForWorkAsync(wait, cancellationToken);
                }
            }
        }
        finally
        {
            Task[] left;
            lock (running)
            {
                left = [.. running];
            }

            await Task.WhenAll(left).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            completions.Writer.TryComplete();
            await committer;
            await planning.CancelAsync();
            await planner.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await scheduler.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task RunSchedulerAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            await new Reconciliation.ReconciliationScheduler(this, _logger).RunAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The scheduler's boundary: a store failure stops scheduled discovery, never step execution; logged once here.
            Log.SchedulerStopped(_logger, ex.Message);
        }
    }

    private async Task WaitForWorkAsync(TimeSpan wait, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (wait > TimeSpan.Zero)
        {
            timeout.CancelAfter(wait);
        }
        else
        {
            // Nothing due and nothing claimed: wait for a wake-up (a commit or a new event).
            timeout.CancelAfter(TimeSpan.FromSeconds(1));
        }

        try
        {
            await _wake.Reader.WaitToReadAsync(timeout.Token);
            _wake.Reader.TryRead(out _);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // The wait elapsed: look for due steps again.
        }
    }

    private async Task RunStepAsync(ClaimedStep cs, ChannelWriter<StepCompletion> completions, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var step = cs.Step;
        Report(step, cs.PersonId, StepStatus.Running, null);
        FaultInjection.Hit("claimed");
        StepCompletion completion;
        if (step.SystemId is null || !_systems.TryGetValue(step.SystemId, out var rt))
        {
            completion = Failed(cs, new DeprovException($"System '{step.SystemId}' is not configured any more; the step cannot run."), []);
        }
        else
        {
            var notes = new List<string>();
            var rateLimits = new RateLimitBudget(step.RateLimitWaits, _config.Policy.Execution.MaxRateLimitWaits);
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(SystemRuntime.RetryNotes, notes);
            context.Properties.Set(SystemRuntime.RateLimits, rateLimits);
            var entered = false;
            try
            {
                await rt.Gate.WaitAsync(cancellationToken);
                entered = true;
                var action = await ToActionAsync(cs, cancellationToken);
                var result = await rt.Pipeline.ExecuteAsync(
                    static async (ctx, state) =>
                    {
                        await state.Runtime.WaitIfPausedAsync(ctx.CancellationToken);
                        return await state.Runtime.Connector.ExecuteAsync(state.Action, ctx.CancellationToken);
                    }, context, (Runtime: rt, Action: action));
                FaultInjection.Hit("executed");
                var readBack = await rt.Pipeline.ExecuteAsync(
                    static async (ctx, state) =>
                    {
                        await state.Runtime.WaitIfPausedAsync(ctx.CancellationToken);
                        return await state.Runtime.Connector.ReadBackAsync(state.Action, ctx.CancellationToken);
                    }, context, (Runtime: rt, Action: action));
                completion = Succeeded(cs, result, readBack, notes) with { RateLimitWaits = rateLimits.ThisClaim };
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Shutdown: the step stays running in the store and runs again on the next start.
                Interlocked.Decrement(ref _inFlight);
                return;
            }
#pragma warning disable CA1031 // The step runner is a boundary: every failure becomes data (a failed step and a task), never lost.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                var outcome = ex switch
                {
                    // The system is pacing us with a wait longer than the inline limit: come back when it says, without
                    // using a claim, while the step's rate-limit budget lasts.
                    ConnectorException { IsRateLimited: true, RetryAfter: { } ra } when rateLimits.CanWait => RateLimited(cs, ex, ra, notes, rateLimits),
                    ConnectorException { IsRateLimited: true } => Failed(cs, ex, notes, rateLimits),
                    ConnectorException { IsTransient: true, RetryAfter: { } ra } when step.Attempts < MaxClaims => Rescheduled(cs, ex, ra, notes),
                    _ => Failed(cs, ex, notes),
                };
                completion = outcome with { RateLimitWaits = rateLimits.ThisClaim };
            }
            finally
            {
                if (entered)
                {
                    rt.Gate.Release();
                }

                ResilienceContextPool.Shared.Return(context);
            }
        }

        Report(step with { Status = completion.Status, FinishedAt = completion.At, Before = completion.Before, After = completion.After, Error = completion.Error },
            cs.PersonId, completion.Status, completion.Error);
        await completions.WriteAsync(completion, CancellationToken.None);
    }

    private async Task<ConnectorAction> ToActionAsync(ClaimedStep cs, CancellationToken cancellationToken)
    {
        var parameters = CoreJson.ParseMap(cs.Step.Parameters);
        if (cs.Step.Action == ActionKind.TransferOwnership && parameters.TryGetValue("newOwner", out var ownerId)
            && await _store.GetPersonAsync(ownerId, cancellationToken) is { } owner)
        {
            parameters["newOwnerEmail"] = owner.Email;
        }

        return new ConnectorAction(cs.Step.Id, cs.Step.Action, cs.Step.SystemId!, cs.AccountExternalId, cs.AccountUserName,
            cs.EntitlementExternalId, cs.DeviceExternalId, cs.CredentialExternalId, parameters);
    }

    private StepCompletion Succeeded(ClaimedStep cs, ActionResult result, ReadBackResult readBack, List<string> notes)
    {
        var now = _time.GetUtcNow();
        var step = cs.Step;
        var before = CoreJson.Serialize(result.Before);
        var after = CoreJson.Serialize(readBack.Observed);
        var detail = Detail(step, notes, result.Detail);
        if (readBack.Confirmed)
        {
            var audit = new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id,
                before, after, result.AlreadyInState ? "ok_already_in_state" : "ok", detail);
            return new StepCompletion(step.Id, StepStatus.Verified, now, before, after, null, null, null, [audit]);
        }

        var why = $"{step.Action.ToSnake()} on {step.Target} reported success, but reading it back shows {after}";
        var task = NewTask(cs, $"Verify by hand: {step.Action.ToSnake().Replace('_', ' ')} {step.Target} in {step.SystemId}", why, now);
        return new StepCompletion(step.Id, StepStatus.Unconfirmed, now, before, after, why, null, task,
        [
            new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id, before, after, "unconfirmed", why),
            Alert(cs, now, why, task),
        ]);
    }

    private StepCompletion Rescheduled(ClaimedStep cs, Exception ex, TimeSpan retryAfter, List<string> notes)
    {
        var now = _time.GetUtcNow();
        var next = now + retryAfter;
        var step = cs.Step;
        return new StepCompletion(step.Id, StepStatus.Pending, now, null, null, ex.Message, next, null,
        [
            new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id, null, null, "retry_scheduled",
                $"{ex.Message}; the system asked to wait {retryAfter.TotalSeconds:0.#} s; next attempt {next:O}. {Detail(step, notes, null)}"),
        ]);
    }

    private StepCompletion RateLimited(ClaimedStep cs, Exception ex, TimeSpan retryAfter, List<string> notes, RateLimitBudget rateLimits)
    {
        rateLimits.Spend();
        var now = _time.GetUtcNow();
        var next = now + retryAfter;
        var step = cs.Step;
        return new StepCompletion(step.Id, StepStatus.Pending, now, null, null, ex.Message, next, null,
        [
            new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id, null, null, "rate_limited",
                $"{ex.Message}; the system asked to wait {retryAfter.TotalSeconds:0.#} s (rate-limit wait {rateLimits.Used} of {rateLimits.Cap}, "
                + $"not an attempt); next attempt {next:O}. {Detail(step, notes, null)}"),
        ], RateLimited: true);
    }

    /// <param name="rateLimits">Given when the step failed because its rate-limit waits ran out.</param>
    private StepCompletion Failed(ClaimedStep cs, Exception ex, List<string> notes, RateLimitBudget? rateLimits = null)
    {
        var now = _time.GetUtcNow();
        var step = cs.Step;
        var kind = rateLimits is not null
            ? $"still rate limited after {rateLimits.Used} waits (policy.execution.max_rate_limit_waits {rateLimits.Cap})"
            : ex is ConnectorException { IsTransient: true } ? "still failing after retries" : "refused";
        var why = $"{step.Action.ToSnake()} on {step.Target} in {step.SystemId} {kind}: {ex.Message}";
        Log.StepFailed(_logger, step.Id, step.Action.ToSnake(), step.SystemId ?? "-", ex.Message);
        var task = NewTask(cs, $"Do by hand: {step.Action.ToSnake().Replace('_', ' ')} {step.Target} in {step.SystemId}", why + " — complete this task when done.", now);
        return new StepCompletion(step.Id, StepStatus.Failed, now, null, null, ex.Message, null, task,
        [
            new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id, null, null, "failed",
                $"{why}. {Detail(step, notes, null)}"),
            Alert(cs, now, why, task),
        ]);
    }

    private static AuditEntry Alert(ClaimedStep cs, DateTimeOffset now, string why, TaskItem task) =>
        new(now, "deprov", "alert", cs.Step.SystemId, cs.Step.Target, cs.PersonId, cs.Step.CaseId, cs.Step.Id, null, null, "raised",
            $"{why}; task {task.Id} for {task.Team.Snake()}");

    private TaskItem NewTask(ClaimedStep cs, string title, string detail, DateTimeOffset now)
    {
        var team = _planner.RouteTeam(null, cs.Step.SystemId, "failed-step", cs.Step.Category == StepCategory.Physical ? Team.Facilities : Team.It);
        return new TaskItem($"T-{cs.Step.Id}", cs.Step.CaseId, cs.Step.Id, cs.PersonId, team, title, detail, now, now + _config.Policy.Execution.TaskDue,
            Core.Model.TaskStatus.Open, null, null, null);
    }

    private static string Detail(Step step, List<string> notes, string? extra)
    {
        var parts = new List<string> { $"claim {step.Attempts}" };
        parts.AddRange(notes);
        if (extra is not null)
        {
            parts.Add(extra);
        }

        return string.Join("; ", parts);
    }

    private async Task CommitLoopAsync(ChannelReader<StepCompletion> reader)
    {
        var batch = new List<StepCompletion>(_options.CommitBatch);
        while (await reader.WaitToReadAsync())
        {
            while (batch.Count < _options.CommitBatch && reader.TryRead(out var c))
            {
                batch.Add(c);
            }

            await CommitWithRetryAsync(batch);
            foreach (var c in batch)
            {
                FaultInjection.Hit("committed");
            }

            Interlocked.Add(ref _inFlight, -batch.Count);
            batch.Clear();
            Wake();
        }
    }

    private async Task CommitWithRetryAsync(List<StepCompletion> batch)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _store.CompleteStepsAsync(batch, _time.GetUtcNow(), CancellationToken.None);
                return;
            }
            catch (StoreException ex) when (ex.IsTransient && attempt < 5)
            {
                Log.CommitRetry(_logger, attempt, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), _time);
            }
        }
    }

    private void Report(Step step, string personId, StepStatus status, string? detail) =>
        OnProgress?.Invoke(new StepProgress(step, personId, status, detail));
}

internal static partial class Log
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "{Count} step(s) were running when the previous process stopped; they run again")]
    public static partial void StepsRecovered(ILogger logger, int count);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Error, Message = "Step {StepId} ({Action} on {System}) failed: {Error}. A task was raised.")]
    public static partial void StepFailed(ILogger logger, string stepId, string action, string system, string error);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "Committing step results failed (attempt {Attempt}): {Error}")]
    public static partial void CommitRetry(ILogger logger, int attempt, string error);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Warning, Message = "Safety brake tripped ({Why}); new leaver cases wait for approval")]
    public static partial void BrakeTripped(ILogger logger, string why);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Reconciled {System}: {New} new finding(s), {Open} open (unchanged: {Unchanged})")]
    public static partial void Reconciled(ILogger logger, string system, int @new, int open, bool unchanged);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Error, Message = "Reconciling {System} failed: {Error}. Its inventory was left as it was.")]
    public static partial void ReconcileFailed(ILogger logger, string system, string error);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Error, Message = "Scheduled reconciliation stopped: {Error}")]
    public static partial void SchedulerStopped(ILogger logger, string error);
}
