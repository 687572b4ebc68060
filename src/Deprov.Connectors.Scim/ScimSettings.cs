using System.Text.RegularExpressions;
using Deprov.Connectors.Scim.Profiles;
using Deprov.Core;
using Deprov.Core.Configuration;

namespace Deprov.Connectors.Scim;

public enum ScimAuthType
{
    Bearer,
    Basic,
    OauthClientCredentials,
}

/// <summary>Whether a server capability is read from <c>ServiceProviderConfig</c> or forced.</summary>
public enum ScimCapability
{
    Auto,
    On,
    Off,
}

/// <summary>Authentication settings. Secret fields hold references (<c>env:NAME</c>, <c>file:/path</c>), never values.</summary>
public sealed record ScimAuthSettings(
    ScimAuthType Type,
    string? TokenRef,
    string? Username,
    string? PasswordRef,
    Uri? TokenUrl,
    string? ClientId,
    string? ClientSecretRef,
    string? Scope);

/// <summary>The parsed <c>systems[].settings</c> block of a <c>kind: scim</c> system. Defaults are in <see cref="Parse"/>.</summary>
public sealed partial record ScimSettings(
    Uri BaseUrl,
    ScimProfileName Profile,
    ScimAuthSettings Auth,
    int PageSize,
    TimeSpan Timeout,
    int MaxConcurrency,
    double? RateLimitPerSecond,
    int MaxRetries,
    TimeSpan MaxRetryAfter,
    ScimCapability Patch,
    ScimCapability Etag,
    string? UserFilter,
    string? GroupFilter,
    IReadOnlyList<string> PrivilegedGroups,
    string UserAgent)
{
    internal static readonly string[] Keys =
    [
        "base_url", "profile", "auth", "page_size", "timeout_seconds", "max_concurrency", "rate_limit_per_second",
        "max_retries", "max_retry_after_seconds", "patch", "etag", "user_filter", "group_filter", "privileged_groups",
        "user_agent",
    ];

    private static readonly string[] AuthKeys = ["type", "token", "username", "password", "token_url", "client_id", "client_secret", "scope"];

    /// <summary>Parses and validates the block; every problem is added to <paramref name="errors"/>.</summary>
    public static ScimSettings Parse(SettingsNode settings, List<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(errors);
        settings.CheckKnownKeys(errors, Keys);

        var baseUrlText = settings.GetString("base_url", errors, required: true, fix: "add 'base_url: https://api.example.com/scim/v2/'.");
        var baseUrl = new Uri("http://invalid/");
        if (baseUrlText is not null)
        {
            if (Uri.TryCreate(baseUrlText, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp))
            {
                // Relative paths ("Users/1") must resolve below the base path, which needs a trailing slash.
                baseUrl = u.AbsoluteUri.EndsWith('/') ? u : new Uri(u.AbsoluteUri + "/");
            }
            else
            {
                errors.Add(settings["base_url"].Error($"is '{baseUrlText}', which is not an absolute http(s) URL.", "write the SCIM base URL, e.g. 'https://api.slack.com/scim/v2/'."));
            }
        }

        var profile = settings.GetEnum("profile", ScimProfileName.Generic, errors);
        var auth = ParseAuth(settings["auth"], errors);
        var pageSize = settings.GetInt("page_size", 100, errors, 1, 1000);
        var timeout = settings.GetInt("timeout_seconds", 30, errors, 1, 600);
        var maxConcurrency = settings.GetInt("max_concurrency", 16, errors, 1, 1024);
        double? rate = settings.Has("rate_limit_per_second") ? settings.GetDouble("rate_limit_per_second", 0, errors, 0.01, 100_000) : null;
        var maxRetries = settings.GetInt("max_retries", 3, errors, 0, 10);
        var maxRetryAfter = settings.GetInt("max_retry_after_seconds", 30, errors, 0, 3600);
        var patch = settings.GetEnum("patch", ScimCapability.Auto, errors);
        var etag = settings.GetEnum("etag", ScimCapability.Auto, errors);
        var userFilter = settings.GetString("user_filter", errors);
        var groupFilter = settings.GetString("group_filter", errors);
        var privileged = settings.GetStringList("privileged_groups", errors);
        var userAgent = settings.GetString("user_agent", errors) ?? "Deprov-SCIM/1.0";

        if (profile is ScimProfileName.GithubOrg && settings.Has("group_filter"))
        {
            errors.Add(settings["group_filter"].Error("is set, but GitHub organisation SCIM has no /Groups endpoint.", "remove 'group_filter', or use 'profile: github_emu' for Enterprise Managed Users."));
        }

        return new ScimSettings(baseUrl, profile, auth, pageSize, TimeSpan.FromSeconds(timeout), maxConcurrency, rate,
            maxRetries, TimeSpan.FromSeconds(maxRetryAfter), patch, etag, userFilter, groupFilter, privileged, userAgent);
    }

    private static ScimAuthSettings ParseAuth(SettingsNode auth, List<ValidationError> errors)
    {
        var fallback = new ScimAuthSettings(ScimAuthType.Bearer, null, null, null, null, null, null, null);
        if (auth.IsMissing)
        {
            errors.Add(auth.Error("is required but missing.", "add 'auth: { type: bearer, token: env:MY_SCIM_TOKEN }'."));
            return fallback;
        }

        if (!auth.IsMapping)
        {
            errors.Add(auth.Error("must be a mapping.", "write 'auth:' followed by indented 'type:' and credential keys."));
            return fallback;
        }

        auth.CheckKnownKeys(errors, AuthKeys);
        var type = auth.GetEnum("type", ScimAuthType.Bearer, errors, required: true);
        switch (type)
        {
            case ScimAuthType.Bearer:
                return fallback with { TokenRef = SecretRef(auth, "token", errors, required: true) };
            case ScimAuthType.Basic:
                var user = auth.GetString("username", errors, required: true);
                return fallback with { Type = type, Username = user, PasswordRef = SecretRef(auth, "password", errors, required: true) };
            default:
                var tokenUrlText = auth.GetString("token_url", errors, required: true, fix: "add 'token_url: https://login.example.com/oauth2/token'.");
                Uri? tokenUrl = null;
                if (tokenUrlText is not null && !(Uri.TryCreate(tokenUrlText, UriKind.Absolute, out tokenUrl) && tokenUrl.Scheme.StartsWith("http", StringComparison.Ordinal)))
                {
                    errors.Add(auth["token_url"].Error($"is '{tokenUrlText}', which is not an absolute http(s) URL.", "write the OAuth 2.0 token endpoint URL."));
                }

                var clientId = auth.GetString("client_id", errors, required: true);
                return fallback with
                {
                    Type = type, TokenUrl = tokenUrl, ClientId = clientId,
                    ClientSecretRef = SecretRef(auth, "client_secret", errors, required: true),
                    Scope = auth.GetString("scope", errors),
                };
        }
    }

    private static string? SecretRef(SettingsNode auth, string key, List<ValidationError> errors, bool required)
    {
        var value = auth.GetString(key, errors, required, $"add '{key}: env:SCIM_{key.ToUpperInvariant()}' and export that variable, or '{key}: file:/run/secrets/<name>'.");
        if (value is null)
        {
            return null;
        }

        if (!IsReference(value))
        {
            // Never quote the value: it is probably the secret itself.
            errors.Add(auth[key].Error("holds a literal secret; secrets are never read from deprov.yaml.",
                $"put the secret in an environment variable and write '{key}: env:NAME', or in a file and write '{key}: file:/run/secrets/<name>'."));
            return null;
        }

        return value;
    }

    private static bool IsReference(string value) =>
        ReferencePattern().IsMatch(value);

    [GeneratedRegex(@"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ReferencePattern();
}
