-- Roster schema, PostgreSQL flavour. Keep in step with migrations/sqlite/0001_init.sql: same
-- tables, columns and indexes; only the column types and backend-only extras differ.
-- Instants are BIGINT epoch microseconds; dates are TEXT YYYY-MM-DD; structured values
-- (people, plans, grants) are JSON TEXT.

-- Every version of every person a source ever listed. The current version has valid_to NULL.
CREATE TABLE person_version (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source TEXT NOT NULL,
    employee_id TEXT NOT NULL,
    email TEXT NOT NULL,
    start_date TEXT,
    end_date TEXT,
    person_json TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT
);
CREATE UNIQUE INDEX person_version_current ON person_version (source, employee_id) WHERE valid_to IS NULL;
CREATE INDEX person_version_valid_to ON person_version (valid_to);
CREATE INDEX person_version_valid_from ON person_version (valid_from);

-- The last import of each source (how many people it listed, for the feed-shrink guard).
CREATE TABLE person_source (
    source TEXT PRIMARY KEY,
    listed BIGINT NOT NULL,
    imported_at BIGINT NOT NULL
);

-- People a source stopped listing, since when.
CREATE TABLE person_absence (
    source TEXT NOT NULL,
    employee_id TEXT NOT NULL,
    since BIGINT NOT NULL,
    PRIMARY KEY (source, employee_id)
);

-- Records rejected by each source's latest import.
CREATE TABLE quarantine (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    source TEXT NOT NULL,
    record_row BIGINT NOT NULL,
    employee_id TEXT,
    email TEXT,
    field TEXT NOT NULL,
    reason TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
CREATE INDEX quarantine_source ON quarantine (source);

CREATE TABLE grant_record (
    id TEXT PRIMARY KEY,
    employee_id TEXT NOT NULL,
    grant_json TEXT NOT NULL
);

-- Plans; ord gives the order plans were saved in (several may share created_at).
CREATE TABLE plan (
    ord BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    system TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    confirmed_by TEXT,
    plan_json TEXT NOT NULL
);
CREATE INDEX plan_system ON plan (system, ord);

-- The apply journal: one row per change of a plan.
CREATE TABLE plan_step (
    plan_id TEXT NOT NULL REFERENCES plan (id),
    step BIGINT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'started', 'done', 'failed')),
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (plan_id, step)
);

-- The hash-chained audit log. Append-only: nothing updates or deletes these rows.
CREATE TABLE audit_event (
    seq BIGINT PRIMARY KEY,
    at_us BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    system TEXT,
    subject TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX audit_event_at ON audit_event (at_us);

-- The chain head, kept apart from the events so that a deleted tail is detected.
CREATE TABLE audit_head (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Accounts in each system over time; the current row of an account has valid_to NULL.
-- holder is 'employee:ID' for accounts linked to a person, 'external:ID' otherwise.
CREATE TABLE account_history (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system TEXT NOT NULL,
    holder TEXT NOT NULL,
    employee_id TEXT,
    email TEXT NOT NULL,
    external_id TEXT,
    display_name TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT,
    reason TEXT NOT NULL,
    event_seq BIGINT
);
CREATE UNIQUE INDEX account_history_current ON account_history (system, holder) WHERE valid_to IS NULL;
CREATE INDEX account_history_holder ON account_history (system, holder, valid_from);

-- Who held which entitlement from when to when, and why. holder_kind 'account' (holder as in
-- account_history) or 'group' (holder = group name, entitlement = a space permission).
-- ent_kind is 'group', 'space' or 'licence'; ent_operation is '' unless ent_kind = 'space'.
CREATE TABLE access_interval (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    system TEXT NOT NULL,
    holder_kind TEXT NOT NULL CHECK (holder_kind IN ('account', 'group')),
    holder TEXT NOT NULL,
    employee_id TEXT,
    email TEXT,
    external_id TEXT,
    ent_kind TEXT NOT NULL,
    ent_target TEXT NOT NULL,
    ent_operation TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_to BIGINT,
    reason TEXT NOT NULL,
    event_seq BIGINT,
    end_event_seq BIGINT
);
CREATE UNIQUE INDEX access_interval_open
    ON access_interval (system, holder_kind, holder, ent_kind, ent_target, ent_operation)
    WHERE valid_to IS NULL;
CREATE INDEX access_interval_from ON access_interval (valid_from);
CREATE INDEX access_interval_target ON access_interval (ent_kind, ent_target);

-- Defence in depth: the audit log is append-only. Verification detects tampering anyway; these
-- triggers make it take a deliberate step (a table owner must disable them first, e.g.
-- `ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only`, as the tamper tests do).
CREATE FUNCTION audit_event_reject_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % is not allowed', TG_OP;
END;
$$;
CREATE TRIGGER audit_event_append_only BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_reject_change();
CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_reject_change();
