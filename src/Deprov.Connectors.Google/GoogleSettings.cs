using System.Text.RegularExpressions;
using Deprov.Core;
using Deprov.Core.Configuration;

namespace Deprov.Connectors.Google;

/// <summary>The parsed <c>systems[].settings</c> block of a <c>kind: google</c> system. Defaults are in <see cref="Parse"/>.</summary>
/// <param name="AdminEmail">The administrator the service account impersonates (the JWT's <c>sub</c>).</param>
/// <param name="KeyRef">Where the service account's JSON key is: <c>file:/path</c> or <c>env:NAME</c>; never the key.</param>
/// <param name="Customer">The Workspace customer id, or <c>my_customer</c> (the admin's own account).</param>
/// <param name="Scopes">The OAuth scopes asked for; each must be delegated to the service account's client id.</param>
/// <param name="Licences">The product/SKU pairs whose licence assignments are discovered and reclaimed (none by default).</param>
/// <param name="LicensingBaseUrl">The Enterprise License Manager API root (<c>https://licensing.googleapis.com/</c>).</param>
/// <param name="ResetPassword">Whether <c>reset_password</c> is offered (default true): leavers then get a random password.</param>
public sealed partial record GoogleSettings(
    string AdminEmail,
    string KeyRef,
    string Customer,
    Uri BaseUrl,
    IReadOnlyList<string> Scopes,
    int PageSize,
    TimeSpan Timeout,
    int MaxConcurrency,
    double? RateLimitPerSecond,
    int MaxRetries,
    TimeSpan MaxRetryAfter,
    IReadOnlyList<string> PrivilegedGroups,
    bool Devices,
    bool Tokens,
    IReadOnlyList<GoogleLicenceSku> Licences,
    Uri LicensingBaseUrl,
    bool ResetPassword)
{
    public static readonly Uri DefaultBaseUrl = new("https://admin.googleapis.com/");

    public static readonly Uri DefaultTokenUrl = new("https://oauth2.googleapis.com/token");

    public static readonly Uri DefaultLicensingBaseUrl = new("https://licensing.googleapis.com/");

    private const string ScopePrefix = "https://www.googleapis.com/auth/";

    /// <summary>Least privilege for users, security (sign-out, tokens, app passwords, backup codes) and group members.</summary>
    public static readonly string[] BaseScopes =
    [
        ScopePrefix + "admin.directory.user",
        ScopePrefix + "admin.directory.user.security",
        ScopePrefix + "admin.directory.group.readonly",
        ScopePrefix + "admin.directory.group.member",
    ];

    /// <summary>Added when <c>devices</c> is on: list mobile devices and send the account wipe.</summary>
    public static readonly string[] DeviceScopes =
    [
        ScopePrefix + "admin.directory.device.mobile.readonly",
        ScopePrefix + "admin.directory.device.mobile.action",
    ];

    /// <summary>Added when <c>licences</c> lists a product/SKU: the Enterprise License Manager API's only scope.</summary>
    public const string LicensingScope = ScopePrefix + "apps.licensing";

    internal static readonly string[] Keys =
    [
        "admin_email", "key", "customer", "base_url", "scopes", "page_size", "timeout_seconds", "max_concurrency",
        "rate_limit_per_second", "max_retries", "max_retry_after_seconds", "privileged_groups", "devices", "tokens",
        "licences", "licensing_base_url", "reset_password",
    ];

    /// <summary>Parses and validates the block; every problem is added to <paramref name="errors"/>.</summary>
    public static GoogleSettings Parse(SettingsNode settings, List<ValidationError> errors)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(errors);
        settings.CheckKnownKeys(errors, Keys);

        var admin = settings.GetString("admin_email", errors, required: true,
            "add 'admin_email: <a super admin, or an admin whose role covers users, groups and mobile devices>': the service account acts as this admin.");
        if (admin is not null && !EmailPattern().IsMatch(admin))
        {
            errors.Add(settings["admin_email"].Error($"is '{admin}', which is not an email address.", "write the primary email of the admin to impersonate, e.g. 'deprov-admin@example.com'."));
            admin = null;
        }

        var key = settings.GetString("key", errors, required: true,
            "add 'key: file:/run/secrets/google-sa.json' (the service account's JSON key file), or 'key: env:NAME' holding the JSON.");
        if (key is not null && !ReferencePattern().IsMatch(key))
        {
            // Never quote the value: it is probably the key itself.
            errors.Add(settings["key"].Error("holds a literal value; the service account key is never read from deprov.yaml.",
                "put the JSON key in a file and write 'key: file:/run/secrets/google-sa.json', or in an environment variable and write 'key: env:NAME'."));
            key = null;
        }

        var customer = settings.GetString("customer", errors) ?? "my_customer";
        if (!CustomerPattern().IsMatch(customer))
        {
            errors.Add(settings["customer"].Error($"is '{customer}', which is neither 'my_customer' nor a customer id such as 'C03az79cb'.",
                "remove it to use 'my_customer' (the impersonated admin's account), or write the customer id from the Admin console (Account settings)."));
        }

        var baseUrl = ParseBaseUrl(settings, "base_url", DefaultBaseUrl, errors);
        var licensingBaseUrl = ParseBaseUrl(settings, "licensing_base_url", DefaultLicensingBaseUrl, errors);
        var licences = ParseLicences(settings, errors);
        if (licences.Count > 0 && customer == "my_customer")
        {
            // The Licensing API takes a real customer id; it has no 'my_customer' alias.
            errors.Add(settings["customer"].Error("is 'my_customer' (the default), but 'licences' needs the customer id: the Enterprise License Manager API does not accept 'my_customer'.",
                "write 'customer: C0...' with the customer id from the Admin console (Account > Account settings > Customer ID)."));
        }

        var devices = settings.GetBool("devices", true, errors);
        IReadOnlyList<string> scopes = [.. BaseScopes, .. devices ? DeviceScopes : [], .. licences.Count > 0 ? new[] { LicensingScope } : []];
        if (settings.Has("scopes"))
        {
            var listed = settings.GetStringList("scopes", errors);
            var bad = listed.Where(s => !s.StartsWith("https://www.googleapis.com/auth/", StringComparison.Ordinal) || s.Contains(' ', StringComparison.Ordinal)).ToList();
            if (listed.Count == 0)
            {
                errors.Add(settings["scopes"].Error("is empty.", "remove it to ask for the least-privileged scopes docs/connectors/google.md lists."));
            }
            else if (bad.Count > 0)
            {
                errors.Add(settings["scopes"].Error($"has '{bad[0]}', which is not a Google OAuth scope URL.",
                    "write full scope URLs such as 'https://www.googleapis.com/auth/admin.directory.user'."));
            }
            else
            {
                scopes = listed;
            }
        }

        var pageSize = settings.GetInt("page_size", 200, errors, 1, 500);
        var timeout = settings.GetInt("timeout_seconds", 30, errors, 1, 600);
        var maxConcurrency = settings.GetInt("max_concurrency", 8, errors, 1, 256);
        double? rate = settings.Has("rate_limit_per_second") ? settings.GetDouble("rate_limit_per_second", 0, errors, 0.01, 10_000) : null;
        var maxRetries = settings.GetInt("max_retries", 3, errors, 0, 10);
        var maxRetryAfter = settings.GetInt("max_retry_after_seconds", 30, errors, 0, 3600);
        var privileged = settings.GetStringList("privileged_groups", errors);
        var tokens = settings.GetBool("tokens", true, errors);
        var resetPassword = settings.GetBool("reset_password", true, errors);

        return new GoogleSettings(admin ?? string.Empty, key ?? string.Empty, customer, baseUrl, scopes, pageSize, TimeSpan.FromSeconds(timeout),
            maxConcurrency, rate, maxRetries, TimeSpan.FromSeconds(maxRetryAfter), privileged, devices, tokens, licences, licensingBaseUrl, resetPassword);
    }

    private static Uri ParseBaseUrl(SettingsNode settings, string key, Uri defaultUrl, List<ValidationError> errors)
    {
        if (settings.GetString(key, errors) is not { } text)
        {
            return defaultUrl;
        }

        if (Uri.TryCreate(text, UriKind.Absolute, out var u) && (u.Scheme == Uri.UriSchemeHttps || u.Scheme == Uri.UriSchemeHttp) && string.IsNullOrEmpty(u.Query))
        {
            return u.AbsoluteUri.EndsWith('/') ? u : new Uri(u.AbsoluteUri + "/");
        }

        errors.Add(settings[key].Error($"is '{text}', which is not an absolute http(s) URL without a query.", $"remove it to use {defaultUrl.AbsoluteUri}."));
        return defaultUrl;
    }

    /// <summary><c>licences: [{product: Google-Apps, sku: "1010020027"}, ...]</c>; each pair once.</summary>
    private static List<GoogleLicenceSku> ParseLicences(SettingsNode settings, List<ValidationError> errors)
    {
        var node = settings["licences"];
        var list = new List<GoogleLicenceSku>();
        var errorsBefore = errors.Count;
        if (node.IsMissing)
        {
            return list;
        }

        const string Fix = "write one '- {product: Google-Apps, sku: \"1010020027\"}' per product SKU to manage (ids from Google's 'Products and SKUs' list).";
        if (!node.IsSequence)
        {
            errors.Add(node.Error("must be a list of {product, sku} pairs.", Fix));
            return list;
        }

        foreach (var item in node.Items)
        {
            if (!item.IsMapping)
            {
                errors.Add(item.Error("must be a mapping with 'product' and 'sku'.", Fix));
                continue;
            }

            item.CheckKnownKeys(errors, "product", "sku");
            var product = item.GetString("product", errors, required: true, Fix);
            var sku = item.GetString("sku", errors, required: true, Fix);
            if (product is null || sku is null)
            {
                continue;
            }

            if (!LicenceIdPattern().IsMatch(product) || !LicenceIdPattern().IsMatch(sku))
            {
                errors.Add(item.Error($"has product '{product}' and sku '{sku}'; Google's ids are letters, digits and '-' (e.g. product 'Google-Apps', sku '1010020027').", Fix));
                continue;
            }

            var pair = new GoogleLicenceSku(product, sku);
            if (list.Contains(pair))
            {
                errors.Add(item.Error($"lists product '{product}' sku '{sku}' twice.", "remove the duplicate."));
                continue;
            }

            list.Add(pair);
        }

        if (list.Count == 0 && errors.Count == errorsBefore)
        {
            errors.Add(node.Error("is empty.", "remove it, or " + Fix));
        }

        return list;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex LicenceIdPattern();

    [GeneratedRegex(@"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ReferencePattern();

    [GeneratedRegex(@"^[^@\s]+@[^@\s]+\.[^@\s]+$", RegexOptions.CultureInvariant)]
    private static partial Regex EmailPattern();

    [GeneratedRegex(@"^(my_customer|C[0-9A-Za-z]{5,20})$", RegexOptions.CultureInvariant)]
    private static partial Regex CustomerPattern();
}

/// <summary>One Google product SKU whose licences Deprov manages, e.g. <c>Google-Apps</c> / <c>1010020027</c> (Business Starter).</summary>
public sealed record GoogleLicenceSku(string ProductId, string SkuId)
{
    /// <summary>The entitlement's external id: <c>{productId}:{skuId}</c> (Google's ids contain no colon).</summary>
    public string EntitlementId => $"{ProductId}:{SkuId}";
}
