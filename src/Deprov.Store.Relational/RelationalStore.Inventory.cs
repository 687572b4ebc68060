using System.Globalization;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using System.Data.Common;

namespace Deprov.Store.Relational;

public abstract partial class RelationalStore
{
    internal const string PersonColumns = "id, email, display_name, manager_id, department, title, location, worker_type, status, start_date, end_date, time_zone";

    // A known person's status is left alone: it follows events (SetPersonStatusesAsync), not HR field updates.
    public Task UpsertPeopleAsync(IReadOnlyList<Person> people, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            using var cmd = Prepared(c, tx,
                $"INSERT INTO people({PersonColumns}) VALUES (@p1,@p2,@p3,@p4,@p5,@p6,@p7,@p8,@p9,@p10,@p11,@p12) " +
                "ON CONFLICT(id) DO UPDATE SET email=excluded.email, display_name=excluded.display_name, manager_id=excluded.manager_id, " +
                "department=excluded.department, title=excluded.title, location=excluded.location, worker_type=excluded.worker_type, " +
                "start_date=excluded.start_date, end_date=excluded.end_date, time_zone=excluded.time_zone",
                "@p1", "@p2", "@p3", "@p4", "@p5", "@p6", "@p7", "@p8", "@p9", "@p10", "@p11", "@p12");
            foreach (var p in people)
            {
                Run(cmd, p.Id, p.Email, p.DisplayName, p.ManagerId, p.Department, p.Title, p.Location, (int)p.WorkerType, (int)p.Status,
                    p.StartDate?.ToString("O", CultureInfo.InvariantCulture), p.EndDate?.ToString("O", CultureInfo.InvariantCulture), p.TimeZone);
            }

            return 0;
        }, cancellationToken);

    internal static Person? GetPerson(DbConnection c, DbTransaction? tx, string personId)
    {
        using var cmd = Command(c, tx, $"SELECT {PersonColumns} FROM people WHERE id = @id", ("@id", personId));
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadPerson(r) : null;
    }

    public Task<IReadOnlyList<Person>> ListPeopleAsync(int limit, int offset, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Person>>(c =>
        {
            using var cmd = Command(c, null, $"SELECT {PersonColumns} FROM people ORDER BY id LIMIT @l OFFSET @o", ("@l", limit), ("@o", offset));
            using var r = cmd.ExecuteReader();
            var list = new List<Person>();
            while (r.Read())
            {
                list.Add(ReadPerson(r));
            }

            return list;
        }, cancellationToken);

    public Task<int> CountPeopleAsync(CancellationToken cancellationToken) =>
        ReadAsync(c => Convert.ToInt32(Scalar(c, null, "SELECT COUNT(*) FROM people"), CultureInfo.InvariantCulture), cancellationToken);

    public Task SetPersonStatusesAsync(IReadOnlyList<PersonStatusChange> changes, DateTimeOffset now, CancellationToken cancellationToken) =>
        changes.Count == 0 ? Task.CompletedTask : WriteAsync((c, tx) =>
        {
            var audit = new List<Core.Audit.AuditEntry>();
            WritePersonStatuses(c, tx, changes, now, audit);
            AppendAudit(c, tx, audit);
            return 0;
        }, cancellationToken);

    /// <summary>Writes <paramref name="changes"/> in the writer's open transaction and adds an audit record to
    /// <paramref name="audit"/> for each person whose status changed (unknown people are skipped).</summary>
    private void WritePersonStatuses(DbConnection c, DbTransaction tx, IEnumerable<PersonStatusChange> changes, DateTimeOffset now, List<Core.Audit.AuditEntry> audit)
    {
        // The status (and leaves_at) an event replaces is kept beside it, so rejecting the case the safety brake held
        // for that event can put it back (DecideBrakedCasesAsync). The same event written again (the process stopped
        // before its case was stored) keeps what the first write replaced. In SET, columns are the row's old values.
        var write = Statement(c, tx,
            $"UPDATE people SET prior_status = CASE WHEN status_event {Sql.IsNotDistinct} ?3 THEN prior_status ELSE status END, " +
            $"prior_leaves_at = CASE WHEN status_event {Sql.IsNotDistinct} ?3 THEN prior_leaves_at ELSE leaves_at END, " +
            "status = ?1, leaves_at = ?2, status_event = ?3 WHERE id = ?4");
        foreach (var change in changes)
        {
            if (Scalar(c, tx, "SELECT status FROM people WHERE id = @id", ("@id", change.PersonId)) is not { } value || value is DBNull)
            {
                continue;
            }

            var before = (PersonStatus)Convert.ToInt32(value, CultureInfo.InvariantCulture);
            write.Run((int)change.Status, T(change.LeavesAt), change.EventId, change.PersonId);
            if (before != change.Status)
            {
                audit.Add(new Core.Audit.AuditEntry(now, "deprov", "person_status_changed", null, change.PersonId, change.PersonId, null, null,
                    before.Snake(), change.Status.Snake(), "ok", change.Why));
            }
        }
    }

    /// <summary>
    /// Puts <paramref name="personId"/> back as they were before <paramref name="eventId"/> set their status, when that
    /// event still decides it (a later event's status stays). Returns the audit record of the change, or null.
    /// </summary>
    private static Core.Audit.AuditEntry? UndoPersonStatus(DbConnection c, DbTransaction tx, string personId, string eventId, string actor, string why, DateTimeOffset now)
    {
        PersonStatus current;
        PersonStatus prior;
        DateTimeOffset? priorLeavesAt;
        using (var cmd = Command(c, tx, "SELECT status, prior_status, prior_leaves_at FROM people WHERE id = @id AND status_event = @e AND prior_status IS NOT NULL",
            ("@id", personId), ("@e", eventId)))
        using (var r = cmd.ExecuteReader())
        {
            if (!r.Read())
            {
                return null;
            }

            current = (PersonStatus)r.GetInt32(0);
            prior = (PersonStatus)r.GetInt32(1);
            priorLeavesAt = r.IsDBNull(2) ? null : D(r.GetInt64(2));
        }

        var restored = PersonLifecycle.At(prior, priorLeavesAt, now);
        Exec(c, tx, "UPDATE people SET status = @s, leaves_at = @at, status_event = NULL, prior_status = NULL, prior_leaves_at = NULL WHERE id = @id",
            ("@s", (int)restored), ("@at", T(priorLeavesAt)), ("@id", personId));
        return new Core.Audit.AuditEntry(now, actor, "person_status_changed", null, personId, personId, null, null, current.Snake(), restored.Snake(), "ok", why);
    }

    public async Task<(int Changed, DateTimeOffset? Next)> ApplyDueLeavesAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        // A read first: the worker asks often, and most times nothing is due (no write transaction then).
        var first = await ReadAsync(c => NextLeave(c, null), cancellationToken);
        if (first is null || first > now)
        {
            return (0, first);
        }

        return await WriteAsync((c, tx) =>
        {
            var due = new List<(string Id, long At)>();
            using (var cmd = Command(c, tx, $"SELECT id, leaves_at FROM people WHERE status = {(int)PersonStatus.Leaving} AND leaves_at <= @now", ("@now", T(now))))
            using (var r = cmd.ExecuteReader())
            {
                while (r.Read())
                {
                    due.Add((r.GetString(0), r.GetInt64(1)));
                }
            }

            var audit = new List<Core.Audit.AuditEntry>();
            foreach (var (id, at) in due)
            {
                var status = PersonLifecycle.At(PersonStatus.Leaving, D(at), now);
                Exec(c, tx, "UPDATE people SET status = @s WHERE id = @id", ("@s", (int)status), ("@id", id));
                audit.Add(new Core.Audit.AuditEntry(now, "deprov", "person_status_changed", null, id, id, null, null,
                    PersonStatus.Leaving.Snake(), status.Snake(), "ok", $"termination effective {D(at):u}"));
            }

            AppendAudit(c, tx, audit);
            return (due.Count, NextLeave(c, tx));
        }, cancellationToken);
    }

    private static DateTimeOffset? NextLeave(DbConnection c, DbTransaction? tx) =>
        Scalar(c, tx, $"SELECT MIN(leaves_at) FROM people WHERE status = {(int)PersonStatus.Leaving}") is long n ? D(n) : null;

    internal static Person ReadPerson(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), SN(r, 3), r.GetString(4), r.GetString(5), r.GetString(6),
        (WorkerType)r.GetInt32(7), (PersonStatus)r.GetInt32(8),
        r.IsDBNull(9) ? null : DateOnly.Parse(r.GetString(9), CultureInfo.InvariantCulture),
        r.IsDBNull(10) ? null : DateOnly.Parse(r.GetString(10), CultureInfo.InvariantCulture),
        r.GetString(11));

    public Task UpsertSystemsAsync(IReadOnlyList<ConnectedSystem> systems, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            foreach (var s in systems)
            {
                Exec(c, tx,
                    "INSERT INTO systems(id, display_name, kind, role, risk, licence_cost, retention_days) VALUES (@id,@n,@k,@r,@risk,@cost,@ret) " +
                    "ON CONFLICT(id) DO UPDATE SET display_name=excluded.display_name, kind=excluded.kind, role=excluded.role, risk=excluded.risk, " +
                    "licence_cost=excluded.licence_cost, retention_days=excluded.retention_days",
                    ("@id", s.Id), ("@n", s.DisplayName), ("@k", s.Kind), ("@r", (int)s.Role), ("@risk", (int)s.Risk),
                    ("@cost", s.LicenceCostPerSeat.ToString(CultureInfo.InvariantCulture)), ("@ret", s.RetentionDays));
            }

            return 0;
        }, cancellationToken);

    public Task<IReadOnlyList<ConnectedSystem>> ListSystemsAsync(CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<ConnectedSystem>>(c =>
        {
            using var cmd = Command(c, null, "SELECT id, display_name, kind, role, risk, licence_cost, retention_days FROM systems ORDER BY id");
            using var r = cmd.ExecuteReader();
            var list = new List<ConnectedSystem>();
            while (r.Read())
            {
                list.Add(new ConnectedSystem(r.GetString(0), r.GetString(1), r.GetString(2), (SystemRole)r.GetInt32(3), (RiskTier)r.GetInt32(4),
                    decimal.Parse(r.GetString(5), CultureInfo.InvariantCulture), r.GetInt32(6)));
            }

            return list;
        }, cancellationToken);

    public Task ReplaceInventoryAsync(string systemId, InventorySnapshot snapshot, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            ApplyInventory(c, tx, systemId, snapshot, at: null); // no moment known: no history, intervals start unknown
            return 0;
        }, cancellationToken);

    // On a pooled read session whose statements stay prepared: the planner reads a batch's maps every round, and
    // preparing the seven set queries again each time cost as much as running them.
    public Task<IReadOnlyList<AccessMap>> GetAccessMapsAsync(IReadOnlyList<string> personIds, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(personIds);
        return OnProfileSession<IReadOnlyList<AccessMap>>(s => s.AccessMaps(personIds), cancellationToken);
    }

    /// <summary>
    /// Reads the access maps of a set of people with seven set queries (<c>person_id IN json_each(@ids)</c>), whatever
    /// the number of people: the planner reads a whole batch of events' maps at once, and seven statements per person
    /// (binding and stepping each) cost more than planning them (docs/performance.md, HR webhooks).
    /// </summary>
    private sealed class AccessMapReader : IDisposable
    {
        /// <summary>People per set query: keeps the in-memory grouping of one read small.</summary>
        public const int MaxPeoplePerRead = 1000;

        

        // A one-person reader binds the id itself: "IN (@ids)" is an index lookup, where going through json_each costs
        // the profile page (one person per request) a sixth of its rate.
        private readonly bool _onePerson;
        private readonly DbCommand _people;
        private readonly DbCommand _accounts;
        private readonly DbCommand _assignments;
        private readonly DbCommand _devices;
        private readonly DbCommand _known;
        private readonly DbCommand _owned;
        private readonly DbCommand _holds;

        /// <param name="onePerson">Statements for a single person (<see cref="Read(string)"/> only), bound to the id itself.</param>
        public AccessMapReader(SqlDialect sql, DbConnection c, DbTransaction? tx, bool onePerson = false)
        {
            _onePerson = onePerson;
            var ids = onePerson ? "(@ids)" : sql.IdList("@ids");
            _people = Prepared(c, tx, $"SELECT {PersonColumns} FROM people WHERE id IN {ids}", "@ids");
            // Each query returns the person's id first and is ordered by it, then as a one-person read orders its rows.
            _accounts = Prepared(c, tx,
                $"SELECT person_id, id, system_id, external_id, user_name, email, kind, status, last_sign_in, correlation_rule FROM accounts WHERE person_id IN {ids} ORDER BY person_id, system_id, id",
                "@ids");
            _assignments = Prepared(c, tx,
                $"SELECT a.person_id, a.id, e.id, {sql.MSource}, {sql.MExpires}, e.system_id, e.external_id, e.name, e.kind, e.privileged " +
                $"FROM accounts a CROSS JOIN {sql.Memberships("a.memberships")} JOIN entitlements e ON e.id = {sql.MEntitlement} WHERE a.person_id IN {ids} ORDER BY a.person_id, a.id, e.name",
                "@ids");
            _devices = Prepared(c, tx,
                $"SELECT owner_person_id, id, system_id, external_id, serial, model, status FROM devices WHERE owner_person_id IN {ids} ORDER BY owner_person_id, id", "@ids");
            _known = Prepared(c, tx, CredentialSql(sql, "k.person_id", "credential_knowers k JOIN credentials c ON c.id = k.credential_id", ids), "@ids");
            _owned = Prepared(c, tx, CredentialSql(sql, "c.owner_person_id", "credentials c", ids), "@ids");
            _holds = Prepared(c, tx,
                $"SELECT person_id, id, system_id, reason, set_by, set_at FROM legal_holds WHERE person_id IN {ids} AND released_at IS NULL ORDER BY person_id, set_at", "@ids");
        }

        private static string CredentialSql(SqlDialect sql, string person, string from, string ids) =>
            $"SELECT {person}, c.id, c.system_id, c.external_id, c.name, c.kind, c.owner_person_id, c.status, c.last_rotated_at, " +
            $"(SELECT {sql.StringAgg("person_id")} FROM credential_knowers k2 WHERE k2.credential_id = c.id) " +
            $"FROM {from} WHERE {person} IN {ids} ORDER BY {person}, c.id";

        public AccessMap? Read(string personId) => Read([personId]) is [var map] ? map : null;

        /// <summary>The maps of the people that exist, in the order of <paramref name="personIds"/>.</summary>
        public List<AccessMap> Read(string[] personIds)
        {
            if (_onePerson && personIds.Length != 1)
            {
                throw new InvalidOperationException("A one-person access-map reader reads one person at a time.");
            }

            var ids = _onePerson ? personIds[0] : System.Text.Json.JsonSerializer.Serialize(personIds);
            var people = new Dictionary<string, Person>(personIds.Length, StringComparer.Ordinal);
            using (var r = Exec(_people, ids))
            {
                while (r.Read())
                {
                    var p = RelationalStore.ReadPerson(r);
                    people[p.Id] = p;
                }
            }

            var maps = new List<AccessMap>(people.Count);
            if (people.Count == 0)
            {
                return maps;
            }

            var accounts = Group(_accounts, ids, _onePerson, r =>
                new Account(r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), SN(r, 5), r.GetString(0), (AccountKind)r.GetInt32(6), (AccountStatus)r.GetInt32(7), DN(r, 8), SN(r, 9)));
            var assignments = accounts.Count == 0 ? new() : Group(_assignments, ids, _onePerson, r =>
                (Assignment: new Assignment(r.GetString(1), r.GetString(2), (GrantSource)r.GetInt32(3), DN(r, 4)),
                 Entitlement: new Entitlement(r.GetString(2), r.GetString(5), r.GetString(6), r.GetString(7), (EntitlementKind)r.GetInt32(8), r.GetInt32(9) == 1)));
            var devices = Group(_devices, ids, _onePerson, r =>
                new Device(r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), r.GetString(5), r.GetString(0), (DeviceStatus)r.GetInt32(6)));
            var known = Group(_known, ids, _onePerson, ReadCredential);
            var owned = Group(_owned, ids, _onePerson, ReadCredential);
            var holds = Group(_holds, ids, _onePerson, r => new LegalHold(r.GetString(1), r.GetString(0), SN(r, 2), r.GetString(3), r.GetString(4), D(r.GetInt64(5))));

            foreach (var id in personIds)
            {
                if (!people.TryGetValue(id, out var person))
                {
                    continue;
                }

                var granted = assignments.GetValueOrDefault(id) ?? [];
                var entitlements = new List<Entitlement>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var (_, e) in granted)
                {
                    if (seen.Add(e.Id))
                    {
                        entitlements.Add(e);
                    }
                }

                maps.Add(new AccessMap(person, accounts.GetValueOrDefault(id) ?? [], entitlements, granted.Select(g => g.Assignment).ToList(),
                    devices.GetValueOrDefault(id) ?? [], known.GetValueOrDefault(id) ?? [], owned.GetValueOrDefault(id) ?? [], holds.GetValueOrDefault(id) ?? []));
            }

            return maps;
        }

        /// <summary>Runs the statements in <paramref name="tx"/> from now on (a reader kept across transactions).</summary>
        public void Use(DbTransaction? tx)
        {
            foreach (var cmd in Commands)
            {
                cmd.Transaction = tx;
            }
        }

        private DbCommand[] Commands => [_people, _accounts, _assignments, _devices, _known, _owned, _holds];

        private static DbDataReader Exec(DbCommand cmd, string value)
        {
            cmd.Parameters[0].Value = value;
            return cmd.ExecuteReader();
        }

        /// <summary>Rows of a query whose first column is the person's id, grouped by it (in row order).</summary>
        /// <param name="onePerson">Every row is <paramref name="ids"/>' (the id itself): the id column is not read for each row.</param>
        private static Dictionary<string, List<T>> Group<T>(DbCommand cmd, string ids, bool onePerson, Func<DbDataReader, T> read)
        {
            var groups = new Dictionary<string, List<T>>(StringComparer.Ordinal);
            using var r = Exec(cmd, ids);
            while (r.Read())
            {
                var personId = onePerson ? ids : r.GetString(0);
                if (!groups.TryGetValue(personId, out var list))
                {
                    groups[personId] = list = [];
                }

                list.Add(read(r));
            }

            return groups;
        }

        private static Credential ReadCredential(DbDataReader r)
        {
            var knowers = r.IsDBNull(9) ? [] : r.GetString(9).Split(',');
            return new Credential(r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), (CredentialKind)r.GetInt32(5), SN(r, 6), knowers, (CredentialStatus)r.GetInt32(7), DN(r, 8));
        }

        public void Dispose()
        {
            foreach (var cmd in Commands)
            {
                cmd.Dispose();
            }
        }
    }
}
