using System.Text.RegularExpressions;
using Deprov.Connectors.Http.Auth;
using Deprov.Core;
using Deprov.Core.Configuration;

namespace Deprov.Connectors.Graph;

/// <summary>The body of an Intune <c>wipe</c> (v1.0): what the device keeps.</summary>
public sealed record GraphWipeOptions(bool KeepEnrollmentData, bool KeepUserData, bool PersistEsimDataPlan);

/// <summary>The parsed <c>systems[].settings</c> block of a <c>kind: graph</c> system. Defaults are in <see cref="Parse"/>.</summary>
public sealed partial record GraphSettings(
    string? Tenant,
    Uri BaseUrl,
    HttpAuthSettings Auth,
    int PageSize,
    TimeSpan Timeout,
    int MaxConcurrency,
    double? RateLimitPerSecond,
    int MaxRetries,
    TimeSpan MaxRetryAfter,
    IReadOnlyList<string> PrivilegedGroups,
    bool SignInActivity,
    bool Devices,
    GraphWipeOptions Wipe,
    bool DirectoryRoles,
    bool ResetPassword)
{
    public static readonly Uri DefaultBaseUrl = new("https://graph.microsoft.com/v1.0/");

    /// <summary>The scope a client-credentials token for Graph asks for: the permissions granted to the app.</summary>
    public const string DefaultScope = "https://graph.microsoft.com/.default";

    internal static readonly string[] Keys =
    [
        "tenant", "base_url", "auth", "page_size", "timeout_seconds", "max_concurrency", "rate_limit_per_second",
        "max_retries", "max_retry_after_seconds", "privileged_groups", "sign_in_activity", "devices", "wipe", "directory_roles",
        "reset_password",
    ];

    private static readonly string[] WipeKeys = ["keep_enrollment_data", "keep_user_data", "persist_esim_data_plan"];

    /// <summary>The Microsoft identity platform token endpoint of <paramref name="tenant"/> (v2.0).</summary>
    public static Uri TokenUrlFor(string tenant) => new($"https://login.microsoftonline.com/{Uri.EscapeDataString(tenant)}/oauth2/v2.0/token");

    /// <summary>Parses and validates the block; every problem is added to <paramref name="errors"/>.</summary>
    public static GraphSettings Parse(SettingsNode settings, List<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(errors);
        settings.CheckKnownKeys(errors, Keys);

        var auth = settings["auth"];
        var tenant = settings.GetString("tenant", errors);
        var needsTenant = auth.IsMapping && string.Equals(auth["type"].Scalar, "oauth_client_credentials", StringComparison.OrdinalIgnoreCase) && !auth.Has("token_url");
        Uri? tokenUrl = null;
        if (tenant is not null && !TenantPattern().IsMatch(tenant))
        {
            errors.Add(settings["tenant"].Error($"is '{tenant}', which is neither a tenant id (GUID) nor a domain name.",
                "write the directory (tenant) id from the app registration's overview, or the primary domain such as 'contoso.onmicrosoft.com'."));
            tenant = null;
            tokenUrl = new Uri("https://invalid/");
        }
        else if (tenant is null && needsTenant)
        {
            errors.Add(settings["tenant"].Error("is required to find the token endpoint but missing.",
                "add 'tenant: <directory (tenant) id>' (or set 'auth.token_url' to the token endpoint)."));
            // Stops the auth block from reporting the same gap a second time as a missing token_url.
            tokenUrl = new Uri("https://invalid/");
        }
        else if (tenant is not null)
        {
            tokenUrl = TokenUrlFor(tenant);
        }

        var baseUrl = DefaultBaseUrl;
        if (settings.GetString("base_url", errors) is { } baseUrlText)
        {
            if (Uri.TryCreate(baseUrlText, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp))
            {
                // Relative paths ("users/1") must resolve below the base path, which needs a trailing slash.
                baseUrl = u.AbsoluteUri.EndsWith('/') ? u : new Uri(u.AbsoluteUri + "/");
            }
            else
            {
                errors.Add(settings["base_url"].Error($"is '{baseUrlText}', which is not an absolute http(s) URL.",
                    "remove it to use https://graph.microsoft.com/v1.0/, or write a national cloud's endpoint such as 'https://graph.microsoft.us/v1.0/'."));
            }
        }

        var parsedAuth = HttpAuthSettings.Parse(auth, errors, "GRAPH", oauthDefaults: new OAuthDefaults(tokenUrl, DefaultScope, OAuthClientAuth.Post));
        if (auth.IsMapping && string.Equals(auth["type"].Scalar, "basic", StringComparison.OrdinalIgnoreCase))
        {
            errors.Add(auth["type"].Error("is 'basic', which Microsoft Graph does not accept.",
                "use 'type: oauth_client_credentials' with the app registration's client id and secret."));
        }

        var pageSize = settings.GetInt("page_size", 500, errors, 1, 999);
        var timeout = settings.GetInt("timeout_seconds", 30, errors, 1, 600);
        var maxConcurrency = settings.GetInt("max_concurrency", 8, errors, 1, 256);
        double? rate = settings.Has("rate_limit_per_second") ? settings.GetDouble("rate_limit_per_second", 0, errors, 0.01, 10_000) : null;
        var maxRetries = settings.GetInt("max_retries", 3, errors, 0, 10);
        var maxRetryAfter = settings.GetInt("max_retry_after_seconds", 30, errors, 0, 3600);
        var privileged = settings.GetStringList("privileged_groups", errors);
        var signIns = settings.GetBool("sign_in_activity", true, errors);
        var devices = settings.GetBool("devices", true, errors);
        var directoryRoles = settings.GetBool("directory_roles", true, errors);
        var resetPassword = settings.GetBool("reset_password", true, errors);

        var wipe = new GraphWipeOptions(false, false, false);
        var wipeNode = settings["wipe"];
        if (!wipeNode.IsMissing)
        {
            if (!wipeNode.IsMapping)
            {
                errors.Add(wipeNode.Error("must be a mapping.", "write 'wipe:' followed by indented keep_enrollment_data / keep_user_data / persist_esim_data_plan."));
            }
            else
            {
                wipeNode.CheckKnownKeys(errors, WipeKeys);
                wipe = new GraphWipeOptions(
                    wipeNode.GetBool("keep_enrollment_data", false, errors),
                    wipeNode.GetBool("keep_user_data", false, errors),
                    wipeNode.GetBool("persist_esim_data_plan", false, errors));
            }
        }

        return new GraphSettings(tenant, baseUrl, parsedAuth, pageSize, TimeSpan.FromSeconds(timeout), maxConcurrency, rate,
            maxRetries, TimeSpan.FromSeconds(maxRetryAfter), privileged, signIns, devices, wipe, directoryRoles, resetPassword);
    }

    // A GUID, or a DNS name (contoso.onmicrosoft.com, contoso.com).
    [GeneratedRegex(@"^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63})$", RegexOptions.CultureInvariant)]
    private static partial Regex TenantPattern();
}
