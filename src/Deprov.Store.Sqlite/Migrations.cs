namespace Deprov.Store.Sqlite;

/// <summary>Versioned schema migrations. Append only: a shipped migration is never edited.</summary>
internal static class Migrations
{
    public static readonly IReadOnlyList<(int Version, string Sql)> All =
    [
        (1, """
            CREATE TABLE people(
              id TEXT PRIMARY KEY, email TEXT NOT NULL, display_name TEXT NOT NULL, manager_id TEXT,
              department TEXT NOT NULL, title TEXT NOT NULL, location TEXT NOT NULL, worker_type INTEGER NOT NULL,
              status INTEGER NOT NULL, start_date TEXT, end_date TEXT, time_zone TEXT NOT NULL);
            CREATE INDEX people_email ON people(email COLLATE NOCASE);

            CREATE TABLE systems(
              id TEXT PRIMARY KEY, display_name TEXT NOT NULL, kind TEXT NOT NULL, role INTEGER NOT NULL,
              risk INTEGER NOT NULL, licence_cost TEXT NOT NULL, retention_days INTEGER NOT NULL);

            CREATE TABLE accounts(
              id TEXT PRIMARY KEY, system_id TEXT NOT NULL, external_id TEXT NOT NULL, user_name TEXT NOT NULL,
              email TEXT, person_id TEXT, kind INTEGER NOT NULL, status INTEGER NOT NULL, last_sign_in INTEGER,
              correlation_rule TEXT);
            CREATE INDEX accounts_person ON accounts(person_id);
            CREATE INDEX accounts_system ON accounts(system_id);

            CREATE TABLE entitlements(
              id TEXT PRIMARY KEY, system_id TEXT NOT NULL, external_id TEXT NOT NULL, name TEXT NOT NULL,
              kind INTEGER NOT NULL, privileged INTEGER NOT NULL);
            CREATE INDEX entitlements_system ON entitlements(system_id);

            CREATE TABLE assignments(
              account_id TEXT NOT NULL, entitlement_id TEXT NOT NULL, source INTEGER NOT NULL, expires_at INTEGER,
              PRIMARY KEY(account_id, entitlement_id)) WITHOUT ROWID;

            CREATE TABLE devices(
              id TEXT PRIMARY KEY, system_id TEXT NOT NULL, external_id TEXT NOT NULL, serial TEXT NOT NULL,
              model TEXT NOT NULL, owner_person_id TEXT, status INTEGER NOT NULL);
            CREATE INDEX devices_owner ON devices(owner_person_id);

            CREATE TABLE credentials(
              id TEXT PRIMARY KEY, system_id TEXT NOT NULL, external_id TEXT NOT NULL, name TEXT NOT NULL,
              kind INTEGER NOT NULL, owner_person_id TEXT, status INTEGER NOT NULL, last_rotated_at INTEGER);
            CREATE INDEX credentials_owner ON credentials(owner_person_id);
            CREATE TABLE credential_knowers(
              credential_id TEXT NOT NULL, person_id TEXT NOT NULL, PRIMARY KEY(credential_id, person_id)) WITHOUT ROWID;
            CREATE INDEX credential_knowers_person ON credential_knowers(person_id);

            CREATE TABLE events(
              id TEXT PRIMARY KEY, idempotency_key TEXT NOT NULL UNIQUE, kind INTEGER NOT NULL, person_id TEXT NOT NULL,
              effective_at INTEGER NOT NULL, reason INTEGER NOT NULL, source TEXT NOT NULL, received_at INTEGER NOT NULL,
              new_department TEXT, new_title TEXT, hold_system_id TEXT, note TEXT,
              parked_reason TEXT, parked_at INTEGER, resolution TEXT, handled_at INTEGER);
            CREATE INDEX events_unhandled ON events(received_at) WHERE handled_at IS NULL AND parked_reason IS NULL;
            CREATE INDEX events_parked ON events(parked_at) WHERE parked_reason IS NOT NULL AND resolution IS NULL;

            CREATE TABLE cases(
              id TEXT PRIMARY KEY, person_id TEXT NOT NULL, kind INTEGER NOT NULL, event_id TEXT NOT NULL,
              policy_rule TEXT NOT NULL, plan TEXT NOT NULL, status INTEGER NOT NULL, effective_at INTEGER NOT NULL,
              received_at INTEGER NOT NULL, created_at INTEGER NOT NULL, cut_at INTEGER NOT NULL,
              cut_verified_at INTEGER, closed_at INTEGER, status_detail TEXT);
            CREATE INDEX cases_person ON cases(person_id);
            CREATE UNIQUE INDEX cases_event ON cases(event_id);
            CREATE INDEX cases_status ON cases(status);

            CREATE TABLE steps(
              id TEXT PRIMARY KEY, case_id TEXT NOT NULL, seq INTEGER NOT NULL, action INTEGER NOT NULL,
              category INTEGER NOT NULL, stage TEXT NOT NULL, system_id TEXT, account_id TEXT, entitlement_id TEXT,
              device_id TEXT, credential_id TEXT, target TEXT NOT NULL, status INTEGER NOT NULL, due_at INTEGER NOT NULL,
              ready_at INTEGER NOT NULL, attempts INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER,
              before TEXT, after TEXT, error TEXT, parameters TEXT, wait_reason TEXT,
              blockers INTEGER NOT NULL, manual INTEGER NOT NULL, phase INTEGER NOT NULL);
            CREATE INDEX steps_case ON steps(case_id);
            CREATE INDEX steps_ready ON steps(ready_at) WHERE status = 1 AND manual = 0;
            CREATE INDEX steps_running ON steps(status) WHERE status = 2;

            CREATE TABLE step_deps(
              depends_on TEXT NOT NULL, step_id TEXT NOT NULL, hard INTEGER NOT NULL,
              PRIMARY KEY(depends_on, step_id)) WITHOUT ROWID;

            CREATE TABLE tasks(
              id TEXT PRIMARY KEY, case_id TEXT, step_id TEXT, person_id TEXT, team INTEGER NOT NULL,
              title TEXT NOT NULL, detail TEXT NOT NULL, created_at INTEGER NOT NULL, due_at INTEGER NOT NULL,
              status INTEGER NOT NULL, completed_by TEXT, completed_at INTEGER, note TEXT);
            CREATE INDEX tasks_open ON tasks(due_at) WHERE status = 0;
            CREATE INDEX tasks_step ON tasks(step_id);

            CREATE TABLE legal_holds(
              id TEXT PRIMARY KEY, person_id TEXT NOT NULL, system_id TEXT, reason TEXT NOT NULL, set_by TEXT NOT NULL,
              set_at INTEGER NOT NULL, released_at INTEGER);
            CREATE INDEX legal_holds_person ON legal_holds(person_id);

            CREATE TABLE audit(
              seq INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL, system_id TEXT,
              target TEXT, person_id TEXT, case_id TEXT, step_id TEXT, before TEXT, after TEXT, outcome TEXT NOT NULL,
              detail TEXT, prev_hash BLOB NOT NULL, hash BLOB NOT NULL);
            CREATE INDEX audit_person ON audit(person_id) WHERE person_id IS NOT NULL;
            """),
        (2, """
            -- Reconciliation: current access intervals start at accounts.since / assignments.since; closed ones move to
            -- access_history (valid_from NULL = started before anything was recorded).
            ALTER TABLE accounts ADD COLUMN since INTEGER;
            ALTER TABLE assignments ADD COLUMN since INTEGER;
            CREATE TABLE access_history(
              account_id TEXT NOT NULL, entitlement_id TEXT, system_id TEXT NOT NULL, person_id TEXT, status INTEGER NOT NULL,
              valid_from INTEGER, valid_to INTEGER NOT NULL);
            CREATE INDEX access_history_person ON access_history(person_id, valid_to);

            CREATE TABLE discovery_state(
              system_id TEXT PRIMARY KEY, fingerprint TEXT, completed_at INTEGER NOT NULL, accounts INTEGER NOT NULL,
              memberships INTEGER NOT NULL, watermark TEXT, context TEXT);

            CREATE TABLE findings(
              id TEXT PRIMARY KEY, kind INTEGER NOT NULL, system_id TEXT NOT NULL, target TEXT NOT NULL, account_id TEXT,
              entitlement_id TEXT, credential_id TEXT, person_id TEXT, evidence TEXT NOT NULL, first_seen INTEGER NOT NULL,
              last_seen INTEGER NOT NULL, resolved_at INTEGER, reaction INTEGER, reaction_ref TEXT);
            CREATE INDEX findings_open ON findings(system_id) WHERE resolved_at IS NULL;

            CREATE TABLE correlation_links(
              system_id TEXT NOT NULL, external_id TEXT NOT NULL, person_id TEXT NOT NULL, linked_by TEXT NOT NULL,
              linked_at INTEGER NOT NULL, PRIMARY KEY(system_id, external_id)) WITHOUT ROWID;

            CREATE INDEX steps_verified_system ON steps(system_id, action) WHERE status = 3;
            """),

        // 3: console users, API keys, and the indexes the console's pages read by.
        (3, """
            CREATE TABLE users(
              name TEXT PRIMARY KEY COLLATE NOCASE, role INTEGER NOT NULL, password_hash TEXT NOT NULL,
              created_at INTEGER NOT NULL, created_by TEXT NOT NULL);

            CREATE TABLE api_keys(
              id TEXT PRIMARY KEY, name TEXT NOT NULL, role INTEGER NOT NULL, hash BLOB NOT NULL UNIQUE,
              created_by TEXT NOT NULL, created_at INTEGER NOT NULL, last_used_at INTEGER, revoked_at INTEGER);

            CREATE INDEX tasks_person ON tasks(person_id);
            CREATE INDEX cases_verified ON cases(cut_verified_at) WHERE cut_verified_at IS NOT NULL;
            CREATE INDEX audit_case ON audit(case_id) WHERE case_id IS NOT NULL;
            """),
        (4, """
            -- How many steps hard-require this one (-1: not counted, rows planned before this version).
            ALTER TABLE steps ADD COLUMN dependents INTEGER NOT NULL DEFAULT -1;
            """),

        // 5: phase order through one gate per case, stage and phase. A step of phase p > 0 holds one blocker for the whole
        // previous phase, lifted when that phase's last step finishes; before, every finishing step decremented every
        // step of the next phase. Open cases are converted: a gate counts its phase's unfinished steps (terminal statuses:
        // verified 3, unconfirmed 4, failed 5, blocked 7, done manually 8, skipped 9, cancelled 10), and the next phase's
        // blockers trade the per-step count still held (unfinished steps, and blocked ones, which never released it) for
        // the single gate.
        (5, """
            CREATE TABLE phase_gates(
              case_id TEXT NOT NULL, stage TEXT NOT NULL, phase INTEGER NOT NULL, open INTEGER NOT NULL, released INTEGER NOT NULL,
              PRIMARY KEY(case_id, stage, phase)) WITHOUT ROWID;
            INSERT INTO phase_gates(case_id, stage, phase, open, released)
              SELECT case_id, stage, phase, SUM(status NOT IN (3, 4, 5, 7, 8, 9, 10)), SUM(status NOT IN (3, 4, 5, 7, 8, 9, 10)) = 0
              FROM steps WHERE phase >= 0 GROUP BY case_id, stage, phase;
            UPDATE steps SET blockers = steps.blockers - g.unreleased + (g.open > 0)
              FROM (SELECT case_id, stage, phase, SUM(status NOT IN (3, 4, 5, 7, 8, 9, 10)) AS open,
                           SUM(status NOT IN (3, 4, 5, 7, 8, 9, 10) OR status = 7) AS unreleased
                    FROM steps WHERE phase >= 0 GROUP BY case_id, stage, phase) g
              WHERE steps.phase > 0 AND g.case_id = steps.case_id AND g.stage = steps.stage AND g.phase = steps.phase - 1;
            """),

        // 6: an account's memberships live in its own row (see MembershipSet): one row per account instead of one per
        // membership, which was most of a first discovery's time. Memberships of accounts no longer present (never
        // visible: every reader joined accounts) are dropped with the old table.
        (6, """
            ALTER TABLE accounts ADD COLUMN memberships TEXT;
            UPDATE accounts SET memberships = (
              SELECT json_group_array(json_array(x.entitlement_id, x.source, x.expires_at, x.since))
              FROM assignments x WHERE x.account_id = accounts.id)
            WHERE id IN (SELECT account_id FROM assignments);
            DROP TABLE assignments;
            """),

        // 7: an account's id is "<system>/<external id>", so the primary key already orders a system's accounts
        // together: discovery and the licence report find them by a range of it. The separate system index cost every
        // discovered account one more B-tree insert (~0.14 s per 100,000 accounts).
        (7, """
            DROP INDEX IF EXISTS accounts_system;
            """),

        // 8: rate-limited answers a step waited out (429 with Retry-After), counted apart from its attempts and capped
        // by policy.execution.max_rate_limit_waits.
        (8, """
            ALTER TABLE steps ADD COLUMN rate_limit_waits INTEGER NOT NULL DEFAULT 0;
            """),

        // 9: attempts become the calls that reached a connector; the durable retry schedule counts claims, and claims a
        // crash cut short are counted apart. The pre-read (the before-state read before a step's first attempt) is
        // recorded before anything changes, and 'applied' marks a change whose read-back is still owed. Steps claimed
        // before this version keep their claim count as claims.
        (9, """
            ALTER TABLE steps ADD COLUMN claims INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE steps ADD COLUMN recovered_claims INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE steps ADD COLUMN pre_read TEXT;
            ALTER TABLE steps ADD COLUMN pre_read_done INTEGER NOT NULL DEFAULT 0;
            ALTER TABLE steps ADD COLUMN applied INTEGER NOT NULL DEFAULT 0;
            UPDATE steps SET claims = attempts WHERE attempts > 0;
            """),
        // 10: a person's HR status follows events (PersonLifecycle): a leaving person's termination takes effect at
        // leaves_at; the worker's sweep finds those due through the partial index.
        (10, """
            ALTER TABLE people ADD COLUMN leaves_at INTEGER;
            CREATE INDEX people_leaving ON people(leaves_at) WHERE status = 1;
            """),

        // 11: HR sources Deprov pulls from: where the next changed-since listing starts, how the last run went, and the
        // size of the last accepted full listing (a much shorter one is refused as truncated).
        (11, """
            CREATE TABLE hr_source_state(
              source_id TEXT PRIMARY KEY, cursor TEXT, last_run_at INTEGER, last_success_at INTEGER, last_full_at INTEGER,
              last_full_count INTEGER, last_error TEXT) WITHOUT ROWID;
            """),

        // 12: the event that last set a person's status, and the status (and leaves_at) it replaced, so rejecting a case
        // the safety brake held can put the person back as they were before that event.
        (12, """
            ALTER TABLE people ADD COLUMN status_event TEXT;
            ALTER TABLE people ADD COLUMN prior_status INTEGER;
            ALTER TABLE people ADD COLUMN prior_leaves_at INTEGER;
            """),
    ];
}
