namespace Deprov.Core.Model;

public enum CaseKind
{
    Leaver,
    Mover,
    Restore,
    /// <summary>A targeted cut planned by reconciliation (drift re-revoke, orphan or leaver clean-up).</summary>
    Remediation,
}

public enum CaseStatus
{
    /// <summary>Steps are due now or running.</summary>
    Running,
    /// <summary>All steps due so far are verified; later steps (a staged cut, a delete after retention) are scheduled.</summary>
    Scheduled,
    /// <summary>Every automated step is verified and every manual task is done.</summary>
    Verified,
    /// <summary>At least one automated step failed or could not be verified; a task says what to do.</summary>
    Unverified,
    /// <summary>Paused by the safety brake: waits for an operator's approval.</summary>
    AwaitingApproval,
    /// <summary>Withdrawn (rehire, cancelled termination, superseded move).</summary>
    Cancelled,
}

/// <summary>One person's offboarding, move or restore.</summary>
/// <param name="CutAt">When access must be cut: the HR effective moment, or when the event was received if later.</param>
/// <param name="CutVerifiedAt">When the last access-cutting step due at <see cref="CutAt"/> was verified.</param>
public sealed record Case(
    string Id,
    string PersonId,
    CaseKind Kind,
    string EventId,
    string PolicyRule,
    string Plan,
    CaseStatus Status,
    DateTimeOffset EffectiveAt,
    DateTimeOffset ReceivedAt,
    DateTimeOffset CreatedAt,
    DateTimeOffset CutAt,
    DateTimeOffset? CutVerifiedAt,
    DateTimeOffset? ClosedAt,
    string? StatusDetail)
{
    /// <summary>Time from the moment access had to end to the moment its end was verified; null while open.</summary>
    public TimeSpan? ExposureWindow => CutVerifiedAt is { } v ? (v > CutAt ? v - CutAt : TimeSpan.Zero) : null;
}

public enum StepStatus
{
    /// <summary>Waiting for the steps it depends on.</summary>
    Waiting,
    /// <summary>Ready to run once due.</summary>
    Pending,
    /// <summary>Claimed by a worker; the call may be in flight. Re-run after a crash (steps are idempotent).</summary>
    Running,
    /// <summary>Applied and confirmed by read-back.</summary>
    Verified,
    /// <summary>Applied but the read-back did not confirm it.</summary>
    Unconfirmed,
    /// <summary>Retries exhausted or a permanent error; a task was raised.</summary>
    Failed,
    /// <summary>Blocked by a legal hold; waits for its release.</summary>
    Held,
    /// <summary>Blocked because a step it requires failed.</summary>
    Blocked,
    /// <summary>Done by a person (manual step, or a failed step completed by hand).</summary>
    DoneManually,
    /// <summary>Nothing to do (already in the target state when planned or superseded).</summary>
    Skipped,
    Cancelled,
}

public static class StepStatuses
{
    public static bool IsTerminal(this StepStatus s) => s is StepStatus.Verified or StepStatus.Unconfirmed or StepStatus.Failed
        or StepStatus.DoneManually or StepStatus.Skipped or StepStatus.Cancelled or StepStatus.Blocked;

    /// <summary>Finished in a way that lets dependants with a hard requirement go ahead.</summary>
    public static bool IsSuccess(this StepStatus s) => s is StepStatus.Verified or StepStatus.DoneManually or StepStatus.Skipped;
}

/// <summary>One action of a case.</summary>
/// <param name="Target">Human-readable target (user name, group name, device serial).</param>
/// <param name="Before">State the connector saw before the change (JSON), used for evidence and restore.</param>
/// <param name="After">State after the change, as read back (JSON).</param>
/// <param name="Phase">Position in its stage's phase order (0 runs first); a step waits for every step of the phase before
/// it in the same case and stage. -1 for steps outside the phase order (manual work, deletes).</param>
/// <param name="Attempts">Calls that reached the system's connector (every change and read the engine made for the step,
/// inline retries included; answers that were rate limits are counted in <paramref name="RateLimitWaits"/> instead).</param>
/// <param name="Claims">Tries of the durable retry schedule (<c>policy.execution.retry_schedule</c>): claims that ended, a
/// claim that ended waiting out a rate limit given back. Claims cut short by a crash are in <paramref name="RecoveredClaims"/>.</param>
/// <param name="RecoveredClaims">Claims that were running when their process stopped, and ran again on the next start.</param>
/// <param name="PreRead">The target as read before the step's first attempt (JSON), recorded before anything changed: the
/// evidence of what the person had, whatever happens after.</param>
/// <param name="PreReadDone">That read said the action's effect already held.</param>
/// <param name="Applied">The change was applied but could not be read back yet: later tries only read.</param>
/// <param name="RateLimitWaits">Rate-limited answers waited out so far (inline and rescheduled), bounded by
/// <c>policy.execution.max_rate_limit_waits</c>.</param>
public sealed record Step(
    string Id,
    string CaseId,
    int Seq,
    ActionKind Action,
    StepCategory Category,
    string Stage,
    string? SystemId,
    string? AccountId,
    string? EntitlementId,
    string? DeviceId,
    string? CredentialId,
    string Target,
    StepStatus Status,
    DateTimeOffset DueAt,
    int Attempts,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    string? Before,
    string? After,
    string? Error,
    string? Parameters,
    string? WaitReason,
    int Phase = -1,
    int RateLimitWaits = 0,
    int Claims = 0,
    int RecoveredClaims = 0,
    string? PreRead = null,
    bool PreReadDone = false,
    bool Applied = false)
{
    /// <summary>Counts toward the exposure window.</summary>
    public bool CutsAccess => Action.CutsAccess();
}

/// <summary>A dependency edge: <see cref="StepId"/> waits for <see cref="DependsOn"/>.</summary>
/// <param name="Hard">When true, the dependant only runs if the dependency succeeded; otherwise it is blocked.</param>
public sealed record StepDependency(string StepId, string DependsOn, bool Hard);

public enum Team
{
    It,
    Hr,
    Security,
    Facilities,
}

public enum TaskStatus
{
    Open,
    Done,

    /// <summary>Never to be done: its case was rejected before anything ran (a case the safety brake held).</summary>
    Cancelled,
}

/// <summary>Manual work: what no API can do, or what automation could not finish.</summary>
public sealed record TaskItem(
    string Id,
    string? CaseId,
    string? StepId,
    string? PersonId,
    Team Team,
    string Title,
    string Detail,
    DateTimeOffset CreatedAt,
    DateTimeOffset DueAt,
    TaskStatus Status,
    string? CompletedBy,
    DateTimeOffset? CompletedAt,
    string? Note);
