using System.Text.RegularExpressions;
using Deprov.Core;
using Deprov.Core.Configuration;

namespace Deprov.Connectors.Aws;

/// <summary>The parsed <c>systems[].settings</c> block of a <c>kind: aws_iam</c> system. Defaults are in <see cref="Parse"/>.</summary>
/// <param name="Endpoint">The IAM Query API endpoint (<c>https://iam.amazonaws.com/</c>); requests are POSTed to it.</param>
/// <param name="Region">The SigV4 signing region: <c>us-east-1</c> for the global IAM endpoint.</param>
/// <param name="AccessKeyId">The access key id Deprov signs with (an identifier, not a secret).</param>
/// <param name="SecretAccessKeyRef">An <c>env:NAME</c> or <c>file:/path</c> reference to the secret access key.</param>
/// <param name="EmailTag">The user tag whose value is the person's e-mail address; null to read no tags.</param>
/// <param name="EmailDomain">Appended to a user name without <c>@</c> when the user has no e-mail tag.</param>
/// <param name="PrivilegedPolicies">Managed policy names (wildcards) that make a user or group privileged, besides AdministratorAccess.</param>
/// <param name="PrivilegedGroups">Group names (wildcards) that are privileged whatever their policies.</param>
public sealed partial record AwsIamSettings(
    Uri Endpoint,
    string Region,
    string AccessKeyId,
    string SecretAccessKeyRef,
    string? EmailTag,
    string? EmailDomain,
    IReadOnlyList<string> PrivilegedPolicies,
    IReadOnlyList<string> PrivilegedGroups,
    int PageSize,
    TimeSpan Timeout,
    int MaxConcurrency,
    double? RateLimitPerSecond,
    int MaxRetries,
    TimeSpan MaxRetryAfter)
{
    /// <summary>The global IAM endpoint of the standard AWS partition.</summary>
    public static readonly Uri DefaultEndpoint = new("https://iam.amazonaws.com/");

    internal static readonly string[] Keys =
    [
        "endpoint", "region", "access_key_id", "secret_access_key", "email_tag", "email_domain", "privileged_policies",
        "privileged_groups", "page_size", "timeout_seconds", "max_concurrency", "rate_limit_per_second", "max_retries",
        "max_retry_after_seconds",
    ];

    /// <summary>Parses and validates the block; every problem is added to <paramref name="errors"/>.</summary>
    public static AwsIamSettings Parse(SettingsNode settings, List<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(errors);
        settings.CheckKnownKeys(errors, Keys);

        var endpoint = ParseEndpoint(settings, errors);
        var region = settings.GetString("region", errors) ?? "us-east-1";
        if (!RegionPattern().IsMatch(region))
        {
            errors.Add(settings["region"].Error($"is '{region}', which is not an AWS region name.", "write e.g. 'us-east-1' (the region IAM signs in for the global endpoint)."));
        }

        var keyId = settings.GetString("access_key_id", errors, required: true,
            fix: "add 'access_key_id: AKIA...' (the id of the access key Deprov signs with; the secret goes in secret_access_key).") ?? string.Empty;
        if (keyId.Length > 0 && !AccessKeyIdPattern().IsMatch(keyId))
        {
            // Never quote it: a value that is not a key id may be the secret pasted into the wrong key.
            errors.Add(settings["access_key_id"].Error("is not an AWS access key id (16 to 128 letters and digits, such as 'AKIAIOSFODNN7EXAMPLE').",
                "write the access key id; the secret access key goes in 'secret_access_key: env:AWS_SECRET_ACCESS_KEY'."));
        }

        var secretRef = SecretRef(settings, errors);
        var emailTag = settings.Has("email_tag") ? settings.GetString("email_tag", errors) : "email";
        var emailDomain = settings.GetString("email_domain", errors)?.TrimStart('@');
        if (emailDomain is not null && !DomainPattern().IsMatch(emailDomain))
        {
            errors.Add(settings["email_domain"].Error($"is '{emailDomain}', which is not a domain name.", "write the people's e-mail domain such as 'example.com'."));
        }

        var policies = settings.GetStringList("privileged_policies", errors);
        var groups = settings.GetStringList("privileged_groups", errors);
        // IAM's documented MaxItems range is 1 to 1000; the default listing size is 100.
        var pageSize = settings.GetInt("page_size", 100, errors, 1, 1000);
        var timeout = settings.GetInt("timeout_seconds", 30, errors, 1, 600);
        var maxConcurrency = settings.GetInt("max_concurrency", 4, errors, 1, 64);
        double? rate = settings.Has("rate_limit_per_second") ? settings.GetDouble("rate_limit_per_second", 0, errors, 0.01, 1000) : null;
        var maxRetries = settings.GetInt("max_retries", 3, errors, 0, 10);
        var maxRetryAfter = settings.GetInt("max_retry_after_seconds", 30, errors, 0, 3600);
        return new AwsIamSettings(endpoint, region, keyId, secretRef ?? string.Empty, emailTag, emailDomain, policies, groups, pageSize,
            TimeSpan.FromSeconds(timeout), maxConcurrency, rate, maxRetries, TimeSpan.FromSeconds(maxRetryAfter));
    }

    private static string? SecretRef(SettingsNode settings, List<ValidationError> errors)
    {
        var value = settings.GetString("secret_access_key", errors, required: true,
            "add 'secret_access_key: env:AWS_SECRET_ACCESS_KEY' and export that variable, or 'secret_access_key: file:/run/secrets/<name>'.");
        if (value is not null && !ReferencePattern().IsMatch(value))
        {
            // Never quote the value: it is probably the secret itself.
            errors.Add(settings["secret_access_key"].Error("holds a literal secret; secrets are never read from deprov.yaml.",
                "put the secret access key in an environment variable and write 'secret_access_key: env:NAME', or in a file and write 'secret_access_key: file:/run/secrets/<name>'."));
            return null;
        }

        return value;
    }

    private static Uri ParseEndpoint(SettingsNode settings, List<ValidationError> errors)
    {
        var text = settings.GetString("endpoint", errors);
        if (text is null)
        {
            return DefaultEndpoint;
        }

        if (!Uri.TryCreate(text, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            errors.Add(settings["endpoint"].Error($"is '{text}', which is not an absolute https URL.", "leave it out for 'https://iam.amazonaws.com/', or write the IAM endpoint of your partition."));
            return DefaultEndpoint;
        }

        if (url.Scheme == Uri.UriSchemeHttp && !url.IsLoopback)
        {
            // Signed requests carry no secret, but what they answer (users, keys, policies) must not cross a network in clear.
            errors.Add(settings["endpoint"].Error($"is '{text}', which is plain http to a remote host.", "use https, e.g. 'https://iam.amazonaws.com/'."));
            return DefaultEndpoint;
        }

        if (url.AbsolutePath.Trim('/').Length > 0 || url.Query.Length > 0)
        {
            errors.Add(settings["endpoint"].Error($"is '{text}', which has a path or query; the IAM Query API is served at '/'.",
                $"write only the scheme and host: '{url.GetLeftPart(UriPartial.Authority)}/'."));
            return DefaultEndpoint;
        }

        return new Uri(url.GetLeftPart(UriPartial.Authority) + "/");
    }

    [GeneratedRegex(@"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ReferencePattern();

    // AccessKeyId: 16-128 characters of [\w]; every real one is upper-case letters and digits.
    [GeneratedRegex(@"^[A-Za-z0-9]{16,128}$", RegexOptions.CultureInvariant)]
    private static partial Regex AccessKeyIdPattern();

    [GeneratedRegex(@"^[a-z]{2}(-[a-z]+)+-\d+$", RegexOptions.CultureInvariant)]
    private static partial Regex RegionPattern();

    [GeneratedRegex(@"^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)+$", RegexOptions.CultureInvariant)]
    private static partial Regex DomainPattern();
}
