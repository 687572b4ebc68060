using System.Collections.Concurrent;
using System.DirectoryServices.Protocols;
using System.Globalization;
using System.Net;
using Deprov.Connectors.Ldap.Connections;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;

namespace Deprov.Connectors.Ldap;

/// <summary>
/// An LDAP directory (OpenLDAP with ppolicy, or Active Directory / Samba AD) as a Deprov system.
/// </summary>
/// <remarks>
/// <para>Account ids are <c>entryUUID</c> (OpenLDAP) or <c>objectGUID</c> (AD) so they survive the move to a disabled OU;
/// every action looks the entry up by that id (an equality search on an indexed attribute). A DN is accepted as an id
/// too. Group ids are DNs.</para>
/// <para>Error contract: see <see cref="IConnector"/>; LDAP result codes are translated by <see cref="LdapErrors"/>.</para>
/// </remarks>
internal sealed partial class LdapConnector : IConnector, IDisposable
{
    /// <summary>The ppolicy value meaning "locked until an administrator unlocks it".</summary>
    internal const string PermanentLock = "000001010000Z";
    internal const int AccountDisable = 0x2;

    private static readonly ConnectorDescriptor OpenLdapDescriptor = new("ldap",
        new HashSet<ActionKind>
        {
            ActionKind.DisableAccount, ActionKind.EnableAccount, ActionKind.RemoveEntitlement, ActionKind.AddEntitlement,
            ActionKind.ResetPassword, ActionKind.DeleteAccount,
        }, IncrementalDiscovery: false, ReportsSignIns: false);

    private static readonly ConnectorDescriptor AdDescriptor = OpenLdapDescriptor with { ReportsSignIns = true };

    private readonly ConnectedSystem _system;
    private readonly LdapSettings _settings;
    private readonly ConnectorContext _context;
    private readonly LdapConnectionPool _pool;

    /// <summary>Account id → where it was last seen; saves a search per membership change. Verified on a miss.</summary>
    private readonly ConcurrentDictionary<string, AccountRef> _accounts = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Group DN → the attributes that hold its members (member, uniqueMember, memberUid).</summary>
    private readonly ConcurrentDictionary<string, string[]> _groupMemberAttributes = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Idempotency key → password-changed timestamp written by our reset, for read-back. Never the password.</summary>
    private readonly ConcurrentDictionary<string, string> _resets = new(StringComparer.Ordinal);

    public LdapConnector(ConnectedSystem system, LdapSettings settings, ConnectorContext context)
    {
        _system = system;
        _settings = settings;
        _context = context;
        _pool = new LdapConnectionPool(settings.PoolSize, settings.Timeout, context.Time, CreateConnection, Open);
    }

    private bool IsAd => _settings.Flavour == LdapFlavour.Ad;

    public ConnectorDescriptor Describe() => IsAd ? AdDescriptor : OpenLdapDescriptor;

    public void Dispose() => _pool.Dispose();

    public Task<ActionResult> ExecuteAsync(ConnectorAction action, CancellationToken cancellationToken) => action.Kind switch
    {
        ActionKind.DisableAccount => DisableAsync(action, cancellationToken),
        ActionKind.EnableAccount => EnableAsync(action, cancellationToken),
        ActionKind.RemoveEntitlement => ChangeMembershipAsync(action, add: false, cancellationToken),
        ActionKind.AddEntitlement => ChangeMembershipAsync(action, add: true, cancellationToken),
        ActionKind.ResetPassword => ResetPasswordAsync(action, cancellationToken),
        ActionKind.DeleteAccount => DeleteAsync(action, cancellationToken),
        _ => throw new ConnectorException($"The LDAP connector does not support {action.Kind.ToSnake()} ({action.Describe()}).", isTransient: false),
    };

    public Task<ReadBackResult> ReadBackAsync(ConnectorAction action, CancellationToken cancellationToken) => action.Kind switch
    {
        ActionKind.DisableAccount => ReadBackAccountStateAsync(action, wantDisabled: true, cancellationToken),
        ActionKind.EnableAccount => ReadBackAccountStateAsync(action, wantDisabled: false, cancellationToken),
        ActionKind.RemoveEntitlement => ReadBackMembershipAsync(action, wantMember: false, cancellationToken),
        ActionKind.AddEntitlement => ReadBackMembershipAsync(action, wantMember: true, cancellationToken),
        ActionKind.ResetPassword => ReadBackResetAsync(action, cancellationToken),
        ActionKind.DeleteAccount => ReadBackDeleteAsync(action, cancellationToken),
        _ => throw new ConnectorException($"The LDAP connector does not support {action.Kind.ToSnake()} ({action.Describe()}).", isTransient: false),
    };

    /// <summary>A configured connection; nothing is sent until <see cref="Open"/>.</summary>
    private LdapConnection CreateConnection()
    {
        string password;
        try
        {
            password = _context.Secrets.Resolve(_settings.BindPasswordReference, $"bind password of LDAP system '{_system.Id}'");
        }
        catch (ValidationException ex)
        {
            throw new ConnectorException($"Cannot read the bind password for '{_settings.BindDn}' of system '{_system.Id}': {ex.Message}", isTransient: false, ex);
        }

        var connection = new LdapConnection(
            new LdapDirectoryIdentifier(_settings.Host, _settings.Port, fullyQualifiedDnsHostName: false, connectionless: false),
            new NetworkCredential(_settings.BindDn, password),
            AuthType.Basic);
        try
        {
            var options = connection.SessionOptions;
            options.ProtocolVersion = 3;
            options.ReferralChasing = ReferralChasingOptions.None;
            connection.Timeout = _settings.Timeout;
            LdapNativeTimeouts.TrySet(connection, _settings.Timeout, networkTimeout: _settings.Security != LdapSecurity.Ldaps);
            var customCa = _settings.TrustedCaDirectory is not null;
            if (customCa)
            {
                if (OperatingSystem.IsWindows())
                {
                    throw new ConnectorException("trusted_ca_dir is not supported on Windows: import the CA into the machine's certificate store instead.", isTransient: false);
                }

                options.TrustedCertificatesDirectory = _settings.TrustedCaDirectory;
            }

            if (_settings.Security == LdapSecurity.Ldaps)
            {
                options.SecureSocketLayer = true;
            }

            if (customCa && !OperatingSystem.IsWindows())
            {
                // libldap reads TLS options when it builds the TLS context; a new context picks up the CA directory.
                options.StartNewTlsSessionContext();
            }

            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>Connects and binds (StartTLS first when configured). The pool bounds it by the deadline and disposes it on failure.</summary>
    private void Open(LdapConnection connection)
    {
        try
        {
            if (_settings.Security == LdapSecurity.StartTls)
            {
                // On Linux S.DS.P opens the socket lazily, and StartTLS on an unopened handle fails with connectError (91).
                // An anonymous RootDSE read (no bind, so no credentials in clear) opens it; then TLS, then the bind.
                connection.AutoBind = false;
                connection.SendRequest(new SearchRequest(string.Empty, "(objectClass=*)", SearchScope.Base, "1.1"), _settings.Timeout);
                connection.SessionOptions.StartTransportLayerSecurity(null);
            }

            connection.Bind();
        }
        catch (Exception ex) when (ex is LdapException or DirectoryOperationException)
        {
            // libldap reports a certificate it rejects as serverDown/connectError, like an outage: look at the certificate
            // before calling it transient.
            if (_settings.Security != LdapSecurity.None && LdapErrors.CodeOf(ex) is LdapErrors.ServerDown or LdapErrors.ConnectError or 82
                && TlsDiagnosis.Diagnose(_settings, _context.Time) is { } tls)
            {
                throw new ConnectorException(tls.Message, isTransient: false, ex);
            }

            throw LdapErrors.Translate(ex, "bind", _settings.BindDn, "bind", _settings);
        }
    }

    /// <summary>Sends one request. Result codes in <paramref name="tolerated"/> come back as the code; others throw translated.</summary>
    private async Task<(DirectoryResponse? Response, int Code)> SendAsync(DirectoryRequest request, string operation, string dn, string right, CancellationToken cancellationToken, params int[] tolerated)
    {
        try
        {
            var response = await _pool.RunAsync(c => c.SendRequest(request, _settings.Timeout), cancellationToken);
            if (response.ResultCode == ResultCode.Referral)
            {
                // With chasing off, S.DS.P hands a referral back as a normal response; it is not a result.
                throw new DirectoryOperationException(response);
            }

            return (response, (int)response.ResultCode);
        }
        catch (Exception ex) when (LdapErrors.IsLdapFailure(ex))
        {
            var code = LdapErrors.CodeOf(ex);
            if (code is { } c && tolerated.Contains(c))
            {
                return ((ex as DirectoryOperationException)?.Response, c);
            }

            throw LdapErrors.Translate(ex, operation, dn, right, _settings);
        }
    }

    private async Task<SearchResultEntry?> ReadEntryAsync(string dn, string[] attributes, string operation, CancellationToken cancellationToken)
    {
        var request = new SearchRequest(dn, "(objectClass=*)", SearchScope.Base, attributes);
        var (response, code) = await SendAsync(request, operation, dn, "read", cancellationToken, LdapErrors.NoSuchObject);
        return code == LdapErrors.NoSuchObject ? null : ((SearchResponse)response!).Entries.Cast<SearchResultEntry>().FirstOrDefault();
    }

    /// <summary>Finds an account by id (entryUUID / objectGUID, or a DN); null when it does not exist.</summary>
    private async Task<SearchResultEntry?> FindAccountAsync(string externalId, string[] attributes, CancellationToken cancellationToken)
    {
        var wanted = attributes.Append(_settings.IdAttribute).Append(_settings.UserNameAttribute).Append("uid").Distinct(StringComparer.OrdinalIgnoreCase).ToArray();
        SearchResultEntry? entry;
        if (LdapSettings.LooksLikeDn(externalId))
        {
            entry = await ReadEntryAsync(externalId, wanted, "read account", cancellationToken);
        }
        else
        {
            var filter = IdFilter(externalId);
            entry = await SearchOneAsync(_settings.Users.Base, "users.base", filter, wanted, cancellationToken);
            if (entry is null && _settings.DisabledOu is not null && !Dn.IsUnder(_settings.DisabledOu, _settings.Users.Base))
            {
                entry = await SearchOneAsync(_settings.DisabledOu, "disabled_ou", filter, wanted, cancellationToken);
            }
        }

        if (entry is null)
        {
            _accounts.TryRemove(externalId, out _);
            return null;
        }

        _accounts[externalId] = new AccountRef(entry.DistinguishedName, Attr(entry, "uid") ?? Attr(entry, _settings.UserNameAttribute));
        return entry;
    }

    /// <param name="setting">The settings key <paramref name="baseDn"/> comes from, named when the base does not exist.</param>
    private async Task<SearchResultEntry?> SearchOneAsync(string baseDn, string setting, string filter, string[] attributes, CancellationToken cancellationToken)
    {
        var request = new SearchRequest(baseDn, filter, SearchScope.Subtree, attributes) { SizeLimit = 2 };
        var (response, code) = await SendAsync(request, "search account", $"{baseDn} {filter}", "search", cancellationToken, LdapErrors.NoSuchObject);
        if (code == LdapErrors.NoSuchObject)
        {
            // A missing base is a configuration error, not an account that is gone: answering "not found" here would
            // let every membership removal and disable look done.
            throw MissingBase(setting, baseDn);
        }

        var entries = ((SearchResponse)response!).Entries;
        return entries.Count switch
        {
            0 => null,
            1 => entries[0],
            _ => throw new ConnectorException($"More than one entry under '{baseDn}' matches {filter}; ids must be unique.", isTransient: false),
        };
    }

    /// <summary>The permanent error for a search base (<paramref name="setting"/>) the server says does not exist.</summary>
    private ConnectorException MissingBase(string setting, string baseDn) => new(
        $"The search base '{baseDn}' ({setting}) does not exist on {_settings.Host}:{_settings.Port} or is not visible to '{_settings.BindDn}'. "
        + $"Set '{setting}' to the DN of an existing entry that holds the objects (check the spelling of each RDN and the domain components), "
        + "or grant the bind account read access to it.",
        isTransient: false);

    private async Task<SearchResultEntry> RequireAccountAsync(ConnectorAction action, string[] attributes, CancellationToken cancellationToken)
    {
        var id = AccountId(action);
        return await FindAccountAsync(id, attributes, cancellationToken)
            ?? throw new ConnectorException(
                $"LDAP {action.Kind.ToSnake()}: no account with {_settings.IdAttribute}={id} under '{_settings.Users.Base}'"
                + (_settings.DisabledOu is null ? string.Empty : $" or '{_settings.DisabledOu}'") + $" ({action.Describe()}).",
                isTransient: false);
    }

    private static string AccountId(ConnectorAction action) =>
        action.AccountExternalId ?? throw new ConnectorException($"{action.Describe()}: the action names no account.", isTransient: false);

    private string IdFilter(string externalId)
    {
        if (!Guid.TryParse(externalId, out var guid))
        {
            throw new ConnectorException($"'{externalId}' is neither a DN nor an {_settings.IdAttribute} (a UUID); cannot find the account.", isTransient: false);
        }

        // AD stores objectGUID as 16 bytes in Windows (mixed-endian) order, which is what Guid.ToByteArray produces.
        return IsAd
            ? $"(objectGUID={string.Concat(guid.ToByteArray().Select(b => "\\" + b.ToString("x2", CultureInfo.InvariantCulture)))})"
            : $"(entryUUID={guid:D})";
    }

    internal static string? Attr(SearchResultEntry entry, string name)
    {
        var attribute = Find(entry, name);
        return attribute is null || attribute.Count == 0 ? null : attribute.GetValues(typeof(string)).Cast<string>().FirstOrDefault();
    }

    internal static DirectoryAttribute? Find(SearchResultEntry entry, string name)
    {
        foreach (string key in entry.Attributes.AttributeNames)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return entry.Attributes[key];
            }
        }

        return null;
    }

    internal static IEnumerable<string> Values(SearchResultEntry entry, string name) =>
        Find(entry, name) is { } a ? a.GetValues(typeof(string)).Cast<string>() : [];

    internal string ExternalIdOf(SearchResultEntry entry)
    {
        if (IsAd)
        {
            var bytes = Find(entry, "objectGUID")?.GetValues(typeof(byte[])).Cast<byte[]>().FirstOrDefault();
            return bytes is { Length: 16 } ? new Guid(bytes).ToString("D") : entry.DistinguishedName;
        }

        return Attr(entry, "entryUUID") ?? entry.DistinguishedName;
    }

    private sealed record AccountRef(string Dn, string? Uid);
}
