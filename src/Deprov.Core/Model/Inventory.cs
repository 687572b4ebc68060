namespace Deprov.Core.Model;

public enum AccountStatus
{
    Active,
    Disabled,
    Deleted,
}

public enum AccountKind
{
    User,
    Service,
}

/// <summary>An account in a connected system. <see cref="PersonId"/> is null for an orphan.</summary>
/// <param name="Id">Deprov's key for the account: <c>system/externalId</c>.</param>
/// <param name="ExternalId">The system's own id (DN, SCIM id, ...).</param>
public sealed record Account(
    string Id,
    string SystemId,
    string ExternalId,
    string UserName,
    string? Email,
    string? PersonId,
    AccountKind Kind,
    AccountStatus Status,
    DateTimeOffset? LastSignInAt,
    string? CorrelationRule);

public enum EntitlementKind
{
    Group,
    Role,
    Licence,
    Permission,
    /// <summary>Network access such as VPN.</summary>
    Network,
}

/// <summary>Something an account can hold: a group, role, licence or permission.</summary>
/// <param name="Id">Deprov's key: <c>system/externalId</c>.</param>
public sealed record Entitlement(
    string Id,
    string SystemId,
    string ExternalId,
    string Name,
    EntitlementKind Kind,
    bool Privileged);

public enum GrantSource
{
    /// <summary>Granted because of the person's role.</summary>
    Birthright,
    /// <summary>Granted as an explicit exception; kept on a role change until it expires.</summary>
    Exception,
    /// <summary>Found in the system with no known reason.</summary>
    Discovered,
}

/// <summary>An account holding an entitlement.</summary>
public sealed record Assignment(
    string AccountId,
    string EntitlementId,
    GrantSource Source,
    DateTimeOffset? ExpiresAt);

/// <summary>
/// Discovered memberships (<see cref="GrantSource.Discovered"/>, no expiry) as two parallel arrays of id strings: a
/// system can hold millions, and one <see cref="Assignment"/> each would live until the system's write has ended. An
/// item is made when it is read; the store reads the ids without making any.
/// </summary>
public sealed class DiscoveredAssignments : IReadOnlyList<Assignment>
{
    private readonly string[] _accountIds;
    private readonly string[] _entitlementIds;

    public DiscoveredAssignments(string[] accountIds, string[] entitlementIds)
    {
        ArgumentNullException.ThrowIfNull(accountIds);
        ArgumentNullException.ThrowIfNull(entitlementIds);
        if (accountIds.Length != entitlementIds.Length)
        {
            throw new ArgumentException("The account and entitlement ids must be as many.", nameof(entitlementIds));
        }

        (_accountIds, _entitlementIds) = (accountIds, entitlementIds);
    }

    public int Count => _accountIds.Length;

    public Assignment this[int index] => new(_accountIds[index], _entitlementIds[index], GrantSource.Discovered, null);

    public string AccountIdAt(int index) => _accountIds[index];

    public string EntitlementIdAt(int index) => _entitlementIds[index];

    public IEnumerator<Assignment> GetEnumerator()
    {
        for (var i = 0; i < _accountIds.Length; i++)
        {
            yield return this[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

public enum DeviceStatus
{
    Active,
    Locked,
    Wiped,
}

public sealed record Device(
    string Id,
    string SystemId,
    string ExternalId,
    string SerialNumber,
    string Model,
    string? OwnerPersonId,
    DeviceStatus Status);

public enum CredentialKind
{
    /// <summary>A secret several people know (e.g. a shared admin password).</summary>
    SharedSecret,
    /// <summary>A personal API token.</summary>
    ApiToken,
    /// <summary>A non-human account someone owns.</summary>
    ServiceAccount,
}

public enum CredentialStatus
{
    Active,
    Revoked,
    Disabled,
}

/// <summary>A shared secret and who knows it, or a token / service account and who owns it.</summary>
public sealed record Credential(
    string Id,
    string SystemId,
    string ExternalId,
    string Name,
    CredentialKind Kind,
    string? OwnerPersonId,
    IReadOnlyList<string> KnownBy,
    CredentialStatus Status,
    DateTimeOffset? LastRotatedAt);
