namespace Deprov.Core.Model;

/// <summary>What part a system plays in cutting access; drives plan ordering.</summary>
public enum SystemRole
{
    /// <summary>LDAP / Active Directory: a source of truth for sign-in.</summary>
    Directory,
    /// <summary>Identity provider (SSO): a source of truth for sign-in and sessions.</summary>
    IdentityProvider,
    /// <summary>A SaaS or internal application.</summary>
    Application,
    /// <summary>Device management (Jamf, Intune).</summary>
    DeviceManager,
    /// <summary>Physical access (badges).</summary>
    Badge,
    /// <summary>Secrets vault: shared credentials, API tokens and service accounts.</summary>
    Vault,
}

public enum RiskTier
{
    Low,
    Medium,
    High,
    Critical,
}

/// <summary>A connected application, as configured in <c>deprov.yaml</c>.</summary>
/// <param name="Kind">The connector kind that talks to it (<c>sandbox</c>, <c>ldap</c>, <c>scim</c>, ...).</param>
/// <param name="RetentionDays">Days a disabled account is kept before it may be deleted.</param>
/// <param name="LicenceCostPerSeat">Monthly cost of one seat, in the company's currency.</param>
public sealed record ConnectedSystem(
    string Id,
    string DisplayName,
    string Kind,
    SystemRole Role,
    RiskTier Risk,
    decimal LicenceCostPerSeat,
    int RetentionDays);
