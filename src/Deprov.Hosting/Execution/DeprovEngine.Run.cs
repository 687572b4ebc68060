using System.Threading.Channels;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Connectors;
using Deprov.Core.Execution;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Timeout;

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
    private readonly KeyedLock _groupLocks = new();

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
        var preReads = Channel.CreateUnbounded<PendingPreRead>(new UnboundedChannelOptions { SingleReader = true });
        var preReadWriter = PreReadLoopAsync(preReads.Reader);
        var running = new HashSet<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (committer.IsCompleted)
                {
                    await committer; // surfaces a store failure
                }

                if (preReadWriter.IsCompleted)
                {
                    await preReadWriter;
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
                        var t = RunStepAsync(cs, completions.Writer, preReads.Writer, cancellationToken);
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
            preReads.Writer.TryComplete();
            await preReadWriter;
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
        await Task.WhenAll(RunReconciliationSchedulerAsync(cancellationToken), RunHrSourcesAsync(cancellationToken));
    }

    private async Task RunHrSourcesAsync(CancellationToken cancellationToken)
    {
        await Task.Yield();
        try
        {
            await new Deprov.Hosting.HrSources.HrSourceRunner(this).RunAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The HR pull's boundary: a store failure stops scheduled pulls, never step execution; logged once here.
            Log.HrSchedulerStopped(_logger, ex.Message);
        }
    }

    private async Task RunReconciliationSchedulerAsync(CancellationToken cancellationToken)
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

    private async Task RunStepAsync(ClaimedStep cs, ChannelWriter<StepCompletion> completions, ChannelWriter<PendingPreRead> preReads, CancellationToken cancellationToken)
    {
        await Task.Yield();
        var step = cs.Step;
        Report(step, cs.PersonId, StepStatus.Running, null);
        FaultInjection.Hit("claimed");
        StepCompletion completion;
        if (step.SystemId is null || !_systems.TryGetValue(step.SystemId, out var rt))
        {
            completion = Failed(cs, new DeprovException($"System '{step.SystemId}' is not configured any more; the step cannot run."), [], 0);
        }
        else
        {
            var notes = new List<string>();
            var rateLimits = new RateLimitBudget(step.RateLimitWaits, _config.Policy.Execution.MaxRateLimitWaits);
            var calls = new StepCalls();
            var context = ResilienceContextPool.Shared.Get(cancellationToken);
            context.Properties.Set(SystemRuntime.RetryNotes, notes);
            context.Properties.Set(SystemRuntime.RateLimits, rateLimits);
            var entered = false;
            KeyedLock.Releaser? group = null;
            PreRead? preRead = step.PreRead is { } recorded ? new PreRead(recorded, step.PreReadDone, FromEarlierClaim: true) : null;
            var applied = step.Applied;
            string? before = null;
            try
            {
                // One writer per entitlement: a read-modify-write connector (SCIM PUT without ETags) loses a concurrent
                // leaver's removal otherwise. Taken before the system's gate, so waiters do not hold its slots.
                if (cs.EntitlementExternalId is { } entitlement)
                {
                    group = await _groupLocks.AcquireAsync(step.SystemId + "\n" + entitlement, cancellationToken);
                }

                await rt.Gate.WaitAsync(cancellationToken);
                entered = true;
                var action = await ToActionAsync(cs, cancellationToken);
                ActionResult? result = null;
                string? contradiction = null;
                ReadBackResult? second = null;
                if (!applied)
                {
                    if (preRead is null)
                    {
                        // The before-state is read, and durably recorded, before the connector changes anything: after any
                        // crash the evidence shows what the person had, not what a re-run found.
                        var first = await CallAsync(rt, context, action, calls, static (c, a, t) => c.ReadBackAsync(a, t));
                        preRead = new PreRead(CoreJson.Serialize(first.Observed), first.Confirmed, FromEarlierClaim: false);
                        var pending = new PendingPreRead(new PreReadRecord(step.Id, preRead.Observed, preRead.AlreadyDone));
                        await preReads.WriteAsync(pending, cancellationToken);

                        // The system's slot is not needed while the store makes the record durable: another step uses it.
                        rt.Gate.Release();
                        entered = false;
                        await pending.Done.Task.WaitAsync(cancellationToken);
                        await rt.Gate.WaitAsync(cancellationToken);
                        entered = true;
                    }

                    result = await CallAsync(rt, context, action, calls, static (c, a, t) => c.ExecuteAsync(a, t));
                    applied = true;
                    before = MergeBefore(result.Before, preRead);
                    FaultInjection.Hit("executed");
                    if (StepConfirmation.Judge(step.Action, preRead, result.AlreadyInState) == FirstReadVerdict.NeedsSecondRead)
                    {
                        (second, contradiction) = await ReadIndependentlyAsync(rt, context, action, calls, cancellationToken);
                        if (contradiction is null)
                        {
                            notes.Add("the inventory listed this access and the first read said it was already gone; a second, independent read confirms it is gone");
                        }
                    }
                }

                if (contradiction is not null)
                {
                    completion = Contradicted(cs, before, second, result!, contradiction, notes, calls.Count);
                }
                else
                {
                    var readBack = await CallAsync(rt, context, action, calls, static (c, a, t) => c.ReadBackAsync(a, t));
                    completion = Succeeded(cs, result, before, readBack, notes, calls.Count);
                }

                completion = completion with { RateLimitWaits = rateLimits.ThisClaim };
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Shutdown: the step stays running in the store and runs again on the next start.
                Interlocked.Decrement(ref _inFlight);
                return;
            }
#pragma warning disable CA1031 // The step runner is a boundary: every failure becomes data (a retry, a failed step and a task), never lost.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                var transient = ex is ConnectorException { IsTransient: true } or TimeoutRejectedException;
                var outcome = ex switch
                {
                    // The system is pacing us with a wait longer than the inline limit: come back when it says, without
                    // using a claim, while the step's rate-limit budget lasts.
                    ConnectorException { IsRateLimited: true, RetryAfter: { } ra } when rateLimits.CanWait => RateLimited(cs, ex, ra, notes, rateLimits, calls.Count),
                    ConnectorException { IsRateLimited: true } when applied => AppliedUnconfirmed(cs, ex, notes, calls.Count, $"still rate limited after {rateLimits.Used} waits"),
                    ConnectorException { IsRateLimited: true } => Failed(cs, ex, notes, calls.Count, rateLimits),
                    _ when transient => Retry(cs, ex, (ex as ConnectorException)?.RetryAfter, notes, calls.Count, applied),
                    _ when applied => AppliedUnconfirmed(cs, ex, notes, calls.Count, "reading it back failed"),
                    _ => Failed(cs, ex, notes, calls.Count),
                };
                completion = outcome with { RateLimitWaits = rateLimits.ThisClaim, Applied = applied, Before = outcome.Before ?? before };
            }
            finally
            {
                if (entered)
                {
                    rt.Gate.Release();
                }

                group?.Dispose();
                ResilienceContextPool.Shared.Return(context);
            }
        }

        Report(step with { Status = completion.Status, FinishedAt = completion.At, Before = completion.Before, After = completion.After, Error = completion.Error },
            cs.PersonId, completion.Status, completion.Error);
        await completions.WriteAsync(completion, CancellationToken.None);
    }

    /// <summary>One connector call through the system's pipeline, counted when it reaches the connector (a rate-limited
    /// answer is counted as a rate-limit wait instead).</summary>
    private static ValueTask<T> CallAsync<T>(SystemRuntime rt, ResilienceContext context, ConnectorAction action, StepCalls calls,
        Func<IConnector, ConnectorAction, CancellationToken, Task<T>> call) =>
        rt.Pipeline.ExecuteAsync(
            static async (ctx, s) =>
            {
                await s.Runtime.WaitIfPausedAsync(ctx.CancellationToken);
                s.Calls.Reached();
                try
                {
                    return await s.Call(s.Runtime.Connector, s.Action, ctx.CancellationToken);
                }
                catch (ConnectorException e) when (e.IsRateLimited)
                {
                    s.Calls.WasRateLimit();
                    throw;
                }
            }, context, (Runtime: rt, Action: action, Calls: calls, Call: call));

    /// <summary>The second, independent read that settles a contradiction: (what it showed, why the step is unconfirmed —
    /// null when it confirms the access gone).</summary>
    private static async Task<(ReadBackResult? Second, string? Contradiction)> ReadIndependentlyAsync(SystemRuntime rt, ResilienceContext context, ConnectorAction action,
        StepCalls calls, CancellationToken cancellationToken)
    {
        try
        {
            var second = await CallAsync(rt, context, action, calls, static (c, a, t) => c.ReadIndependentlyAsync(a, t));
            return (second, StepConfirmation.Settle(second?.Confirmed, second is null ? null : CoreJson.Serialize(second.Observed)));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // A second read that fails settles nothing: the step is unconfirmed, recorded with why.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            return (null, $"the inventory lists this access and the system's first read says it is already gone, and the second, independent read failed: {ex.Message}");
        }
    }

    /// <summary>
    /// The step's before-state: the pre-read recorded before its first attempt, merged with the connector's own Before (a
    /// restore reads keys only the connector reports). On the claim that read it, the connector's values win (read at the
    /// change itself); on a re-run, the recorded pre-read wins, since the connector now reports the after-state.
    /// </summary>
    private static string MergeBefore(IReadOnlyDictionary<string, string> connectorBefore, PreRead? preRead)
    {
        if (preRead is null)
        {
            return CoreJson.Serialize(connectorBefore);
        }

        var merged = new Dictionary<string, string>(StringComparer.Ordinal);
        var recorded = CoreJson.ParseMap(preRead.Observed);
        var (first, last) = preRead.FromEarlierClaim ? (connectorBefore, (IReadOnlyDictionary<string, string>)recorded) : ((IReadOnlyDictionary<string, string>)recorded, connectorBefore);
        foreach (var (k, v) in first)
        {
            merged[k] = v;
        }

        foreach (var (k, v) in last)
        {
            merged[k] = v;
        }

        return CoreJson.Serialize(merged);
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

    /// <param name="result">Null when an earlier try applied the change and this one only read it back.</param>
    private StepCompletion Succeeded(ClaimedStep cs, ActionResult? result, string? before, ReadBackResult readBack, List<string> notes, int calls)
    {
        var now = _time.GetUtcNow();
        var step = cs.Step;
        var after = CoreJson.Serialize(readBack.Observed);
        var detail = Detail(step, notes, calls, result is null ? "read back after an earlier try applied the change" : result.Detail);
        var evidence = before ?? step.Before;
        if (readBack.Confirmed)
        {
            var audit = new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id,
                evidence, after, result?.AlreadyInState == true ? "ok_already_in_state" : "ok", detail);
            return new StepCompletion(step.Id, StepStatus.Verified, now, before, after, null, null, null, [audit], Calls: calls);
        }

        var why = $"{step.Action.ToSnake()} on {step.Target} reported success, but reading it back shows {after}";
        var task = NewTask(cs, $"Verify by hand: {step.Action.ToSnake().Replace('_', ' ')} {step.Target} in {step.SystemId}", why, now);
        return new StepCompletion(step.Id, StepStatus.Unconfirmed, now, before, after, why, null, task,
        [
            new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id, evidence, after, "unconfirmed", $"{why}. {detail}"),
            Alert(cs, now, why, task),
        ], Calls: calls);
    }

    /// <summary>The inventory and the system's first read disagree and no second read settles it: never verified.</summary>
    private StepCompletion Contradicted(ClaimedStep cs, string? before, ReadBackResult? second, ActionResult result, string contradiction, List<string> notes, int calls)
    {
        var now = _time.GetUtcNow();
        var step = cs.Step;
        var after = CoreJson.Serialize(second?.Observed ?? result.After);
        var why = $"{step.Action.ToSnake()} on {step.Target} in {step.SystemId} is unconfirmed: {contradiction}";
        Log.StepContradicted(_logger, step.Id, step.Action.ToSnake(), step.SystemId ?? "-");
        var task = NewTask(cs, $"Verify by hand: {step.Action.ToSnake().Replace('_', ' ')} {step.Target} in {step.SystemId}",
            why + " — check the target in the system, remove the access if it is still there, then complete this task.", now);
        return new StepCompletion(step.Id, StepStatus.Unconfirmed, now, before, after, why, null, task,
        [
            new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id, before ?? step.Before, after, "unconfirmed",
                $"{why}. {Detail(step, notes, calls, null)}"),
            Alert(cs, now, why, task),
        ], Calls: calls);
    }

    /// <summary>A transient failure after the claim's inline retries: the next try on the durable schedule, or a task
    /// when the schedule or the maximum age is spent.</summary>
    private StepCompletion Retry(ClaimedStep cs, Exception ex, TimeSpan? retryAfter, List<string> notes, int calls, bool applied)
    {
        var now = _time.GetUtcNow();
        var step = cs.Step;
        var policy = _config.Policy.Execution;
        var decision = DurableRetry.Next(policy.Retries, policy.MaxAge, step.Claims, step.DueAt, now, retryAfter, Random.Shared.NextDouble());
        if (decision.NextAt is not { } next)
        {
            return applied
                ? AppliedUnconfirmed(cs, ex, notes, calls, $"reading it back still failed; {decision.Describe(policy.MaxAge)}")
                : Failed(cs, ex, notes, calls, decision: decision);
        }

        var whatNext = decision.Describe(policy.MaxAge);
        var state = applied ? "applied, unconfirmed: the change was made but reading it back failed; the next try only reads" : "still failing after retries";
        var asked = retryAfter is { } ra ? $"; the system asked to wait {ra.TotalSeconds:0.#} s" : string.Empty;
        return new StepCompletion(step.Id, StepStatus.Pending, now, null, null, $"{ex.Message} — {state}; {whatNext}", next, null,
        [
            new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id, null, null, "retry_scheduled",
                $"{ex.Message}{asked}; {state}; {whatNext}. {Detail(step, notes, calls, null)}"),
        ], Calls: calls, Applied: applied);
    }

    /// <summary>The change was applied but cannot be confirmed (its read-back failed for good, or its tries ran out):
    /// unconfirmed, a task to verify it — never "failed, do it by hand", since the change was made.</summary>
    private StepCompletion AppliedUnconfirmed(ClaimedStep cs, Exception ex, List<string> notes, int calls, string what)
    {
        var now = _time.GetUtcNow();
        var step = cs.Step;
        var why = $"{step.Action.ToSnake()} on {step.Target} in {step.SystemId} was applied, but {what}: {ex.Message}";
        Log.StepFailed(_logger, step.Id, step.Action.ToSnake(), step.SystemId ?? "-", ex.Message);
        var task = NewTask(cs, $"Verify by hand: {step.Action.ToSnake().Replace('_', ' ')} {step.Target} in {step.SystemId}",
            why + " — check the target in the system, then complete this task.", now);
        return new StepCompletion(step.Id, StepStatus.Unconfirmed, now, null, null, why, null, task,
        [
            new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id, step.Before, null, "unconfirmed",
                $"{why}. {Detail(step, notes, calls, null)}"),
            Alert(cs, now, why, task),
        ], Calls: calls);
    }

    private StepCompletion RateLimited(ClaimedStep cs, Exception ex, TimeSpan retryAfter, List<string> notes, RateLimitBudget rateLimits, int calls)
    {
        rateLimits.Spend();
        var now = _time.GetUtcNow();
        var next = now + retryAfter;
        var step = cs.Step;
        var whatNext = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"next try at {next.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z");
        return new StepCompletion(step.Id, StepStatus.Pending, now, null, null, $"{ex.Message} — {whatNext}", next, null,
        [
            new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id, null, null, "rate_limited",
                $"{ex.Message}; the system asked to wait {retryAfter.TotalSeconds:0.#} s (rate-limit wait {rateLimits.Used} of {rateLimits.Cap}, "
                + $"not an attempt); {whatNext}. {Detail(step, notes, calls, null)}"),
        ], RateLimited: true, Calls: calls);
    }

    /// <param name="rateLimits">Given when the step failed because its rate-limit waits ran out.</param>
    /// <param name="decision">Given when the durable retry schedule is spent.</param>
    private StepCompletion Failed(ClaimedStep cs, Exception ex, List<string> notes, int calls, RateLimitBudget? rateLimits = null, RetryDecision? decision = null)
    {
        var now = _time.GetUtcNow();
        var step = cs.Step;
        var kind = rateLimits is not null
            ? $"still rate limited after {rateLimits.Used} waits (policy.execution.max_rate_limit_waits {rateLimits.Cap})"
            : decision is not null ? $"still failing after retries, {decision.Describe(_config.Policy.Execution.MaxAge)}"
            : ex is ConnectorException { IsTransient: true } ? "still failing after retries" : "refused";
        var why = $"{step.Action.ToSnake()} on {step.Target} in {step.SystemId} {kind}: {ex.Message}";
        Log.StepFailed(_logger, step.Id, step.Action.ToSnake(), step.SystemId ?? "-", ex.Message);
        var task = NewTask(cs, $"Do by hand: {step.Action.ToSnake().Replace('_', ' ')} {step.Target} in {step.SystemId}", why + " — complete this task when done.", now);
        return new StepCompletion(step.Id, StepStatus.Failed, now, null, null, $"{ex.Message} — no more tries; task {task.Id} raised", null, task,
        [
            new AuditEntry(now, "deprov", step.Action.ToSnake(), step.SystemId, step.Target, cs.PersonId, step.CaseId, step.Id, step.Before, null, "failed",
                $"{why}. {Detail(step, notes, calls, null)}"),
            Alert(cs, now, why, task),
        ], Calls: calls);
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

    private string Detail(Step step, List<string> notes, int calls, string? extra)
    {
        var recovered = step.RecoveredClaims > 0 ? $", {step.RecoveredClaims} cut short by a restart" : string.Empty;
        var parts = new List<string> { $"try {step.Claims} of {_config.Policy.Execution.Retries.Count + 1}{recovered}; {calls} call(s) to the system" };
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

    /// <summary>A pre-read waiting to be recorded; the step changes nothing until <see cref="Done"/> completes.</summary>
    private sealed record PendingPreRead(PreReadRecord Record)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Records pre-reads in group commits, as completions are: one transaction for every step that read in the
    /// meantime, so the durable before-state costs a batch, not a transaction per step.</summary>
    private async Task PreReadLoopAsync(ChannelReader<PendingPreRead> reader)
    {
        var batch = new List<PendingPreRead>(_options.CommitBatch);
        while (await reader.WaitToReadAsync())
        {
            while (batch.Count < _options.CommitBatch && reader.TryRead(out var p))
            {
                batch.Add(p);
            }

            try
            {
                await WithStoreRetryAsync(() => _store.RecordPreReadsAsync([.. batch.Select(p => p.Record)], CancellationToken.None));
                foreach (var p in batch)
                {
                    p.Done.TrySetResult();
                }
            }
#pragma warning disable CA1031 // Handed to each waiting step, which records it as its failure: nothing is changed without its pre-read.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                foreach (var p in batch)
                {
                    p.Done.TrySetException(ex);
                }
            }

            batch.Clear();
        }
    }

    private async Task WithStoreRetryAsync(Func<Task> write)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await write();
                return;
            }
            catch (StoreException ex) when (ex.IsTransient && attempt < 5)
            {
                Log.CommitRetry(_logger, attempt, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), _time);
            }
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

    [LoggerMessage(EventId = 1005, Level = LogLevel.Error, Message = "Step {StepId} ({Action} on {System}) is unconfirmed: the inventory and the system's reads disagree. A task and an alert were raised.")]
    public static partial void StepContradicted(ILogger logger, string stepId, string action, string system);

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

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "HR source {Source}: read {Read} record(s) ({Listing}), {Events} event(s), {Problems} record(s) not used")]
    public static partial void HrSynced(ILogger logger, string source, int read, string listing, int events, int problems);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Error, Message = "HR source {Source}: the pull failed or was refused: {Error}. Nothing was changed; it is tried again at the next interval.")]
    public static partial void HrSyncFailed(ILogger logger, string source, string error);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Error, Message = "Scheduled HR pulls stopped: {Error}")]
    public static partial void HrSchedulerStopped(ILogger logger, string error);
}
