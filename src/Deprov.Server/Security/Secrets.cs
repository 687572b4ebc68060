using System.Security.Cryptography;
using System.Text;
using Deprov.Core.Security;
using Microsoft.AspNetCore.Identity;

namespace Deprov.Server.Security;

/// <summary>Password hashing and API-key generation.</summary>
public static class Secrets
{
    /// <summary>API keys start with this prefix so secret scanners recognise them.</summary>
    public const string ApiKeyPrefix = "dpk_";

    public const int MinPasswordLength = 12;

    // PBKDF2-HMAC-SHA512 (Identity v3 format). 210,000 iterations is OWASP's figure for SHA-512; the format records
    // the count, so raising it later still verifies old hashes (and flags them for rehash).
    private static readonly PasswordHasher<UserAccount> Hasher = new(Microsoft.Extensions.Options.Options.Create(new PasswordHasherOptions
    {
        CompatibilityMode = PasswordHasherCompatibilityMode.IdentityV3,
        IterationCount = 210_000,
    }));

    // Verified against when the user is unknown, so a wrong name costs as long as a wrong password.
    private static readonly Lazy<string> DummyHash = new(() => Hasher.HashPassword(null!, "not-a-password-" + Guid.NewGuid()));

    public static string HashPassword(string password)
    {
        ValidatePassword(password);
        return Hasher.HashPassword(null!, password);
    }

    public static void ValidatePassword(string password)
    {
        if (string.IsNullOrEmpty(password) || password.Length < MinPasswordLength)
        {
            throw new Core.ValidationException($"The password is too short: it must have at least {MinPasswordLength} characters.");
        }
    }

    public static bool VerifyPassword(UserAccount? user, string password)
    {
        var hash = user?.PasswordHash ?? DummyHash.Value;
        var result = Hasher.VerifyHashedPassword(null!, hash, password ?? string.Empty);
        return user is not null && result != PasswordVerificationResult.Failed;
    }

    /// <summary>A new key: the secret to show once, and its id and hash to store.</summary>
    public static (string Secret, string Id, byte[] Hash) NewApiKey()
    {
        var secret = ApiKeyPrefix + Base64Url(RandomNumberGenerator.GetBytes(32));
        return (secret, "key_" + Base64Url(RandomNumberGenerator.GetBytes(6)), HashApiKey(secret));
    }

    public static byte[] HashApiKey(string secret) => SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    public static string NewToken() => Base64Url(RandomNumberGenerator.GetBytes(32));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
