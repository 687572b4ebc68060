namespace Deprov.Core.Security;

/// <summary>What a console user or API key may do. Each role is a separate grant; none implies another except admin.</summary>
public enum Role
{
    /// <summary>Configures systems and policy, manages users and API keys; can do everything an operator can.</summary>
    Admin,
    /// <summary>Runs and approves cases, completes tasks, submits events, sets legal holds.</summary>
    Operator,
    /// <summary>Reads everything and exports evidence; changes nothing.</summary>
    Auditor,
    /// <summary>Submits HR events only.</summary>
    Hr,
}

/// <summary>A local console account.</summary>
/// <param name="Name">Sign-in name; unique, compared case-insensitively.</param>
/// <param name="PasswordHash">An ASP.NET Core Identity v3 hash (PBKDF2-HMAC-SHA512); never the password.</param>
public sealed record UserAccount(string Name, Role Role, string PasswordHash, DateTimeOffset CreatedAt, string CreatedBy);

/// <summary>A machine credential. The key itself is shown once; only its SHA-256 is stored.</summary>
/// <param name="Id">Public identifier shown in lists and the audit trail (never the secret).</param>
public sealed record ApiKey(
    string Id,
    string Name,
    Role Role,
    byte[] Hash,
    string CreatedBy,
    DateTimeOffset CreatedAt,
    DateTimeOffset? LastUsedAt,
    DateTimeOffset? RevokedAt)
{
    public bool IsRevoked => RevokedAt is not null;
}
