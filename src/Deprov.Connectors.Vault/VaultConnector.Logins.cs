using System.Net;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Deprov.Connectors.Vault.Protocol;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Vault;

/// <summary>
/// The tokens (and their child tokens and leases) people obtained by logging in through the configured auth mounts. Vault
/// files a login's token lease under <c>auth/&lt;mount&gt;/login/&lt;username&gt;/</c>, so the lease tree tells who holds
/// live tokens and one revoke-prefix ends them all.
/// </summary>
internal sealed partial class VaultConnector
{
    /// <summary>Credential ids of a person's logins: <c>login:</c>, the auth mount and the user name.</summary>
    internal const string LoginPrefix = "login:";

    private async IAsyncEnumerable<DiscoveredObject> DiscoverLoginsAsync(string mount, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var listPath = $"sys/leases/lookup/auth/{mount}/login";
        var r = await _client.ListAsync(listPath, "list logins", cancellationToken);
        if (IsEmptyList(r))
        {
            yield break;
        }

        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Get, listPath + "/?list=true", "list logins", Capabilities.ListLeases);
        }

        foreach (var key in (r.Data?["keys"] as JsonArray)?.OfType<JsonValue>().Select(v => v.GetValue<string>()) ?? [])
        {
            if (!key.EndsWith('/'))
            {
                // A lease directly under login/ belongs to no user name (not a per-user login path).
                continue;
            }

            var user = key.TrimEnd('/');
            yield return new DiscoveredCredential($"{LoginPrefix}{mount}/{user}", $"auth/{mount}/login/{user}", CredentialKind.ApiToken, Person(user), [], Active: true, LastRotatedAt: null);
        }
    }

    /// <summary>
    /// <c>POST /v1/sys/leases/revoke-prefix/auth/&lt;mount&gt;/login/&lt;user&gt;/?sync=true</c>: revokes every token the
    /// person obtained there, their child tokens and the leases those tokens created. The trailing slash keeps
    /// <c>jdoe</c> from also matching <c>jdoe2</c>. Vault answers an empty LIST with 404, the same answer as a wrong path,
    /// so a 404 on the person's lease list is not taken as "nothing to revoke": the revocation is sent anyway (revoking an
    /// empty prefix changes nothing) and the read-back decides.
    /// </summary>
    private async Task<ActionResult> RevokeLoginsAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var (mount, user) = Login(action);
        var before = await ListLeasesAsync(mount, user, cancellationToken);
        var beforeState = Leases(before);
        if (before == 0)
        {
            // Only a list that answered (200) with no keys says "none"; Vault itself never sends one, a proxy might.
            return ActionResult.Unchanged(beforeState, "no live token or lease left");
        }

        var path = $"sys/leases/revoke-prefix/auth/{mount}/login/{Escape(user)}/?sync=true";
        var r = await _client.SendAsync(HttpMethod.Post, path, null, "revoke logins", cancellationToken);
        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Post, path, "revoke logins", Capabilities.RevokePrefix);
        }

        return new ActionResult(beforeState, Leases(0), AlreadyInState: false,
            before is null ? "the person's lease list answered 404 (empty, or a wrong path); revoked by prefix anyway" : null);
    }

    /// <summary>
    /// Confirmed by the person's lease list only when it lists nothing in a way that could have listed something: a 200
    /// without keys, or a 404 (empty, or a wrong path) corroborated either by the mount's login list answering without
    /// the person, or by the token store holding no token of the person's login path.
    /// </summary>
    private async Task<ReadBackResult> ReadBackLoginsAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var (mount, user) = Login(action);
        var count = await ListLeasesAsync(mount, user, cancellationToken);
        var observed = Leases(count);
        if (count is not null)
        {
            return new ReadBackResult(count == 0, observed);
        }

        var users = await ListLoginUsersAsync(mount, cancellationToken);
        if (users is not null)
        {
            var listed = users.Contains(user + "/");
            observed["mount_login_list"] = listed ? "lists this person" : $"answers without this person ({Int(users.Count)} others)";
            if (!listed)
            {
                observed["leases"] = "0";
            }

            return new ReadBackResult(!listed, observed);
        }

        observed["mount_login_list"] = "404 (empty, or a wrong path)";
        var tokens = await ScanLoginTokensAsync(mount, user, cancellationToken);
        foreach (var (k, v) in tokens.Observed)
        {
            observed[k] = v;
        }

        if (tokens.Confirmed)
        {
            observed["leases"] = "0";
        }

        return new ReadBackResult(tokens.Confirmed, observed);
    }

    /// <summary>
    /// The second read path: the token store rather than the lease tree. Every accessor (<c>LIST auth/token/accessors</c>)
    /// is looked up (<c>POST auth/token/lookup-accessor</c>) and the person's tokens are those whose <c>path</c> is their
    /// login path. The list is believed only when it holds the accessor of Deprov's own token (<c>GET
    /// auth/token/lookup-self</c>): a list that does not show a token known to be alive could hide the person's too.
    /// </summary>
    private async Task<ReadBackResult> ScanLoginTokensAsync(string mount, string user, CancellationToken cancellationToken)
    {
        var observed = new Dictionary<string, string>(StringComparer.Ordinal) { ["path"] = "token store (accessors)" };
        var self = await _client.SendAsync(HttpMethod.Get, "auth/token/lookup-self", null, "look up own token", cancellationToken);
        if (!self.IsSuccess)
        {
            throw _client.Failure(self, HttpMethod.Get, "auth/token/lookup-self", "look up own token", Capabilities.LookupSelf);
        }

        var own = VaultResponse.Text(self.Data, "accessor");
        var list = await _client.ListAsync("auth/token/accessors", "list token accessors", cancellationToken);
        if (list.Status == HttpStatusCode.NotFound)
        {
            // Deprov's own token is alive, so an empty accessor list is a wrong answer.
            observed["accessors"] = "404 (none listed, yet Deprov's own token is alive)";
            return new ReadBackResult(false, observed);
        }

        if (!list.IsSuccess)
        {
            throw _client.Failure(list, HttpMethod.Get, "auth/token/accessors/?list=true", "list token accessors", Capabilities.ListAccessors);
        }

        var accessors = (list.Data?["keys"] as JsonArray)?.OfType<JsonValue>().Select(v => v.GetValue<string>()).ToList() ?? [];
        observed["accessors"] = Int(accessors.Count);
        if (own is null || !accessors.Contains(own, StringComparer.Ordinal))
        {
            observed["own_accessor_listed"] = "false";
            return new ReadBackResult(false, observed);
        }

        if (accessors.Count > MaxAccessorScan)
        {
            observed["scanned"] = $"no: more than {Int(MaxAccessorScan)} tokens";
            return new ReadBackResult(false, observed);
        }

        var loginPath = $"auth/{mount}/login/{user}";
        var held = 0;
        foreach (var accessor in accessors)
        {
            var r = await _client.SendAsync(HttpMethod.Post, "auth/token/lookup-accessor", new JsonObject { ["accessor"] = accessor }, "look up token accessor", cancellationToken);
            if (r.Status is HttpStatusCode.BadRequest or HttpStatusCode.NotFound)
            {
                // Expired or revoked between the list and the lookup ("invalid accessor").
                continue;
            }

            if (!r.IsSuccess)
            {
                throw _client.Failure(r, HttpMethod.Post, "auth/token/lookup-accessor", "look up token accessor", Capabilities.LookupAccessor);
            }

            var path = VaultResponse.Text(r.Data, "path") ?? string.Empty;
            if (string.Equals(path, loginPath, StringComparison.Ordinal) || path.StartsWith(loginPath + "/", StringComparison.Ordinal))
            {
                held++;
            }
        }

        observed["tokens"] = Int(held);
        return new ReadBackResult(held == 0, observed);
    }

    /// <summary>How many leases are filed under the person's login path; null when the LIST answers 404 (Vault's answer
    /// for an empty list, and for a path that does not exist).</summary>
    private async Task<int?> ListLeasesAsync(string mount, string user, CancellationToken cancellationToken)
    {
        var listPath = $"sys/leases/lookup/auth/{mount}/login/{Escape(user)}";
        var r = await _client.ListAsync(listPath, "list the person's leases", cancellationToken);
        if (IsEmptyList(r))
        {
            return null;
        }

        return r.IsSuccess
            ? (r.Data?["keys"] as JsonArray)?.Count ?? 0
            : throw _client.Failure(r, HttpMethod.Get, listPath + "/?list=true", "list the person's leases", Capabilities.ListLeases);
    }

    /// <summary>The keys of the mount's login list (user folders end with '/'); null on 404.</summary>
    private async Task<List<string>?> ListLoginUsersAsync(string mount, CancellationToken cancellationToken)
    {
        var listPath = $"sys/leases/lookup/auth/{mount}/login";
        var r = await _client.ListAsync(listPath, "list logins", cancellationToken);
        if (IsEmptyList(r))
        {
            return null;
        }

        return r.IsSuccess
            ? (r.Data?["keys"] as JsonArray)?.OfType<JsonValue>().Select(v => v.GetValue<string>()).ToList() ?? []
            : throw _client.Failure(r, HttpMethod.Get, listPath + "/?list=true", "list logins", Capabilities.ListLeases);
    }

    private (string Mount, string User) Login(ConnectorAction action)
    {
        var id = CredentialId(action, LoginPrefix);
        var slash = id.LastIndexOf('/');
        var mount = slash > 0 ? id[..slash] : string.Empty;
        if (slash <= 0 || slash == id.Length - 1 || !_settings.AuthMounts.Contains(mount, StringComparer.Ordinal))
        {
            throw new Deprov.Core.ConnectorException(
                $"Vault {_system.Id}: {action.Describe()} names '{id}', which is not '<auth mount>/<user>' for a mount in auth_mounts ({string.Join(", ", _settings.AuthMounts)}).",
                isTransient: false);
        }

        return (mount, id[(slash + 1)..]);
    }

    /// <summary>How many tokens the token-store scan looks up at most; beyond it the scan confirms nothing.</summary>
    internal const int MaxAccessorScan = 10_000;

    private static Dictionary<string, string> Leases(int? count) =>
        new(StringComparer.Ordinal) { ["leases"] = count is { } n ? Int(n) : "unknown (the lease list answered 404: empty, or a wrong path)" };
}
