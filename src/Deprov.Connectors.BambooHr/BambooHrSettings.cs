using Deprov.Core;
using Deprov.Core.Configuration;

namespace Deprov.Connectors.BambooHr;

/// <summary>The parsed <c>hr_sources[].settings</c> block of a <c>kind: bamboohr</c> source. Defaults are in <see cref="Parse"/>.</summary>
/// <param name="BaseUrl">The API root ending in <c>v1/</c>: <c>https://{company_domain}.bamboohr.com/api/v1/</c> unless <c>base_url</c> says otherwise.</param>
/// <param name="ApiKeyRef">Where the API key is (<c>env:NAME</c> or <c>file:/path</c>); sent as the Basic user name.</param>
/// <param name="MaxConcurrency">Employee reads in flight at once during a pull.</param>
/// <param name="MaxRetryAfter">A <c>Retry-After</c> up to this long is waited out inside the pull; a longer one fails the pull, which runs again at the next interval.</param>
public sealed record BambooHrSettings(Uri BaseUrl, string ApiKeyRef, TimeSpan Timeout, int MaxConcurrency, int MaxRetries, TimeSpan MaxRetryAfter)
{
    internal static readonly string[] Keys = ["company_domain", "base_url", "api_key", "timeout_seconds", "max_concurrency", "max_retries", "max_retry_after_seconds"];

    /// <summary>Parses and validates the block; every problem is added to <paramref name="errors"/>.</summary>
    public static BambooHrSettings Parse(SettingsNode settings, List<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(errors);
        settings.CheckKnownKeys(errors, Keys);
        var fallback = new Uri("https://invalid.bamboohr.com/api/v1/");
        var baseUrl = fallback;
        var domain = settings.GetString("company_domain", errors);
        var explicitUrl = settings.GetString("base_url", errors);
        if (explicitUrl is not null)
        {
            if (Uri.TryCreate(explicitUrl.EndsWith('/') ? explicitUrl : explicitUrl + "/", UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp))
            {
                baseUrl = url;
            }
            else
            {
                errors.Add(settings["base_url"].Error($"is '{explicitUrl}', which is not an absolute https URL.",
                    "write the API root ending in v1, e.g. https://acme.bamboohr.com/api/v1, or leave it out and set company_domain."));
            }
        }
        else if (domain is null)
        {
            errors.Add(settings["company_domain"].Error("is required (or base_url).", "add 'company_domain: acme' (the acme in acme.bamboohr.com)."));
        }
        else if (!System.Text.RegularExpressions.Regex.IsMatch(domain, "^[A-Za-z0-9][A-Za-z0-9-]*$"))
        {
            errors.Add(settings["company_domain"].Error($"is '{domain}', which is not a BambooHR company domain.", "write only the subdomain: 'acme' for acme.bamboohr.com."));
        }
        else
        {
            baseUrl = new Uri($"https://{domain}.bamboohr.com/api/v1/");
        }

        var key = settings.GetString("api_key", errors, required: true, fix: "add 'api_key: env:BAMBOOHR_API_KEY' and set the variable to the API key.");
        if (key is not null && !key.StartsWith("env:", StringComparison.Ordinal) && !key.StartsWith("file:", StringComparison.Ordinal))
        {
            // The value is a secret: never quoted back.
            errors.Add(settings["api_key"].Error("holds a literal value; an API key must not live in YAML.", "write 'env:BAMBOOHR_API_KEY' or 'file:/path/to/key'."));
        }

        var timeout = settings.GetInt("timeout_seconds", 30, errors, 1, 600);
        var concurrency = settings.GetInt("max_concurrency", 8, errors, 1, 64);
        var retries = settings.GetInt("max_retries", 3, errors, 0, 10);
        var maxRetryAfter = settings.GetInt("max_retry_after_seconds", 60, errors, 0, 3600);
        return new BambooHrSettings(baseUrl, key ?? "env:BAMBOOHR_API_KEY", TimeSpan.FromSeconds(timeout), concurrency, retries, TimeSpan.FromSeconds(maxRetryAfter));
    }
}
