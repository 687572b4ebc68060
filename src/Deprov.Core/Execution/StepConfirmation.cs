using Deprov.Core.Model;

namespace Deprov.Core.Execution;

/// <summary>What the engine must do after a step's change, before it may accept the connector's answer.</summary>
public enum FirstReadVerdict
{
    /// <summary>Nothing contradicts the inventory: read back as usual.</summary>
    Accept,

    /// <summary>The inventory says the access is there and the first read says it is already gone: only a second,
    /// independent read that also shows it gone lets the step be verified.</summary>
    NeedsSecondRead,
}

/// <summary>The step's before-state, read before its first attempt and recorded durably before anything changed.</summary>
/// <param name="Observed">What the read showed (JSON map), kept as the step's evidence of what the person had.</param>
/// <param name="AlreadyDone">The read said the action's effect already held.</param>
/// <param name="FromEarlierClaim">Recorded by an earlier claim of the step, which may have made the change itself (it
/// crashed, or failed after the call); false when this claim read it.</param>
public sealed record PreRead(string Observed, bool AlreadyDone, bool FromEarlierClaim);

/// <summary>
/// The rule that keeps a lenient system from passing off "nothing to do" as a verified cut. Pure: the engine does the
/// reads and acts on the verdicts.
/// </summary>
public static class StepConfirmation
{
    /// <summary>Actions planned only because the inventory holds the access they remove (an active account, a
    /// membership, an active device or credential), so "already done" on a first read contradicts the inventory.</summary>
    public static bool InventoryHoldsAccess(ActionKind action) => action is ActionKind.DisableAccount or ActionKind.RemoveEntitlement
        or ActionKind.ReclaimLicence or ActionKind.LockDevice or ActionKind.WipeDevice or ActionKind.RevokeToken or ActionKind.DisableServiceAccount;

    /// <summary>Actions a connector applies every time, because repeating them is harmless and nothing but the step
    /// itself makes their effect (a password reset to this step's secret, a rotation under this step's key, the sessions
    /// this step ends): "already done" on the step's first claim is a read that cannot be taken on trust.</summary>
    public static bool AppliedEveryTime(ActionKind action) => action is ActionKind.ResetPassword or ActionKind.RotateCredential or ActionKind.RevokeSessions;

    /// <summary>
    /// Judges the first read against the inventory: a contradiction when the pre-read said the effect already held, or
    /// when the change came back "already in state" although nothing of ours can have applied it (this claim read the
    /// target first). A re-run after an earlier claim (a crash, a failure after the call) that found the access present
    /// is no contradiction: that claim may have made the change.
    /// </summary>
    /// <param name="preRead">Null when the step has no recorded pre-read (it never read before changing).</param>
    public static FirstReadVerdict Judge(ActionKind action, PreRead? preRead, bool executeAlreadyInState)
    {
        if (AppliedEveryTime(action))
        {
            // Only this step's own earlier claim can have made its effect: "already done" from a first read needs a
            // second read to be believed.
            // The pre-read alone proves nothing here: some systems cannot list what these actions end (Okta has no
            // session listing), so it is the connector skipping the change that needs the second read.
            return executeAlreadyInState && preRead is not { FromEarlierClaim: true }
                ? FirstReadVerdict.NeedsSecondRead
                : FirstReadVerdict.Accept;
        }

        if (!InventoryHoldsAccess(action))
        {
            return FirstReadVerdict.Accept;
        }

        if (preRead is { AlreadyDone: true })
        {
            return FirstReadVerdict.NeedsSecondRead;
        }

        return executeAlreadyInState && preRead is not { FromEarlierClaim: true } ? FirstReadVerdict.NeedsSecondRead : FirstReadVerdict.Accept;
    }

    /// <summary>Settles a contradiction with the second read: null when the step may be accepted, otherwise why it is
    /// unconfirmed.</summary>
    /// <param name="secondConfirmed">What the independent read said; null when the system has no second read path.</param>
    /// <param name="secondObserved">What it showed (JSON), for the message.</param>
    public static string? Settle(bool? secondConfirmed, string? secondObserved) => secondConfirmed switch
    {
        true => null,
        null => "the inventory lists this access and the system's first read says it is already gone, and the system has no second, independent read to settle it",
        false => $"the inventory lists this access and the system's first read says it is already gone, but a second, independent read shows {secondObserved}",
    };
}
