using System.Globalization;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Reconciliation;
using Deprov.Core.Store;
using System.Runtime.InteropServices;
using System.Data.Common;

namespace Deprov.Store.Relational;

public abstract partial class RelationalStore
{
    public Task ApplyDiscoveryAsync(string systemId, InventorySnapshot? snapshot, DiscoveryState state, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            if (snapshot is not null)
            {
                ApplyInventory(c, tx, systemId, snapshot, state.CompletedAt);
            }

            Exec(c, tx, "INSERT INTO discovery_state(system_id, fingerprint, completed_at, accounts, memberships, watermark, context) VALUES (@s,@f,@t,@a,@m,@w,@x) " +
                "ON CONFLICT(system_id) DO UPDATE SET fingerprint = excluded.fingerprint, completed_at = excluded.completed_at, accounts = excluded.accounts, " +
                "memberships = excluded.memberships, watermark = excluded.watermark, context = excluded.context",
                ("@s", systemId), ("@f", state.Fingerprint), ("@t", T(state.CompletedAt)), ("@a", state.Accounts), ("@m", state.Memberships),
                ("@w", state.Watermark), ("@x", state.Context));
            AppendAudit(c, tx, audit);
            return 0;
        }, cancellationToken, deferCheckpoint: snapshot is not null);

    public Task<DiscoveryState?> GetDiscoveryStateAsync(string systemId, CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            using var cmd = Command(c, null, "SELECT fingerprint, completed_at, accounts, memberships, watermark, context FROM discovery_state WHERE system_id = @s", ("@s", systemId));
            using var r = cmd.ExecuteReader();
            return r.Read() ? new DiscoveryState(systemId, SN(r, 0), D(r.GetInt64(1)), r.GetInt32(2), r.GetInt32(3), SN(r, 4), SN(r, 5)) : null;
        }, cancellationToken);

    private sealed record StoredAccount(string UserName, string? Email, string? Person, int Kind, int Status, long? SignIn, string? Rule, long? Since, string? Memberships);

    /// <summary>
    /// Writes a discovery by difference: an account row is inserted, rewritten (its fields or its membership set
    /// changed) or deleted; an unchanged one is not touched. With a
    /// null <paramref name="at"/> (a replace with no known moment) no history is written and intervals start unknown.
    /// </summary>
    private void ApplyInventory(DbConnection c, DbTransaction tx, string systemId, InventorySnapshot snapshot, DateTimeOffset? at)
    {
        var since = T(at);
        var (first, after) = AccountRange(systemId);

        // Read as columns (discovery hands them over so; any other list is copied into them): no Account per account.
        var accounts = AccountColumns.From(snapshot.Accounts);
        if (accounts.Count > 0 && accounts.SystemId != systemId)
        {
            throw new ArgumentException($"Account '{accounts.IdAt(0)}' is of system '{accounts.SystemId}', not '{systemId}'.", nameof(snapshot));
        }

        for (var i = 0; i < accounts.Count; i++)
        {
            if (!accounts.IdAt(i).StartsWith(first, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Account '{accounts.IdAt(i)}' of system '{systemId}' has an id that does not start with '{first}'; account ids are '<system>/<external id>'.",
                    nameof(snapshot));
            }
        }

        // The accounts as they were, memberships included (one row each, decoded only for accounts still present),
        // found by their primary key's range (see AccountRange).
        var old = new Dictionary<string, StoredAccount>(StringComparer.Ordinal);
        using (var cmd = Command(c, tx,
            "SELECT id, user_name, email, person_id, kind, status, last_sign_in, correlation_rule, since, memberships FROM accounts WHERE id >= @lo AND id < @hi AND system_id = @s",
            ("@lo", first), ("@hi", after), ("@s", systemId)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                old[r.GetString(0)] = new StoredAccount(r.GetString(1), SN(r, 2), SN(r, 3), r.GetInt32(4), r.GetInt32(5), r.IsDBNull(6) ? null : r.GetInt64(6), SN(r, 7),
                    r.IsDBNull(8) ? null : r.GetInt64(8), SN(r, 9));
            }
        }

        // The discovered memberships per account, as runs of the snapshot's list (discovery hands them over grouped by
        // account; any other order is grouped here first, keeping the order read). A membership of an account the
        // snapshot does not list has nowhere to live and is dropped (no reader could see it before either).
        var (assignments, discovered) = GroupByAccount(snapshot.Assignments, accounts.Count);

        using var history = Prepared(c, tx, "INSERT INTO access_history(account_id, entitlement_id, system_id, person_id, status, valid_from, valid_to) VALUES (@p1,@p2,@p3,@p4,@p5,@p6,@p7)",
            "@p1", "@p2", "@p3", "@p4", "@p5", "@p6", "@p7");
        using var insert = RowInsert(c, tx,
            "INSERT INTO accounts(id, system_id, external_id, user_name, email, person_id, kind, status, last_sign_in, correlation_rule, since, memberships) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
        using var update = Prepared(c, tx,
            "UPDATE accounts SET user_name=@p2, email=@p3, person_id=@p4, kind=@p5, status=@p6, last_sign_in=@p7, correlation_rule=@p8, since=@p9, memberships=@p10 WHERE id=@p1",
            "@p1", "@p2", "@p3", "@p4", "@p5", "@p6", "@p7", "@p8", "@p9", "@p10");
        using var delete = Prepared(c, tx, "DELETE FROM accounts WHERE id = @p1", "@p1");

        using var encoder = new MembershipSet.Encoder();
        var seen = new HashSet<string>(accounts.Count, StringComparer.Ordinal);
        var fresh = new List<int>(old.Count == 0 ? accounts.Count : 0); // rows of accounts not stored yet
        var merged = new List<Membership>();
        var kept = new Dictionary<string, Membership>(StringComparer.Ordinal);
        for (var row = 0; row < accounts.Count; row++)
        {
            var id = accounts.IdAt(row);
            if (!seen.Add(id))
            {
                continue;
            }

            if (!old.Remove(id, out var o))
            {
                fresh.Add(row);
                continue;
            }

            var (userName, email, personId, kind, rule) = (accounts.UserNameAt(row), accounts.EmailAt(row), accounts.PersonIdAt(row), (int)accounts.KindAt(row),
                accounts.CorrelationRuleAt(row));
            var status = (int)accounts.StatusAt(row);
            var signIn = T(accounts.LastSignInAt(row));
            var accountChanged = !(o.UserName == userName && o.Email == email && o.Person == personId && o.Kind == kind && o.Status == status
                && o.SignIn == signIn && o.Rule == rule);
            var personChanged = o.Person != personId;
            var newSince = o.Since;
            if (o.Status != status || personChanged)
            {
                if (since is not null)
                {
                    Run(history, id, null, systemId, o.Person, o.Status, o.Since, since);
                }

                newSince = since;
            }

            // Memberships by difference: kept ones keep their interval (restarted if the owner changed), new ones start
            // now, vanished ones close theirs.
            kept.Clear();
            foreach (var m in MembershipSet.Decode(o.Memberships))
            {
                kept.TryAdd(m.EntitlementId, m);
            }

            merged.Clear();
            var membershipsChanged = false;
            if (discovered.TryGetValue(id, out var run))
            {
                for (var k = run.Start; k < run.End; k++)
                {
                    var x = At(assignments, k);
                    if (kept.Remove(x.EntitlementId, out var m))
                    {
                        if (personChanged)
                        {
                            // Same membership, new owner: the old owner's interval ends, the new one's starts.
                            if (since is not null)
                            {
                                Run(history, id, x.EntitlementId, systemId, o.Person, 0, m.Since, since);
                            }

                            m = m with { Since = since };
                            membershipsChanged = true;
                        }

                        merged.Add(m);
                    }
                    else if (!Holds(merged, x.EntitlementId))
                    {
                        merged.Add(new Membership(x.EntitlementId, (int)x.Source, T(x.ExpiresAt), since));
                        membershipsChanged = true;
                    }
                }
            }

            foreach (var m in kept.Values)
            {
                if (since is not null)
                {
                    Run(history, id, m.EntitlementId, systemId, o.Person, 0, m.Since, since);
                }

                membershipsChanged = true;
            }

            if (accountChanged || membershipsChanged)
            {
                Run(update, id, userName, email, personId, kind, status, signIn, rule, newSince,
                    membershipsChanged ? encoder.EncodeString(merged) : o.Memberships);
            }
        }

        foreach (var (id, o) in old)
        {
            if (since is not null)
            {
                Run(history, id, null, systemId, o.Person, o.Status, o.Since, since);
                foreach (var m in MembershipSet.Decode(o.Memberships))
                {
                    Run(history, id, m.EntitlementId, systemId, o.Person, 0, m.Since, since);
                }
            }

            Run(delete, id);
        }

        // In key order, rows append to the B-tree instead of splitting pages all over it (a first discovery adds millions).
        fresh.Sort((x, y) => string.CompareOrdinal(accounts.IdAt(x), accounts.IdAt(y)));
        foreach (var row in fresh)
        {
            var id = accounts.IdAt(row);
            merged.Clear();
            if (discovered.TryGetValue(id, out var run))
            {
                for (var k = run.Start; k < run.End; k++)
                {
                    var x = At(assignments, k);
                    if (!Holds(merged, x.EntitlementId))
                    {
                        merged.Add(new Membership(x.EntitlementId, (int)x.Source, T(x.ExpiresAt), since));
                    }
                }
            }

            insert.Text(1, id).Text(2, systemId).Text(3, accounts.ExternalIdAt(row)).Text(4, accounts.UserNameAt(row)).Text(5, accounts.EmailAt(row))
                .Text(6, accounts.PersonIdAt(row)).Int(7, (int)accounts.KindAt(row)).Int(8, (int)accounts.StatusAt(row)).Int(9, T(accounts.LastSignInAt(row)))
                .Text(10, accounts.CorrelationRuleAt(row)).Int(11, since).Utf8(12, encoder.Encode(merged)).Execute();
        }

        // Discovery's memberships are read as ids, without an Assignment each.
        static (string EntitlementId, GrantSource Source, DateTimeOffset? ExpiresAt) At(IReadOnlyList<Assignment> list, int k)
        {
            if (list is DiscoveredAssignments d)
            {
                return (d.EntitlementIdAt(k), GrantSource.Discovered, null);
            }

            var x = list[k];
            return (x.EntitlementId, x.Source, x.ExpiresAt);
        }

        static (IReadOnlyList<Assignment>, Dictionary<string, (int Start, int End)>) GroupByAccount(IReadOnlyList<Assignment> list, int accounts)
        {
            if (list is DiscoveredAssignments d && GroupRuns(d, accounts) is { } found)
            {
                return (d, found);
            }

            var runs = new Dictionary<string, (int Start, int End)>(StringComparer.Ordinal);
            for (var start = 0; start < list.Count;)
            {
                var end = start + 1;
                while (end < list.Count && list[end].AccountId == list[start].AccountId)
                {
                    end++;
                }

                if (!runs.TryAdd(list[start].AccountId, (start, end)))
                {
                    // Not grouped: a stable sort by account, then the runs again.
                    return GroupByAccount([.. list.OrderBy(x => x.AccountId, StringComparer.Ordinal)], accounts);
                }

                start = end;
            }

            return (list, runs);
        }

        static Dictionary<string, (int Start, int End)>? GroupRuns(DiscoveredAssignments list, int accounts)
        {
            var runs = new Dictionary<string, (int Start, int End)>(Math.Min(accounts, list.Count), StringComparer.Ordinal); // about one run per account
            for (var start = 0; start < list.Count;)
            {
                var account = list.AccountIdAt(start);
                var end = start + 1;
                while (end < list.Count && (ReferenceEquals(list.AccountIdAt(end), account) || list.AccountIdAt(end) == account))
                {
                    end++;
                }

                if (!runs.TryAdd(account, (start, end)))
                {
                    return null; // not grouped
                }

                start = end;
            }

            return runs;
        }

        static bool Holds(List<Membership> list, string entitlementId)
        {
            foreach (var m in list)
            {
                if (m.EntitlementId == entitlementId)
                {
                    return true;
                }
            }

            return false;
        }

        // Entitlements, devices and credentials are small and carry no access history: replaced whole.
        Exec(c, tx, "DELETE FROM credential_knowers WHERE credential_id IN (SELECT id FROM credentials WHERE system_id = @s)", ("@s", systemId));
        foreach (var table in new[] { "entitlements", "devices", "credentials" })
        {
            Exec(c, tx, $"DELETE FROM {table} WHERE system_id = @s", ("@s", systemId));
        }

        using (var cmd = Prepared(c, tx, "INSERT INTO entitlements(id, system_id, external_id, name, kind, privileged) VALUES (@p1,@p2,@p3,@p4,@p5,@p6) " +
            "ON CONFLICT(id) DO UPDATE SET system_id = excluded.system_id, external_id = excluded.external_id, name = excluded.name, kind = excluded.kind, privileged = excluded.privileged", "@p1", "@p2", "@p3", "@p4", "@p5", "@p6"))
        {
            foreach (var e in snapshot.Entitlements)
            {
                Run(cmd, e.Id, e.SystemId, e.ExternalId, e.Name, (int)e.Kind, e.Privileged ? 1 : 0);
            }
        }

        using (var cmd = Prepared(c, tx, "INSERT INTO devices(id, system_id, external_id, serial, model, owner_person_id, status) VALUES (@p1,@p2,@p3,@p4,@p5,@p6,@p7) " +
            "ON CONFLICT(id) DO UPDATE SET system_id = excluded.system_id, external_id = excluded.external_id, serial = excluded.serial, model = excluded.model, " +
            "owner_person_id = excluded.owner_person_id, status = excluded.status", "@p1", "@p2", "@p3", "@p4", "@p5", "@p6", "@p7"))
        {
            foreach (var d in snapshot.Devices)
            {
                Run(cmd, d.Id, d.SystemId, d.ExternalId, d.SerialNumber, d.Model, d.OwnerPersonId, (int)d.Status);
            }
        }

        using (var cmd = Prepared(c, tx, "INSERT INTO credentials(id, system_id, external_id, name, kind, owner_person_id, status, last_rotated_at) VALUES (@p1,@p2,@p3,@p4,@p5,@p6,@p7,@p8) " +
            "ON CONFLICT(id) DO UPDATE SET system_id = excluded.system_id, external_id = excluded.external_id, name = excluded.name, kind = excluded.kind, " +
            "owner_person_id = excluded.owner_person_id, status = excluded.status, last_rotated_at = excluded.last_rotated_at", "@p1", "@p2", "@p3", "@p4", "@p5", "@p6", "@p7", "@p8"))
        using (var knower = Prepared(c, tx, "INSERT INTO credential_knowers(credential_id, person_id) VALUES (@p1,@p2) ON CONFLICT DO NOTHING", "@p1", "@p2"))
        {
            foreach (var cr in snapshot.Credentials)
            {
                Run(cmd, cr.Id, cr.SystemId, cr.ExternalId, cr.Name, (int)cr.Kind, cr.OwnerPersonId, (int)cr.Status, T(cr.LastRotatedAt));
                foreach (var p in cr.KnownBy)
                {
                    Run(knower, cr.Id, p);
                }
            }
        }
    }

    /// <summary>
    /// The primary-key range that holds a system's accounts: every account id is <c>&lt;system&gt;/&lt;external id&gt;</c>,
    /// and '0' is the character after '/', so the ids of system <c>s</c> lie in [<c>s/</c>, <c>s0</c>). There is no index
    /// on accounts.system_id (migration 7); queries keep <c>system_id = s</c> as well, for system ids that hold a '/'.
    /// </summary>
    private static (string First, string After) AccountRange(string systemId) => (systemId + "/", systemId + "0");

    public Task<IReadOnlyList<Revocation>> GetRevocationsAsync(string systemId, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Revocation>>(c =>
        {
            var actions = string.Join(',', new[] { ActionKind.DisableAccount, ActionKind.DeleteAccount, ActionKind.EnableAccount, ActionKind.RemoveEntitlement,
                ActionKind.ReclaimLicence, ActionKind.AddEntitlement, ActionKind.AssignLicence }.Select(a => ((int)a).ToString(CultureInfo.InvariantCulture)));
            using var cmd = Command(c, null,
                "SELECT s.account_id, s.entitlement_id, s.action, s.id, s.case_id, c.person_id, s.finished_at FROM steps s JOIN cases c ON c.id = s.case_id " +
                $"WHERE s.system_id = @s AND s.status = {(int)StepStatus.Verified} AND s.action IN ({actions}) AND s.account_id IS NOT NULL ORDER BY s.finished_at, s.id",
                ("@s", systemId));
            using var r = cmd.ExecuteReader();
            var list = new List<Revocation>();
            while (r.Read())
            {
                list.Add(new Revocation(r.GetString(0), SN(r, 1), (ActionKind)r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5), DN(r, 6) ?? DateTimeOffset.MinValue));
            }

            return list;
        }, cancellationToken);

    private const string FindingColumns = "id, kind, system_id, target, account_id, entitlement_id, credential_id, person_id, evidence, first_seen, last_seen, resolved_at, reaction, reaction_ref";

    private static Finding ReadFinding(DbDataReader r) => new(
        r.GetString(0), (FindingKind)r.GetInt32(1), r.GetString(2), r.GetString(3), SN(r, 4), SN(r, 5), SN(r, 6), SN(r, 7), r.GetString(8),
        D(r.GetInt64(9)), D(r.GetInt64(10)), DN(r, 11), r.IsDBNull(12) ? null : (FindingReaction)r.GetInt32(12), SN(r, 13));

    public Task<FindingsUpdate> RecordFindingsAsync(string systemId, IReadOnlyList<DetectedFinding> detected, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            var open = new HashSet<string>(StringComparer.Ordinal);
            using (var cmd = Command(c, tx, "SELECT id FROM findings WHERE system_id = @s AND resolved_at IS NULL", ("@s", systemId)))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    open.Add(r.GetString(0));
                }
            }

            var fresh = new List<Finding>();
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var audit = new List<AuditEntry>();
            using (var touch = Prepared(c, tx, "UPDATE findings SET last_seen = @p2, evidence = @p3 WHERE id = @p1", "@p1", "@p2", "@p3"))
            using (var upsert = Prepared(c, tx,
                $"INSERT INTO findings({FindingColumns}) VALUES (@p1,@p2,@p3,@p4,@p5,@p6,@p7,@p8,@p9,@p10,@p10,NULL,NULL,NULL) " +
                "ON CONFLICT(id) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen, evidence = excluded.evidence, " +
                "person_id = excluded.person_id, resolved_at = NULL, reaction = NULL, reaction_ref = NULL",
                "@p1", "@p2", "@p3", "@p4", "@p5", "@p6", "@p7", "@p8", "@p9", "@p10"))
            {
                foreach (var f in detected)
                {
                    var id = f.Id;
                    if (!seen.Add(id))
                    {
                        continue;
                    }

                    if (open.Remove(id))
                    {
                        Run(touch, id, T(now), f.Evidence);
                        continue;
                    }

                    // First seen (or seen again after it was resolved: a recurrence is a new finding to react to).
                    Run(upsert, id, (int)f.Kind, f.SystemId, f.Target, f.AccountId, f.EntitlementId, f.CredentialId, f.PersonId, f.Evidence, T(now));
                    fresh.Add(new Finding(id, f.Kind, f.SystemId, f.Target, f.AccountId, f.EntitlementId, f.CredentialId, f.PersonId, f.Evidence, now, now, null, null, null));
                    audit.Add(new AuditEntry(now, "deprov", "finding_opened", systemId, f.Target, f.PersonId, null, null, null,
                        $"{{\"finding\":\"{id}\",\"kind\":\"{f.Kind.Snake()}\"}}", "ok", f.Evidence));
                }
            }

            using (var resolve = Prepared(c, tx, "UPDATE findings SET resolved_at = @p2 WHERE id = @p1", "@p1", "@p2"))
            {
                foreach (var id in open)
                {
                    Run(resolve, id, T(now));
                }
            }

            if (open.Count > 0)
            {
                audit.Add(new AuditEntry(now, "deprov", "findings_resolved", systemId, systemId, null, null, null, null,
                    $"{{\"resolved\":{open.Count}}}", "ok", string.Join(", ", open.Order(StringComparer.Ordinal).Take(20))));
            }

            AppendAudit(c, tx, audit);
            return new FindingsUpdate(fresh, seen.Count - fresh.Count, open.Count);
        }, cancellationToken);

    public Task<Finding> RaiseFindingAsync(DetectedFinding finding, DateTimeOffset now, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            var f = finding;
            using (var cmd = Command(c, tx,
                $"INSERT INTO findings({FindingColumns}) VALUES (@p1,@p2,@p3,@p4,@p5,@p6,@p7,@p8,@p9,@p10,@p10,NULL,NULL,NULL) " +
                "ON CONFLICT(id) DO UPDATE SET last_seen = excluded.last_seen, evidence = excluded.evidence, " +
                "first_seen = CASE WHEN findings.resolved_at IS NULL THEN findings.first_seen ELSE excluded.first_seen END, " +
                "reaction = CASE WHEN findings.resolved_at IS NULL THEN findings.reaction END, " +
                "reaction_ref = CASE WHEN findings.resolved_at IS NULL THEN findings.reaction_ref END, resolved_at = NULL",
                ("@p1", f.Id), ("@p2", (int)f.Kind), ("@p3", f.SystemId), ("@p4", f.Target), ("@p5", f.AccountId), ("@p6", f.EntitlementId), ("@p7", f.CredentialId),
                ("@p8", f.PersonId), ("@p9", f.Evidence), ("@p10", T(now))))
            {
                cmd.ExecuteNonQuery();
            }

            AppendAudit(c, tx, audit);
            using var read = Command(c, tx, $"SELECT {FindingColumns} FROM findings WHERE id = @id", ("@id", f.Id));
            using var r = read.ExecuteReader();
            r.Read();
            return ReadFinding(r);
        }, cancellationToken);

    public Task<IReadOnlyList<Finding>> ListFindingsAsync(FindingQuery query, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Finding>>(c =>
        {
            using var cmd = Command(c, null,
                $"SELECT {FindingColumns} FROM findings WHERE (kind = @k OR @k IS NULL) AND (system_id = @s OR @s IS NULL) AND (@open = 0 OR resolved_at IS NULL) " +
                "ORDER BY first_seen, id LIMIT @l",
                ("@k", query.Kind is { } k ? (int)k : null), ("@s", query.SystemId), ("@open", query.OpenOnly ? 1 : 0), ("@l", query.Limit));
            using var r = cmd.ExecuteReader();
            var list = new List<Finding>();
            while (r.Read())
            {
                list.Add(ReadFinding(r));
            }

            return list;
        }, cancellationToken);

    public Task RecordReactionsAsync(IReadOnlyList<(string FindingId, FindingReaction Reaction, string? Reference)> reactions, IReadOnlyList<TaskItem> tasks,
        IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            using (var cmd = Prepared(c, tx, "UPDATE findings SET reaction = @p2, reaction_ref = @p3 WHERE id = @p1", "@p1", "@p2", "@p3"))
            {
                foreach (var (id, reaction, reference) in reactions)
                {
                    Run(cmd, id, (int)reaction, reference);
                }
            }

            using (var insert = PrepareTaskInsert(c, tx))
            {
                foreach (var t in tasks)
                {
                    InsertTask(insert, t);
                }
            }

            AppendAudit(c, tx, audit);
            return 0;
        }, cancellationToken);

    public Task LinkAccountAsync(CorrelationLink link, AuditEntry audit, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            if (GetPerson(c, tx, link.PersonId) is null)
            {
                throw new NotFoundException($"There is no person '{link.PersonId}'. Check the HR id with 'deprov person <id>'.");
            }

            Exec(c, tx, "INSERT INTO correlation_links(system_id, external_id, person_id, linked_by, linked_at) VALUES (@s,@x,@p,@by,@at) " +
                "ON CONFLICT(system_id, external_id) DO UPDATE SET person_id = excluded.person_id, linked_by = excluded.linked_by, linked_at = excluded.linked_at",
                ("@s", link.SystemId), ("@x", link.AccountExternalId), ("@p", link.PersonId), ("@by", link.LinkedBy), ("@at", T(link.LinkedAt)));

            // The link takes effect now for an account already discovered (the next discovery applies it again).
            var id = $"{link.SystemId}/{link.AccountExternalId}";
            Exec(c, tx, "INSERT INTO access_history(account_id, entitlement_id, system_id, person_id, status, valid_from, valid_to) " +
                $"SELECT id, NULL, system_id, person_id, status, since, @at FROM accounts WHERE id = @id AND person_id {Sql.IsDistinct} @p", ("@id", id), ("@p", link.PersonId), ("@at", T(link.LinkedAt)));
            Exec(c, tx, "INSERT INTO access_history(account_id, entitlement_id, system_id, person_id, status, valid_from, valid_to) " +
                $"SELECT a.id, {Sql.MEntitlement}, a.system_id, a.person_id, 0, {Sql.MSince}, @at FROM accounts a, {Sql.Memberships("a.memberships")} " +
                $"WHERE a.id = @id AND a.person_id {Sql.IsDistinct} @p", ("@id", id), ("@p", link.PersonId), ("@at", T(link.LinkedAt)));
            Exec(c, tx,
                $"UPDATE accounts SET memberships = (SELECT {Sql.MembershipRows(Sql.MEntitlement, Sql.MSource, Sql.MExpires, "@at")} " +
                $"FROM {Sql.Memberships("accounts.memberships")}) WHERE id = @id AND person_id {Sql.IsDistinct} @p AND memberships IS NOT NULL",
                ("@id", id), ("@p", link.PersonId), ("@at", T(link.LinkedAt)));
            Exec(c, tx, $"UPDATE accounts SET since = CASE WHEN person_id {Sql.IsDistinct} @p THEN @at ELSE since END, person_id = @p, correlation_rule = @rule WHERE id = @id",
                ("@id", id), ("@p", link.PersonId), ("@at", T(link.LinkedAt)), ("@rule", CorrelationLink.RuleFor(link.LinkedBy)));
            AppendAudit(c, tx, [audit]);
            return 0;
        }, cancellationToken);

    public Task<Account?> GetAccountAsync(string accountId, CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            using var cmd = Command(c, null, "SELECT id, system_id, external_id, user_name, email, person_id, kind, status, last_sign_in, correlation_rule FROM accounts WHERE id = @id",
                ("@id", accountId));
            using var r = cmd.ExecuteReader();
            return r.Read()
                ? new Account(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), SN(r, 4), SN(r, 5), (AccountKind)r.GetInt32(6), (AccountStatus)r.GetInt32(7), DN(r, 8), SN(r, 9))
                : null;
        }, cancellationToken);

    public Task<IReadOnlyList<CorrelationLink>> ListLinksAsync(string? systemId, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<CorrelationLink>>(c =>
        {
            using var cmd = Command(c, null, "SELECT system_id, external_id, person_id, linked_by, linked_at FROM correlation_links WHERE (system_id = @s OR @s IS NULL) ORDER BY system_id, external_id",
                ("@s", systemId));
            using var r = cmd.ExecuteReader();
            var list = new List<CorrelationLink>();
            while (r.Read())
            {
                list.Add(new CorrelationLink(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), D(r.GetInt64(4))));
            }

            return list;
        }, cancellationToken);

    public Task<IReadOnlyList<AccessInterval>> GetAccessAtAsync(string personId, DateTimeOffset at, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<AccessInterval>>(c =>
        {
            using var tx = BeginSnapshot(c); // current rows and history from one snapshot
            using var cmd = Command(c, tx,
                "SELECT account_id, system_id, entitlement_id, status, valid_from, valid_to FROM access_history " +
                "WHERE person_id = @p AND valid_to > @t AND (valid_from IS NULL OR valid_from <= @t) " +
                "UNION ALL SELECT id, system_id, NULL, status, since, NULL FROM accounts WHERE person_id = @p AND (since IS NULL OR since <= @t) " +
                $"UNION ALL SELECT a.id, a.system_id, {Sql.MEntitlement}, a.status, {Sql.MSince}, NULL FROM accounts a, {Sql.Memberships("a.memberships")} " +
                $"WHERE a.person_id = @p AND ({Sql.MSince} IS NULL OR {Sql.MSince} <= @t) ORDER BY 2, 1, 3",
                ("@p", personId), ("@t", T(at)));
            using var r = cmd.ExecuteReader();
            var list = new List<AccessInterval>();
            while (r.Read())
            {
                list.Add(new AccessInterval(r.GetString(0), r.GetString(1), SN(r, 2), (AccountStatus)r.GetInt32(3), DN(r, 4), DN(r, 5)));
            }

            return list;
        }, cancellationToken);

    public Task<IReadOnlyList<LicenceUsage>> GetLicenceUsageAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<LicenceUsage>>(c =>
        {
            var revokes = string.Join(',', new[] { ActionKind.DisableAccount, ActionKind.DeleteAccount, ActionKind.ReclaimLicence }.Select(a => ((int)a).ToString(CultureInfo.InvariantCulture)));
            using var cmd = Command(c, null,
                "SELECT s.id, s.display_name, s.licence_cost, " +
                $"(SELECT COUNT(*) FROM accounts a WHERE a.id >= s.id || '/' AND a.id < s.id || '0' AND a.system_id = s.id AND a.status = {(int)AccountStatus.Active}), " + // see AccountRange
                $"(SELECT COUNT(DISTINCT st.account_id) FROM steps st WHERE st.system_id = s.id AND st.status = {(int)StepStatus.Verified} AND st.action IN ({revokes})), " +
                $"(SELECT COUNT(*) FROM findings f WHERE f.system_id = s.id AND f.kind = {(int)FindingKind.Dormant} AND f.resolved_at IS NULL) " +
                "FROM systems s ORDER BY s.id");
            using var r = cmd.ExecuteReader();
            var list = new List<LicenceUsage>();
            while (r.Read())
            {
                list.Add(new LicenceUsage(r.GetString(0), r.GetString(1), decimal.Parse(r.GetString(2), CultureInfo.InvariantCulture), r.GetInt32(3), r.GetInt32(4), r.GetInt32(5)));
            }

            return list;
        }, cancellationToken);
}
