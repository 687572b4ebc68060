using Deprov.Connectors.Http.Auth;
using Deprov.Core;
using Deprov.Core.Configuration;
using Deprov.Core.Model;

namespace Deprov.Connectors.Jamf;

/// <summary>Which inventories discovery reads.</summary>
public enum JamfDeviceType
{
    Computers,
    MobileDevices,
}

/// <summary>The <c>obliterationBehavior</c> of an ERASE_DEVICE command (macOS: what to do when Erase All Content and
/// Settings is not available).</summary>
public enum JamfObliteration
{
    Default,
    DoNotObliterate,
    ObliterateWithWarning,
    Always,
}

/// <summary>The parsed <c>systems[].settings</c> block of a <c>kind: jamf</c> system. Defaults are in <see cref="Parse"/>.</summary>
/// <param name="BaseUrl">The Jamf Pro server (<c>https://acme.jamfcloud.com/</c>); API paths (<c>api/v1/...</c>) resolve below it.</param>
/// <param name="AckRecheck">How long to wait before reading a pending MDM command again.</param>
/// <param name="ReplayWindow">A lock or erase command sent within this window counts as "already sent" (idempotent replay).</param>
public sealed record JamfSettings(
    Uri BaseUrl,
    HttpAuthSettings Auth,
    IReadOnlyList<JamfDeviceType> DeviceTypes,
    int PageSize,
    TimeSpan Timeout,
    int MaxConcurrency,
    double? RateLimitPerSecond,
    int MaxRetries,
    TimeSpan MaxRetryAfter,
    TimeSpan AckRecheck,
    TimeSpan ReplayWindow,
    string? LockMessage,
    string? LockPhoneNumber,
    JamfObliteration Obliteration,
    string UserAgent)
{
    internal static readonly string[] Keys =
    [
        "base_url", "auth", "device_types", "page_size", "timeout_seconds", "max_concurrency", "rate_limit_per_second",
        "max_retries", "max_retry_after_seconds", "ack_recheck_seconds", "replay_window_hours", "lock_message",
        "lock_phone_number", "erase_obliteration", "user_agent",
    ];

    /// <summary>Parses and validates the block; every problem is added to <paramref name="errors"/>.</summary>
    public static JamfSettings Parse(SettingsNode settings, List<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(errors);
        settings.CheckKnownKeys(errors, Keys);

        var baseUrlText = settings.GetString("base_url", errors, required: true, fix: "add 'base_url: https://yourserver.jamfcloud.com'.");
        var baseUrl = new Uri("http://invalid/");
        if (baseUrlText is not null)
        {
            if (Uri.TryCreate(baseUrlText, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp)
                && string.IsNullOrEmpty(u.Query))
            {
                var text = u.AbsoluteUri.TrimEnd('/');
                if (text.EndsWith("/api", StringComparison.OrdinalIgnoreCase) || text.EndsWith("/JSSResource", StringComparison.OrdinalIgnoreCase))
                {
                    errors.Add(settings["base_url"].Error($"is '{baseUrlText}', which names an API path; the connector adds '/api/...' itself.",
                        $"write the server URL only, e.g. '{text[..text.LastIndexOf('/')]}'."));
                }

                baseUrl = new Uri(text + "/");
            }
            else
            {
                errors.Add(settings["base_url"].Error($"is '{baseUrlText}', which is not an absolute http(s) URL without a query.",
                    "write the Jamf Pro server URL, e.g. 'https://yourserver.jamfcloud.com'."));
            }
        }

        var auth = HttpAuthSettings.Parse(settings["auth"], errors, "JAMF",
            oauthDefaults: new OAuthDefaults(new Uri(baseUrl, "api/oauth/token"), Scope: null, OAuthClientAuth.Post));
        var deviceTypes = ParseDeviceTypes(settings, errors);
        var pageSize = settings.GetInt("page_size", 100, errors, 1, 2000);
        var timeout = settings.GetInt("timeout_seconds", 30, errors, 1, 600);
        var maxConcurrency = settings.GetInt("max_concurrency", 8, errors, 1, 256);
        double? rate = settings.Has("rate_limit_per_second") ? settings.GetDouble("rate_limit_per_second", 0, errors, 0.01, 10_000) : null;
        var maxRetries = settings.GetInt("max_retries", 3, errors, 0, 10);
        var maxRetryAfter = settings.GetInt("max_retry_after_seconds", 30, errors, 0, 3600);
        var recheck = settings.GetInt("ack_recheck_seconds", 300, errors, 1, 86_400);
        var window = settings.GetInt("replay_window_hours", 168, errors, 1, 24 * 365);
        var message = settings.GetString("lock_message", errors);
        var phone = settings.GetString("lock_phone_number", errors);
        var obliteration = settings.GetEnum("erase_obliteration", JamfObliteration.Default, errors);
        var userAgent = settings.GetString("user_agent", errors) ?? "Deprov-Jamf/1.0";
        if (message is { Length: > 500 })
        {
            errors.Add(settings["lock_message"].Error($"is {message.Length} characters long; a lock screen shows a short message.", "keep it under 500 characters."));
        }

        return new JamfSettings(baseUrl, auth, deviceTypes, pageSize, TimeSpan.FromSeconds(timeout), maxConcurrency, rate, maxRetries,
            TimeSpan.FromSeconds(maxRetryAfter), TimeSpan.FromSeconds(recheck), TimeSpan.FromHours(window), message, phone, obliteration, userAgent);
    }

    private static List<JamfDeviceType> ParseDeviceTypes(SettingsNode settings, List<ValidationError> errors)
    {
        if (!settings.Has("device_types"))
        {
            return [JamfDeviceType.Computers, JamfDeviceType.MobileDevices];
        }

        var result = new List<JamfDeviceType>();
        var bad = false;
        foreach (var name in settings.GetStringList("device_types", errors))
        {
            if (Naming.TryParseEnum<JamfDeviceType>(name, out var t))
            {
                if (!result.Contains(t))
                {
                    result.Add(t);
                }
            }
            else
            {
                bad = true;
                errors.Add(settings["device_types"].Error($"holds '{name}', which is not a device type.", "use 'computers' and/or 'mobile_devices'."));
            }
        }

        if (result.Count == 0 && !bad)
        {
            errors.Add(settings["device_types"].Error("is empty, so discovery would find no device.", "list 'computers' and/or 'mobile_devices', or remove the key."));
        }

        return result;
    }
}
