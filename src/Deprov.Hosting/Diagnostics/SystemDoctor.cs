using System.Globalization;
using Deprov.Core;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;

namespace Deprov.Hosting.Diagnostics;

public enum ProbeStatus
{
    Pass,
    Fail,

    /// <summary>The probe had nothing to work on (no membership listed, action not supported): neither a pass nor a fail.</summary>
    Skipped,
}

/// <summary>One probe of one system.</summary>
/// <param name="Probe">Stable name: <c>connect</c>, <c>accounts</c>, <c>confirm_membership</c>, <c>confirm_disable</c>.</param>
/// <param name="Detail">What was seen (on failure: the system's or the connector's own diagnosis, whole).</param>
/// <param name="Fix">What to do; null when the probe passed.</param>
public sealed record ProbeResult(string Probe, ProbeStatus Status, string Detail, string? Fix);

/// <summary>Every probe of one system.</summary>
public sealed record SystemCheck(string SystemId, string Kind, IReadOnlyList<ProbeResult> Probes)
{
    public bool Passed => Probes.All(p => p.Status != ProbeStatus.Fail);
}

/// <summary>What a listing showed that the confirmation probes ask about: one membership and one enabled account.</summary>
public sealed record ListingSample(int Accounts, int Memberships, string? MemberAccountId, string? MemberUserName, string? MemberEntitlementId,
    string? EnabledAccountId, string? EnabledUserName)
{
    /// <summary>The sample of a discovery just read (the first membership and the first enabled account, in listing order).</summary>
    public static ListingSample Of(string systemId, InventorySnapshot snapshot, int memberships)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var accounts = snapshot.Accounts;
        string? enabledId = null, enabledName = null;
        var userNames = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < accounts.Count; i++)
        {
            var a = accounts[i];
            userNames.TryAdd(a.Id, a.UserName);
            if (enabledId is null && a.Status == AccountStatus.Active)
            {
                (enabledId, enabledName) = (a.ExternalId, a.UserName);
            }
        }

        var prefix = systemId.Length + 1;
        foreach (var m in snapshot.Assignments)
        {
            if (userNames.TryGetValue(m.AccountId, out var name))
            {
                return new ListingSample(accounts.Count, memberships, m.AccountId[prefix..], name, m.EntitlementId[prefix..], enabledId, enabledName);
            }
        }

        return new ListingSample(accounts.Count, memberships, null, null, null, enabledId, enabledName);
    }
}

/// <summary>
/// <c>deprov check</c>: probes each system through its connector, generically (no per-connector code), and never changes
/// anything. A listing proves credentials, reachability and TLS trust (the connector's error is the diagnosis) and that
/// the configured base or endpoint holds accounts; then the confirmation path is asked about what the listing just
/// showed. A membership the listing showed must read back as NOT removed, and an enabled account as NOT disabled: a
/// "confirmed" there means the system's confirmation read would report a cut verified without anything being cut.
/// </summary>
public sealed class SystemDoctor
{
    public const string Connect = "connect";
    public const string AccountsProbe = "accounts";
    public const string ConfirmMembership = "confirm_membership";
    public const string ConfirmDisable = "confirm_disable";

    private readonly DeprovEngine _engine;

    public SystemDoctor(DeprovEngine engine)
    {
        _engine = engine;
    }

    /// <param name="systemIds">Systems to check; null or empty = every configured system.</param>
    /// <exception cref="NotFoundException">A system id is not configured.</exception>
    public async Task<IReadOnlyList<SystemCheck>> CheckAsync(IReadOnlyList<string>? systemIds, CancellationToken cancellationToken)
    {
        var ids = systemIds is { Count: > 0 } ? systemIds : [.. _engine.Config.Systems.Select(s => s.System.Id)];
        foreach (var id in ids)
        {
            if (!_engine.Systems.ContainsKey(id))
            {
                throw new NotFoundException($"There is no system '{id}'. Configured: {string.Join(", ", _engine.Systems.Keys.Order(StringComparer.Ordinal))}.");
            }
        }

        var results = new List<SystemCheck>(ids.Count);
        foreach (var id in ids)
        {
            results.Add(await CheckAsync(_engine.Systems[id], cancellationToken));
        }

        return results;
    }

    /// <summary>Lists the system (read only) and runs every probe on what it showed.</summary>
    public static async Task<SystemCheck> CheckAsync(SystemRuntime system, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(system);
        var (id, kind) = (system.Config.System.Id, system.Descriptor.Kind);
        ListingSample sample;
        try
        {
            sample = await ListAsync(system, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The boundary of one system's probe: the connector's error is the diagnosis, recorded as data.
            return new SystemCheck(id, kind, [new ProbeResult(Connect, ProbeStatus.Fail, Diagnosis(ex), ConnectFix(system, ex))]);
        }

        return await ProbeListingAsync(system, sample, cancellationToken);
    }

    /// <summary>The probes on a listing already read (by a discovery that just succeeded, or by <see cref="CheckAsync(SystemRuntime, CancellationToken)"/>).</summary>
    public static async Task<SystemCheck> ProbeListingAsync(SystemRuntime system, ListingSample sample, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(system);
        ArgumentNullException.ThrowIfNull(sample);
        var (id, kind) = (system.Config.System.Id, system.Descriptor.Kind);
        var probes = new List<ProbeResult>
        {
            new(Connect, ProbeStatus.Pass, $"listed {kind} system '{id}' ({sample.Accounts.ToString("N0", CultureInfo.InvariantCulture)} accounts, " +
                $"{sample.Memberships.ToString("N0", CultureInfo.InvariantCulture)} memberships)", null),
        };
        if (sample.Accounts == 0)
        {
            probes.Add(new ProbeResult(AccountsProbe, ProbeStatus.Fail, $"the listing of '{id}' holds no account: the configured base or endpoint is empty or the wrong one",
                $"point the system's settings at where its accounts are (an LDAP/AD users.base, a SCIM base_url, a filter) — docs/connectors/{kind}.md; " +
                "a wrong base also makes a removal look verified, because the account is not found"));
            return new SystemCheck(id, kind, probes);
        }

        probes.Add(new ProbeResult(AccountsProbe, ProbeStatus.Pass, $"{sample.Accounts.ToString("N0", CultureInfo.InvariantCulture)} account(s)", null));
        probes.Add(await ProbeAsync(system, ConfirmMembership, ActionKind.RemoveEntitlement,
            sample.MemberAccountId is null ? null : Action(id, ActionKind.RemoveEntitlement, sample.MemberAccountId, sample.MemberUserName, sample.MemberEntitlementId),
            $"{sample.MemberUserName} is a member of {sample.MemberEntitlementId}", "no membership was listed", cancellationToken));
        probes.Add(await ProbeAsync(system, ConfirmDisable, ActionKind.DisableAccount,
            sample.EnabledAccountId is null ? null : Action(id, ActionKind.DisableAccount, sample.EnabledAccountId, sample.EnabledUserName, null),
            $"{sample.EnabledUserName} is enabled", "no enabled account was listed", cancellationToken));
        return new SystemCheck(id, kind, probes);
    }

    /// <summary>One message for an error: the exception's own, and (for a wrapper) its cause's.</summary>
    public static string Diagnosis(Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        var message = ex.Message;
        if (ex.InnerException is { } inner && !message.Contains(inner.Message, StringComparison.Ordinal) && ex is not DeprovException)
        {
            message += $" ({inner.Message})";
        }

        return ex is DeprovException ? message : $"{ex.GetType().Name}: {message}";
    }

    /// <summary>True when the error is the configuration's (an unset <c>env:</c> variable, a missing secret file), even
    /// when the connector wrapped it in its own message.</summary>
    public static bool IsConfiguration(Exception ex)
    {
        ArgumentNullException.ThrowIfNull(ex);
        return ex is ValidationException || ex.InnerException is ValidationException;
    }

    /// <summary>What to do about a failed listing. The connector's message names the cause; this says where to act.</summary>
    public static string ConnectFix(SystemRuntime system, Exception ex)
    {
        ArgumentNullException.ThrowIfNull(system);
        var kind = system.Descriptor.Kind;
        return ex switch
        {
            _ when IsConfiguration(ex) => $"fix the configuration as the message says (deprov.yaml, system '{system.Config.System.Id}', or the environment), then run 'deprov check {system.Config.System.Id}' again",
            ConnectorException { IsTransient: true } => $"the system did not answer: check its host, port and network path (firewall, proxy) and that it is up; for TLS, that the certificate " +
                $"is trusted and names the host — docs/connectors/{kind}.md",
            _ => $"check the credentials (the secret reference and the account's rights), the base or endpoint, and TLS trust (CA and certificate names) in system " +
                $"'{system.Config.System.Id}' — docs/connectors/{kind}.md",
        };
    }

    private static ConnectorAction Action(string systemId, ActionKind kind, string accountId, string? userName, string? entitlementId) =>
        new($"check-{systemId}-{kind.ToSnake()}", kind, systemId, accountId, userName, entitlementId, null, null, new Dictionary<string, string>());

    private static async Task<ProbeResult> ProbeAsync(SystemRuntime system, string probe, ActionKind kind, ConnectorAction? action, string shown, string nothing,
        CancellationToken cancellationToken)
    {
        var id = system.Config.System.Id;
        if (!system.Descriptor.Supported.Contains(kind))
        {
            return new ProbeResult(probe, ProbeStatus.Skipped, $"'{id}' does not support {kind.ToSnake()}", null);
        }

        if (action is null)
        {
            return new ProbeResult(probe, ProbeStatus.Skipped, $"{nothing}: nothing to ask the confirmation path about", null);
        }

        ReadBackResult read;
        try
        {
            read = await system.Connector.ReadBackAsync(action, cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The probe's boundary: a read-back that fails is a failed probe, recorded as data.
            return new ProbeResult(probe, ProbeStatus.Fail, $"reading back {action.Describe()} failed: {Diagnosis(ex)}",
                $"a cut on '{id}' could not be confirmed either: fix what the message names (rights to read the target, the base) — docs/connectors/{system.Descriptor.Kind}.md");
        }

        var observed = string.Join(", ", read.Observed.Select(kv => $"{kv.Key}={kv.Value}"));
        return read.Confirmed
            ? new ProbeResult(probe, ProbeStatus.Fail,
                $"the listing shows {shown}, yet the confirmation read says {kind.ToSnake()} already holds (observed: {observed}): '{id}' would report " +
                $"{kind.ToSnake()} verified without anything being cut",
                $"do not trust verified {kind.ToSnake()} steps on '{id}' until this passes: the system answers the confirmation read wrongly (a filter it does not support, " +
                $"a wrong base or profile); fix the connector settings (docs/connectors/{system.Descriptor.Kind}.md) or report it")
            : new ProbeResult(probe, ProbeStatus.Pass, $"{shown}, and the confirmation read agrees (observed: {observed})", null);
    }

    private static async Task<ListingSample> ListAsync(SystemRuntime system, CancellationToken cancellationToken)
    {
        int accounts = 0, memberships = 0;
        string? enabledId = null, enabledName = null, memberId = null, memberName = null, memberOf = null;
        var userNames = new Dictionary<string, string>(StringComparer.Ordinal);
        var pending = new List<(string Account, string Entitlement)>(); // memberships listed before their account

        void Account(string externalId, string userName, bool enabled)
        {
            accounts++;
            userNames.TryAdd(externalId, userName);
            if (enabled && enabledId is null)
            {
                (enabledId, enabledName) = (externalId, userName);
            }
        }

        void Member(string account, string entitlement)
        {
            memberships++;
            if (memberId is not null)
            {
                return;
            }

            if (userNames.TryGetValue(account, out var name))
            {
                (memberId, memberName, memberOf) = (account, name, entitlement);
            }
            else if (pending.Count < 1000)
            {
                pending.Add((account, entitlement));
            }
        }

        await foreach (var o in system.Connector.DiscoverAsync(new DiscoveryRequest(null), cancellationToken))
        {
            switch (o)
            {
                case DiscoveredAccount a:
                    Account(a.ExternalId, a.UserName, a.Enabled);
                    break;
                case DiscoveredAccounts block:
                    for (var i = 0; i < block.Count; i++)
                    {
                        Account(block.ExternalIdAt(i), block.UserNameAt(i), block.EnabledAt(i));
                    }

                    break;
                case DiscoveredMembership m:
                    Member(m.AccountExternalId, m.EntitlementExternalId);
                    break;
                case DiscoveredMembers g:
                    foreach (var member in g.AccountExternalIds)
                    {
                        Member(member, g.EntitlementExternalId);
                    }

                    break;
            }
        }

        if (memberId is null && pending.FirstOrDefault(p => userNames.ContainsKey(p.Account)) is { Account: not null } late)
        {
            (memberId, memberName, memberOf) = (late.Account, userNames[late.Account], late.Entitlement);
        }

        return new ListingSample(accounts, memberships, memberId, memberName, memberOf, enabledId, enabledName);
    }
}
