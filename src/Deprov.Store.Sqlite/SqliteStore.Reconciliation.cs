using System.Globalization;
using Deprov.Core;
using Deprov.Core.Audit;
using Deprov.Core.Model;
using Deprov.Core.Reconciliation;
using Deprov.Core.Store;
using Microsoft.Data.Sqlite;

namespace Deprov.Store.Sqlite;

public sealed partial class SqliteStore
{
    public Task ApplyDiscoveryAsync(string systemId, InventorySnapshot? snapshot, DiscoveryState state, IReadOnlyList<AuditEntry> audit, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            if (snapshot is not null)
            {
                ApplyInventory(c, tx, systemId, snapshot, state.CompletedAt);
            }

            Exec(c, tx, "INSERT OR REPLACE INTO discovery_state(system_id, fingerprint, completed_at, accounts, memberships, watermark, context) VALUES ($s,$f,$t,$a,$m,$w,$x)",
                ("$s", systemId), ("$f", state.Fingerprint), ("$t", T(state.CompletedAt)), ("$a", state.Accounts), ("$m", state.Memberships),
                ("$w", state.Watermark), ("$x", state.Context));
            AppendAudit(c, tx, audit);
            return 0;
        }, cancellationToken);

    public Task<DiscoveryState?> GetDiscoveryStateAsync(string systemId, CancellationToken cancellationToken) =>
        ReadAsync(c =>
        {
            using var cmd = Command(c, null, "SELECT fingerprint, completed_at, accounts, memberships, watermark, context FROM discovery_state WHERE system_id = $s", ("$s", systemId));
            using var r = cmd.ExecuteReader();
            return r.Read() ? new DiscoveryState(systemId, SN(r, 0), D(r.GetInt64(1)), r.GetInt32(2), r.GetInt32(3), SN(r, 4), SN(r, 5)) : null;
        }, cancellationToken);

    /// <summary>
    /// Writes a discovery by difference. With a
    /// null <paramref name="at"/> (a replace with no known moment) no history is written and intervals start unknown.
    /// </summary>
    private static void ApplyInventory(SqliteConnection c, SqliteTransaction tx, string systemId, InventorySnapshot snapshot, DateTimeOffset? at)
    {
        var since = T(at);
        var old = new Dictionary<string, (string UserName, string? Email, string? Person, int Kind, int Status, long? SignIn, string? Rule, long? Since)>(StringComparer.Ordinal);
        using (var cmd = Command(c, tx, "SELECT id, user_name, email, person_id, kind, status, last_sign_in, correlation_rule, since FROM accounts WHERE system_id = $s", ("$s", systemId)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                old[r.GetString(0)] = (r.GetString(1), SN(r, 2), SN(r, 3), r.GetInt32(4), r.GetInt32(5), r.IsDBNull(6) ? null : r.GetInt64(6), SN(r, 7), r.IsDBNull(8) ? null : r.GetInt64(8));
            }
        }

        // Memberships as they were, read before any account row changes.
        var oldAssignments = new Dictionary<(string, string), long?>();
        using (var cmd = Command(c, tx, "SELECT x.account_id, x.entitlement_id, x.since FROM accounts a JOIN assignments x ON x.account_id = a.id WHERE a.system_id = $s", ("$s", systemId)))
        using (var r = cmd.ExecuteReader())
        {
            while (r.Read())
            {
                oldAssignments[(r.GetString(0), r.GetString(1))] = r.IsDBNull(2) ? null : r.GetInt64(2);
            }
        }

        var oldPerson = old.ToDictionary(kv => kv.Key, kv => kv.Value.Person, StringComparer.Ordinal);
        var personChanged = new HashSet<string>(StringComparer.Ordinal);
        using var history = Prepared(c, tx, "INSERT INTO access_history(account_id, entitlement_id, system_id, person_id, status, valid_from, valid_to) VALUES ($1,$2,$3,$4,$5,$6,$7)",
            "$1", "$2", "$3", "$4", "$5", "$6", "$7");
        using (var insert = new BulkInsert(c, "INSERT INTO accounts(id, system_id, external_id, user_name, email, person_id, kind, status, last_sign_in, correlation_rule, since) VALUES (?,?,?,?,?,?,?,?,?,?,?)"))
        using (var update = Prepared(c, tx, "UPDATE accounts SET user_name=$2, email=$3, person_id=$4, kind=$5, status=$6, last_sign_in=$7, correlation_rule=$8, since=$9 WHERE id=$1",
            "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9"))
        using (var delete = Prepared(c, tx, "DELETE FROM accounts WHERE id = $1", "$1"))
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var fresh = new List<Account>();
            foreach (var a in snapshot.Accounts)
            {
                if (!seen.Add(a.Id))
                {
                    continue;
                }

                if (!old.Remove(a.Id, out var o))
                {
                    fresh.Add(a);
                    continue;
                }

                var status = (int)a.Status;
                var signIn = T(a.LastSignInAt);
                if (o.UserName == a.UserName && o.Email == a.Email && o.Person == a.PersonId && o.Kind == (int)a.Kind && o.Status == status && o.SignIn == signIn && o.Rule == a.CorrelationRule)
                {
                    continue;
                }

                var newSince = o.Since;
                if (o.Status != status || o.Person != a.PersonId)
                {
                    if (since is not null)
                    {
                        Run(history, a.Id, null, systemId, o.Person, o.Status, o.Since, since);
                    }

                    newSince = since;
                    if (o.Person != a.PersonId)
                    {
                        personChanged.Add(a.Id);
                    }
                }

                Run(update, a.Id, a.UserName, a.Email, a.PersonId, (int)a.Kind, status, signIn, a.CorrelationRule, newSince);
            }

            foreach (var (id, o) in old)
            {
                if (since is not null)
                {
                    Run(history, id, null, systemId, o.Person, o.Status, o.Since, since);
                }

                Run(delete, id);
            }

            fresh.Sort((a, b) => string.CompareOrdinal(a.Id, b.Id));
            foreach (var a in fresh)
            {
                insert.Add(a.Id, a.SystemId, a.ExternalId, a.UserName, a.Email, a.PersonId, (int)a.Kind, (int)a.Status, T(a.LastSignInAt), a.CorrelationRule, since);
            }
        }

        using (var insert = new BulkInsert(c, "INSERT OR IGNORE INTO assignments(account_id, entitlement_id, source, expires_at, since) VALUES (?,?,?,?,?)"))
        using (var restart = Prepared(c, tx, "UPDATE assignments SET since = $3 WHERE account_id = $1 AND entitlement_id = $2", "$1", "$2", "$3"))
        using (var delete = Prepared(c, tx, "DELETE FROM assignments WHERE account_id = $1 AND entitlement_id = $2", "$1", "$2"))
        {
            var added = new List<Assignment>();
            foreach (var x in snapshot.Assignments)
            {
                if (!oldAssignments.Remove((x.AccountId, x.EntitlementId), out var oldSince))
                {
                    added.Add(x);
                }
                else if (personChanged.Contains(x.AccountId))
                {
                    // Same membership, new owner: the old owner's interval ends, the new one's starts.
                    if (since is not null)
                    {
                        Run(history, x.AccountId, x.EntitlementId, systemId, oldPerson.GetValueOrDefault(x.AccountId), 0, oldSince, since);
                    }

                    Run(restart, x.AccountId, x.EntitlementId, since);
                }
            }

            // In key order, rows append to the B-tree instead of splitting pages all over it (a first discovery adds millions).
            added.Sort((a, b) => string.CompareOrdinal(a.AccountId, b.AccountId) is var c && c != 0 ? c : string.CompareOrdinal(a.EntitlementId, b.EntitlementId));
            foreach (var x in added)
            {
                insert.Add(x.AccountId, x.EntitlementId, (int)x.Source, T(x.ExpiresAt), since);
            }

            foreach (var ((account, entitlement), oldSince) in oldAssignments)
            {
                if (since is not null)
                {
                    Run(history, account, entitlement, systemId, oldPerson.GetValueOrDefault(account), 0, oldSince, since);
                }

                Run(delete, account, entitlement);
            }

        }

        // Entitlements, devices and credentials are small and carry no access history: replaced whole.
        Exec(c, tx, "DELETE FROM credential_knowers WHERE credential_id IN (SELECT id FROM credentials WHERE system_id = $s)", ("$s", systemId));
        foreach (var table in new[] { "entitlements", "devices", "credentials" })
        {
            Exec(c, tx, $"DELETE FROM {table} WHERE system_id = $s", ("$s", systemId));
        }

        using (var cmd = Prepared(c, tx, "INSERT OR REPLACE INTO entitlements(id, system_id, external_id, name, kind, privileged) VALUES ($1,$2,$3,$4,$5,$6)", "$1", "$2", "$3", "$4", "$5", "$6"))
        {
            foreach (var e in snapshot.Entitlements)
            {
                Run(cmd, e.Id, e.SystemId, e.ExternalId, e.Name, (int)e.Kind, e.Privileged ? 1 : 0);
            }
        }

        using (var cmd = Prepared(c, tx, "INSERT OR REPLACE INTO devices(id, system_id, external_id, serial, model, owner_person_id, status) VALUES ($1,$2,$3,$4,$5,$6,$7)", "$1", "$2", "$3", "$4", "$5", "$6", "$7"))
        {
            foreach (var d in snapshot.Devices)
            {
                Run(cmd, d.Id, d.SystemId, d.ExternalId, d.SerialNumber, d.Model, d.OwnerPersonId, (int)d.Status);
            }
        }

        using (var cmd = Prepared(c, tx, "INSERT OR REPLACE INTO credentials(id, system_id, external_id, name, kind, owner_person_id, status, last_rotated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)", "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8"))
        using (var knower = Prepared(c, tx, "INSERT OR IGNORE INTO credential_knowers(credential_id, person_id) VALUES ($1,$2)", "$1", "$2"))
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

    public Task<IReadOnlyList<Revocation>> GetRevocationsAsync(string systemId, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Revocation>>(c =>
        {
            var actions = string.Join(',', new[] { ActionKind.DisableAccount, ActionKind.DeleteAccount, ActionKind.EnableAccount, ActionKind.RemoveEntitlement,
                ActionKind.ReclaimLicence, ActionKind.AddEntitlement, ActionKind.AssignLicence }.Select(a => ((int)a).ToString(CultureInfo.InvariantCulture)));
            using var cmd = Command(c, null,
                "SELECT s.account_id, s.entitlement_id, s.action, s.id, s.case_id, c.person_id, s.finished_at FROM steps s JOIN cases c ON c.id = s.case_id " +
                $"WHERE s.system_id = $s AND s.status = {(int)StepStatus.Verified} AND s.action IN ({actions}) AND s.account_id IS NOT NULL ORDER BY s.finished_at, s.id",
                ("$s", systemId));
            using var r = cmd.ExecuteReader();
            var list = new List<Revocation>();
            while (r.Read())
            {
                list.Add(new Revocation(r.GetString(0), SN(r, 1), (ActionKind)r.GetInt32(2), r.GetString(3), r.GetString(4), r.GetString(5), DN(r, 6) ?? DateTimeOffset.MinValue));
            }

            return list;
        }, cancellationToken);

    private const string FindingColumns = "id, kind, system_id, target, account_id, entitlement_id, credential_id, person_id, evidence, first_seen, last_seen, resolved_at, reaction, reaction_ref";

    private static Finding ReadFinding(SqliteDataReader r) => new(
        r.GetString(0), (FindingKind)r.GetInt32(1), r.GetString(2), r.GetString(3), SN(r, 4), SN(r, 5), SN(r, 6), SN(r, 7), r.GetString(8),
        D(r.GetInt64(9)), D(r.GetInt64(10)), DN(r, 11), r.IsDBNull(12) ? null : (FindingReaction)r.GetInt32(12), SN(r, 13));

    public Task<FindingsUpdate> RecordFindingsAsync(string systemId, IReadOnlyList<DetectedFinding> detected, DateTimeOffset now, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            var open = new HashSet<string>(StringComparer.Ordinal);
            using (var cmd = Command(c, tx, "SELECT id FROM findings WHERE system_id = $s AND resolved_at IS NULL", ("$s", systemId)))
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
            using (var touch = Prepared(c, tx, "UPDATE findings SET last_seen = $2, evidence = $3 WHERE id = $1", "$1", "$2", "$3"))
            using (var upsert = Prepared(c, tx,
                $"INSERT INTO findings({FindingColumns}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$10,NULL,NULL,NULL) " +
                "ON CONFLICT(id) DO UPDATE SET first_seen = excluded.first_seen, last_seen = excluded.last_seen, evidence = excluded.evidence, " +
                "person_id = excluded.person_id, resolved_at = NULL, reaction = NULL, reaction_ref = NULL",
                "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10"))
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

            using (var resolve = Prepared(c, tx, "UPDATE findings SET resolved_at = $2 WHERE id = $1", "$1", "$2"))
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

    public Task<IReadOnlyList<Finding>> ListFindingsAsync(FindingQuery query, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Finding>>(c =>
        {
            using var cmd = Command(c, null,
                $"SELECT {FindingColumns} FROM findings WHERE ($k IS NULL OR kind = $k) AND ($s IS NULL OR system_id = $s) AND ($open = 0 OR resolved_at IS NULL) " +
                "ORDER BY first_seen, id LIMIT $l",
                ("$k", query.Kind is { } k ? (int)k : null), ("$s", query.SystemId), ("$open", query.OpenOnly ? 1 : 0), ("$l", query.Limit));
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
            using (var cmd = Prepared(c, tx, "UPDATE findings SET reaction = $2, reaction_ref = $3 WHERE id = $1", "$1", "$2", "$3"))
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

            Exec(c, tx, "INSERT OR REPLACE INTO correlation_links(system_id, external_id, person_id, linked_by, linked_at) VALUES ($s,$x,$p,$by,$at)",
                ("$s", link.SystemId), ("$x", link.AccountExternalId), ("$p", link.PersonId), ("$by", link.LinkedBy), ("$at", T(link.LinkedAt)));

            // The link takes effect now for an account already discovered (the next discovery applies it again).
            var id = $"{link.SystemId}/{link.AccountExternalId}";
            Exec(c, tx, "INSERT INTO access_history(account_id, entitlement_id, system_id, person_id, status, valid_from, valid_to) " +
                "SELECT id, NULL, system_id, person_id, status, since, $at FROM accounts WHERE id = $id AND person_id IS NOT $p", ("$id", id), ("$p", link.PersonId), ("$at", T(link.LinkedAt)));
            Exec(c, tx, "INSERT INTO access_history(account_id, entitlement_id, system_id, person_id, status, valid_from, valid_to) " +
                "SELECT x.account_id, x.entitlement_id, a.system_id, a.person_id, 0, x.since, $at FROM assignments x JOIN accounts a ON a.id = x.account_id " +
                "WHERE a.id = $id AND a.person_id IS NOT $p", ("$id", id), ("$p", link.PersonId), ("$at", T(link.LinkedAt)));
            Exec(c, tx, "UPDATE assignments SET since = $at WHERE account_id = $id AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = $id AND a.person_id IS NOT $p)",
                ("$id", id), ("$p", link.PersonId), ("$at", T(link.LinkedAt)));
            Exec(c, tx, "UPDATE accounts SET since = CASE WHEN person_id IS NOT $p THEN $at ELSE since END, person_id = $p, correlation_rule = $rule WHERE id = $id",
                ("$id", id), ("$p", link.PersonId), ("$at", T(link.LinkedAt)), ("$rule", CorrelationLink.RuleFor(link.LinkedBy)));
            AppendAudit(c, tx, [audit]);
            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<CorrelationLink>> ListLinksAsync(string? systemId, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<CorrelationLink>>(c =>
        {
            using var cmd = Command(c, null, "SELECT system_id, external_id, person_id, linked_by, linked_at FROM correlation_links WHERE $s IS NULL OR system_id = $s ORDER BY system_id, external_id",
                ("$s", systemId));
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
            using var tx = c.BeginTransaction(deferred: true); // current rows and history from one snapshot
            using var cmd = Command(c, tx,
                "SELECT account_id, system_id, entitlement_id, status, valid_from, valid_to FROM access_history " +
                "WHERE person_id = $p AND valid_to > $t AND (valid_from IS NULL OR valid_from <= $t) " +
                "UNION ALL SELECT id, system_id, NULL, status, since, NULL FROM accounts WHERE person_id = $p AND (since IS NULL OR since <= $t) " +
                "UNION ALL SELECT x.account_id, a.system_id, x.entitlement_id, a.status, x.since, NULL FROM assignments x JOIN accounts a ON a.id = x.account_id " +
                "WHERE a.person_id = $p AND (x.since IS NULL OR x.since <= $t) ORDER BY 2, 1, 3",
                ("$p", personId), ("$t", T(at)));
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
                $"(SELECT COUNT(*) FROM accounts a WHERE a.system_id = s.id AND a.status = {(int)AccountStatus.Active}), " +
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

/// <summary>
/// A prepared insert bound by position through the native SQLite API. Microsoft.Data.Sqlite looks every parameter up by
/// name on every execution; for the millions of rows of a first discovery that lookup, not SQLite, was most of the time.
/// Runs on the writer connection inside its transaction.
/// </summary>
internal sealed class BulkInsert : IDisposable
{
    private readonly SQLitePCL.sqlite3_stmt _stmt;
    private readonly SqliteConnection _c;

    public BulkInsert(SqliteConnection c, string sql)
    {
        _c = c;
        Check(SQLitePCL.raw.sqlite3_prepare_v2(c.Handle, sql, out _stmt));
    }

    public void Add(params object?[] values)
    {
        for (var i = 0; i < values.Length; i++)
        {
            var rc = values[i] switch
            {
                null => SQLitePCL.raw.sqlite3_bind_null(_stmt, i + 1),
                string s => SQLitePCL.raw.sqlite3_bind_text(_stmt, i + 1, s),
                int n => SQLitePCL.raw.sqlite3_bind_int64(_stmt, i + 1, n),
                long l => SQLitePCL.raw.sqlite3_bind_int64(_stmt, i + 1, l),
                var other => throw new ArgumentException($"Cannot bind a {other.GetType().Name}.", nameof(values)),
            };
            Check(rc);
        }

        var step = SQLitePCL.raw.sqlite3_step(_stmt);
        SQLitePCL.raw.sqlite3_reset(_stmt);
        if (step != SQLitePCL.raw.SQLITE_DONE)
        {
            Check(step);
        }
    }

    private void Check(int rc)
    {
        if (rc is not (SQLitePCL.raw.SQLITE_OK or SQLitePCL.raw.SQLITE_DONE or SQLitePCL.raw.SQLITE_ROW))
        {
            throw new SqliteException(SQLitePCL.raw.sqlite3_errmsg(_c.Handle).utf8_to_string(), rc);
        }
    }

    public void Dispose() => _stmt.Dispose();
}
