using Deprov.Connectors.Http.Auth;
using Deprov.Connectors.Scim.Profiles;
using Deprov.Core;
using Deprov.Core.Configuration;

namespace Deprov.Connectors.Scim;

/// <summary>Whether a server capability is read from <c>ServiceProviderConfig</c> or forced.</summary>
public enum ScimCapability
{
    Auto,
    On,
    Off,
}

/// <summary>Whether the app has group memberships to discover.</summary>
public enum ScimMemberships
{
    /// <summary>Discover groups and find their members however the server shows them; fail loudly when it shows none.</summary>
    Auto,

    /// <summary>The app truly has no groups: discovery lists no groups and no memberships.</summary>
    None,
}

/// <summary>The parsed <c>systems[].settings</c> block of a <c>kind: scim</c> system. Defaults are in <see cref="Parse"/>.</summary>
public sealed record ScimSettings(
    Uri BaseUrl,
    ScimProfileName Profile,
    HttpAuthSettings Auth,
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
    string UserAgent,
    int? MembersCap = null,
    ScimMemberships Memberships = ScimMemberships.Auto)
{
    internal static readonly string[] Keys =
    [
        "base_url", "profile", "auth", "page_size", "timeout_seconds", "max_concurrency", "rate_limit_per_second",
        "max_retries", "max_retry_after_seconds", "patch", "etag", "user_filter", "group_filter", "privileged_groups",
        "user_agent", "members_cap", "memberships",
    ];

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
        var auth = HttpAuthSettings.Parse(settings["auth"], errors, "SCIM");
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
        int? membersCap = settings.Has("members_cap") ? settings.GetInt("members_cap", 0, errors, 1, 1_000_000) : null;
        var memberships = settings.GetEnum("memberships", ScimMemberships.Auto, errors);

        if (profile is ScimProfileName.GithubOrg && settings.Has("group_filter"))
        {
            errors.Add(settings["group_filter"].Error("is set, but GitHub organisation SCIM has no /Groups endpoint.", "remove 'group_filter', or use 'profile: github_emu' for Enterprise Managed Users."));
        }

        return new ScimSettings(baseUrl, profile, auth, pageSize, TimeSpan.FromSeconds(timeout), maxConcurrency, rate,
            maxRetries, TimeSpan.FromSeconds(maxRetryAfter), patch, etag, userFilter, groupFilter, privileged, userAgent, membersCap, memberships);
    }
}
