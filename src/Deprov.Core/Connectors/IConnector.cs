using Deprov.Core.Model;

namespace Deprov.Core.Connectors;

/// <summary>
/// A connected system, as Deprov sees it: what it can do, what it holds, how to change it and how to read it back.
/// </summary>
/// <remarks>
/// <para>Error contract: throw. Throw <see cref="ConnectorException"/> with <c>IsTransient = true</c> for anything that
/// may succeed later (timeouts, busy, 429/5xx, connection refused), with <c>RetryAfter</c> when the system said how long to
/// wait, and with <c>rateLimited: true</c> when that answer was a rate limit (429, or 503 with <c>Retry-After</c>): the
/// engine then waits without counting it as a failed attempt; throw it with <c>IsTransient = false</c> for refusals (bad credentials, missing rights, invalid target), with a
/// message naming the object and the right. Any other exception is treated as permanent. The engine records, classifies
/// and retries; a connector never swallows an error. It may retry a transient protocol error briefly under a bounded
/// policy (an HTTP 429 with <c>Retry-After</c>, an expired token, a stale ETag); when it gives up it throws, and the
/// engine schedules the next attempt with its own backoff.</para>
/// <para>Idempotency: <see cref="ExecuteAsync"/> may be called again for the same action after a crash. Applying an
/// action whose effect already holds (disabling a disabled account, removing a non-member) must succeed and say so in
/// <see cref="ActionResult.AlreadyInState"/>.</para>
/// <para>Secrets: a connector never puts a password, token or key in an exception message, a log line or a result.</para>
/// </remarks>
public interface IConnector
{
    /// <summary>The actions this system supports and how discovery works. Cheap; no I/O.</summary>
    ConnectorDescriptor Describe();

    /// <summary>Streams the accounts, entitlements, memberships, devices and credentials the system holds.</summary>
    IAsyncEnumerable<DiscoveredObject> DiscoverAsync(DiscoveryRequest request, CancellationToken cancellationToken);

    /// <summary>Applies one action. Returns the state before and after, as the system reported it.</summary>
    Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken);

    /// <summary>Reads the target back and says whether the action's effect holds.</summary>
    /// <remarks>Confirmed must come from a read that could have shown otherwise: an empty answer to a search or filter,
    /// a target not found, or an answer the system gives to questions it does not support is never a confirmation
    /// (except that "not found" confirms a delete of that target read by its id).</remarks>
    Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken);

    /// <summary>Reads the target through a second path, independent of <see cref="ReadBackAsync"/> (the group entry
    /// rather than the user's memberships, the resource by id rather than a filter), to settle a contradiction: the
    /// inventory says the access is there and the first read says it is already gone.</summary>
    /// <returns>Null when the system offers no second path; the engine then reports the step unconfirmed.</returns>
    Task<ReadBackResult?> ReadIndependentlyAsync(ConnectorAction action, CancellationToken cancellationToken) =>
        Task.FromResult<ReadBackResult?>(null);
}

/// <summary>Capabilities of a connector instance.</summary>
/// <param name="Kind">The connector kind (<c>sandbox</c>, <c>ldap</c>, <c>scim</c>, <c>graph</c>, <c>jamf</c>, …): the <c>kind</c> of the system in deprov.yaml.</param>
/// <param name="Supported">The actions this instance can perform.</param>
/// <param name="IncrementalDiscovery">Whether <see cref="DiscoveryRequest.Since"/> is honoured.</param>
/// <param name="ReportsSignIns">Whether discovered accounts carry a last sign-in time.</param>
public sealed record ConnectorDescriptor(
    string Kind,
    IReadOnlySet<ActionKind> Supported,
    bool IncrementalDiscovery,
    bool ReportsSignIns);

/// <param name="Since">For incremental discovery: only objects changed after this moment.</param>
/// <param name="Watermark">The <see cref="DiscoveredWatermark.Value"/> the previous discovery ended with. A connector
/// that can tell nothing changed since then answers with only a <see cref="DiscoveredWatermark"/> whose
/// <c>Unchanged</c> is true; otherwise it lists everything (or what changed, when it honours <see cref="Since"/>).</param>
public sealed record DiscoveryRequest(DateTimeOffset? Since, string? Watermark = null);

/// <summary>One object found by discovery.</summary>
public abstract record DiscoveredObject;

/// <param name="Attributes">Attributes used for correlation (mail, employeeNumber, uid, ...).</param>
public sealed record DiscoveredAccount(
    string ExternalId,
    string UserName,
    string? Email,
    bool Enabled,
    AccountKind Kind,
    DateTimeOffset? LastSignInAt,
    IReadOnlyDictionary<string, string> Attributes) : DiscoveredObject;

/// <summary>
/// Many accounts in one object, as parallel columns: row <c>i</c> of every column is one account, the same as one
/// <see cref="DiscoveredAccount"/> each, without an object and an attribute map per account (a system can hold millions,
/// and each object would live until the system's write has ended). The two forms may be mixed in one listing, and a
/// listing may hold several blocks (one per page, say).
/// </summary>
/// <remarks>Attributes are named columns: <c>attributes["employeeNumber"][i]</c> is row <c>i</c>'s value, null where
/// that account has no such attribute. One array may serve as several columns (a <c>uid</c> column may be the user-name
/// array). The arrays are taken, not copied: the connector must not change them after yielding the block. An item is
/// made when it is read; discovery reads the columns without making any.</remarks>
public sealed record DiscoveredAccounts : DiscoveredObject, IReadOnlyList<DiscoveredAccount>
{
    private readonly string[] _externalIds;
    private readonly string[] _userNames;
    private readonly string?[] _emails;
    private readonly bool[] _enabled;
    private readonly AccountKind[] _kinds;
    private readonly DateTimeOffset?[] _lastSignInAt;
    private readonly string[] _attributeNames;
    private readonly string?[][] _attributeColumns;

    /// <exception cref="ArgumentException">A column's length differs from <paramref name="externalIds"/>'s.</exception>
    public DiscoveredAccounts(string[] externalIds, string[] userNames, string?[] emails, bool[] enabled, AccountKind[] kinds, DateTimeOffset?[] lastSignInAt,
        IReadOnlyDictionary<string, string?[]> attributes)
    {
        ArgumentNullException.ThrowIfNull(externalIds);
        ArgumentNullException.ThrowIfNull(attributes);
        Check(userNames, nameof(userNames));
        Check(emails, nameof(emails));
        Check(enabled, nameof(enabled));
        Check(kinds, nameof(kinds));
        Check(lastSignInAt, nameof(lastSignInAt));
        _attributeNames = new string[attributes.Count];
        _attributeColumns = new string?[attributes.Count][];
        var c = 0;
        foreach (var (name, column) in attributes)
        {
            Check(column, $"{nameof(attributes)}[{name}]");
            (_attributeNames[c], _attributeColumns[c]) = (name, column);
            c++;
        }

        (_externalIds, _userNames, _emails, _enabled, _kinds, _lastSignInAt) = (externalIds, userNames, emails, enabled, kinds, lastSignInAt);

        void Check<T>(T[] column, string name)
        {
            ArgumentNullException.ThrowIfNull(column, name);
            if (column.Length != externalIds.Length)
            {
                throw new ArgumentException($"Column '{name}' has {column.Length} rows; the block has {externalIds.Length} external ids.", name);
            }
        }
    }

    /// <summary>The same accounts as columns (the attribute columns are the union of their attribute names).</summary>
    public static DiscoveredAccounts From(IReadOnlyList<DiscoveredAccount> accounts)
    {
        ArgumentNullException.ThrowIfNull(accounts);
        var n = accounts.Count;
        var (ids, names, emails, enabled, kinds, signIns) = (new string[n], new string[n], new string?[n], new bool[n], new AccountKind[n], new DateTimeOffset?[n]);
        var attributes = new Dictionary<string, string?[]>(StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            var a = accounts[i];
            (ids[i], names[i], emails[i], enabled[i], kinds[i], signIns[i]) = (a.ExternalId, a.UserName, a.Email, a.Enabled, a.Kind, a.LastSignInAt);
            foreach (var (key, value) in a.Attributes)
            {
                if (!attributes.TryGetValue(key, out var column))
                {
                    attributes[key] = column = new string?[n];
                }

                column[i] = value;
            }
        }

        return new DiscoveredAccounts(ids, names, emails, enabled, kinds, signIns, attributes);
    }

    public int Count => _externalIds.Length;

    /// <summary>The number of attribute columns (see <see cref="AttributeNameAt"/>).</summary>
    public int AttributeCount => _attributeNames.Length;

    public DiscoveredAccount this[int index]
    {
        get
        {
            var attributes = new Dictionary<string, string>(_attributeNames.Length, StringComparer.Ordinal);
            for (var c = 0; c < _attributeNames.Length; c++)
            {
                if (_attributeColumns[c][index] is { } value)
                {
                    attributes[_attributeNames[c]] = value;
                }
            }

            return new(_externalIds[index], _userNames[index], _emails[index], _enabled[index], _kinds[index], _lastSignInAt[index], attributes);
        }
    }

    public string ExternalIdAt(int index) => _externalIds[index];

    public string UserNameAt(int index) => _userNames[index];

    public string? EmailAt(int index) => _emails[index];

    public bool EnabledAt(int index) => _enabled[index];

    public AccountKind KindAt(int index) => _kinds[index];

    public DateTimeOffset? LastSignInAt(int index) => _lastSignInAt[index];

    public string AttributeNameAt(int column) => _attributeNames[column];

    /// <summary>Row <paramref name="index"/>'s value of attribute column <paramref name="column"/>; null when it has none.</summary>
    public string? AttributeAt(int index, int column) => _attributeColumns[column][index];

    /// <summary>Row <paramref name="index"/>'s value of the attribute named <paramref name="name"/> (ordinal); null when it has none.</summary>
    public string? AttributeAt(int index, string name)
    {
        for (var c = 0; c < _attributeNames.Length; c++)
        {
            if (string.Equals(_attributeNames[c], name, StringComparison.Ordinal))
            {
                return _attributeColumns[c][index];
            }
        }

        return null;
    }

    public IEnumerator<DiscoveredAccount> GetEnumerator()
    {
        for (var i = 0; i < _externalIds.Length; i++)
        {
            yield return this[i];
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>The system's change position at the end of a listing (a USN, a change counter), sent last. Optional: a
/// connector that cannot tell never sends it.</summary>
/// <param name="Unchanged">True when the request's watermark is still current and nothing was listed.</param>
public sealed record DiscoveredWatermark(string Value, bool Unchanged) : DiscoveredObject;

public sealed record DiscoveredEntitlement(
    string ExternalId,
    string Name,
    EntitlementKind Kind,
    bool Privileged) : DiscoveredObject;

public sealed record DiscoveredMembership(
    string AccountExternalId,
    string EntitlementExternalId) : DiscoveredObject;

/// <summary>Every member of one entitlement in one object, for a connector that lists members per group: the same as
/// one <see cref="DiscoveredMembership"/> per member, without an object each (a system can hold millions). The two
/// forms may be mixed in one listing.</summary>
public sealed record DiscoveredMembers(
    string EntitlementExternalId,
    IReadOnlyList<string> AccountExternalIds) : DiscoveredObject;

public sealed record DiscoveredDevice(
    string ExternalId,
    string SerialNumber,
    string Model,
    string? OwnerUserName,
    DeviceStatus Status) : DiscoveredObject;

/// <param name="KnownByUserNames">For shared secrets: the user names of the people who know it.</param>
public sealed record DiscoveredCredential(
    string ExternalId,
    string Name,
    CredentialKind Kind,
    string? OwnerUserName,
    IReadOnlyList<string> KnownByUserNames,
    bool Active,
    DateTimeOffset? LastRotatedAt) : DiscoveredObject;

/// <summary>One action for one target in one system.</summary>
/// <param name="IdempotencyKey">Stable across retries and restarts (the step id).</param>
/// <param name="AccountExternalId">The account the action is about (for memberships: the member).</param>
/// <param name="EntitlementExternalId">The group, role or licence (for memberships).</param>
/// <param name="Parameters">Action-specific values: <c>newOwner</c> for transfers, <c>before</c> for restores.</param>
public sealed record ConnectorAction(
    string IdempotencyKey,
    ActionKind Kind,
    string SystemId,
    string? AccountExternalId,
    string? AccountUserName,
    string? EntitlementExternalId,
    string? DeviceExternalId,
    string? CredentialExternalId,
    IReadOnlyDictionary<string, string> Parameters)
{
    /// <summary>A short description for messages and logs: never contains a secret.</summary>
    public string Describe() =>
        $"{Kind.ToSnake()} {SystemId}:{AccountUserName ?? AccountExternalId ?? DeviceExternalId ?? CredentialExternalId}"
        + (EntitlementExternalId is null ? string.Empty : $" / {EntitlementExternalId}");

    /// <summary>The account's id in the system, or a refusal that says so (a non-transient <see cref="ConnectorException"/>).</summary>
    /// <param name="system">How the connector names itself in errors, e.g. <c>"Okta okta-prod"</c>.</param>
    /// <param name="what">What the id is called in that system.</param>
    public string RequireAccountId(string system, string what = "account id") => AccountExternalId ?? throw MissingId(system, what);

    /// <summary>The entitlement's (group's, licence's) id in the system, or a refusal that says so.</summary>
    public string RequireEntitlementId(string system, string what = "group id") => EntitlementExternalId ?? throw MissingId(system, what);

    /// <summary>The device's id in the system, or a refusal that says so.</summary>
    public string RequireDeviceId(string system, string what = "device id") => DeviceExternalId ?? throw MissingId(system, what);

    private ConnectorException MissingId(string system, string what) => new($"{system}: {Describe()} has no {what}.", isTransient: false);

    /// <summary>For a restore: the value of <paramref name="key"/> in the state the cut step recorded before it changed
    /// anything (the <c>before</c> parameter), or null when not recorded.</summary>
    public string? BeforeValue(string key) =>
        Parameters.TryGetValue("before", out var json) && Planning.CoreJson.ParseMap(json).TryGetValue(key, out var v) ? v : null;
}

/// <summary>What the system reported when the action was applied.</summary>
/// <param name="Before">State before the change (attribute → value). Must never contain a secret.</param>
/// <param name="After">State after the change.</param>
/// <param name="AlreadyInState">True when nothing had to change (idempotent replay, or state already as wanted).</param>
public sealed record ActionResult(
    IReadOnlyDictionary<string, string> Before,
    IReadOnlyDictionary<string, string> After,
    bool AlreadyInState,
    string? Detail = null)
{
    /// <summary>Nothing had to change: the effect already held in <paramref name="state"/>.</summary>
    public static ActionResult Unchanged(IReadOnlyDictionary<string, string> state, string? detail = null) => new(state, state, AlreadyInState: true, detail);
}

/// <summary>The outcome of reading the target back.</summary>
/// <param name="Confirmed">True when the action's effect holds in the system.</param>
/// <param name="Observed">What was read (attribute → value), kept as evidence.</param>
public sealed record ReadBackResult(bool Confirmed, IReadOnlyDictionary<string, string> Observed);
