using System.Globalization;
using Deprov.Core.Model;
using Deprov.Core.Planning;
using Deprov.Core.Store;
using Microsoft.Data.Sqlite;

namespace Deprov.Store.Sqlite;

public sealed partial class SqliteStore
{
    private const string PersonColumns = "id, email, display_name, manager_id, department, title, location, worker_type, status, start_date, end_date, time_zone";

    public Task UpsertPeopleAsync(IReadOnlyList<Person> people, CancellationToken cancellationToken) =>
        WriteAsync((c, tx) =>
        {
            using var cmd = Prepared(c, tx,
                $"INSERT INTO people({PersonColumns}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12) " +
                "ON CONFLICT(id) DO UPDATE SET email=excluded.email, display_name=excluded.display_name, manager_id=excluded.manager_id, " +
                "department=excluded.department, title=excluded.title, location=excluded.location, worker_type=excluded.worker_type, " +
                "status=excluded.status, start_date=excluded.start_date, end_date=excluded.end_date, time_zone=excluded.time_zone",
                "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12");
            foreach (var p in people)
            {
                Run(cmd, p.Id, p.Email, p.DisplayName, p.ManagerId, p.Department, p.Title, p.Location, (int)p.WorkerType, (int)p.Status,
                    p.StartDate?.ToString("O", CultureInfo.InvariantCulture), p.EndDate?.ToString("O", CultureInfo.InvariantCulture), p.TimeZone);
            }

            return 0;
        }, cancellationToken);

    internal static Person? GetPerson(SqliteConnection c, SqliteTransaction? tx, string personId)
    {
        using var cmd = Command(c, tx, $"SELECT {PersonColumns} FROM people WHERE id = $id", ("$id", personId));
        using var r = cmd.ExecuteReader();
        return r.Read() ? ReadPerson(r) : null;
    }

    public Task<IReadOnlyList<Person>> ListPeopleAsync(int limit, int offset, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<Person>>(c =>
        {
            using var cmd = Command(c, null, $"SELECT {PersonColumns} FROM people ORDER BY id LIMIT $l OFFSET $o", ("$l", limit), ("$o", offset));
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

    private static Person ReadPerson(SqliteDataReader r) => new(
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
                    "INSERT INTO systems(id, display_name, kind, role, risk, licence_cost, retention_days) VALUES ($id,$n,$k,$r,$risk,$cost,$ret) " +
                    "ON CONFLICT(id) DO UPDATE SET display_name=excluded.display_name, kind=excluded.kind, role=excluded.role, risk=excluded.risk, " +
                    "licence_cost=excluded.licence_cost, retention_days=excluded.retention_days",
                    ("$id", s.Id), ("$n", s.DisplayName), ("$k", s.Kind), ("$r", (int)s.Role), ("$risk", (int)s.Risk),
                    ("$cost", s.LicenceCostPerSeat.ToString(CultureInfo.InvariantCulture)), ("$ret", s.RetentionDays));
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

    public Task<IReadOnlyList<AccessMap>> GetAccessMapsAsync(IReadOnlyList<string> personIds, CancellationToken cancellationToken) =>
        ReadAsync<IReadOnlyList<AccessMap>>(c =>
        {
            var maps = new List<AccessMap>(personIds.Count);
            using var tx = c.BeginTransaction(deferred: true); // one consistent snapshot for the whole batch
            using var reader = new AccessMapReader(c, tx);
            foreach (var id in personIds)
            {
                if (reader.Read(id) is { } map)
                {
                    maps.Add(map);
                }
            }

            return maps;
        }, cancellationToken);

    /// <summary>Reads access maps with statements prepared once for a whole batch of people.</summary>
    private sealed class AccessMapReader : IDisposable
    {
        private readonly SqliteCommand _person;
        private readonly SqliteCommand _accounts;
        private readonly SqliteCommand _assignments;
        private readonly SqliteCommand _devices;
        private readonly SqliteCommand _known;
        private readonly SqliteCommand _owned;
        private readonly SqliteCommand _holds;

        public AccessMapReader(SqliteConnection c, SqliteTransaction? tx)
        {
            _person = Prepared(c, tx, $"SELECT {PersonColumns} FROM people WHERE id = $p", "$p");
            _accounts = Prepared(c, tx, "SELECT id, system_id, external_id, user_name, email, person_id, kind, status, last_sign_in, correlation_rule FROM accounts WHERE person_id = $p ORDER BY system_id, id", "$p");
            _assignments = Prepared(c, tx,
                $"SELECT a.id, e.id, {MembershipSet.Source}, {MembershipSet.Expires}, e.system_id, e.external_id, e.name, e.kind, e.privileged " +
                $"FROM accounts a, json_each(a.memberships) j JOIN entitlements e ON e.id = {MembershipSet.Entitlement} WHERE a.person_id = $p ORDER BY a.id, e.name", "$p");
            _devices = Prepared(c, tx, "SELECT id, system_id, external_id, serial, model, owner_person_id, status FROM devices WHERE owner_person_id = $p ORDER BY id", "$p");
            _known = Prepared(c, tx, CredentialSql("SELECT k.credential_id FROM credential_knowers k WHERE k.person_id = $p"), "$p");
            _owned = Prepared(c, tx, CredentialSql("SELECT id FROM credentials WHERE owner_person_id = $p"), "$p");
            _holds = Prepared(c, tx, "SELECT id, person_id, system_id, reason, set_by, set_at FROM legal_holds WHERE person_id = $p AND released_at IS NULL ORDER BY set_at", "$p");
        }

        private static string CredentialSql(string idQuery) =>
            "SELECT c.id, c.system_id, c.external_id, c.name, c.kind, c.owner_person_id, c.status, c.last_rotated_at, " +
            "(SELECT group_concat(person_id, ',') FROM credential_knowers k2 WHERE k2.credential_id = c.id) " +
            $"FROM credentials c WHERE c.id IN ({idQuery}) ORDER BY c.id";

        public Person? ReadPerson(string personId)
        {
            using var r = Exec(_person, personId);
            return r.Read() ? SqliteStore.ReadPerson(r) : null;
        }

        public AccessMap? Read(string personId)
        {
            var person = ReadPerson(personId);
            if (person is null)
            {
                return null;
            }

            var accounts = new List<Account>();
            using (var r = Exec(_accounts, personId))
            {
                while (r.Read())
                {
                    accounts.Add(new Account(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), SN(r, 4), SN(r, 5), (AccountKind)r.GetInt32(6), (AccountStatus)r.GetInt32(7), DN(r, 8), SN(r, 9)));
                }
            }

            var entitlements = new List<Entitlement>();
            var assignments = new List<Assignment>();
            if (accounts.Count > 0)
            {
                using var r = Exec(_assignments, personId);
                var seen = new HashSet<string>(StringComparer.Ordinal);
                while (r.Read())
                {
                    assignments.Add(new Assignment(r.GetString(0), r.GetString(1), (GrantSource)r.GetInt32(2), DN(r, 3)));
                    if (seen.Add(r.GetString(1)))
                    {
                        entitlements.Add(new Entitlement(r.GetString(1), r.GetString(4), r.GetString(5), r.GetString(6), (EntitlementKind)r.GetInt32(7), r.GetInt32(8) == 1));
                    }
                }
            }

            var devices = new List<Device>();
            using (var r = Exec(_devices, personId))
            {
                while (r.Read())
                {
                    devices.Add(new Device(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), r.GetString(4), SN(r, 5), (DeviceStatus)r.GetInt32(6)));
                }
            }

            var holds = new List<LegalHold>();
            using (var r = Exec(_holds, personId))
            {
                while (r.Read())
                {
                    holds.Add(new LegalHold(r.GetString(0), r.GetString(1), SN(r, 2), r.GetString(3), r.GetString(4), D(r.GetInt64(5))));
                }
            }

            return new AccessMap(person, accounts, entitlements, assignments, devices, Credentials(_known, personId), Credentials(_owned, personId), holds);
        }

        /// <summary>Runs the statements in <paramref name="tx"/> from now on (a reader kept across transactions).</summary>
        public void Use(SqliteTransaction? tx)
        {
            _person.Transaction = tx;
            _accounts.Transaction = tx;
            _assignments.Transaction = tx;
            _devices.Transaction = tx;
            _known.Transaction = tx;
            _owned.Transaction = tx;
            _holds.Transaction = tx;
        }

        private static SqliteDataReader Exec(SqliteCommand cmd, string personId)
        {
            cmd.Parameters[0].Value = personId;
            return cmd.ExecuteReader();
        }

        private static List<Credential> Credentials(SqliteCommand cmd, string personId)
        {
            var list = new List<Credential>();
            using var r = Exec(cmd, personId);
            while (r.Read())
            {
                var knowers = r.IsDBNull(8) ? [] : r.GetString(8).Split(',');
                list.Add(new Credential(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), (CredentialKind)r.GetInt32(4), SN(r, 5), knowers, (CredentialStatus)r.GetInt32(6), DN(r, 7)));
            }

            return list;
        }

        public void Dispose()
        {
            _person.Dispose();
            _accounts.Dispose();
            _assignments.Dispose();
            _devices.Dispose();
            _known.Dispose();
            _owned.Dispose();
            _holds.Dispose();
        }
    }
}
