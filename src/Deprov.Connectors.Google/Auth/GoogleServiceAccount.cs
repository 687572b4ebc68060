using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Deprov.Connectors.Http.Auth;
using Deprov.Core;
using Deprov.Core.Connectors;

namespace Deprov.Connectors.Google.Auth;

/// <summary>
/// A service account with domain-wide delegation, as a <see cref="TokenExchange"/> for
/// <see cref="HttpCredentials.FromExchange"/>: a JWT (RFC 7523) with <c>iss</c> = the key's <c>client_email</c>,
/// <c>sub</c> = the admin to impersonate, <c>scope</c> = the space-separated scopes, <c>aud</c> = the key's
/// <c>token_uri</c>, <c>iat</c> now and <c>exp</c> an hour later, signed RS256 with the key's <c>private_key</c>, is
/// exchanged at the token endpoint (<c>grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer</c>) for an access token.
/// </summary>
/// <remarks>The key is read through <see cref="ISecretResolver"/> on first use and kept only as the imported RSA key. No
/// message ever contains the key, the assertion or the access token.</remarks>
internal sealed class GoogleServiceAccount : IDisposable
{
    public const string GrantType = "urn:ietf:params:oauth:grant-type:jwt-bearer";

    /// <summary>Google accepts assertions valid for at most an hour.</summary>
    private static readonly TimeSpan AssertionLifetime = TimeSpan.FromHours(1);

    private readonly string _label;
    private readonly GoogleSettings _settings;
    private readonly ISecretResolver _secrets;
    private readonly TimeProvider _time;
    private readonly HttpClient _client;
    private readonly Lock _lock = new();
    private Key? _key;

    public GoogleServiceAccount(string label, GoogleSettings settings, ISecretResolver secrets, TimeProvider time)
    {
        _label = label;
        _settings = settings;
        _secrets = secrets;
        _time = time;
        _client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = settings.Timeout };
    }

    /// <summary>The service account's <c>client_email</c>, once the key was read (for messages).</summary>
    public string? ClientEmail => _key?.ClientEmail;

    public async Task<ExchangedToken> ExchangeAsync(string? current, CancellationToken cancellationToken)
    {
        // A Google access token cannot be extended: every exchange signs a fresh assertion.
        var key = LoadKey();
        var now = _time.GetUtcNow();
        var assertion = Sign(key, now);
        using var request = new HttpRequestMessage(HttpMethod.Post, key.TokenUri)
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["grant_type"] = GrantType, ["assertion"] = assertion }),
        };
        HttpResponseMessage response;
        try
        {
            response = await _client.SendAsync(request, cancellationToken);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new ConnectorException($"{_label}: token endpoint {key.TokenUri} did not answer: {e.Message}", isTransient: true, e);
        }

        using (response)
        {
            var body = await response.Content.ReadAsStringAsync(cancellationToken);
            var status = (int)response.StatusCode;
            if (!response.IsSuccessStatusCode)
            {
                var transient = status is 408 or 429 || (status >= 500 && status != 501);
                var (error, description) = OAuthError(body);
                var hint = error switch
                {
                    "invalid_grant" => "the key was refused (deleted or disabled key, wrong key file, or a clock far off), or admin_email is not a user of the domain",
                    "unauthorized_client" => $"domain-wide delegation is missing: in the Admin console (Security > API controls > Domain-wide delegation) grant client id {key.ClientId} these scopes: {string.Join(",", _settings.Scopes)}",
                    "invalid_scope" => "a configured scope is not a valid Google scope",
                    _ => ((HttpStatusCode)status).ToString(),
                };
                throw new ConnectorException(
                    $"{_label}: token endpoint {key.TokenUri} refused service account '{key.ClientEmail}' acting as '{_settings.AdminEmail}': {status} {error}{(description is null ? string.Empty : ": " + description)} ({hint})",
                    transient);
            }

            return Parse(body, key, now);
        }
    }

    private ExchangedToken Parse(string body, Key key, DateTimeOffset now)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("access_token", out var at) || at.ValueKind != JsonValueKind.String || at.GetString() is not { Length: > 0 } token)
            {
                throw new ConnectorException($"{_label}: token endpoint {key.TokenUri} answered without an access_token.", isTransient: false);
            }

            var lifetime = root.TryGetProperty("expires_in", out var exp) && exp.TryGetInt32(out var s) && s > 0 ? TimeSpan.FromSeconds(s) : TimeSpan.FromMinutes(5);
            return new ExchangedToken(token, now + lifetime);
        }
        catch (JsonException e)
        {
            throw new ConnectorException($"{_label}: token endpoint {key.TokenUri} answered with a body that is not JSON.", isTransient: false, e);
        }
    }

    /// <summary>The assertion: base64url(header).base64url(claims).base64url(RS256 signature).</summary>
    private string Sign(Key key, DateTimeOffset now)
    {
        var header = new Dictionary<string, string> { ["alg"] = "RS256", ["typ"] = "JWT" };
        if (key.KeyId is { } kid)
        {
            header["kid"] = kid;
        }

        var iat = now.ToUnixTimeSeconds();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = key.ClientEmail,
            ["sub"] = _settings.AdminEmail,
            ["scope"] = string.Join(' ', _settings.Scopes),
            ["aud"] = key.TokenUri.AbsoluteUri,
            ["iat"] = iat,
            ["exp"] = iat + (long)AssertionLifetime.TotalSeconds,
        };
        var signingInput = Base64Url(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = key.Rsa.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    private Key LoadKey()
    {
        lock (_lock)
        {
            return _key ??= ReadKey();
        }
    }

    private Key ReadKey()
    {
        string json;
        try
        {
            json = _secrets.Resolve(_settings.KeyRef, $"{_label} key");
        }
        catch (ValidationException e)
        {
            throw new ConnectorException($"{_label}: cannot read the service account key: {e.Message}", isTransient: false, e);
        }

        string Invalid(string what) => $"{_label}: the service account key that 'key' references {what}; download a new JSON key for the service account (IAM & Admin > Service accounts > Keys).";
        JsonElement root;
        try
        {
            using var doc = JsonDocument.Parse(json);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e)
        {
            // JsonException's message can quote the text it choked on, which may be the key: only the position is kept.
            throw new ConnectorException(Invalid("is not JSON"), isTransient: false,
                new FormatException($"invalid JSON at line {e.LineNumber}, byte {e.BytePositionInLine} (text withheld)."));
        }

        string? Text(string name) => root.ValueKind == JsonValueKind.Object && root.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
        if (root.ValueKind != JsonValueKind.Object || Text("type") is { } type && type != "service_account")
        {
            throw new ConnectorException(Invalid("is not a service account key (\"type\" must be \"service_account\")"), isTransient: false);
        }

        var email = Text("client_email") ?? throw new ConnectorException(Invalid("has no client_email"), isTransient: false);
        var pem = Text("private_key") ?? throw new ConnectorException(Invalid("has no private_key"), isTransient: false);
        var tokenUriText = Text("token_uri") ?? GoogleSettings.DefaultTokenUrl.AbsoluteUri;
        if (!Uri.TryCreate(tokenUriText, UriKind.Absolute, out var tokenUri)
            || !(tokenUri.Scheme == Uri.UriSchemeHttps || (tokenUri.Scheme == Uri.UriSchemeHttp && tokenUri.IsLoopback)))
        {
            throw new ConnectorException(Invalid($"has token_uri '{tokenUriText}', which is not an https URL"), isTransient: false);
        }

        var rsa = RSA.Create();
        try
        {
            rsa.ImportFromPem(pem);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            rsa.Dispose();
            // The framework's messages say what was wrong with the PEM's format, never its content.
            throw new ConnectorException(Invalid("has a private_key that is not a PEM RSA private key"), isTransient: false, e);
        }

        return new Key(email, Text("client_id"), Text("private_key_id"), tokenUri, rsa);
    }

    private static (string Error, string? Description) OAuthError(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            var root = doc.RootElement;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out var e) && e.ValueKind == JsonValueKind.String)
            {
                var description = root.TryGetProperty("error_description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                return (e.GetString()!, description);
            }
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's error page): the status code says what happened.
        }

        return ("error", null);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public void Dispose()
    {
        _client.Dispose();
        _key?.Rsa.Dispose();
    }

    // Not a record: a generated ToString would print the key object.
    private sealed class Key(string clientEmail, string? clientId, string? keyId, Uri tokenUri, RSA rsa)
    {
        public string ClientEmail { get; } = clientEmail;

        public string ClientId { get; } = clientId ?? "(client_id missing from the key)";

        public string? KeyId { get; } = keyId;

        public Uri TokenUri { get; } = tokenUri;

        public RSA Rsa { get; } = rsa;
    }
}
