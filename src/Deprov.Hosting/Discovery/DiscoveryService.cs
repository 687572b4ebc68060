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
public sealed record DiscoveryContext(PeopleSnapshot People, IReadOnlyDictionary<string, CorrelationLinkValue> Links, string Salt, bool SkipIfUnchanged);

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

    /// <summary>A full discovery with freshly loaded people and links, always written.</summary>
    public async Task<DiscoveryReport> DiscoverAsync(SystemRuntime system, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        var people = await PeopleSnapshot.LoadAsync(_store, cancellationToken);
        var links = await LoadLinksAsync(_store, system.Config.System.Id, cancellationToken);
        return (await DiscoverAsync(system, new DiscoveryContext(people, links, string.Empty, SkipIfUnchanged: false), progress, cancellationToken)).Report;
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
        var raw = new List<DiscoveredAccount>();
        var entitlements = new Dictionary<string, Entitlement>(StringComparer.Ordinal);
        var memberships = new List<(string Account, string Entitlement)>(); // no object per membership: a system can hold millions
        var devices = new List<DiscoveredDevice>();
        var credentials = new List<DiscoveredCredential>();
        ulong sum = 0;
        var seen = 0;
        string? watermark = null;
        var linksHash = context.Links.Aggregate(0UL, (h, kv) => h + Fnv.Mix(Fnv.Of(kv.Key, kv.Value.PersonId)));
        var contextHash = (Fnv.Mix(context.People.Fingerprint) + Fnv.Mix(linksHash ^ Fnv.Of(context.Salt, string.Join('|', system.Config.Correlate))))
            .ToString("x16", CultureInfo.InvariantCulture);
        var last = context.SkipIfUnchanged ? await _store.GetDiscoveryStateAsync(sys.Id, cancellationToken) : null;

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
                    raw.Add(a);
                    sum += Hash(a);
                    break;
                case DiscoveredEntitlement e:
                    entitlements[e.ExternalId] = new Entitlement($"{sys.Id}/{e.ExternalId}", sys.Id, e.ExternalId, e.Name, e.Kind, e.Privileged);
                    sum += Fnv.Mix(Fnv.Of("e", e.ExternalId, e.Name, ((int)e.Kind).ToString(CultureInfo.InvariantCulture), e.Privileged ? "1" : "0"));
                    break;
                case DiscoveredMembership m:
                    memberships.Add((m.AccountExternalId, m.EntitlementExternalId));
                    sum += MembershipHash(m.AccountExternalId, m.EntitlementExternalId);
                    break;
                case DiscoveredMembers g:
                    foreach (var member in g.AccountExternalIds)
                    {
                        memberships.Add((member, g.EntitlementExternalId));
                        sum += MembershipHash(member, g.EntitlementExternalId); // the same as one DiscoveredMembership each
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
        if (last is not null && last.Fingerprint == fingerprint && last.Context == contextHash)
        {
            var state1 = last with { CompletedAt = now, Watermark = watermark };
            await _store.ApplyDiscoveryAsync(sys.Id, null, state1, [], cancellationToken);
            return new PreparedDiscovery(new DiscoveryResult(new DiscoveryReport(sys.Id, raw.Count, 0, 0, 0, entitlements.Count, memberships.Count, devices.Count, credentials.Count, _time.GetElapsedTime(started)),
                Unchanged: true, null, fingerprint), state1, null, started);
        }

        // 2. Correlate and build the snapshot.
        var correlator = new Correlator(context.People);
        var accounts = new List<Account>(raw.Count);
        var byUserName = new Dictionary<string, string?>(raw.Count, StringComparer.OrdinalIgnoreCase);
        int correlated = 0, orphans = 0, conflicts = 0;
        foreach (var a in raw)
        {
            var (personId, rule) = correlator.Correlate(a, system.Config.Correlate, context.Links);
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

            accounts.Add(new Account($"{sys.Id}/{a.ExternalId}", sys.Id, a.ExternalId, a.UserName, a.Email, personId, a.Kind,
                a.Enabled ? AccountStatus.Active : AccountStatus.Disabled, a.LastSignInAt, rule));
            byUserName[a.UserName] = personId;
        }

        string? Owner(string? userName) =>
            userName is null ? null
            : byUserName.TryGetValue(userName, out var p) ? p
            : context.People.ByEmail.TryGetValue(userName, out var list) && list.Count == 1 ? list[0] : null;

        // Memberships reuse the account and entitlement id strings (millions of them would otherwise each allocate two
        // more) and are handed over grouped by account, in account order: the store writes an account's set with its
        // row and need not group 500,000 memberships itself on the writer's thread.
        var accountIndex = new Dictionary<string, int>(accounts.Count, StringComparer.Ordinal);
        for (var i = 0; i < accounts.Count; i++)
        {
            accountIndex[accounts[i].ExternalId] = i;
        }

        var owners = new int[memberships.Count];
        var entitlementIds = new string?[memberships.Count];
        var starts = new int[accounts.Count + 1];
        var unknown = new List<(string Account, string Entitlement)>();
        string? lastKey = null, lastId = null;
        for (var k = 0; k < memberships.Count; k++)
        {
            var m = memberships[k];
            owners[k] = -1;

            // Memberships come grouped by entitlement (one DiscoveredMembers, or a connector's group listing), so the
            // previous lookup answers almost every one: one dictionary lookup per group instead of two per membership.
            if (!ReferenceEquals(m.Entitlement, lastKey))
            {
                (lastKey, lastId) = (m.Entitlement, entitlements.TryGetValue(m.Entitlement, out var e) ? e.Id : null);
            }

            if (lastId is null)
            {
                continue;
            }

            entitlementIds[k] = lastId;
            if (accountIndex.TryGetValue(m.Account, out var i))
            {
                owners[k] = i;
                starts[i + 1]++;
            }
            else
            {
                unknown.Add(($"{sys.Id}/{m.Account}", lastId));
            }
        }

        memberships.Clear();
        memberships.TrimExcess();
        for (var i = 0; i < accounts.Count; i++)
        {
            starts[i + 1] += starts[i];
        }

        // Two arrays of id strings the accounts and entitlements already hold, not an object per membership.
        var total = starts[accounts.Count];
        var groupedAccounts = new string[total + unknown.Count];
        var groupedEntitlements = new string[total + unknown.Count];
        for (var k = 0; k < owners.Length; k++)
        {
            if (owners[k] is var i && i >= 0)
            {
                var at = starts[i]++;
                groupedAccounts[at] = accounts[i].Id;
                groupedEntitlements[at] = entitlementIds[k]!;
            }
        }

        for (var k = 0; k < unknown.Count; k++)
        {
            (groupedAccounts[total + k], groupedEntitlements[total + k]) = unknown[k];
        }

        var assignments = new DiscoveredAssignments(groupedAccounts, groupedEntitlements);

        var snapshot = new InventorySnapshot(
            accounts,
            [.. entitlements.Values],
            assignments,
            devices.Select(d => new Device($"{sys.Id}/{d.ExternalId}", sys.Id, d.ExternalId, d.SerialNumber, d.Model, Owner(d.OwnerUserName), d.Status)).ToList(),
            credentials.Select(c => new Credential($"{sys.Id}/{c.ExternalId}", sys.Id, c.ExternalId, c.Name, c.Kind, Owner(c.OwnerUserName),
                c.KnownByUserNames.Select(Owner).OfType<string>().Distinct(StringComparer.Ordinal).ToList(),
                c.Active ? CredentialStatus.Active : (c.Kind == CredentialKind.ApiToken ? CredentialStatus.Revoked : CredentialStatus.Disabled), c.LastRotatedAt)).ToList());

        var report = new DiscoveryReport(sys.Id, accounts.Count, correlated, orphans, conflicts, entitlements.Count, assignments.Count, devices.Count, credentials.Count,
            _time.GetElapsedTime(started));
        var audit = new AuditEntry(now, "deprov", "discovery", sys.Id, sys.Id, null, null, null, null,
            $"{{\"accounts\":{report.Accounts},\"orphans\":{report.Orphans},\"conflicts\":{report.Conflicts},\"memberships\":{report.Memberships}}}", "ok", null);
        return new PreparedDiscovery(new DiscoveryResult(report, Unchanged: false, snapshot, fingerprint),
            new DiscoveryState(sys.Id, fingerprint, now, accounts.Count, assignments.Count, watermark, contextHash), audit, started);
    }

    private static ulong MembershipHash(string account, string entitlement) => Fnv.Mix(Fnv.Add(Fnv.Add(0xCBF29CE484222325UL, account), entitlement));

    private static ulong Hash(DiscoveredAccount a)
    {
        var h = Fnv.Of("a", a.ExternalId, a.UserName, a.Email);
        h = Fnv.Add(h, (a.Enabled ? 1L : 0L) | ((long)a.Kind << 1));
        h = Fnv.Add(h, a.LastSignInAt?.UtcTicks ?? -1);
        ulong attrs = 0;
        foreach (var (k, v) in a.Attributes)
        {
            attrs += Fnv.Mix(Fnv.Add(Fnv.Add(0xCBF29CE484222325UL, k), v)); // order-independent
        }

        return Fnv.Mix(h ^ attrs);
    }
}
