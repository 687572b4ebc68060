using System.Collections.Concurrent;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Deprov.Core.Security;
using Deprov.Core.Store;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Deprov.Server.Security;

/// <summary>
/// Authenticates <c>Authorization: Bearer dpk_...</c> (or <c>X-Api-Key</c>) against the stored SHA-256 of each key. A
/// lookup is cached for <see cref="CacheFor"/> so reads don't hit the store per request; a revocation made through this
/// server drops the cache at once, one made by another process (the CLI) takes effect within that time.
/// </summary>
public sealed class ApiKeyAuthenticationHandler : AuthenticationHandler<AuthenticationSchemeOptions>
{
    public const string SchemeName = "ApiKey";
    public static readonly TimeSpan CacheFor = TimeSpan.FromSeconds(5);

    private readonly ApiKeyCache _cache;

    public ApiKeyAuthenticationHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, ApiKeyCache cache)
        : base(options, logger, encoder) => _cache = cache;

    public static string? ReadKey(HttpRequest request)
    {
        if (request.Headers.TryGetValue("X-Api-Key", out var k) && !string.IsNullOrEmpty(k))
        {
            return k.ToString();
        }

        var auth = request.Headers.Authorization.ToString();
        return auth.StartsWith("Bearer " + Secrets.ApiKeyPrefix, StringComparison.Ordinal) ? auth["Bearer ".Length..].Trim() : null;
    }

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var secret = ReadKey(Request);
        if (secret is null)
        {
            return AuthenticateResult.NoResult();
        }

        var key = await _cache.FindAsync(secret, Context.RequestAborted);
        if (key is null || key.IsRevoked)
        {
            return AuthenticateResult.Fail("Unknown or revoked API key.");
        }

        var identity = new ClaimsIdentity(
            [new Claim(ClaimTypes.Name, "key:" + key.Id), new Claim(ClaimTypes.Role, key.Role.ClaimValue()), new Claim("deprov:key", key.Id)],
            SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }
}

/// <summary>Short-lived cache of API-key lookups by hash; also throttles last-used writes to one per key per minute.</summary>
public sealed class ApiKeyCache
{
    private static readonly TimeSpan TouchEvery = TimeSpan.FromMinutes(1);

    private readonly IStore _store;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, (ApiKey? Key, DateTimeOffset Until)> _byHash = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTimeOffset> _touched = new(StringComparer.Ordinal);

    public ApiKeyCache(IStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
    }

    public async Task<ApiKey?> FindAsync(string secret, CancellationToken cancellationToken)
    {
        var hash = Secrets.HashApiKey(secret);
        var hex = Convert.ToHexString(hash);
        var now = _time.GetUtcNow();
        if (!_byHash.TryGetValue(hex, out var entry) || entry.Until <= now)
        {
            entry = (await _store.FindApiKeyByHashAsync(hash, cancellationToken), now + ApiKeyAuthenticationHandler.CacheFor);
            _byHash[hex] = entry;
        }

        if (entry.Key is { IsRevoked: false } key && (!_touched.TryGetValue(key.Id, out var last) || now - last >= TouchEvery))
        {
            _touched[key.Id] = now;
            await _store.TouchApiKeyAsync(key.Id, now, cancellationToken);
        }

        return entry.Key;
    }

    public void Clear() => _byHash.Clear();
}
