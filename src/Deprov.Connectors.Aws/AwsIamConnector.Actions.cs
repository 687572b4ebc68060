using Deprov.Connectors.Aws.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Aws;

internal sealed partial class AwsIamConnector
{
    /// <summary>
    /// Cuts both ways in: deletes the console password (<c>DeleteLoginProfile</c>; <c>NoSuchEntity</c> means there was
    /// none) and sets every active access key <c>Inactive</c> (<c>UpdateAccessKey</c>), which a rehire can undo. The
    /// before-state records whether there was a password and which keys were active: the restore needs exactly that.
    /// </summary>
    private async Task<ActionResult> DisableAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var user = action.RequireAccountId(_label, "user name");
        var keys = await ReadKeysAsync(user, "read access keys before disable", cancellationToken);
        if (keys is null)
        {
            return ActionResult.Unchanged(Absent);
        }

        var console = await HasLoginProfileAsync(user, "read login profile before disable", cancellationToken);
        var active = keys.Where(k => k.Active).Select(k => k.Id).ToList();
        var before = State(console, active, keys.Count);
        if (!console && active.Count == 0)
        {
            return ActionResult.Unchanged(before);
        }

        if (console)
        {
            await MustAsync("DeleteLoginProfile", User(user), "disable (delete console password)", missingIsDone: true, cancellationToken);
        }

        foreach (var key in active)
        {
            // NoSuchEntity: the key was deleted since it was listed, which cuts it as well.
            await MustAsync("UpdateAccessKey", Params(("UserName", user), ("AccessKeyId", key), ("Status", "Inactive")),
                "disable (deactivate access key)", missingIsDone: true, cancellationToken);
        }

        var detail = console
            ? "console password deleted; IAM keeps no copy, so a restore cannot bring it back (a new one must be set)"
            : null;
        return new ActionResult(before, State(false, [], keys.Count), AlreadyInState: false, detail);
    }

    /// <summary>
    /// Restores what the disable recorded: the access keys that were active go back to <c>Active</c>. A deleted console
    /// password cannot be restored (IAM stores only a hash and cannot return it); the result says so, and a new password
    /// is a task for an administrator (<c>CreateLoginProfile</c> with a reset on first sign-in, handed to the person).
    /// </summary>
    private async Task<ActionResult> EnableAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var user = action.RequireAccountId(_label, "user name");
        var keys = await ReadKeysAsync(user, "read access keys before enable", cancellationToken)
            ?? throw new ConnectorException($"{_label}: user '{user}' no longer exists; it cannot be re-enabled, only created again.", isTransient: false);
        var console = await HasLoginProfileAsync(user, "read login profile before enable", cancellationToken);
        var before = State(console, keys.Where(k => k.Active).Select(k => k.Id), keys.Count);
        var notes = new List<string>();
        var recorded = action.BeforeValue("activeAccessKeys");
        if (recorded is null)
        {
            notes.Add("no before-state was recorded, so no access key was re-activated");
        }

        var wanted = Split(recorded);
        var missing = wanted.Where(id => keys.All(k => k.Id != id)).ToList();
        if (missing.Count > 0)
        {
            notes.Add($"access keys {Join(missing)} no longer exist");
        }

        var detail = notes.Count == 0 ? null : string.Join("; ", notes);
        var toActivate = keys.Where(k => !k.Active && wanted.Contains(k.Id, StringComparer.Ordinal)).Select(k => k.Id).ToList();
        foreach (var key in toActivate)
        {
            await MustAsync("UpdateAccessKey", Params(("UserName", user), ("AccessKeyId", key), ("Status", "Active")),
                "enable (re-activate access key)", missingIsDone: false, cancellationToken);
        }

        if (action.BeforeValue("loginProfile") == "true" && !console)
        {
            // No API gives a deleted password back: the step fails permanently, so the engine hands it to a person as a task.
            // The keys are active again by now; running the step again re-activates nothing and says the same.
            var keysNote = wanted.Length == 0 ? "no access key was active before" : $"access keys {Join(wanted.Where(id => keys.Any(k => k.Id == id)).ToList())} are active again";
            throw new ConnectorException($"{_label}: {keysNote}, but the console password was deleted by the disable and cannot be restored: " +
                $"set a new one by hand (IAM console, or 'aws iam create-login-profile --user-name {user} --password-reset-required') and give it to the person" +
                (detail is null ? "." : $" ({detail})."), isTransient: false);
        }

        if (toActivate.Count == 0)
        {
            return ActionResult.Unchanged(before, detail);
        }

        var after = State(console, keys.Where(k => k.Active).Select(k => k.Id).Concat(toActivate), keys.Count);
        return new ActionResult(before, after, AlreadyInState: false, detail);
    }

    /// <summary>Sets one access key <c>Inactive</c> (reversible with <c>UpdateAccessKey Status=Active</c>; Deprov deletes
    /// keys only with the user).</summary>
    private async Task<ActionResult> RevokeKeyAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var (user, keyId) = KeyOf(action);
        var keys = await ReadKeysAsync(user, "read access keys before revoke", cancellationToken);
        var key = keys?.FirstOrDefault(k => k.Id == keyId);
        if (key is null)
        {
            return ActionResult.Unchanged(Absent);
        }

        if (!key.Active)
        {
            return ActionResult.Unchanged(KeyState(key.Status));
        }

        var gone = await MustAsync("UpdateAccessKey", Params(("UserName", user), ("AccessKeyId", keyId), ("Status", "Inactive")),
            "revoke access key", missingIsDone: true, cancellationToken);
        return gone ? ActionResult.Unchanged(Absent) : new ActionResult(KeyState("Active"), KeyState("Inactive"), AlreadyInState: false);
    }

    private async Task<ActionResult> ChangeMembershipAsync(ConnectorAction action, bool add, CancellationToken cancellationToken)
    {
        var user = action.RequireAccountId(_label, "user name");
        var group = action.RequireEntitlementId(_label, "group name");
        var what = add ? "add to group" : "remove from group";
        var groups = await GroupsOfAsync(user, what + " (membership check)", cancellationToken);
        if (groups is null)
        {
            return add
                ? throw new ConnectorException($"{_label}: user '{user}' not found; cannot add it to group '{group}'.", isTransient: false)
                : ActionResult.Unchanged(Absent);
        }

        var member = groups.Contains(group, StringComparer.Ordinal);
        if (!member && !add)
        {
            // An empty or short group list is no proof: the group's own user list must agree before nothing is removed.
            member = (await MembersOfAsync(group, what + " (group's users)", cancellationToken))?.Contains(user, StringComparer.Ordinal) == true;
        }

        if (member == add)
        {
            return ActionResult.Unchanged(Membership(group, add));
        }

        // Removing: NoSuchEntity means the group (or user) went away since the check, so no membership is left.
        var gone = await MustAsync(add ? "AddUserToGroup" : "RemoveUserFromGroup", Params(("GroupName", group), ("UserName", user)), what,
            missingIsDone: !add, cancellationToken);
        return gone
            ? ActionResult.Unchanged(Membership(group, false))
            : new ActionResult(Membership(group, !add), Membership(group, add), AlreadyInState: false);
    }

    /// <summary>
    /// Deletes the user the way IAM requires: first its access keys, console password, group memberships, attached and
    /// inline policies, then <c>DeleteUser</c>. IAM refuses (<c>DeleteConflict</c>) while the user still has MFA devices,
    /// signing certificates, SSH public keys or service-specific credentials, which Deprov does not remove: the error
    /// says so and an administrator removes them.
    /// </summary>
    private async Task<ActionResult> DeleteAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var user = action.RequireAccountId(_label, "user name");
        const string What = "delete";
        var keys = await ReadKeysAsync(user, "read access keys before delete", cancellationToken);
        if (keys is null)
        {
            return ActionResult.Unchanged(Absent);
        }

        var console = await HasLoginProfileAsync(user, "read login profile before delete", cancellationToken);
        var groups = await GroupsOfAsync(user, "read groups before delete", cancellationToken) ?? [];
        var attached = (await _client.ListOrNullAsync("ListAttachedUserPolicies", User(user), "AttachedPolicies", "read policies before delete", cancellationToken) ?? [])
            .Select(m => IamClient.Text(m, "PolicyArn")).OfType<string>().ToList();
        var inline = (await _client.ListOrNullAsync("ListUserPolicies", User(user), "PolicyNames", "read inline policies before delete", cancellationToken) ?? [])
            .Select(m => m.Value).Where(n => n.Length > 0).ToList();
        var before = State(console, keys.Where(k => k.Active).Select(k => k.Id), keys.Count);
        before["groups"] = Join(groups);
        before["attachedPolicies"] = Join(attached);
        before["inlinePolicies"] = Join(inline);

        foreach (var key in keys)
        {
            await MustAsync("DeleteAccessKey", Params(("UserName", user), ("AccessKeyId", key.Id)), What, missingIsDone: true, cancellationToken);
        }

        if (console)
        {
            await MustAsync("DeleteLoginProfile", User(user), What, missingIsDone: true, cancellationToken);
        }

        foreach (var group in groups)
        {
            await MustAsync("RemoveUserFromGroup", Params(("GroupName", group), ("UserName", user)), What, missingIsDone: true, cancellationToken);
        }

        foreach (var arn in attached)
        {
            await MustAsync("DetachUserPolicy", Params(("UserName", user), ("PolicyArn", arn)), What, missingIsDone: true, cancellationToken);
        }

        foreach (var name in inline)
        {
            await MustAsync("DeleteUserPolicy", Params(("UserName", user), ("PolicyName", name)), What, missingIsDone: true, cancellationToken);
        }

        var r = await _client.CallAsync("DeleteUser", User(user), What, cancellationToken);
        if (r.ErrorCode == "DeleteConflict")
        {
            throw new ConnectorException(
                $"{_label}: DeleteUser ({What}) of '{user}' failed: 409 DeleteConflict \"{r.ErrorMessage}\": the user still has MFA devices, signing "
                + "certificates, SSH public keys or service-specific credentials, which Deprov does not remove; remove them in IAM and retry the step.",
                isTransient: false);
        }

        if (!r.IsSuccess && !r.IsNoSuchEntity)
        {
            throw _client.Failure(r, "DeleteUser", What);
        }

        return new ActionResult(before, Absent, AlreadyInState: false,
            $"deleted {keys.Count} access keys, {(console ? "the console password, " : string.Empty)}{groups.Count} memberships, {attached.Count + inline.Count} policies, then the user");
    }

    /// <summary>Calls a changing action; true when IAM answered <c>NoSuchEntity</c> and <paramref name="missingIsDone"/>.</summary>
    private async Task<bool> MustAsync(string iamAction, List<KeyValuePair<string, string>> parameters, string what, bool missingIsDone, CancellationToken cancellationToken)
    {
        var r = await _client.CallAsync(iamAction, parameters, what, cancellationToken);
        if (r.IsSuccess)
        {
            return false;
        }

        return missingIsDone && r.IsNoSuchEntity ? true : throw _client.Failure(r, iamAction, what);
    }

    private static Dictionary<string, string> State(bool loginProfile, IEnumerable<string> activeKeys, int keyCount) => new(StringComparer.Ordinal)
    {
        ["loginProfile"] = Bool(loginProfile),
        ["activeAccessKeys"] = Join(activeKeys),
        ["accessKeys"] = keyCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static Dictionary<string, string> KeyState(string status) => new(StringComparer.Ordinal) { ["status"] = status };

    private static Dictionary<string, string> Membership(string group, bool member) =>
        new(StringComparer.Ordinal) { ["member"] = Bool(member), ["group"] = group };
}
