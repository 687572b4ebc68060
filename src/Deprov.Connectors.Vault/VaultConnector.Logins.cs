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
    /// <c>jdoe</c> from also matching <c>jdoe2</c>.
    /// </summary>
    private async Task<ActionResult> RevokeLoginsAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var (mount, user) = Login(action);
        var before = await CountLeasesAsync(mount, user, cancellationToken);
        var beforeState = Leases(before);
        if (before == 0)
        {
            return ActionResult.Unchanged(beforeState, "no live token or lease left");
        }

        var path = $"sys/leases/revoke-prefix/auth/{mount}/login/{Escape(user)}/?sync=true";
        var r = await _client.SendAsync(HttpMethod.Post, path, null, "revoke logins", cancellationToken);
        if (!r.IsSuccess)
        {
            throw _client.Failure(r, HttpMethod.Post, path, "revoke logins", Capabilities.RevokePrefix);
        }

        return new ActionResult(beforeState, Leases(0), AlreadyInState: false);
    }

    private async Task<ReadBackResult> ReadBackLoginsAsync(ConnectorAction action, CancellationToken cancellationToken)
    {
        var (mount, user) = Login(action);
        var count = await CountLeasesAsync(mount, user, cancellationToken);
        return new ReadBackResult(count == 0, Leases(count));
    }

    /// <summary>How many leases are filed under the person's login path (404 on the LIST means none).</summary>
    private async Task<int> CountLeasesAsync(string mount, string user, CancellationToken cancellationToken)
    {
        var listPath = $"sys/leases/lookup/auth/{mount}/login/{Escape(user)}";
        var r = await _client.ListAsync(listPath, "list the person's leases", cancellationToken);
        if (IsEmptyList(r))
        {
            return 0;
        }

        return r.IsSuccess
            ? (r.Data?["keys"] as JsonArray)?.Count ?? 0
            : throw _client.Failure(r, HttpMethod.Get, listPath + "/?list=true", "list the person's leases", Capabilities.ListLeases);
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

    private static Dictionary<string, string> Leases(int count) => new(StringComparer.Ordinal) { ["leases"] = Int(count) };
}
