using System.Security.Claims;
using Deprov.Core.Security;

namespace Deprov.Server.Security;

public static class PrincipalExtensions
{
    /// <summary>The audit actor: <c>admin:&lt;user&gt;</c> for console users (the convention of the CLI), <c>key:&lt;id&gt;</c> for API keys.</summary>
    public static string Actor(this ClaimsPrincipal user)
    {
        var name = user.Identity?.Name ?? "anonymous";
        return name.StartsWith("key:", StringComparison.Ordinal) ? name : "admin:" + name;
    }

    public static Role? Role(this ClaimsPrincipal user)
    {
        foreach (var r in Enum.GetValues<Role>())
        {
            if (user.IsInRole(r.ClaimValue()))
            {
                return r;
            }
        }

        return null;
    }

    public static ClaimsPrincipal ForUser(UserAccount user, string scheme) =>
        new(new ClaimsIdentity([new Claim(ClaimTypes.Name, user.Name), new Claim(ClaimTypes.Role, user.Role.ClaimValue())], scheme));
}

/// <summary>The one-time first-admin token: printed at first start, valid until the first user exists.</summary>
public sealed class SetupToken
{
    private string? _token;

    public string? Current => Volatile.Read(ref _token);

    public string Issue() => Volatile.Read(ref _token) ?? Interlocked.CompareExchange(ref _token, Secrets.NewToken(), null) ?? _token!;

    public bool Matches(string? token) =>
        Current is { } t && token is not null && System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
            System.Text.Encoding.UTF8.GetBytes(t), System.Text.Encoding.UTF8.GetBytes(token));

    public void Consume() => Volatile.Write(ref _token, null);
}
