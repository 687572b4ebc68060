using System.Text.RegularExpressions;
using Deprov.Core;
using Deprov.Core.Configuration;

namespace Deprov.Connectors.Http.Auth;

public enum HttpAuthType
{
    /// <summary>A static token sent as <c>Authorization: &lt;scheme&gt; &lt;token&gt;</c> (scheme <c>Bearer</c> unless set, e.g. Okta's <c>SSWS</c>).</summary>
    Bearer,
    Basic,
    OauthClientCredentials,
}

/// <summary>How an OAuth 2.0 client authenticates at the token endpoint (RFC 6749 §2.3.1).</summary>
public enum OAuthClientAuth
{
    /// <summary><c>client_secret_basic</c>: the credentials in an <c>Authorization: Basic</c> header (what servers must support).</summary>
    Basic,

    /// <summary><c>client_secret_post</c>: <c>client_id</c> and <c>client_secret</c> in the form body (Microsoft Entra, Jamf Pro).</summary>
    Post,
}

/// <summary>
/// The <c>auth</c> block of an HTTP connector's settings. Secret fields hold references (<c>env:NAME</c>,
/// <c>file:/path</c>), never values; <see cref="Parse"/> refuses a literal secret without quoting it.
/// </summary>
public sealed partial record HttpAuthSettings(
    HttpAuthType Type,
    string? TokenRef,
    string? Username,
    string? PasswordRef,
    Uri? TokenUrl,
    string? ClientId,
    string? ClientSecretRef,
    string? Scope,
    string Scheme = "Bearer",
    OAuthClientAuth ClientAuth = OAuthClientAuth.Basic)
{
    private static readonly string[] Keys = ["type", "token", "scheme", "username", "password", "token_url", "client_id", "client_secret", "scope", "client_auth"];

    /// <summary>Parses and validates the block; every problem is added to <paramref name="errors"/>.</summary>
    /// <param name="envPrefix">Prefix of the environment variable names suggested in fixes (<c>SCIM</c>, <c>OKTA</c>).</param>
    /// <param name="defaultScheme">The scheme a static token is sent with when the block does not say.</param>
    /// <param name="oauthDefaults">For vendors whose token endpoint and scope follow from other settings (Microsoft Entra: the
    /// tenant): what <c>token_url</c>, <c>scope</c> and <c>client_auth</c> are when the block does not say. Without it
    /// <c>token_url</c> is required and <c>client_auth</c> defaults to <c>basic</c>.</param>
    public static HttpAuthSettings Parse(SettingsNode auth, List<ValidationError> errors, string envPrefix, string defaultScheme = "Bearer", OAuthDefaults? oauthDefaults = null)
    {
        ArgumentNullException.ThrowIfNull(auth);
        ArgumentNullException.ThrowIfNull(errors);
        var fallback = new HttpAuthSettings(HttpAuthType.Bearer, null, null, null, null, null, null, null, defaultScheme);
        if (auth.IsMissing)
        {
            errors.Add(auth.Error("is required but missing.", $"add 'auth: {{ type: bearer, token: env:{envPrefix}_TOKEN }}'."));
            return fallback;
        }

        if (!auth.IsMapping)
        {
            errors.Add(auth.Error("must be a mapping.", "write 'auth:' followed by indented 'type:' and credential keys."));
            return fallback;
        }

        auth.CheckKnownKeys(errors, Keys);
        var type = auth.GetEnum("type", HttpAuthType.Bearer, errors, required: true);
        switch (type)
        {
            case HttpAuthType.Bearer:
                var scheme = auth.GetString("scheme", errors) ?? defaultScheme;
                if (!SchemePattern().IsMatch(scheme))
                {
                    errors.Add(auth["scheme"].Error($"is '{scheme}', which is not an HTTP authentication scheme name.", "write a single word such as 'Bearer' or 'SSWS'."));
                }

                return fallback with { TokenRef = SecretRef(auth, "token", errors, envPrefix), Scheme = scheme };
            case HttpAuthType.Basic:
                var user = auth.GetString("username", errors, required: true);
                return fallback with { Type = type, Username = user, PasswordRef = SecretRef(auth, "password", errors, envPrefix) };
            default:
                var tokenUrlText = auth.GetString("token_url", errors, required: oauthDefaults?.TokenUrl is null, fix: "add 'token_url: https://login.example.com/oauth2/token'.");
                var tokenUrl = tokenUrlText is null ? oauthDefaults?.TokenUrl : null;
                if (tokenUrlText is not null && !(Uri.TryCreate(tokenUrlText, UriKind.Absolute, out tokenUrl) && tokenUrl.Scheme.StartsWith("http", StringComparison.Ordinal)))
                {
                    errors.Add(auth["token_url"].Error($"is '{tokenUrlText}', which is not an absolute http(s) URL.", "write the OAuth 2.0 token endpoint URL."));
                }

                var clientId = auth.GetString("client_id", errors, required: true);
                return fallback with
                {
                    Type = type,
                    TokenUrl = tokenUrl,
                    ClientId = clientId,
                    ClientSecretRef = SecretRef(auth, "client_secret", errors, envPrefix),
                    Scope = auth.GetString("scope", errors) ?? oauthDefaults?.Scope,
                    ClientAuth = auth.GetEnum("client_auth", oauthDefaults?.ClientAuth ?? OAuthClientAuth.Basic, errors),
                };
        }
    }

    private static string? SecretRef(SettingsNode auth, string key, List<ValidationError> errors, string envPrefix)
    {
        var value = auth.GetString(key, errors, required: true, $"add '{key}: env:{envPrefix}_{key.ToUpperInvariant()}' and export that variable, or '{key}: file:/run/secrets/<name>'.");
        if (value is null)
        {
            return null;
        }

        if (!ReferencePattern().IsMatch(value))
        {
            // Never quote the value: it is probably the secret itself.
            errors.Add(auth[key].Error("holds a literal secret; secrets are never read from deprov.yaml.",
                $"put the secret in an environment variable and write '{key}: env:NAME', or in a file and write '{key}: file:/run/secrets/<name>'."));
            return null;
        }

        return value;
    }

    [GeneratedRegex(@"^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$", RegexOptions.CultureInvariant)]
    private static partial Regex ReferencePattern();

    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*$", RegexOptions.CultureInvariant)]
    private static partial Regex SchemePattern();
}

/// <summary>What an OAuth 2.0 client-credentials block means when it leaves a key out (see <see cref="HttpAuthSettings.Parse"/>).</summary>
/// <param name="TokenUrl">Used when <c>token_url</c> is absent; null keeps the key required.</param>
/// <param name="Scope">Used when <c>scope</c> is absent.</param>
/// <param name="ClientAuth">Used when <c>client_auth</c> is absent.</param>
public sealed record OAuthDefaults(Uri? TokenUrl, string? Scope, OAuthClientAuth ClientAuth);
