namespace Deprov.Store.Postgres;

/// <summary>
/// Versioned schema migrations for PostgreSQL. Append only: a shipped migration is never edited. Version 10 is the whole
/// schema at once, equal to SQLite's after its migration 10: the same tables, columns and integer encodings (INTEGER is
/// bigint, TEXT is text in the "C" collation so keys sort by code point as in SQLite, BLOB is bytea), so a copy between the
/// two stores is a straight table copy. A later change adds the same version number to both lists.
/// </summary>
internal static class PostgresMigrations
{
    public static readonly IReadOnlyList<(int Version, string Sql)> All =
    [
        // 10: SQLite's migrations 1-10 in their final form. users.name is unique case-insensitively (SQLite: COLLATE NOCASE).
        (10, """
            CREATE TABLE people(
              id text COLLATE "C" PRIMARY KEY, email text COLLATE "C" NOT NULL, display_name text COLLATE "C" NOT NULL, manager_id text COLLATE "C",
              department text COLLATE "C" NOT NULL, title text COLLATE "C" NOT NULL, location text COLLATE "C" NOT NULL, worker_type bigint NOT NULL,
              status bigint NOT NULL, start_date text COLLATE "C", end_date text COLLATE "C", time_zone text COLLATE "C" NOT NULL, leaves_at bigint);
            CREATE INDEX people_email ON people(lower(email));
            CREATE INDEX people_leaving ON people(leaves_at) WHERE status = 1;

            CREATE TABLE systems(
              id text COLLATE "C" PRIMARY KEY, display_name text COLLATE "C" NOT NULL, kind text COLLATE "C" NOT NULL, role bigint NOT NULL,
              risk bigint NOT NULL, licence_cost text COLLATE "C" NOT NULL, retention_days bigint NOT NULL);

            CREATE TABLE accounts(
              id text COLLATE "C" PRIMARY KEY, system_id text COLLATE "C" NOT NULL, external_id text COLLATE "C" NOT NULL, user_name text COLLATE "C" NOT NULL,
              email text COLLATE "C", person_id text COLLATE "C", kind bigint NOT NULL, status bigint NOT NULL, last_sign_in bigint,
              correlation_rule text COLLATE "C", since bigint, memberships text COLLATE "C");
            CREATE INDEX accounts_person ON accounts(person_id);

            CREATE TABLE entitlements(
              id text COLLATE "C" PRIMARY KEY, system_id text COLLATE "C" NOT NULL, external_id text COLLATE "C" NOT NULL, name text COLLATE "C" NOT NULL,
              kind bigint NOT NULL, privileged bigint NOT NULL);
            CREATE INDEX entitlements_system ON entitlements(system_id);

            CREATE TABLE devices(
              id text COLLATE "C" PRIMARY KEY, system_id text COLLATE "C" NOT NULL, external_id text COLLATE "C" NOT NULL, serial text COLLATE "C" NOT NULL,
              model text COLLATE "C" NOT NULL, owner_person_id text COLLATE "C", status bigint NOT NULL);
            CREATE INDEX devices_owner ON devices(owner_person_id);

            CREATE TABLE credentials(
              id text COLLATE "C" PRIMARY KEY, system_id text COLLATE "C" NOT NULL, external_id text COLLATE "C" NOT NULL, name text COLLATE "C" NOT NULL,
              kind bigint NOT NULL, owner_person_id text COLLATE "C", status bigint NOT NULL, last_rotated_at bigint);
            CREATE INDEX credentials_owner ON credentials(owner_person_id);
            CREATE TABLE credential_knowers(
              credential_id text COLLATE "C" NOT NULL, person_id text COLLATE "C" NOT NULL, PRIMARY KEY(credential_id, person_id));
            CREATE INDEX credential_knowers_person ON credential_knowers(person_id);

            CREATE TABLE events(
              id text COLLATE "C" PRIMARY KEY, idempotency_key text COLLATE "C" NOT NULL UNIQUE, kind bigint NOT NULL, person_id text COLLATE "C" NOT NULL,
              effective_at bigint NOT NULL, reason bigint NOT NULL, source text COLLATE "C" NOT NULL, received_at bigint NOT NULL,
              new_department text COLLATE "C", new_title text COLLATE "C", hold_system_id text COLLATE "C", note text COLLATE "C",
              parked_reason text COLLATE "C", parked_at bigint, resolution text COLLATE "C", handled_at bigint);
            CREATE INDEX events_unhandled ON events(received_at) WHERE handled_at IS NULL AND parked_reason IS NULL;
            CREATE INDEX events_parked ON events(parked_at) WHERE parked_reason IS NOT NULL AND resolution IS NULL;

            CREATE TABLE cases(
              id text COLLATE "C" PRIMARY KEY, person_id text COLLATE "C" NOT NULL, kind bigint NOT NULL, event_id text COLLATE "C" NOT NULL,
              policy_rule text COLLATE "C" NOT NULL, plan text COLLATE "C" NOT NULL, status bigint NOT NULL, effective_at bigint NOT NULL,
              received_at bigint NOT NULL, created_at bigint NOT NULL, cut_at bigint NOT NULL,
              cut_verified_at bigint, closed_at bigint, status_detail text COLLATE "C");
            CREATE INDEX cases_person ON cases(person_id);
            CREATE UNIQUE INDEX cases_event ON cases(event_id);
            CREATE INDEX cases_status ON cases(status);
            CREATE INDEX cases_verified ON cases(cut_verified_at) WHERE cut_verified_at IS NOT NULL;

            CREATE TABLE steps(
              id text COLLATE "C" PRIMARY KEY, case_id text COLLATE "C" NOT NULL, seq bigint NOT NULL, action bigint NOT NULL,
              category bigint NOT NULL, stage text COLLATE "C" NOT NULL, system_id text COLLATE "C", account_id text COLLATE "C", entitlement_id text COLLATE "C",
              device_id text COLLATE "C", credential_id text COLLATE "C", target text COLLATE "C" NOT NULL, status bigint NOT NULL, due_at bigint NOT NULL,
              ready_at bigint NOT NULL, attempts bigint NOT NULL, started_at bigint, finished_at bigint,
              before text COLLATE "C", after text COLLATE "C", error text COLLATE "C", parameters text COLLATE "C", wait_reason text COLLATE "C",
              blockers bigint NOT NULL, manual bigint NOT NULL, phase bigint NOT NULL,
              dependents bigint NOT NULL DEFAULT -1, rate_limit_waits bigint NOT NULL DEFAULT 0,
              claims bigint NOT NULL DEFAULT 0, recovered_claims bigint NOT NULL DEFAULT 0, pre_read text COLLATE "C",
              pre_read_done bigint NOT NULL DEFAULT 0, applied bigint NOT NULL DEFAULT 0);
            CREATE INDEX steps_case ON steps(case_id);
            CREATE INDEX steps_ready ON steps(ready_at) WHERE status = 1 AND manual = 0;
            CREATE INDEX steps_running ON steps(status) WHERE status = 2;
            CREATE INDEX steps_verified_system ON steps(system_id, action) WHERE status = 3;

            CREATE TABLE step_deps(
              depends_on text COLLATE "C" NOT NULL, step_id text COLLATE "C" NOT NULL, hard bigint NOT NULL,
              PRIMARY KEY(depends_on, step_id));

            CREATE TABLE phase_gates(
              case_id text COLLATE "C" NOT NULL, stage text COLLATE "C" NOT NULL, phase bigint NOT NULL, open bigint NOT NULL, released bigint NOT NULL,
              PRIMARY KEY(case_id, stage, phase));

            CREATE TABLE tasks(
              id text COLLATE "C" PRIMARY KEY, case_id text COLLATE "C", step_id text COLLATE "C", person_id text COLLATE "C", team bigint NOT NULL,
              title text COLLATE "C" NOT NULL, detail text COLLATE "C" NOT NULL, created_at bigint NOT NULL, due_at bigint NOT NULL,
              status bigint NOT NULL, completed_by text COLLATE "C", completed_at bigint, note text COLLATE "C");
            CREATE INDEX tasks_open ON tasks(due_at) WHERE status = 0;
            CREATE INDEX tasks_step ON tasks(step_id);
            CREATE INDEX tasks_person ON tasks(person_id);

            CREATE TABLE legal_holds(
              id text COLLATE "C" PRIMARY KEY, person_id text COLLATE "C" NOT NULL, system_id text COLLATE "C", reason text COLLATE "C" NOT NULL, set_by text COLLATE "C" NOT NULL,
              set_at bigint NOT NULL, released_at bigint);
            CREATE INDEX legal_holds_person ON legal_holds(person_id);

            CREATE TABLE audit(
              seq bigint PRIMARY KEY, at bigint NOT NULL, actor text COLLATE "C" NOT NULL, action text COLLATE "C" NOT NULL, system_id text COLLATE "C",
              target text COLLATE "C", person_id text COLLATE "C", case_id text COLLATE "C", step_id text COLLATE "C", before text COLLATE "C", after text COLLATE "C", outcome text COLLATE "C" NOT NULL,
              detail text COLLATE "C", prev_hash bytea NOT NULL, hash bytea NOT NULL);
            CREATE INDEX audit_person ON audit(person_id) WHERE person_id IS NOT NULL;
            CREATE INDEX audit_case ON audit(case_id) WHERE case_id IS NOT NULL;

            CREATE TABLE access_history(
              account_id text COLLATE "C" NOT NULL, entitlement_id text COLLATE "C", system_id text COLLATE "C" NOT NULL, person_id text COLLATE "C", status bigint NOT NULL,
              valid_from bigint, valid_to bigint NOT NULL);
            CREATE INDEX access_history_person ON access_history(person_id, valid_to);

            CREATE TABLE discovery_state(
              system_id text COLLATE "C" PRIMARY KEY, fingerprint text COLLATE "C", completed_at bigint NOT NULL, accounts bigint NOT NULL,
              memberships bigint NOT NULL, watermark text COLLATE "C", context text COLLATE "C");

            CREATE TABLE findings(
              id text COLLATE "C" PRIMARY KEY, kind bigint NOT NULL, system_id text COLLATE "C" NOT NULL, target text COLLATE "C" NOT NULL, account_id text COLLATE "C",
              entitlement_id text COLLATE "C", credential_id text COLLATE "C", person_id text COLLATE "C", evidence text COLLATE "C" NOT NULL, first_seen bigint NOT NULL,
              last_seen bigint NOT NULL, resolved_at bigint, reaction bigint, reaction_ref text COLLATE "C");
            CREATE INDEX findings_open ON findings(system_id) WHERE resolved_at IS NULL;

            CREATE TABLE correlation_links(
              system_id text COLLATE "C" NOT NULL, external_id text COLLATE "C" NOT NULL, person_id text COLLATE "C" NOT NULL, linked_by text COLLATE "C" NOT NULL,
              linked_at bigint NOT NULL, PRIMARY KEY(system_id, external_id));

            CREATE TABLE users(
              name text COLLATE "C" PRIMARY KEY, role bigint NOT NULL, password_hash text COLLATE "C" NOT NULL,
              created_at bigint NOT NULL, created_by text COLLATE "C" NOT NULL);
            CREATE UNIQUE INDEX users_name_nocase ON users(lower(name));

            CREATE TABLE api_keys(
              id text COLLATE "C" PRIMARY KEY, name text COLLATE "C" NOT NULL, role bigint NOT NULL, hash bytea NOT NULL UNIQUE,
              created_by text COLLATE "C" NOT NULL, created_at bigint NOT NULL, last_used_at bigint, revoked_at bigint);
            """),
        (11, """
            CREATE TABLE hr_source_state(
              source_id text COLLATE "C" PRIMARY KEY, cursor text COLLATE "C", last_run_at bigint, last_success_at bigint, last_full_at bigint,
              last_full_count bigint, last_error text COLLATE "C");
            """),
        (12, """
            ALTER TABLE people ADD COLUMN status_event text COLLATE "C";
            ALTER TABLE people ADD COLUMN prior_status bigint;
            ALTER TABLE people ADD COLUMN prior_leaves_at bigint;
            """),
    ];
}
