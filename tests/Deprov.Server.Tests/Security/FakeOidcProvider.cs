using System.Buffers.Text;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Deprov.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Deprov.Server.Tests.Security;

/// <summary>
/// A minimal OpenID Connect provider on 127.0.0.1, following OpenID Connect Core 1.0 and Discovery 1.0: a discovery
/// document, a JWKS with one RSA key, an authorization endpoint that signs the user in at once and redirects back with a
/// code, and a token endpoint that checks the client, the redirect URI and the PKCE verifier (RFC 7636, S256) and issues
/// an RS256-signed id_token. <see cref="Next"/> shapes the next id_token, so a test can make it wrong.
/// </summary>
public sealed class FakeOidcProvider : IAsyncDisposable
{
    public const string ClientId = "deprov-console";
    public const string ClientSecret = "client-secret-for-tests";
    private const string KeyId = "test-key-1";

    private readonly RSA _key = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, Grant> _grants = new(StringComparer.Ordinal);
    private WebApplication? _app;

    public Uri Issuer { get; private set; } = null!;

    /// <summary>What the next id_token says; reset by the test that changes it.</summary>
    public TokenShape Next { get; set; } = new();

    /// <summary>Token requests whose PKCE verifier matched the challenge of the authorization request.</summary>
    public int PkceVerified => Volatile.Read(ref _pkceVerified);

    private int _pkceVerified;

    public sealed record TokenShape(
        string[]? Roles = null,
        string UserName = "oidc-user@example.com",
        string? Issuer = null,
        string? Audience = null,
        TimeSpan? ExpiresIn = null,
        string? Nonce = null);

    private sealed record Grant(string Nonce, string CodeChallenge, string RedirectUri, TokenShape Shape);

    public static async Task<FakeOidcProvider> StartAsync()
    {
        var provider = new FakeOidcProvider();
        var port = FreePort.Next();
        provider.Issuer = new Uri($"http://127.0.0.1:{port}");
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(provider.Issuer.ToString().TrimEnd('/'));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/.well-known/openid-configuration", provider.Discovery);
        app.MapGet("/jwks", provider.Jwks);
        app.MapGet("/authorize", provider.Authorize);
        app.MapPost("/token", provider.TokenAsync);
        await app.StartAsync();
        provider._app = app;
        return provider;
    }

    private string IssuerText => Issuer.ToString().TrimEnd('/');

    private IResult Discovery() => Results.Json(new Dictionary<string, object>
    {
        ["issuer"] = IssuerText,
        ["authorization_endpoint"] = IssuerText + "/authorize",
        ["token_endpoint"] = IssuerText + "/token",
        ["jwks_uri"] = IssuerText + "/jwks",
        ["response_types_supported"] = new[] { "code" },
        ["subject_types_supported"] = new[] { "public" },
        ["id_token_signing_alg_values_supported"] = new[] { "RS256" },
        ["code_challenge_methods_supported"] = new[] { "S256" },
        ["token_endpoint_auth_methods_supported"] = new[] { "client_secret_post", "client_secret_basic" },
        ["scopes_supported"] = new[] { "openid", "profile" },
    });

    private IResult Jwks()
    {
        var p = _key.ExportParameters(includePrivateParameters: false);
        return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = KeyId, n = Base64Url.EncodeToString(p.Modulus), e = Base64Url.EncodeToString(p.Exponent) } } });
    }

    /// <summary>The authorization endpoint: the user is "already signed in" here; it validates the request and redirects back with a code.</summary>
    private IResult Authorize(HttpRequest request)
    {
        var q = request.Query;
        if (q["client_id"] != ClientId || q["response_type"] != "code" || !q["scope"].ToString().Split(' ').Contains("openid"))
        {
            return Results.BadRequest("invalid_request: client_id, response_type=code and scope openid are required");
        }

        if (q["code_challenge_method"] != "S256" || string.IsNullOrEmpty(q["code_challenge"]))
        {
            return Results.BadRequest("invalid_request: PKCE with S256 is required");
        }

        var code = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(24));
        _grants[code] = new Grant(q["nonce"].ToString(), q["code_challenge"].ToString(), q["redirect_uri"].ToString(), Next);
        var back = $"{q["redirect_uri"]}?code={Uri.EscapeDataString(code)}&state={Uri.EscapeDataString(q["state"].ToString())}";
        return Results.Redirect(back);
    }

    private async Task<IResult> TokenAsync(HttpRequest request)
    {
        var form = await request.ReadFormAsync();
        var (clientId, secret) = ClientCredentials(request, form);
        if (clientId != ClientId || secret != ClientSecret)
        {
            return Results.Json(new { error = "invalid_client" }, statusCode: 401);
        }

        if (form["grant_type"] != "authorization_code" || !_grants.TryRemove(form["code"].ToString(), out var grant) || form["redirect_uri"] != grant.RedirectUri)
        {
            return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
        }

        var challenge = Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(form["code_verifier"].ToString())));
        if (challenge != grant.CodeChallenge)
        {
            return Results.Json(new { error = "invalid_grant", error_description = "PKCE verification failed" }, statusCode: 400);
        }

        Interlocked.Increment(ref _pkceVerified);
        var shape = grant.Shape;
        var now = TimeProvider.System.GetUtcNow();
        var claims = new Dictionary<string, object>
        {
            ["iss"] = shape.Issuer ?? IssuerText,
            ["aud"] = shape.Audience ?? ClientId,
            ["sub"] = "sub-" + shape.UserName,
            ["iat"] = now.ToUnixTimeSeconds(),
            ["exp"] = (now + (shape.ExpiresIn ?? TimeSpan.FromMinutes(5))).ToUnixTimeSeconds(),
            ["nonce"] = shape.Nonce ?? grant.Nonce,
            ["preferred_username"] = shape.UserName,
        };
        if (shape.Roles is { } roles)
        {
            claims["roles"] = roles;
        }

        return Results.Json(new { access_token = "opaque-" + Guid.NewGuid().ToString("N"), token_type = "Bearer", expires_in = 300, id_token = Sign(claims) });
    }

    private static (string? Id, string? Secret) ClientCredentials(HttpRequest request, IFormCollection form)
    {
        var auth = request.Headers.Authorization.ToString();
        if (auth.StartsWith("Basic ", StringComparison.Ordinal))
        {
            var pair = Encoding.UTF8.GetString(Convert.FromBase64String(auth["Basic ".Length..])).Split(':', 2);
            return (Uri.UnescapeDataString(pair[0]), Uri.UnescapeDataString(pair[1]));
        }

        return (form["client_id"], form["client_secret"]);
    }

    /// <summary>A compact JWS (RFC 7515) with RS256.</summary>
    private string Sign(Dictionary<string, object> claims)
    {
        var header = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(new { alg = "RS256", typ = "JWT", kid = KeyId }));
        var payload = Base64Url.EncodeToString(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = _key.SignData(Encoding.ASCII.GetBytes(header + "." + payload), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{header}.{payload}.{Base64Url.EncodeToString(signature)}";
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _key.Dispose();
    }
}
