using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Deprov.Connectors.Google.Protocol;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Google;

/// <summary>
/// A user's sign-in credentials other than the password: OAuth grants to apps (<c>tokens</c>), application-specific
/// passwords (<c>asps</c>) and backup verification codes. Discovery reports them as one credential per user
/// (<c>tokens:{userId}</c>); <c>revoke_token</c> deletes every grant and app password and invalidates the codes, so that a
/// user who is suspended and later restored does not get them back.
/// </summary>
internal sealed partial class GoogleConnector
{
    internal const string CredentialPrefix = "tokens:";

    private async Task<ActionResult> RevokeCredentialsAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var id = CredentialUser(action);
        var before = await ReadCredentialsAsync(id, "read before revoke", cancellationToken);
        if (before is null)
        {
            return ActionResult.Unchanged(Absent, "the user no longer exists: its grants and app passwords went with it");
        }

        if (before.Tokens.Count == 0 && before.Asps.Count == 0 && before.Codes == 0)
        {
            return ActionResult.Unchanged(before.Map());
        }

        foreach (var clientId in before.Tokens)
        {
            await DeleteItemAsync($"{Users}/{Escape(id)}/tokens/{Escape(clientId)}", "revoke OAuth grant", cancellationToken);
        }

        foreach (var codeId in before.Asps)
        {
            await DeleteItemAsync($"{Users}/{Escape(id)}/asps/{Escape(codeId)}", "delete app password", cancellationToken);
        }

        if (before.Codes > 0)
        {
            var path = $"{Users}/{Escape(id)}/verificationCodes/invalidate";
            var r = await Client.SendAsync(HttpMethod.Post, path, null, "invalidate backup codes", cancellationToken);
            if (!r.IsSuccess && r.Status != HttpStatusCode.NotFound)
            {
                throw Client.Failure(r, HttpMethod.Post, path, "invalidate backup codes", Scopes.Security);
            }
        }

        var after = new UserCredentials([], [], 0).Map();
        return new ActionResult(before.Map(), after, AlreadyInState: false);
    }

    /// <summary>Confirmed when the user has no OAuth grant, no app password and no valid backup code left (or is gone).</summary>
    private async Task<ReadBackResult> ReadBackCredentialsAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var now = await ReadCredentialsAsync(CredentialUser(action), "read back revoke", cancellationToken);
        return now is null
            ? new ReadBackResult(false, Absent)
            : new ReadBackResult(now.Tokens.Count == 0 && now.Asps.Count == 0 && now.Codes == 0, now.Map());
    }

    /// <summary>A DELETE whose 404 means "already gone" (revoked meanwhile by the user or another admin).</summary>
    private async Task DeleteItemAsync(string path, string what, CancellationToken cancellationToken)
    {
        var r = await Client.SendAsync(HttpMethod.Delete, path, null, what, cancellationToken);
        if (!r.IsSuccess && r.Status != HttpStatusCode.NotFound)
        {
            throw Client.Failure(r, HttpMethod.Delete, path, what, Scopes.Security);
        }
    }

    /// <summary>The user's grants, app passwords and how many backup codes are valid; null when the user does not exist.</summary>
    /// <remarks>Backup codes are secrets: only their number is kept, never the codes.</remarks>
    private async Task<UserCredentials?> ReadCredentialsAsync(string id, string what, CancellationToken cancellationToken)
    {
        var tokens = await GetAsync($"{Users}/{Escape(id)}/tokens", what + " (OAuth grants)", Scopes.Security, cancellationToken);
        if (tokens is null)
        {
            return null;
        }

        var asps = await GetAsync($"{Users}/{Escape(id)}/asps", what + " (app passwords)", Scopes.Security, cancellationToken);
        var codes = await GetAsync($"{Users}/{Escape(id)}/verificationCodes", what + " (backup codes)", Scopes.Security, cancellationToken);
        if (asps is null || codes is null)
        {
            return null;
        }

        return new UserCredentials(
            [.. Items(tokens).Select(t => GoogleResponse.Text(t, "clientId")).OfType<string>().Order(StringComparer.Ordinal)],
            [.. Items(asps).Select(a => a["codeId"]?.ToJsonString()?.Trim('"')).OfType<string>().Order(StringComparer.Ordinal)],
            Items(codes).Count());
    }

    private string CredentialUser(ConnectorAction action)
    {
        var id = action.CredentialExternalId ?? action.AccountExternalId;
        if (id is null)
        {
            throw new ConnectorException($"{_label}: {action.Describe()} names no user whose tokens to revoke.", isTransient: false);
        }

        return id.StartsWith(CredentialPrefix, StringComparison.Ordinal) ? id[CredentialPrefix.Length..] : id;
    }

    private static IEnumerable<JsonObject> Items(JsonObject list) => (list["items"] as JsonArray)?.OfType<JsonObject>() ?? [];

    private sealed record UserCredentials(IReadOnlyList<string> Tokens, IReadOnlyList<string> Asps, int Codes)
    {
        public Dictionary<string, string> Map() => new(StringComparer.Ordinal)
        {
            ["oauthClients"] = string.Join(",", Tokens),
            ["appPasswords"] = Asps.Count.ToString(CultureInfo.InvariantCulture),
            ["backupCodes"] = Codes.ToString(CultureInfo.InvariantCulture),
        };
    }
}
