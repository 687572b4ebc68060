using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using Deprov.Connectors.Google.Protocol;
using Deprov.Core.Security;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Google;

/// <summary>
/// <c>reset_password</c>: <c>PATCH users/{id}</c> with a random password nobody is told and
/// <c>changePasswordAtNextLogin: true</c>. The password is sent in clear text over TLS, which is what the Directory API
/// expects when no <c>hashFunction</c> is given (8 to 100 ASCII characters); it is generated for the one request and never
/// logged, stored or put in a before/after state, which record only that a reset happened.
/// </summary>
internal sealed partial class GoogleConnector
{
    private const string PasswordReset = "reset to a random secret (not stored)";

    // Per step (idempotency key): when Google accepted our reset. The Directory API never returns a password, so the
    // read-back can only confirm what this process saw accepted, together with changePasswordAtNextLogin.
    private readonly ConcurrentDictionary<string, DateTimeOffset> _passwordResets = new(StringComparer.Ordinal);

    /// <summary>
    /// Never "already in state": a password cannot be read, so every call sets a new one (harmless to repeat). A user
    /// that no longer exists has no password left: already in state.
    /// </summary>
    private async Task<ActionResult> ResetPasswordAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = action.RequireAccountId(_label, "user id");
        var path = $"{Users}/{Escape(id)}";
        var user = await GetAsync(path, "read before password reset", Scopes.User, cancellationToken);
        if (user is null)
        {
            return ActionResult.Unchanged(Absent, "the user no longer exists: no password is left");
        }

        var body = new JsonObject { ["password"] = RandomPassword.New(), ["changePasswordAtNextLogin"] = true };
        var r = await Client.SendAsync(HttpMethod.Patch, path, body, "reset password", cancellationToken);
        if (r.Status == HttpStatusCode.NotFound)
        {
            return ActionResult.Unchanged(Absent, "the user no longer exists: no password is left");
        }

        if (!r.IsSuccess)
        {
            // Failure never quotes the request body, only Google's answer.
            throw Client.Failure(r, HttpMethod.Patch, path, "reset password", Scopes.User);
        }

        _passwordResets[action.IdempotencyKey] = _time.GetUtcNow();
        var before = PasswordMap(user, "not reset by this step");
        var after = PasswordMap(r.Object is { } updated && updated["changePasswordAtNextLogin"] is not null ? updated : user, PasswordReset);
        if (r.Object?["changePasswordAtNextLogin"] is null)
        {
            after["changePasswordAtNextLogin"] = "true";
        }

        return new ActionResult(before, after, AlreadyInState: false,
            "the new password was never stored or shown; an admin sets one on a rehire (the user must change it at next sign-in)");
    }

    /// <summary>
    /// Confirmed when the user is gone, or when this process saw Google accept the reset for this step and the user must
    /// change the password at next sign-in. Not confirmed otherwise (e.g. after a restart between the call and the
    /// read-back): the engine then resets it again, which is harmless.
    /// </summary>
    private async Task<ReadBackResult> ReadBackPasswordResetAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var user = await GetAsync($"{Users}/{Escape(action.RequireAccountId(_label, "user id"))}", "read back password reset", Scopes.User, cancellationToken);
        var accepted = _passwordResets.TryRemove(action.IdempotencyKey, out var at);
        if (user is null)
        {
            return new ReadBackResult(false, Absent);
        }

        var observed = PasswordMap(user, accepted ? PasswordReset : "unknown (the Directory API does not return passwords)");
        observed["resetAcceptedAt"] = accepted ? Iso(at) : "unknown";
        return new ReadBackResult(accepted && GoogleResponse.Flag(user, "changePasswordAtNextLogin"), observed);
    }

    private static Dictionary<string, string> PasswordMap(JsonObject user, string password)
    {
        var map = UserMap(user);
        map["changePasswordAtNextLogin"] = Bool(GoogleResponse.Flag(user, "changePasswordAtNextLogin"));
        map["password"] = password;
        return map;
    }
}
