//! The SQL both backends run. Backend-specific statements live in `sqlite.rs` and `postgres.rs`.

pub(crate) const HEAD_UPDATE: &str = "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1";
pub(crate) const HEAD_SELECT: &str = "SELECT seq, hash FROM audit_head WHERE id = 1";
pub(crate) const AUDIT_INSERT: &str =
    "INSERT INTO audit_event (seq, at_us, actor, action, system, subject, prev_hash, hash, body)";
pub(crate) const AUDIT_PAGE: &str = "SELECT seq, at_us, actor, action, system, subject, prev_hash, hash, body \
     FROM audit_event WHERE seq > $1 ORDER BY seq LIMIT $2";
pub(crate) const AUDIT_SINCE: &str = "SELECT seq, at_us, actor, action, system, subject, prev_hash, hash, body \
     FROM audit_event WHERE at_us >= $1 AND seq > $2 ORDER BY seq LIMIT $3";

pub(crate) const PERSON_CURRENT_OF_SOURCE: &str = "SELECT id, employee_id, person_json \
     FROM person_version WHERE source = $1 AND valid_to IS NULL";
pub(crate) const PERSON_INSERT: &str = "INSERT INTO person_version \
     (source, employee_id, email, start_date, end_date, person_json, valid_from, valid_to)";
pub(crate) const PERSON_CLOSE: &str = "UPDATE person_version SET valid_to = $1 WHERE id IN";
pub(crate) const ABSENT_OF_SOURCE: &str =
    "SELECT employee_id FROM person_absence WHERE source = $1";
pub(crate) const ABSENT_INSERT: &str = "INSERT INTO person_absence (source, employee_id, since)";
pub(crate) const ABSENT_DELETE: &str =
    "DELETE FROM person_absence WHERE source = $1 AND employee_id IN";
pub(crate) const SOURCE_LISTED: &str = "SELECT listed FROM person_source WHERE source = $1";
/// Every import moves the generation on (see `store_people`).
pub(crate) const SOURCE_UPSERT: &str = "INSERT INTO person_source \
     (source, listed, imported_at, generation) VALUES ($1, $2, $3, 1) \
     ON CONFLICT (source) DO UPDATE SET listed = excluded.listed, \
     imported_at = excluded.imported_at, generation = person_source.generation + 1";
pub(crate) const SOURCE_GENERATION: &str =
    "SELECT listed, generation FROM person_source WHERE source = $1";
pub(crate) const PEOPLE_CURRENT: &str = "SELECT v.source, v.employee_id, v.person_json, a.since \
     FROM person_version v LEFT JOIN person_absence a \
     ON a.source = v.source AND a.employee_id = v.employee_id WHERE v.valid_to IS NULL";
pub(crate) const PEOPLE_PREVIOUS: &str = "SELECT source, employee_id, person_json, valid_to \
     FROM person_version WHERE valid_to IS NOT NULL AND valid_to > $1";
pub(crate) const PEOPLE_AT: &str = "SELECT source, employee_id, person_json FROM person_version \
     WHERE valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1)";

pub(crate) const QUARANTINE_DELETE: &str = "DELETE FROM quarantine WHERE source = $1";
pub(crate) const QUARANTINE_INSERT: &str = "INSERT INTO quarantine \
     (source, record_row, employee_id, email, field, reason, recorded_at)";
pub(crate) const QUARANTINE_ALL: &str =
    "SELECT source, record_row, employee_id, email, field, reason FROM quarantine";

pub(crate) const GRANT_UPSERT: &str = "INSERT INTO grant_record (id, employee_id, grant_json) \
     VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE \
     SET employee_id = excluded.employee_id, grant_json = excluded.grant_json";
pub(crate) const GRANT_ALL: &str = "SELECT id, grant_json FROM grant_record";

pub(crate) const TASK_OPEN: &str = "INSERT INTO manual_task \
     (system, action_json, description, state, created_us) VALUES ($1, $2, $3, 'open', $4) \
     ON CONFLICT (system, action_json) WHERE state = 'open' DO NOTHING";
pub(crate) const TASK_COLUMNS: &str = "SELECT id, system, action_json, description, state, created_us, done_us, done_by, note FROM manual_task";
pub(crate) const TASK_FIND_OPEN: &str = "SELECT id, system, action_json, description, state, \
     created_us, done_us, done_by, note FROM manual_task \
     WHERE system = $1 AND action_json = $2 AND state = 'open'";
pub(crate) const TASK_BY_ID: &str = "SELECT id, system, action_json, description, state, \
     created_us, done_us, done_by, note FROM manual_task WHERE id = $1";
pub(crate) const TASK_DONE: &str = "UPDATE manual_task SET state = 'done', done_us = $1, \
     done_by = $2, note = $3 WHERE id = $4 AND state = 'open'";

pub(crate) const PLAN_INSERT: &str = "INSERT INTO plan \
     (id, system, status, created_at, confirmed_by, plan_json) VALUES ($1, $2, $3, $4, NULL, $5)";
pub(crate) const STEP_INSERT: &str =
    "INSERT INTO plan_step (plan_id, step, state, attempts, last_error, updated_at)";
pub(crate) const PLAN_BY_ID: &str = "SELECT id, status, created_at, confirmed_by, plan_json \
     FROM plan WHERE id = $1";
pub(crate) const PLAN_LATEST: &str = "SELECT id, status, created_at, confirmed_by, plan_json \
     FROM plan WHERE system = $1 ORDER BY ord DESC LIMIT 1";
pub(crate) const PLAN_SYSTEM: &str = "SELECT system FROM plan WHERE id = $1";
pub(crate) const PLAN_SET_STATUS: &str = "UPDATE plan SET status = $1, \
     confirmed_by = COALESCE($2, confirmed_by) WHERE id = $3";
pub(crate) const STEPS_OF_PLAN: &str = "SELECT step, state, attempts, last_error \
     FROM plan_step WHERE plan_id = $1 ORDER BY step";
pub(crate) const STEP_EXISTS: &str = "SELECT step FROM plan_step WHERE plan_id = $1 AND step = $2";
pub(crate) const STEP_START: &str = "UPDATE plan_step \
     SET state = 'started', attempts = attempts + 1, updated_at = $1 \
     WHERE plan_id = $2 AND step = $3 AND state <> 'done'";
pub(crate) const STEP_DONE: &str = "UPDATE plan_step SET state = 'done', updated_at = $1 \
     WHERE plan_id = $2 AND step = $3 AND state <> 'done'";
pub(crate) const STEP_FAIL: &str = "UPDATE plan_step \
     SET state = 'failed', last_error = $1, updated_at = $2 \
     WHERE plan_id = $3 AND step = $4 AND state <> 'done'";

pub(crate) const INTERVAL_INSERT: &str = "INSERT INTO access_interval \
     (system, holder_kind, holder, employee_id, email, external_id, ent_kind, ent_target, \
     ent_operation, valid_from, valid_to, reason, event_seq, end_event_seq)";
/// An interval opened by a change takes over an open one that was only observed.
pub(crate) const INTERVAL_INSERT_CONFLICT: &str = "ON CONFLICT \
     (system, holder_kind, holder, ent_kind, ent_target, ent_operation) WHERE valid_to IS NULL \
     DO UPDATE SET reason = excluded.reason, event_seq = excluded.event_seq \
     WHERE access_interval.event_seq IS NULL";
pub(crate) const INTERVAL_CLOSE: &str = "UPDATE access_interval \
     SET valid_to = $1, end_event_seq = $2 \
     WHERE system = $3 AND holder_kind = $4 AND holder = $5 AND ent_kind = $6 \
     AND ent_target = $7 AND ent_operation = $8 AND valid_to IS NULL";
pub(crate) const INTERVAL_CLOSE_IDS: &str = "UPDATE access_interval SET valid_to = $1 WHERE id IN";
pub(crate) const INTERVALS_OPEN_OF_SYSTEM: &str = "SELECT id, holder_kind, holder, ent_kind, \
     ent_target, ent_operation, email, external_id FROM access_interval \
     WHERE system = $1 AND valid_to IS NULL";
pub(crate) const INTERVAL_SET_IDENTITY: &str = "UPDATE access_interval \
     SET email = $1, external_id = COALESCE($2, external_id), employee_id = COALESCE($3, employee_id) \
     WHERE id = $4";
/// When an account is linked to a person, its intervals move from `external:ID` to
/// `employee:ID`; one that the person's key already holds open is closed instead.
pub(crate) const INTERVAL_REKEY_CLOSE_DUPLICATES: &str = "UPDATE access_interval \
     SET valid_to = $1 WHERE system = $2 AND holder_kind = 'account' AND holder = $3 \
     AND valid_to IS NULL AND EXISTS (SELECT 1 FROM access_interval b \
     WHERE b.system = access_interval.system AND b.holder_kind = 'account' AND b.holder = $4 \
     AND b.valid_to IS NULL AND b.ent_kind = access_interval.ent_kind \
     AND b.ent_target = access_interval.ent_target \
     AND b.ent_operation = access_interval.ent_operation)";
pub(crate) const INTERVAL_REKEY: &str = "UPDATE access_interval SET holder = $1 \
     WHERE system = $2 AND holder_kind = 'account' AND holder = $3 AND valid_to IS NULL";
pub(crate) const INTERVAL_SET_IDENTITY_OF_HOLDER: &str = "UPDATE access_interval \
     SET email = $1, employee_id = $2, external_id = COALESCE($3, external_id) \
     WHERE system = $4 AND holder_kind = 'account' AND holder = $5 AND valid_to IS NULL";
pub(crate) const ACCESS_ACCOUNTS_AT: &str = "SELECT system, employee_id, email, ent_kind, \
     ent_target, ent_operation, reason, event_seq, valid_from FROM access_interval \
     WHERE holder_kind = 'account' AND valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1) \
     AND ($2 IS NULL OR system = $2) AND ($3 IS NULL OR LOWER(email) = $3) \
     AND ($4 IS NULL OR ent_kind = 'group' OR (ent_kind = 'space' AND ent_target = $4))";
pub(crate) const ACCESS_GROUPS_AT: &str = "SELECT system, holder, ent_target, ent_operation, \
     reason, event_seq, valid_from FROM access_interval \
     WHERE holder_kind = 'group' AND ent_kind = 'space' \
     AND valid_from <= $1 AND (valid_to IS NULL OR valid_to > $1) \
     AND ($2 IS NULL OR system = $2) AND ($3 IS NULL OR ent_target = $3)";

pub(crate) const ACCOUNT_INSERT: &str = "INSERT INTO account_history \
     (system, holder, employee_id, email, external_id, display_name, active, valid_from, \
     valid_to, reason, event_seq)";
pub(crate) const ACCOUNT_CURRENT: &str = "SELECT id, external_id, active FROM account_history \
     WHERE system = $1 AND holder = $2 AND valid_to IS NULL";
pub(crate) const ACCOUNT_CURRENT_OF_SYSTEM: &str = "SELECT id, holder, email, external_id, \
     display_name, active FROM account_history WHERE system = $1 AND valid_to IS NULL";
pub(crate) const ACCOUNT_CLOSE: &str = "UPDATE account_history SET valid_to = $1 WHERE id = $2";
pub(crate) const ACCOUNT_CLOSE_IDS: &str = "UPDATE account_history SET valid_to = $1 WHERE id IN";
pub(crate) const ACCOUNT_SET_EXTERNAL_ID: &str =
    "UPDATE account_history SET external_id = $1 WHERE id = $2";
