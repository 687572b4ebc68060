using Deprov.Core.Audit;
using Deprov.Core.Connectors;
using Deprov.Core.Model;
using Deprov.Core.Store;
using Deprov.Hosting.Configuration;
using Deprov.Hosting.Execution;

namespace Deprov.Hosting.Discovery;

/// <summary>What one discovery run found.</summary>
public sealed record DiscoveryReport(string SystemId, int Accounts, int Correlated, int Orphans, int Conflicts, int Entitlements, int Memberships, int Devices, int Credentials, TimeSpan Took);

/// <summary>
/// Reads a system through its connector and replaces what the store knows about it, atomically: a discovery that fails
/// half-way changes nothing. Accounts are tied to people by the system's ordered correlation rules; a rule that matches
/// two people is a conflict, recorded and never guessed.
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

    public async Task<DiscoveryReport> DiscoverAsync(SystemRuntime system, IProgress<int>? progress, CancellationToken cancellationToken)
    {
        var started = _time.GetTimestamp();
        var people = await LoadPeopleAsync(cancellationToken);
        var sys = system.Config.System;
        var accounts = new List<Account>();
        var entitlements = new Dictionary<string, Entitlement>(StringComparer.Ordinal);
        var memberships = new List<DiscoveredMembership>();
        var devices = new List<DiscoveredDevice>();
        var credentials = new List<DiscoveredCredential>();
        var byUserName = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        int correlated = 0, orphans = 0, conflicts = 0, seen = 0;

        await foreach (var o in system.Connector.DiscoverAsync(new DiscoveryRequest(null), cancellationToken))
        {
            if (++seen % 5000 == 0)
            {
                progress?.Report(seen);
            }

            switch (o)
            {
                case DiscoveredAccount a:
                    var (personId, rule) = Correlate(a, system.Config.Correlate, people);
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
                    break;
                case DiscoveredEntitlement e:
                    entitlements[e.ExternalId] = new Entitlement($"{sys.Id}/{e.ExternalId}", sys.Id, e.ExternalId, e.Name, e.Kind, e.Privileged);
                    break;
                case DiscoveredMembership m:
                    memberships.Add(m);
                    break;
                case DiscoveredDevice d:
                    devices.Add(d);
                    break;
                case DiscoveredCredential c:
                    credentials.Add(c);
                    break;
            }
        }

        string? Owner(string? userName) =>
            userName is null ? null
            : byUserName.TryGetValue(userName, out var p) ? p
            : people.ByEmail.TryGetValue(userName, out var list) && list.Count == 1 ? list[0] : null;

        var snapshot = new InventorySnapshot(
            accounts,
            [.. entitlements.Values],
            memberships.Where(m => entitlements.ContainsKey(m.EntitlementExternalId))
                .Select(m => new Assignment($"{sys.Id}/{m.AccountExternalId}", $"{sys.Id}/{m.EntitlementExternalId}", GrantSource.Discovered, null)).ToList(),
            devices.Select(d => new Device($"{sys.Id}/{d.ExternalId}", sys.Id, d.ExternalId, d.SerialNumber, d.Model, Owner(d.OwnerUserName), d.Status)).ToList(),
            credentials.Select(c => new Credential($"{sys.Id}/{c.ExternalId}", sys.Id, c.ExternalId, c.Name, c.Kind, Owner(c.OwnerUserName),
                c.KnownByUserNames.Select(Owner).OfType<string>().Distinct(StringComparer.Ordinal).ToList(),
                c.Active ? CredentialStatus.Active : (c.Kind == CredentialKind.ApiToken ? CredentialStatus.Revoked : CredentialStatus.Disabled), c.LastRotatedAt)).ToList());
        await _store.ReplaceInventoryAsync(sys.Id, snapshot, cancellationToken);
        var report = new DiscoveryReport(sys.Id, accounts.Count, correlated, orphans, conflicts, entitlements.Count, snapshot.Assignments.Count, devices.Count, credentials.Count,
            _time.GetElapsedTime(started));
        await _store.AppendAuditAsync([new AuditEntry(_time.GetUtcNow(), "deprov", "discovery", sys.Id, sys.Id, null, null, null, null,
            $"{{\"accounts\":{report.Accounts},\"orphans\":{report.Orphans},\"conflicts\":{report.Conflicts},\"memberships\":{report.Memberships}}}", "ok", null)], cancellationToken);
        return report;
    }

    private static (string? PersonId, string? Rule) Correlate(DiscoveredAccount a, IReadOnlyList<string> rules, PeopleIndex people)
    {
        foreach (var rule in rules)
        {
            List<string>? matches = rule switch
            {
                "email" when a.Email is not null => people.ByEmail.GetValueOrDefault(a.Email),
                "username" => people.ByEmail.GetValueOrDefault(a.UserName) ?? people.ByLocalPart.GetValueOrDefault(a.UserName),
                _ when rule.StartsWith("attribute:", StringComparison.Ordinal) && a.Attributes.TryGetValue(rule[10..], out var v) =>
                    people.ById.Contains(v) ? [v] : null,
                _ => null,
            };
            if (matches is { Count: 1 })
            {
                return (matches[0], rule);
            }

            if (matches is { Count: > 1 })
            {
                return (null, $"conflict ({rule}): {string.Join(", ", matches.Take(5))}");
            }
        }

        return (null, null);
    }

    private async Task<PeopleIndex> LoadPeopleAsync(CancellationToken cancellationToken)
    {
        var index = new PeopleIndex();
        const int page = 10_000;
        for (var offset = 0; ; offset += page)
        {
            var batch = await _store.ListPeopleAsync(page, offset, cancellationToken);
            foreach (var p in batch)
            {
                index.Add(p);
            }

            if (batch.Count < page)
            {
                return index;
            }
        }
    }

    private sealed class PeopleIndex
    {
        public HashSet<string> ById { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, List<string>> ByEmail { get; } = new(StringComparer.OrdinalIgnoreCase);

        public Dictionary<string, List<string>> ByLocalPart { get; } = new(StringComparer.OrdinalIgnoreCase);

        public void Add(Person p)
        {
            ById.Add(p.Id);
            Append(ByEmail, p.Email, p.Id);
            var at = p.Email.IndexOf('@', StringComparison.Ordinal);
            if (at > 0)
            {
                Append(ByLocalPart, p.Email[..at], p.Id);
            }
        }

        private static void Append(Dictionary<string, List<string>> d, string key, string id)
        {
            if (!d.TryGetValue(key, out var list))
            {
                d[key] = list = [];
            }

            list.Add(id);
        }
    }
}
