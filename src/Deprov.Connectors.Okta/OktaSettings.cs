using Deprov.Connectors.Http.Auth;
using Deprov.Core;
using Deprov.Core.Configuration;

namespace Deprov.Connectors.Okta;

/// <summary>What <c>DisableAccount</c> does in Okta.</summary>
public enum OktaDisableMode
{
    /// <summary><c>lifecycle/suspend</c>: sign-in stops, app and group assignments stay, <c>unsuspend</c> restores it all.</summary>
    Suspend,

    /// <summary><c>lifecycle/deactivate</c>: sign-in stops and every app assignment is deprovisioned downstream; not reversible
    /// by Deprov beyond re-activating the bare user.</summary>
    Deactivate,
}

/// <summary>The parsed <c>systems[].settings</c> block of a <c>kind: okta</c> system. Defaults are in <see cref="Parse"/>.</summary>
/// <param name="OrgUrl">The org URL (<c>https://acme.okta.com/</c>); requests go to <c>api/v1/...</c> below it.</param>
public sealed record OktaSettings(
    Uri OrgUrl,
    HttpAuthSettings Auth,
    OktaDisableMode DisableMode,
    bool ForgetDevices,
    int PageSize,
    TimeSpan Timeout,
    int MaxConcurrency,
    double? RateLimitPerSecond,
    int MaxRetries,
    TimeSpan MaxRetryAfter,
    IReadOnlyList<string> PrivilegedGroups,
    string UserAgent,
    bool AdminRoles)
{
    internal static readonly string[] Keys =
    [
        "base_url", "auth", "disable_mode", "forget_devices", "page_size", "timeout_seconds", "max_concurrency",
        "rate_limit_per_second", "max_retries", "max_retry_after_seconds", "privileged_groups", "user_agent", "admin_roles",
    ];

    /// <summary>Parses and validates the block; every problem is added to <paramref name="errors"/>.</summary>
    public static OktaSettings Parse(SettingsNode settings, List<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(errors);
        settings.CheckKnownKeys(errors, Keys);

        var orgUrl = ParseOrgUrl(settings, errors);
        // Okta API tokens go out as "Authorization: SSWS <token>"; an OAuth access token as "Bearer".
        var auth = HttpAuthSettings.Parse(settings["auth"], errors, "OKTA", defaultScheme: "SSWS");
        var disableMode = settings.GetEnum("disable_mode", OktaDisableMode.Suspend, errors);
        var forgetDevices = settings.GetBool("forget_devices", true, errors);
        // Okta's documented maximum page size for users is 200.
        var pageSize = settings.GetInt("page_size", 200, errors, 1, 200);
        var timeout = settings.GetInt("timeout_seconds", 30, errors, 1, 600);
        var maxConcurrency = settings.GetInt("max_concurrency", 8, errors, 1, 256);
        double? rate = settings.Has("rate_limit_per_second") ? settings.GetDouble("rate_limit_per_second", 0, errors, 0.01, 10_000) : null;
        var maxRetries = settings.GetInt("max_retries", 3, errors, 0, 10);
        // Okta's rate-limit windows are a minute long: waiting out a reset inline is normal.
        var maxRetryAfter = settings.GetInt("max_retry_after_seconds", 60, errors, 0, 3600);
        var privileged = settings.GetStringList("privileged_groups", errors);
        var userAgent = settings.GetString("user_agent", errors) ?? "Deprov-Okta/1.0";
        var adminRoles = settings.GetBool("admin_roles", true, errors);

        return new OktaSettings(orgUrl, auth, disableMode, forgetDevices, pageSize, TimeSpan.FromSeconds(timeout), maxConcurrency, rate,
            maxRetries, TimeSpan.FromSeconds(maxRetryAfter), privileged, userAgent, adminRoles);
    }

    private static Uri ParseOrgUrl(SettingsNode settings, List<ValidationError> errors)
    {
        var fallback = new Uri("https://invalid.okta.com/");
        var text = settings.GetString("base_url", errors, required: true, fix: "add 'base_url: https://<your-org>.okta.com'.");
        if (text is null)
        {
            return fallback;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            errors.Add(settings["base_url"].Error($"is '{text}', which is not an absolute https URL.", "write the org URL, e.g. 'https://acme.okta.com'."));
            return fallback;
        }

        if (url.Scheme == Uri.UriSchemeHttp && !url.IsLoopback)
        {
            // The API token travels in every request header: never in clear text over a network.
            errors.Add(settings["base_url"].Error($"is '{text}', which is plain http to a remote host.", "use https, e.g. 'https://acme.okta.com'."));
            return fallback;
        }

        if (url.AbsolutePath.Trim('/').Length > 0 || url.Query.Length > 0)
        {
            errors.Add(settings["base_url"].Error($"is '{text}', which has a path; Deprov adds '/api/v1/...' itself.",
                $"write only the org URL: '{url.GetLeftPart(UriPartial.Authority)}'."));
            return fallback;
        }

        return new Uri(url.GetLeftPart(UriPartial.Authority) + "/");
    }
}
