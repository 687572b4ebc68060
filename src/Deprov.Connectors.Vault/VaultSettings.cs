using System.Text.RegularExpressions;
using Deprov.Connectors.Http.Auth;
using Deprov.Core;
using Deprov.Core.Configuration;

namespace Deprov.Connectors.Vault;

/// <summary>How the connector authenticates to Vault.</summary>
public enum VaultAuthType
{
    /// <summary>A Vault token from a secret reference (<c>env:VAULT_TOKEN</c>, <c>file:...</c>).</summary>
    Token,

    /// <summary>AppRole login (<c>POST /v1/auth/&lt;mount&gt;/login</c> with role_id and secret_id); the token is cached and renewed by re-login.</summary>
    Approle,
}

/// <summary>The <c>auth</c> block: a token reference, or an AppRole's role id and secret id reference.</summary>
public sealed record VaultAuthSettings(VaultAuthType Type, string? TokenRef, string? RoleId, string? SecretIdRef, string AppRoleMount);

/// <summary>The parsed <c>systems[].settings</c> block of a <c>kind: vault</c> system. Defaults are in <see cref="Parse"/>.</summary>
/// <param name="Address">Vault's address (<c>https://vault.example.com:8200/</c>); requests go to <c>/v1/</c> below it.</param>
/// <param name="KvMount">The KV version 2 mount holding shared secrets.</param>
/// <param name="KvPrefixes">Paths under the mount listed recursively (empty string: the whole mount).</param>
/// <param name="AuthMounts">Auth mounts whose login path ends with the user name (<c>ldap</c>, <c>userpass</c>, <c>okta</c>).</param>
/// <param name="EmailDomain">Appended to bare user names (in known_by, owner, login paths) so they correlate by e-mail.</param>
public sealed partial record VaultSettings(
    Uri Address,
    Uri ApiBase,
    string? Namespace,
    VaultAuthSettings Auth,
    string KvMount,
    IReadOnlyList<string> KvPrefixes,
    string KnownByKey,
    string OwnerKey,
    IReadOnlyList<string> RotateKeys,
    int SecretLength,
    IReadOnlyList<string> AuthMounts,
    string? EmailDomain,
    TimeSpan Timeout,
    int MaxConcurrency,
    double? RateLimitPerSecond,
    int MaxRetries,
    TimeSpan MaxRetryAfter)
{
    internal static readonly string[] Keys =
    [
        "address", "namespace", "auth", "kv_mount", "kv_prefixes", "known_by_key", "owner_key", "rotate_keys", "secret_length",
        "auth_mounts", "email_domain", "timeout_seconds", "max_concurrency", "rate_limit_per_second", "max_retries", "max_retry_after_seconds",
    ];

    private static readonly string[] AuthKeys = ["type", "token", "role_id", "secret_id", "mount"];

    /// <summary>Parses and validates the block; every problem is added to <paramref name="errors"/>.</summary>
    public static VaultSettings Parse(SettingsNode settings, List<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(errors);
        settings.CheckKnownKeys(errors, Keys);

        var address = new Uri("https://invalid/");
        if (settings.GetString("address", errors, required: true, "add 'address: https://vault.example.com:8200'.") is { } text)
        {
            if (Uri.TryCreate(text, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp) && u.AbsolutePath is "/" or "")
            {
                address = u;
            }
            else
            {
                errors.Add(settings["address"].Error($"is '{text}', which is not an absolute http(s) URL without a path.",
                    "write Vault's address as VAULT_ADDR has it, such as 'https://vault.example.com:8200' (the connector adds /v1/)."));
            }
        }

        var ns = settings.GetString("namespace", errors)?.Trim('/');
        var auth = ParseAuth(settings["auth"], errors);

        var kvMount = Path(settings, "kv_mount", "secret", errors);
        var prefixes = settings.GetStringList("kv_prefixes", errors).Select(p => p.Trim('/')).ToList();
        foreach (var p in prefixes.Where(p => p.Contains("..", StringComparison.Ordinal) || p.Contains('*', StringComparison.Ordinal)))
        {
            errors.Add(settings["kv_prefixes"].Error($"has '{p}', which is not a plain path under the mount.", "write folder paths such as 'shared/ops' (no wildcards, no '..')."));
        }

        var knownBy = settings.GetString("known_by_key", errors) ?? "known_by";
        var owner = settings.GetString("owner_key", errors) ?? "owner";
        var rotateKeys = settings.Has("rotate_keys") ? settings.GetStringList("rotate_keys", errors) : ["password"];
        if (settings.Has("rotate_keys") && rotateKeys.Count == 0)
        {
            errors.Add(settings["rotate_keys"].Error("is empty, so a rotation would change nothing.", "list the data keys that hold the secret, such as '[password]'."));
        }

        var length = settings.GetInt("secret_length", 32, errors, 16, 256);
        var authMounts = settings.GetStringList("auth_mounts", errors).Select(m => m.Trim('/')).ToList();
        for (var i = 0; i < authMounts.Count; i++)
        {
            // Accept 'auth/ldap' as well as 'ldap'.
            authMounts[i] = authMounts[i].StartsWith("auth/", StringComparison.Ordinal) ? authMounts[i][5..] : authMounts[i];
            if (!PathPattern().IsMatch(authMounts[i]))
            {
                errors.Add(settings["auth_mounts"].Error($"has '{authMounts[i]}', which is not an auth mount path.", "write mount paths such as 'ldap' or 'userpass'."));
            }
            else if (authMounts[i] is "oidc" or "jwt" or "token" or "approle")
            {
                errors.Add(settings["auth_mounts"].Error($"has '{authMounts[i]}', whose login path does not end with the user name, so its leases cannot be found per person.",
                    "list only mounts logged into at '<mount>/login/<username>' (ldap, userpass, okta, radius); see docs/connectors/vault.md."));
            }
        }

        var domain = settings.GetString("email_domain", errors)?.TrimStart('@');
        if (domain is not null && !DomainPattern().IsMatch(domain))
        {
            errors.Add(settings["email_domain"].Error($"is '{domain}', which is not a domain name.", "write the people's e-mail domain such as 'example.com'."));
        }

        var timeout = settings.GetInt("timeout_seconds", 30, errors, 1, 600);
        var maxConcurrency = settings.GetInt("max_concurrency", 8, errors, 1, 256);
        double? rate = settings.Has("rate_limit_per_second") ? settings.GetDouble("rate_limit_per_second", 0, errors, 0.01, 10_000) : null;
        var maxRetries = settings.GetInt("max_retries", 3, errors, 0, 10);
        var maxRetryAfter = settings.GetInt("max_retry_after_seconds", 30, errors, 0, 3600);

        return new VaultSettings(address, new Uri(address, "/v1/"), ns, auth, kvMount, prefixes.Count == 0 ? [string.Empty] : prefixes, knownBy, owner,
            rotateKeys, length, authMounts, domain, TimeSpan.FromSeconds(timeout), maxConcurrency, rate, maxRetries, TimeSpan.FromSeconds(maxRetryAfter));
    }

    /// <summary>The shared layer's settings for a static token: Vault accepts <c>Authorization: Bearer &lt;token&gt;</c>.</summary>
    internal HttpAuthSettings BearerSettings() => new(HttpAuthType.Bearer, Auth.TokenRef, null, null, null, null, null, null);

    private static VaultAuthSettings ParseAuth(SettingsNode auth, List<ValidationError> errors)
    {
        var fallback = new VaultAuthSettings(VaultAuthType.Token, null, null, null, "approle");
        if (auth.IsMissing)
        {
            errors.Add(auth.Error("is required but missing.", "add 'auth: { type: token, token: env:VAULT_TOKEN }'."));
            return fallback;
        }

        if (!auth.IsMapping)
        {
            errors.Add(auth.Error("must be a mapping.", "write 'auth:' followed by indented 'type:' and credential keys."));
            return fallback;
        }

        auth.CheckKnownKeys(errors, AuthKeys);
        var type = auth.GetEnum("type", VaultAuthType.Token, errors, required: true);
        if (type == VaultAuthType.Token)
        {
            return fallback with { TokenRef = SecretRef(auth, "token", errors) };
        }

        var roleId = auth.GetString("role_id", errors, required: true, "add 'role_id: <the AppRole's role id>' (vault read auth/approle/role/<name>/role-id).");
        var mount = Path(auth, "mount", "approle", errors);
        return fallback with { Type = type, RoleId = roleId, SecretIdRef = SecretRef(auth, "secret_id", errors), AppRoleMount = mount };
    }

    private static string? SecretRef(SettingsNode auth, string key, List<ValidationError> errors)
    {
        var value = auth.GetString(key, errors, required: true, $"add '{key}: env:VAULT_{key.ToUpperInvariant()}' and export that variable, or '{key}: file:/run/secrets/<name>'.");
        if (value is null)
        {
            return null;
        }

        if (!ReferencePattern().IsMatch(value))
        {
            // Never quote the value: it is probably the secret itself.
            errors.Add(auth[key].Error("holds a literal secret; secrets are never read from deprov.yaml.",
                $"put it in an environment variable and write '{key}: env:NAME', or in a file and write '{key}: file:/run/secrets/<name>'."));
            return null;
        }

        return value;
    }

    private static string Path(SettingsNode node, string key, string defaultValue, List<ValidationError> errors)
    {
        var value = node.GetString(key, errors)?.Trim('/') ?? defaultValue;
        if (!PathPattern().IsMatch(value))
        {
            errors.Add(node[key].Error($"is '{value}', which is not a mount path.", $"write a path such as '{defaultValue}'."));
            return defaultValue;
        }

        return value;
    }

    [GeneratedRegex(@"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ReferencePattern();

    [GeneratedRegex(@"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", RegexOptions.CultureInvariant)]
    private static partial Regex PathPattern();

    [GeneratedRegex(@"^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex DomainPattern();
}
