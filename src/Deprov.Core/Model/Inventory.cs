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

/// <summary>
/// One system's accounts as parallel columns, as discovery hands them to the store: a system can hold millions, and one
/// <see cref="Account"/> each (with its id string) would live until the system's write has ended. An item is made when it
/// is read; the store and detection read the columns without making any.
/// </summary>
public sealed class AccountColumns : IReadOnlyList<Account>
{
    private readonly string[] _ids;
    private readonly string[] _externalIds;
    private readonly string[] _userNames;
    private readonly string?[] _emails;
    private readonly string?[] _personIds;
    private readonly AccountKind[] _kinds;
    private readonly AccountStatus[] _statuses;
    private readonly DateTimeOffset?[] _lastSignInAt;
    private readonly string?[] _correlationRules;

    /// <param name="ids">Each account's <see cref="Account.Id"/> (<c>system/externalId</c>).</param>
    /// <exception cref="ArgumentException">A column's length differs from <paramref name="ids"/>'s.</exception>
    public AccountColumns(string systemId, string[] ids, string[] externalIds, string[] userNames, string?[] emails, string?[] personIds, AccountKind[] kinds,
        AccountStatus[] statuses, DateTimeOffset?[] lastSignInAt, string?[] correlationRules)
    {
        ArgumentNullException.ThrowIfNull(systemId);
        ArgumentNullException.ThrowIfNull(ids);
        Check(externalIds, nameof(externalIds));
        Check(userNames, nameof(userNames));
        Check(emails, nameof(emails));
        Check(personIds, nameof(personIds));
        Check(kinds, nameof(kinds));
        Check(statuses, nameof(statuses));
        Check(lastSignInAt, nameof(lastSignInAt));
        Check(correlationRules, nameof(correlationRules));
        SystemId = systemId;
        (_ids, _externalIds, _userNames, _emails, _personIds, _kinds, _statuses, _lastSignInAt, _correlationRules) =
            (ids, externalIds, userNames, emails, personIds, kinds, statuses, lastSignInAt, correlationRules);

        void Check<T>(T[] column, string name)
        {
            ArgumentNullException.ThrowIfNull(column, name);
            if (column.Length != ids.Length)
            {
                throw new ArgumentException($"Column '{name}' has {column.Length} rows; there are {ids.Length} account ids.", name);
            }
        }
    }

    /// <summary>The accounts as columns: <paramref name="accounts"/> itself when it is columns already, else a copy of
    /// the fields. All must be of one system.</summary>
    /// <exception cref="ArgumentException">The accounts are of more than one system.</exception>
    public static AccountColumns From(IReadOnlyList<Account> accounts)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        if (accounts is AccountColumns columns)
        {
            return columns;
        }

        var n = accounts.Count;
        var systemId = n > 0 ? accounts[0].SystemId : string.Empty;
        var (ids, externalIds, userNames, emails, personIds) = (new string[n], new string[n], new string[n], new string?[n], new string?[n]);
        var (kinds, statuses, signIns, rules) = (new AccountKind[n], new AccountStatus[n], new DateTimeOffset?[n], new string?[n]);
        for (var i = 0; i < n; i++)
        {
            var a = accounts[i];
            if (a.SystemId != systemId)
            {
                throw new ArgumentException($"Account '{a.Id}' is of system '{a.SystemId}', account '{accounts[0].Id}' of '{systemId}'; columns hold one system's accounts.",
                    nameof(accounts));
            }

            (ids[i], externalIds[i], userNames[i], emails[i], personIds[i]) = (a.Id, a.ExternalId, a.UserName, a.Email, a.PersonId);
            (kinds[i], statuses[i], signIns[i], rules[i]) = (a.Kind, a.Status, a.LastSignInAt, a.CorrelationRule);
        }

        return new AccountColumns(systemId, ids, externalIds, userNames, emails, personIds, kinds, statuses, signIns, rules);
    }

    /// <summary>Every account's <see cref="Account.SystemId"/> (empty when there are none).</summary>
    public string SystemId { get; }

    public int Count => _ids.Length;

    public Account this[int index] => new(_ids[index], SystemId, _externalIds[index], _userNames[index], _emails[index], _personIds[index], _kinds[index],
        _statuses[index], _lastSignInAt[index], _correlationRules[index]);

    public string IdAt(int index) => _ids[index];

    public string ExternalIdAt(int index) => _externalIds[index];

    public string UserNameAt(int index) => _userNames[index];

    public string? EmailAt(int index) => _emails[index];

    public string? PersonIdAt(int index) => _personIds[index];

    public AccountKind KindAt(int index) => _kinds[index];

    public AccountStatus StatusAt(int index) => _statuses[index];

    public DateTimeOffset? LastSignInAt(int index) => _lastSignInAt[index];

    public string? CorrelationRuleAt(int index) => _correlationRules[index];

    public IEnumerator<Account> GetEnumerator()
    {
        for (var i = 0; i < _ids.Length; i++)
        {
            yield return this[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

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
