using System.Globalization;
using Deprov.Core.Audit;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Reconciliation;
using Deprov.Core.Store;
using Deprov.Hosting.Execution;

namespace Deprov.Hosting.Discovery;

/// <summary>What one discovery run found.</summary>
public sealed record DiscoveryReport(string SystemId, int Accounts, int Correlated, int Orphans, int Conflicts, int Entitlements, int Memberships, int Devices, int Credentials, TimeSpan Took);

/// <summary>What a discovery depends on besides the system itself: people, manual links, and anything else that changes
/// the outcome (<paramref name="Salt"/>: revocations, policy, the day for dormancy).</summary>
/// <param name="SkipIfUnchanged">When the fingerprint equals the last stored one, write nothing but the discovery state.</param>
/// <param name="MaxShrink">The shrink guard: the largest share (0–1) of the stored accounts this listing may drop, else
/// <see cref="InventoryShrinkException"/> and nothing is written; null reads without the guard (an accepted shrink).</param>
public sealed record DiscoveryContext(PeopleSnapshot People, IReadOnlyDictionary<string, CorrelationLinkValue> Links, string Salt, bool SkipIfUnchanged,
    double? MaxShrink = null);

/// <param name="Snapshot">The correlated inventory; null when <see cref="Unchanged"/>.</param>
public sealed record DiscoveryResult(DiscoveryReport Report, bool Unchanged, InventorySnapshot? Snapshot, string Fingerprint);

/// <summary>A discovery read and correlated but not yet written (<see cref="DiscoveryService.CommitAsync"/> writes it).</summary>
public sealed record PreparedDiscovery(DiscoveryResult Result, DiscoveryState State, AuditEntry? Audit, long Started);

/// <summary>
/// Reads a system through its connector and applies it to the store by difference, atomically: everything is read
/// before anything is written, so a discovery that fails half-way changes nothing. Accounts are tied to people by the
/// <see cref="Correlator"/>. A fingerprint of what was read (and of what correlation depended on) lets an unchanged
/// re-run skip correlation and writing.
/// </summary>
public sealed class DiscoveryService
{
    private readonly IStore _store;
    private readonly TimeProvider _time;

    public DiscoveryService(IStore store, TimeProvider time)
    {
        _store = store;
        _time = time;
    }

    /// <summary>A full discovery with freshly loaded people and links, always written, without the shrink guard (seeding, tests).</summary>
    public async Task<DiscoveryReport> DiscoverAsync(SystemRuntime system, IProgress<int>? progress, CancellationToken cancellationToken) =>
        (await DiscoverAsync(system, maxShrink: null, progress, cancellationToken)).Report;

    /// <summary>A full discovery with freshly loaded people and links, written unless the shrink guard refuses it.</summary>
    /// <param name="maxShrink">The largest share (0–1) of the stored accounts the listing may drop; null: no guard.</param>
    /// <exception cref="InventoryShrinkException">The listing dropped more; nothing was written.</exception>
    public async Task<DiscoveryResult> DiscoverAsync(SystemRuntime system, double? maxShrink, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        var people = await PeopleSnapshot.LoadAsync(_store, cancellationToken);
        var links = await LoadLinksAsync(_store, system.Config.System.Id, cancellationToken);
        return await DiscoverAsync(system, new DiscoveryContext(people, links, string.Empty, SkipIfUnchanged: false, maxShrink), progress, cancellationToken);
    }

    public static async Task<IReadOnlyDictionary<string, CorrelationLinkValue>> LoadLinksAsync(IStore store, string systemId, CancellationToken cancellationToken) =>
        (await store.ListLinksAsync(systemId, cancellationToken)).ToDictionary(l => l.AccountExternalId, l => new CorrelationLinkValue(l.PersonId, l.LinkedBy), StringComparer.Ordinal);

    public async Task<DiscoveryResult> DiscoverAsync(SystemRuntime system, DiscoveryContext context, IProgress<int>? progress, CancellationToken cancellationToken) =>
        await CommitAsync(await ReadAsync(system, context, progress, cancellationToken), cancellationToken);

    /// <summary>Writes a prepared discovery: the difference, the history, the state and the audit record in one transaction.</summary>
    public async Task<DiscoveryResult> CommitAsync(PreparedDiscovery prepared, CancellationToken cancellationToken)
    {
        if (prepared.Result.Unchanged)
        {
            return prepared.Result;
        }

        await _store.ApplyDiscoveryAsync(prepared.State.SystemId, prepared.Result.Snapshot, prepared.State, prepared.Audit is { } a ? [a] : [], cancellationToken);
        return prepared.Result with { Report = prepared.Result.Report with { Took = _time.GetElapsedTime(prepared.Started) } };
    }

    /// <summary>
    /// Reads and correlates a system without writing its inventory, so the next system can be read while this one is
    /// written. An unchanged system is settled here (only its discovery time is recorded).
    /// </summary>
    public async Task<PreparedDiscovery> ReadAsync(SystemRuntime system, DiscoveryContext context, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var sys = system.Config.System;
        var accounts = new AccountParts(); // columns, not an object per account: a system can hold millions
        var entitlements = new Dictionary<string, Entitlement>(StringComparer.Ordinal);
        var memberships = new MembershipParts(); // one list of members per group, not an object per membership
        var devices = new List<DiscoveredDevice>();
        var credentials = new List<DiscoveredCredential>();
        ulong sum = 0;
        var seen = 0;
        string? watermark = null;
        var linksHash = context.Links.Aggregate(0UL, (h, kv) => h + Fnv.Mix(Fnv.Of(kv.Key, kv.Value.PersonId)));
        var contextHash = (Fnv.Mix(context.People.Fingerprint) + Fnv.Mix(linksHash ^ Fnv.Of(context.Salt, string.Join('|', system.Config.Correlate))))
            .ToString("x16", CultureInfo.InvariantCulture);
        var stored = context.SkipIfUnchanged || context.MaxShrink is not null ? await _store.GetDiscoveryStateAsync(sys.Id, cancellationToken) : null;
        var last = context.SkipIfUnchanged ? stored : null;

        // A connector that reports a watermark can say "nothing changed" without listing anything; asked only when
        // nothing else the outcome depends on changed either.
        var request = new DiscoveryRequest(null, last is { Watermark: { } w } && last.Context == contextHash ? w : null);

        // 1. Read everything (nothing is written until the stream has ended without error).
        await foreach (var o in system.Connector.DiscoverAsync(request, cancellationToken))
        {
            if (++seen % 50_000 == 0)
            {
                progress?.Report(seen);
            }

            switch (o)
            {
                case DiscoveredWatermark { Unchanged: true } when last is not null && request.Watermark is not null:
                    var state0 = last with { CompletedAt = _time.GetUtcNow() };
                    await _store.ApplyDiscoveryAsync(sys.Id, null, state0, [], cancellationToken);
                    return new PreparedDiscovery(new DiscoveryResult(new DiscoveryReport(sys.Id, last.Accounts, 0, 0, 0, 0, last.Memberships, 0, 0, _time.GetElapsedTime(started)),
                        Unchanged: true, null, last.Fingerprint ?? string.Empty), state0, null, started);
                case DiscoveredWatermark mark:
                    watermark = mark.Value;
                    break;
                case DiscoveredAccount a:
                    accounts.Add(a);
                    sum += Hash(a);
                    break;
                case DiscoveredAccounts block:
                    accounts.Add(block);
                    for (var i = 0; i < block.Count; i++)
                    {
                        sum += Hash(block, i); // the same as one DiscoveredAccount each
                    }

                    break;
                case DiscoveredEntitlement e:
                    entitlements[e.ExternalId] = new Entitlement($"{sys.Id}/{e.ExternalId}", sys.Id, e.ExternalId, e.Name, e.Kind, e.Privileged);
                    sum += Fnv.Mix(Fnv.Of("e", e.ExternalId, e.Name, ((int)e.Kind).ToString(CultureInfo.InvariantCulture), e.Privileged ? "1" : "0"));
                    break;
                case DiscoveredMembership m:
                    memberships.Add(m);
                    sum += MembershipHash(m.AccountExternalId, m.EntitlementExternalId);
                    break;
                case DiscoveredMembers g:
                    memberships.Add(g);
                    for (var i = 0; i < g.AccountExternalIds.Count; i++)
                    {
                        sum += MembershipHash(g.AccountExternalIds[i], g.EntitlementExternalId); // the same as one DiscoveredMembership each
                    }

                    break;
                case DiscoveredDevice d:
                    devices.Add(d);
                    sum += Fnv.Mix(Fnv.Of("d", d.ExternalId, d.SerialNumber, d.Model, d.OwnerUserName, ((int)d.Status).ToString(CultureInfo.InvariantCulture)));
                    break;
                case DiscoveredCredential c:
                    credentials.Add(c);
                    sum += Fnv.Mix(Fnv.Of("c", c.ExternalId, c.Name, ((int)c.Kind).ToString(CultureInfo.InvariantCulture), c.OwnerUserName, string.Join(',', c.KnownByUserNames),
                        c.Active ? "1" : "0", c.LastRotatedAt?.UtcTicks.ToString(CultureInfo.InvariantCulture)));
                    break;
            }
        }

        progress?.Report(seen);
        var fingerprint = sum.ToString("x16", CultureInfo.InvariantCulture);
        var now = _time.GetUtcNow();
        var blocks = accounts.Finish();
        var groups = memberships.Finish();
        if (last is not null && last.Fingerprint == fingerprint && last.Context == contextHash)
        {
            var state1 = last with { CompletedAt = now, Watermark = watermark };
            await _store.ApplyDiscoveryAsync(sys.Id, null, state1, [], cancellationToken);
            return new PreparedDiscovery(new DiscoveryResult(new DiscoveryReport(sys.Id, accounts.Count, 0, 0, 0, entitlements.Count, memberships.Count, devices.Count, credentials.Count,
                _time.GetElapsedTime(started)), Unchanged: true, null, fingerprint), state1, null, started);
        }

        // The shrink guard: a listing that drops most of the inventory is far more often a wrong base or an empty page
        // than a mass departure, and writing it would drop every account it lacks (leavers whose cut failed included).
        if (stored is not null && context.MaxShrink is { } maxShrink && InventoryShrinkException.Refuses(stored.Accounts, accounts.Count, maxShrink))
        {
            throw new InventoryShrinkException(sys.Id, stored.Accounts, accounts.Count, maxShrink);
        }

        // 2. Correlate, into columns.
        var correlator = new Correlator(context.People);
        var rules = system.Config.Correlate;
        var n = accounts.Count;
        var (ids, externalIds, userNames, emails, personIds) = (new string[n], new string[n], new string[n], new string?[n], new string?[n]);
        var (kinds, statuses, signIns, matchedBy) = (new AccountKind[n], new AccountStatus[n], new DateTimeOffset?[n], new string?[n]);
        var accountIndex = new Dictionary<string, int>(n, StringComparer.Ordinal);
        int correlated = 0, orphans = 0, conflicts = 0, row = 0;
        foreach (var block in blocks)
        {
            for (var i = 0; i < block.Count; i++, row++)
            {
                var (personId, rule) = correlator.Correlate(block, i, rules, context.Links);
                if (rule?.StartsWith("conflict", StringComparison.Ordinal) == true)
                {
                    conflicts++;
                }
                else if (personId is null)
                {
                    orphans++;
                }
                else
                {
                    correlated++;
                }

                var externalId = block.ExternalIdAt(i);
                (ids[row], externalIds[row], userNames[row], emails[row], personIds[row]) = ($"{sys.Id}/{externalId}", externalId, block.UserNameAt(i), block.EmailAt(i), personId);
                (kinds[row], statuses[row], signIns[row], matchedBy[row]) =
                    (block.KindAt(i), block.EnabledAt(i) ? AccountStatus.Active : AccountStatus.Disabled, block.LastSignInAt(i), rule);
                accountIndex[externalId] = row;
            }
        }

        var columns = new AccountColumns(sys.Id, ids, externalIds, userNames, emails, personIds, kinds, statuses, signIns, matchedBy);

        // Devices and credentials name their owners by user name: the index is built only for a system that has any.
        Dictionary<string, string?>? byUserName = null;
        string? Owner(string? userName)
        {
            if (userName is null)
            {
                return null;
            }

            if (byUserName is null)
            {
                byUserName = new Dictionary<string, string?>(n, StringComparer.OrdinalIgnoreCase);
                for (var i = 0; i < n; i++)
                {
                    byUserName[userNames[i]] = personIds[i]; // the last account of a user name wins, as it always has
                }
            }

            return byUserName.TryGetValue(userName, out var p) ? p
                : context.People.ByEmail.TryGetValue(userName, out var list) && list.Count == 1 ? list[0] : null;
        }

        var assignments = GroupByAccount(sys.Id, groups, memberships.Count, entitlements, accountIndex, ids);
        var snapshot = new InventorySnapshot(
            columns,
            [.. entitlements.Values],
            assignments,
            devices.Select(d => new Device($"{sys.Id}/{d.ExternalId}", sys.Id, d.ExternalId, d.SerialNumber, d.Model, Owner(d.OwnerUserName), d.Status)).ToList(),
            credentials.Select(c => new Credential($"{sys.Id}/{c.ExternalId}", sys.Id, c.ExternalId, c.Name, c.Kind, Owner(c.OwnerUserName),
                c.KnownByUserNames.Select(Owner).OfType<string>().Distinct(StringComparer.Ordinal).ToList(),
                c.Active ? CredentialStatus.Active : (c.Kind == CredentialKind.ApiToken ? CredentialStatus.Revoked : CredentialStatus.Disabled), c.LastRotatedAt)).ToList());

        var report = new DiscoveryReport(sys.Id, n, correlated, orphans, conflicts, entitlements.Count, assignments.Count, devices.Count, credentials.Count,
            _time.GetElapsedTime(started));
        var audit = new AuditEntry(now, "deprov", "discovery", sys.Id, sys.Id, null, null, null, null,
            $"{{\"accounts\":{report.Accounts},\"orphans\":{report.Orphans},\"conflicts\":{report.Conflicts},\"memberships\":{report.Memberships}}}", "ok", null);
        return new PreparedDiscovery(new DiscoveryResult(report, Unchanged: false, snapshot, fingerprint),
            new DiscoveryState(sys.Id, fingerprint, now, n, assignments.Count, watermark, contextHash), audit, started);
    }

    /// <summary>
    /// The memberships as two arrays of the id strings the accounts and entitlements already hold (not an object per
    /// membership), grouped by account in account order: the store writes an account's set with its row and need not
    /// group 500,000 memberships itself on the writer's thread. Memberships of an account not listed come last; those
    /// of an entitlement not listed are dropped.
    /// </summary>
    private static DiscoveredAssignments GroupByAccount(string systemId, List<DiscoveredMembers> groups, int count, Dictionary<string, Entitlement> entitlements,
        Dictionary<string, int> accountIndex, string[] accountIds)
    {
        // Pass 1: each membership's account row (-1: unknown entitlement or account), counted per account.
        var owners = new int[count];
        var starts = new int[accountIds.Length + 1];
        var unknown = new List<(string Account, string Entitlement)>();
        var k = 0;
        foreach (var g in groups)
        {
            var members = g.AccountExternalIds;
            var entitlementId = entitlements.TryGetValue(g.EntitlementExternalId, out var e) ? e.Id : null; // one lookup per group
            for (var j = 0; j < members.Count; j++, k++)
            {
                owners[k] = -1;
                if (entitlementId is null)
                {
                    continue;
                }

                if (accountIndex.TryGetValue(members[j], out var i))
                {
                    owners[k] = i;
                    starts[i + 1]++;
                }
                else
                {
                    unknown.Add(($"{systemId}/{members[j]}", entitlementId));
                }
            }
        }

        for (var i = 0; i < accountIds.Length; i++)
        {
            starts[i + 1] += starts[i];
        }

        // Pass 2: a counting sort by account, keeping the order read within each account.
        var total = starts[accountIds.Length];
        var groupedAccounts = new string[total + unknown.Count];
        var groupedEntitlements = new string[total + unknown.Count];
        k = 0;
        foreach (var g in groups)
        {
            var n = g.AccountExternalIds.Count;
            var entitlementId = entitlements.TryGetValue(g.EntitlementExternalId, out var e) ? e.Id : null;
            for (var end = k + n; k < end; k++)
            {
                if (owners[k] is var i && i >= 0)
                {
                    var at = starts[i]++;
                    groupedAccounts[at] = accountIds[i];
                    groupedEntitlements[at] = entitlementId!;
                }
            }
        }

        for (var j = 0; j < unknown.Count; j++)
        {
            (groupedAccounts[total + j], groupedEntitlements[total + j]) = unknown[j];
        }

        return new DiscoveredAssignments(groupedAccounts, groupedEntitlements);
    }

    private static ulong MembershipHash(string account, string entitlement) => Fnv.Mix(Fnv.Add(Fnv.Add(0xCBF29CE484222325UL, account), entitlement));

    private static ulong Hash(DiscoveredAccount a)
    {
        ulong attributes = 0;
        foreach (var (k, v) in a.Attributes)
        {
            attributes += AttributeHash(k, v);
        }

        return AccountHash(a.ExternalId, a.UserName, a.Email, a.Enabled, a.Kind, a.LastSignInAt, attributes);
    }

    /// <summary>Row <paramref name="i"/>'s hash: the same as <see cref="Hash(DiscoveredAccount)"/> of that row as one object.</summary>
    private static ulong Hash(DiscoveredAccounts block, int i)
    {
        ulong attributes = 0;
        for (var c = 0; c < block.AttributeCount; c++)
        {
            if (block.AttributeAt(i, c) is { } v)
            {
                attributes += AttributeHash(block.AttributeNameAt(c), v);
            }
        }

        return AccountHash(block.ExternalIdAt(i), block.UserNameAt(i), block.EmailAt(i), block.EnabledAt(i), block.KindAt(i), block.LastSignInAt(i), attributes);
    }

    private static ulong AttributeHash(string name, string value) => Fnv.Mix(Fnv.Add(Fnv.Add(0xCBF29CE484222325UL, name), value)); // summed: order-independent

    private static ulong AccountHash(string externalId, string userName, string? email, bool enabled, AccountKind kind, DateTimeOffset? lastSignInAt, ulong attributes)
    {
        var h = Fnv.Of("a", externalId, userName, email);
        h = Fnv.Add(h, (enabled ? 1L : 0L) | ((long)kind << 1));
        h = Fnv.Add(h, lastSignInAt?.UtcTicks ?? -1);
        return Fnv.Mix(h ^ attributes);
    }

    /// <summary>The accounts read, as blocks in the order read: consecutive single accounts are gathered into one block.</summary>
    private sealed class AccountParts
    {
        private readonly List<DiscoveredAccounts> _blocks = [];
        private readonly List<DiscoveredAccount> _singles = [];

        public int Count { get; private set; }

        public void Add(DiscoveredAccount account)
        {
            _singles.Add(account);
            Count++;
        }

        public void Add(DiscoveredAccounts block)
        {
            Flush();
            _blocks.Add(block);
            Count += block.Count;
        }

        public List<DiscoveredAccounts> Finish()
        {
            Flush();
            return _blocks;
        }

        private void Flush()
        {
            if (_singles.Count > 0)
            {
                _blocks.Add(DiscoveredAccounts.From(_singles));
                _singles.Clear();
            }
        }
    }

    /// <summary>The memberships read, one list of members per group in the order read: consecutive single memberships of
    /// one entitlement (a connector's group listing) are gathered into one.</summary>
    private sealed class MembershipParts
    {
        private readonly List<DiscoveredMembers> _groups = [];
        private List<string>? _members;
        private string? _entitlement;

        public int Count { get; private set; }

        public void Add(DiscoveredMembership membership)
        {
            if (_members is null || !string.Equals(_entitlement, membership.EntitlementExternalId, StringComparison.Ordinal))
            {
                Flush();
                (_members, _entitlement) = ([], membership.EntitlementExternalId);
            }

            _members.Add(membership.AccountExternalId);
            Count++;
        }

        public void Add(DiscoveredMembers group)
        {
            Flush();
            _groups.Add(group);
            Count += group.AccountExternalIds.Count;
        }

        public List<DiscoveredMembers> Finish()
        {
            Flush();
            return _groups;
        }

        private void Flush()
        {
            if (_members is not null)
            {
                _groups.Add(new DiscoveredMembers(_entitlement!, _members));
                (_members, _entitlement) = (null, null);
            }
        }
    }
}
