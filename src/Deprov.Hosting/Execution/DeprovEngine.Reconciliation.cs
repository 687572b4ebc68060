using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Reconciliation;

namespace Deprov.Hosting.Execution;

public sealed partial class DeprovEngine
{
    /// <summary>Case person for a remediation of accounts no person owns.</summary>
    public const string Unowned = "(unowned)";

    /// <summary>
    /// Ties an account to a person by hand (<c>deprov link</c>, the console, the API): recorded as <c>manual (by actor)</c>,
    /// audited as <c>correlation_link</c>, kept across discoveries. An unknown system or person is a
    /// <see cref="NotFoundException"/>; with <paramref name="requireDiscovered"/>, so is an account no discovery has seen
    /// (the console and API: a typo must not leave a link waiting for an account that never comes). The CLI may link first.
    /// </summary>
    public async Task<CorrelationLink> LinkAccountAsync(string systemId, string accountExternalId, string personId, string actor, bool requireDiscovered,
        CancellationToken cancellationToken)
    {
        if (!_systems.ContainsKey(systemId))
        {
            throw new NotFoundException($"There is no system '{systemId}'. Configured systems: {string.Join(", ", _systems.Keys.Order(StringComparer.Ordinal))}.");
        }

        var accountId = $"{systemId}/{accountExternalId}";
        if (requireDiscovered && await _store.GetAccountAsync(accountId, cancellationToken) is null)
        {
            throw new NotFoundException($"No discovery of '{systemId}' has seen an account with external id '{accountExternalId}'. " +
                $"Run 'deprov discover {systemId}' first, or check the id (open orphan findings list it); 'deprov link' can link an account before it is discovered.");
        }

        var now = _time.GetUtcNow();
        var link = new CorrelationLink(systemId, accountExternalId, personId, actor, now);
        await _store.LinkAccountAsync(link, new AuditEntry(now, actor, "correlation_link", systemId, accountId, personId, null, null, null,
            CoreJson.Serialize(new Dictionary<string, string> { ["person"] = personId }), "ok", null), cancellationToken);
        return link;
    }

    /// <summary>
    /// Plans remediation cases for findings: one case per owner (unowned accounts share one), executed by the normal run
    /// loop with read-back verification and audit. Drift raises an <c>alert</c> audit record. Returns the case per finding.
    /// </summary>
    public async Task<IReadOnlyList<(Finding Finding, string CaseId)>> RemediateAsync(IReadOnlyList<Finding> findings, string actor, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var result = new List<(Finding, string)>();
        var plans = new List<Plan>();
        var audit = new List<AuditEntry>();
        var owners = findings.Select(f => f.PersonId).OfType<string>().Distinct(StringComparer.Ordinal).ToList();
        var maps = (await _store.GetAccessMapsAsync(owners, cancellationToken)).ToDictionary(m => m.Person.Id, StringComparer.Ordinal);
        foreach (var group in findings.GroupBy(f => f.PersonId is { } p && maps.ContainsKey(p) ? p : Unowned, StringComparer.Ordinal))
        {
            var map = maps.GetValueOrDefault(group.Key) ?? new AccessMap(
                new Person(Unowned, string.Empty, "No owner", null, string.Empty, string.Empty, string.Empty, WorkerType.Employee, PersonStatus.Left, null, null, "UTC"),
                [], [], [], [], [], [], []);
            var targets = group.SelectMany(f => Targets(f, map)).ToList();
            if (targets.Count == 0)
            {
                continue;
            }

            var caseId = NewId("C");
            var first = group.First();
            var e = new LifecycleEvent($"R-{first.Id}", EventKind.Leave, map.Person.Id, now, ExitReason.None, "reconciliation", $"reconcile:{caseId}", now,
                Note: string.Join(", ", group.Select(f => f.Id)));
            var plan = _planner.PlanRemediation(e, map, targets, caseId, now);
            plans.Add(plan);
            audit.Add(new AuditEntry(now, actor, "case_planned", null, caseId, map.Person.Id, caseId, null, null,
                CoreJson.Serialize(new Dictionary<string, string>
                {
                    ["steps"] = plan.Steps.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    ["rule"] = "reconciliation",
                    ["findings"] = string.Join(',', group.Select(f => f.Id)),
                }), "ok", string.Join("; ", plan.Notes)));
            foreach (var f in group)
            {
                result.Add((f, caseId));
                if (f.Kind == FindingKind.Drift)
                {
                    audit.Add(new AuditEntry(now, "deprov", "alert", f.SystemId, f.Target, f.PersonId, caseId, null, null,
                        $"{{\"finding\":\"{f.Id}\",\"kind\":\"drift\",\"reaction\":\"re-revoke\"}}", "alert", f.Evidence));
                }
            }
        }

        if (plans.Count > 0)
        {
            await _store.CreateCasesAsync(plans, audit, cancellationToken);
            await _store.RecordReactionsAsync(result.Select(r => (r.Item1.Id, FindingReaction.Remediate, (string?)r.Item2)).ToList(), [], [], cancellationToken);
            Wake();
        }

        return result;
    }

    private IEnumerable<RemediationTarget> Targets(Finding f, AccessMap owner)
    {
        if (f.CredentialId is { } credential)
        {
            // The owner's map says what the credential is; an owner gone from the HR data leaves only the evidence.
            var kind = owner.CredentialsOwned.FirstOrDefault(c => c.Id == credential)?.Kind
                ?? (f.Evidence.StartsWith("api_token", StringComparison.Ordinal) ? CredentialKind.ApiToken : CredentialKind.ServiceAccount);
            var action = f.Kind switch
            {
                FindingKind.SharedCredentialNotRotated => ActionKind.RotateCredential,
                _ when kind == CredentialKind.ApiToken => ActionKind.RevokeToken,
                _ => ActionKind.DisableServiceAccount,
            };
            var category = action == ActionKind.RotateCredential ? StepCategory.SharedCredentials : StepCategory.Tokens;
            yield return new RemediationTarget(action, category, f.SystemId, null, null, credential, f.Target, f.Id);
            yield break;
        }

        if (f.AccountId is null)
        {
            yield break;
        }

        if (f.EntitlementId is { } entitlement)
        {
            yield return new RemediationTarget(ActionKind.RemoveEntitlement, StepCategory.AppAccess, f.SystemId, f.AccountId, entitlement, null, f.Target, f.Id);
            yield break;
        }

        var role = _config.SystemsById.TryGetValue(f.SystemId, out var s) ? s.Role : SystemRole.Application;
        var accountCategory = role is SystemRole.Directory or SystemRole.IdentityProvider ? StepCategory.SignIn : role == SystemRole.Badge ? StepCategory.Physical : StepCategory.AppAccess;
        yield return new RemediationTarget(ActionKind.DisableAccount, accountCategory, f.SystemId, f.AccountId, null, null, f.Target, f.Id);
    }
}
