//! What the two backends share: SQL text (with `$N` placeholders, which sqlx's SQLite driver
//! accepts too), conversions at the store boundary, and the store logic itself, written once in
//! [`impl_store!`] and expanded for `SqliteStore` and `PgStore`.
//!
//! Backend-only SQL stays in the backend modules: SQLite's `BEGIN IMMEDIATE` and pragmas,
//! PostgreSQL's `FOR UPDATE` on the audit head and its schema handling.
//!
//! The only SQL built at run time is the placeholder lists of multi-row `INSERT`s and `IN (...)`
//! filters (see [`values_sql`] and [`in_list_sql`]): the text comes from constants here and
//! counts; every value is bound. That is why those call sites wrap the text in `AssertSqlSafe`.

use jiff::Timestamp;
use roster_core::Entitlement;
use roster_core::audit::{GENESIS, Hash};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Result, StoreError};

/// Placeholders per statement for multi-row statements: below SQLite's limit (32,766) and
/// PostgreSQL's (65,535), and large enough that a 20,000-event append is a few statements.
pub(crate) const MAX_PARAMS: usize = 10_000;

/// The reason recorded for access and accounts first seen when reading a target.
pub(crate) const OBSERVED: &str = "observed in target";

/// A bound value of a multi-row statement.
#[derive(Debug, Clone)]
pub(crate) enum Val {
    Text(String),
    OptText(Option<String>),
    Int(i64),
    OptInt(Option<i64>),
    Bool(bool),
}

/// Adds context to sqlx errors: what the store was doing when the database failed.
pub(crate) trait Context<T> {
    fn ctx(self, context: &str) -> Result<T>;
    fn with_ctx(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, sqlx::Error> {
    fn ctx(self, context: &str) -> Result<T> {
        self.map_err(|e| db_error(context.to_string(), &e))
    }
    fn with_ctx(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| db_error(context(), &e))
    }
}

pub(crate) fn db_error(context: String, e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Database {
        context,
        message: e.to_string(),
    }
}

pub(crate) fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub(crate) fn timestamp(us: i64, what: &str) -> Result<Timestamp> {
    Timestamp::from_microsecond(us).map_err(|e| {
        StoreError::Invalid(format!(
            "stored instant of {what} ({us} µs) is out of range: {e}"
        ))
    })
}

pub(crate) fn to_json<T: Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value)
        .map_err(|e| StoreError::Invalid(format!("cannot serialise {what}: {e}")))
}

pub(crate) fn from_json<T: DeserializeOwned>(
    text: &str,
    what: impl FnOnce() -> String,
) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Invalid(format!("stored {} is unreadable: {e}", what())))
}

pub(crate) fn count(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Parses the hex hash stored in `audit_head`.
pub(crate) fn parse_hash(hex_text: &str) -> Result<Hash> {
    let mut out = GENESIS;
    hex::decode_to_slice(hex_text, &mut out).map_err(|e| {
        StoreError::Invalid(format!(
            "the audit chain head holds \"{hex_text}\", which is not a SHA-256 hash: {e}"
        ))
    })?;
    Ok(out)
}

/// How generated statements write placeholders.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Marks {
    /// `$1, $2, ...` (PostgreSQL).
    Numbered,
    /// `?, ?, ...` (SQLite). SQLite keeps numbered and named placeholders in a list it searches
    /// linearly, both when parsing and when sqlx asks each one's name while binding, so a
    /// 10,000-placeholder `INSERT` with `$N` or `?N` spends most of its time there (150 µs a
    /// row measured); anonymous `?` are bound by position in constant time.
    Anonymous,
}

impl Marks {
    fn push(self, sql: &mut String, n: usize) {
        match self {
            Marks::Numbered => {
                sql.push('$');
                sql.push_str(&n.to_string());
            }
            Marks::Anonymous => sql.push('?'),
        }
    }
}

/// `INSERT ... VALUES ($1, $2), ($3, $4) ...` for `rows` rows of `cols` columns, then `suffix`
/// (which must not hold placeholders).
pub(crate) fn values_sql(
    marks: Marks,
    prefix: &str,
    cols: usize,
    rows: usize,
    suffix: &str,
) -> String {
    let mut sql = String::with_capacity(prefix.len() + suffix.len() + rows * cols * 7);
    sql.push_str(prefix);
    sql.push_str(" VALUES ");
    let mut n = 0;
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 0..cols {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            marks.push(&mut sql, n);
        }
        sql.push(')');
    }
    sql.push(' ');
    sql.push_str(suffix);
    sql
}

/// `prefix ($2, $3, ...)` with `n` placeholders in the list. `prefix` holds exactly one
/// placeholder, `$1`, before the list; with [`Marks::Anonymous`] it becomes `?`.
pub(crate) fn in_list_sql(marks: Marks, prefix: &str, n: usize) -> String {
    debug_assert!(prefix.matches('$').count() == 1 && prefix.contains("$1"));
    let mut sql = match marks {
        Marks::Numbered => prefix.to_string(),
        Marks::Anonymous => prefix.replace("$1", "?"),
    };
    sql.push_str(" (");
    for i in 0..n {
        if i > 0 {
            sql.push_str(", ");
        }
        marks.push(&mut sql, i + 2);
    }
    sql.push(')');
    sql
}

/// Which account an access interval or account-history row belongs to: the person when the
/// account is linked to an employee id, the target's own id otherwise.
pub(crate) fn account_holder(
    employee_id: Option<&str>,
    external_id: Option<&str>,
    email: &str,
) -> String {
    match (
        employee_id.filter(|s| !s.is_empty()),
        external_id.filter(|s| !s.is_empty()),
    ) {
        (Some(id), _) => format!("employee:{id}"),
        (None, Some(ext)) => format!("external:{ext}"),
        (None, None) => format!("email:{}", roster_core::person::normalise_email(email)),
    }
}

/// The (kind, target, operation) columns of an entitlement.
pub(crate) fn entitlement_columns(e: &Entitlement) -> (&'static str, String, String) {
    match e {
        Entitlement::Group { group } => ("group", group.clone(), String::new()),
        Entitlement::SpacePermission { space, operation } => {
            ("space", space.clone(), operation.clone())
        }
        Entitlement::Licence { product } => ("licence", product.clone(), String::new()),
    }
}

pub(crate) fn entitlement_from_columns(kind: &str, target: &str, operation: &str) -> Entitlement {
    match kind {
        "group" => Entitlement::group(target),
        "space" => Entitlement::space(target, operation),
        _ => Entitlement::licence(target),
    }
}

// Shared SQL. Backend-specific statements live in `sqlite.rs` and `postgres.rs`.

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
pub(crate) const SOURCE_UPSERT: &str = "INSERT INTO person_source (source, listed, imported_at) \
     VALUES ($1, $2, $3) ON CONFLICT (source) DO UPDATE \
     SET listed = excluded.listed, imported_at = excluded.imported_at";
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

/// Expands to the whole `Store` implementation for one backend.
///
/// The backend type must provide `async fn begin_write(&self) -> Result<Transaction<'static,
/// DB>>` (a transaction that holds the write lock from its start where the backend needs that)
/// `const LOCK_HEAD: &'static str` (the statement that reads the audit head and keeps other
/// appenders out until commit) and `const MARKS: Marks` (how its generated statements write
/// placeholders).
macro_rules! impl_store {
    ($store:ident, $db:ty, $backend:literal) => {
        /// The shared store logic, expanded for this backend (see `common::impl_store!`).
        mod shared {
        use super::$store;
        use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

        use async_trait::async_trait;
        use jiff::Timestamp;
        use roster_core::audit::{NewAuditEvent, StoredAuditEvent, seal};
        use roster_core::intake::Quarantined;
        use roster_core::person::{PreviousVersion, normalise_email};
        use roster_core::plan::{AccountRef, Action, Change, Plan};
        use roster_core::{ActualState, Grant, Person, PersonRecord};
        use sqlx::AssertSqlSafe;

        use $crate::common::{self as c, Context as _, Val};
        use $crate::{
            AccessFilter, AccessRecord, CompletedStep, ImportSummary, PlanStatus, Result,
            StepRecord, StepState, Store, StoreError, StoredPlan,
        };

        type Conn = <$db as sqlx::Database>::Connection;
        type PlanRow = (String, String, i64, Option<String>, String);
        type AuditRow = (i64, i64, String, String, Option<String>, String, String, String, String);
        type OpenIntervalRow = (i64, String, String, String, String, String, Option<String>, Option<String>);
        type AccountRow = (i64, String, String, Option<String>, String, bool);
        type TaskRow = (i64, String, String, String, String, i64, Option<i64>, Option<String>, Option<String>);

        fn task(row: TaskRow) -> Result<$crate::ManualTask> {
            let (id, system, action_json, description, state, created, done, done_by, note) = row;
            Ok($crate::ManualTask {
                id: id as u64,
                action: c::from_json(&action_json, || format!("manual task {id}"))?,
                system,
                description,
                state,
                created_at: c::timestamp(created, "a manual task")?,
                done_at: done.map(|d| c::timestamp(d, "a manual task")).transpose()?,
                done_by,
                note,
            })
        }

        fn bind_vals<'q>(
            mut q: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments>,
            vals: Vec<Val>,
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments> {
            for v in vals {
                q = match v {
                    Val::Text(s) => q.bind(s),
                    Val::OptText(s) => q.bind(s),
                    Val::Int(i) => q.bind(i),
                    Val::OptInt(i) => q.bind(i),
                    Val::Bool(b) => q.bind(b),
                };
            }
            q
        }

        /// Inserts rows with multi-row `INSERT`s, as few statements as the placeholder limit allows.
        async fn insert_rows(
            conn: &mut Conn,
            prefix: &str,
            suffix: &str,
            cols: usize,
            rows: Vec<Vec<Val>>,
            context: &str,
        ) -> Result<()> {
            let per_statement = (c::MAX_PARAMS / cols).max(1);
            let mut rows = rows.into_iter().peekable();
            while rows.peek().is_some() {
                let chunk: Vec<Vec<Val>> = rows.by_ref().take(per_statement).collect();
                let sql = c::values_sql(<$store>::MARKS, prefix, cols, chunk.len(), suffix);
                // Safe: the text is a constant plus generated placeholders; values are bound.
                let q = sqlx::query(AssertSqlSafe(sql));
                bind_vals(q, chunk.into_iter().flatten().collect())
                    .execute(&mut *conn)
                    .await
                    .ctx(context)?;
            }
            Ok(())
        }

        /// Runs `prefix (ids...)` with `first` bound to `$1` in `prefix`, in chunks.
        async fn for_ids<T>(
            conn: &mut Conn,
            prefix: &str,
            first: Val,
            ids: &[T],
            to_val: impl Fn(&T) -> Val,
            context: &str,
        ) -> Result<()> {
            for chunk in ids.chunks(c::MAX_PARAMS - 1) {
                let sql = c::in_list_sql(<$store>::MARKS, prefix, chunk.len());
                let mut vals = vec![first.clone()];
                vals.extend(chunk.iter().map(&to_val));
                // Safe: the text is a constant plus generated placeholders; values are bound.
                bind_vals(sqlx::query(AssertSqlSafe(sql)), vals)
                    .execute(&mut *conn)
                    .await
                    .ctx(context)?;
            }
            Ok(())
        }

        /// Appends events after the current head, in the caller's transaction. Visible to the
        /// backend module so SCIM writes (`scim_impl`) log in their own transaction too.
        pub(super) async fn append_events(conn: &mut Conn, events: &[&NewAuditEvent]) -> Result<Vec<u64>> {
            if events.is_empty() {
                return Ok(Vec::new());
            }
            let (head_seq, head_hash): (i64, String) = sqlx::query_as(<$store>::LOCK_HEAD)
                .fetch_one(&mut *conn)
                .await
                .ctx("reading the audit chain head")?;
            let mut prev = c::parse_hash(&head_hash)?;
            let mut seq = u64::try_from(head_seq).unwrap_or_default();
            let mut seqs = Vec::with_capacity(events.len());
            let mut rows = Vec::with_capacity(events.len());
            for e in events {
                seq += 1;
                let (stored, hash) = seal(seq, &prev, e);
                prev = hash;
                seqs.push(seq);
                rows.push(vec![
                    Val::Int(seq as i64),
                    Val::Int(stored.at_micros),
                    Val::Text(stored.actor),
                    Val::Text(stored.action),
                    Val::OptText(stored.system),
                    Val::Text(stored.subject),
                    Val::Text(stored.prev_hash),
                    Val::Text(stored.hash),
                    Val::Text(stored.body),
                ]);
            }
            insert_rows(conn, c::AUDIT_INSERT, "", 9, rows, "appending audit events").await?;
            sqlx::query(c::HEAD_UPDATE)
                .bind(seq as i64)
                .bind(hex::encode(prev))
                .execute(&mut *conn)
                .await
                .ctx("moving the audit chain head")?;
            Ok(seqs)
        }

        fn audit_rows(rows: Vec<AuditRow>) -> Vec<StoredAuditEvent> {
            rows.into_iter()
                .map(|(seq, at_micros, actor, action, system, subject, prev_hash, hash, body)| StoredAuditEvent {
                    seq: seq as u64,
                    at_micros,
                    actor,
                    action,
                    system,
                    subject,
                    prev_hash,
                    hash,
                    body,
                })
                .collect()
        }

        fn stored_plan(row: PlanRow) -> Result<StoredPlan> {
            let (id, status, created_at, confirmed_by, json) = row;
            let plan: Plan = c::from_json(&json, || format!("plan {id}"))?;
            let status = PlanStatus::parse(&status).ok_or_else(|| {
                StoreError::Invalid(format!("plan {id} has an unknown status \"{status}\""))
            })?;
            Ok(StoredPlan {
                created_at: c::timestamp(created_at, "a plan")?,
                id,
                plan,
                status,
                confirmed_by,
            })
        }

        #[allow(clippy::too_many_arguments)]
        fn interval_row(
            system: &str,
            holder_kind: &str,
            holder: &str,
            identity: Option<(&Option<String>, &str, &Option<String>)>,
            kind: &str,
            target: &str,
            operation: &str,
            since: Timestamp,
            reason: &str,
            event_seq: Option<u64>,
        ) -> Vec<Val> {
            let (employee_id, email, external_id) = match identity {
                Some((e, m, x)) => (e.clone(), Some(m.to_string()), x.clone()),
                None => (None, None, None),
            };
            vec![
                Val::Text(system.to_string()),
                Val::Text(holder_kind.to_string()),
                Val::Text(holder.to_string()),
                Val::OptText(employee_id),
                Val::OptText(email),
                Val::OptText(external_id),
                Val::Text(kind.to_string()),
                Val::Text(target.to_string()),
                Val::Text(operation.to_string()),
                Val::Int(c::micros(since)),
                Val::OptInt(None),
                Val::Text(reason.to_string()),
                Val::OptInt(event_seq.map(|s| s as i64)),
                Val::OptInt(None),
            ]
        }

        #[allow(clippy::too_many_arguments)]
        fn account_row(
            system: &str,
            holder: &str,
            employee_id: Option<String>,
            email: &str,
            external_id: Option<String>,
            display_name: &str,
            active: bool,
            since: Timestamp,
            reason: &str,
            event_seq: Option<u64>,
        ) -> Vec<Val> {
            vec![
                Val::Text(system.to_string()),
                Val::Text(holder.to_string()),
                Val::OptText(employee_id),
                Val::Text(email.to_string()),
                Val::OptText(external_id),
                Val::Text(display_name.to_string()),
                Val::Bool(active),
                Val::Int(c::micros(since)),
                Val::OptInt(None),
                Val::Text(reason.to_string()),
                Val::OptInt(event_seq.map(|s| s as i64)),
            ]
        }

        fn ref_holder(account: &AccountRef) -> String {
            c::account_holder(
                Some(&account.employee_id),
                account.external_id.as_deref(),
                &account.email,
            )
        }

        /// Closes an account's current history row and opens a new one, in state `active`
        /// (or the state it had, when `active` is `None`).
        async fn next_account_version(
            conn: &mut Conn,
            system: &str,
            account: &AccountRef,
            active: Option<bool>,
            at: Timestamp,
            reason: &str,
            seq: u64,
        ) -> Result<()> {
            let holder = ref_holder(account);
            let mut current: Option<(i64, Option<String>, bool)> = sqlx::query_as(c::ACCOUNT_CURRENT)
                .bind(system)
                .bind(&holder)
                .fetch_optional(&mut *conn)
                .await
                .ctx("reading account history")?;
            if current.is_none()
                && let Some(ext) = account.external_id.as_deref()
            {
                // Not yet linked to the person: recorded under the target's id.
                current = sqlx::query_as(c::ACCOUNT_CURRENT)
                    .bind(system)
                    .bind(c::account_holder(None, Some(ext), &account.email))
                    .fetch_optional(&mut *conn)
                    .await
                    .ctx("reading account history")?;
            }
            let mut external_id = account.external_id.clone();
            let mut was_active = true;
            if let Some((id, ext, act)) = current {
                external_id = external_id.or(ext);
                was_active = act;
                sqlx::query(c::ACCOUNT_CLOSE)
                    .bind(c::micros(at))
                    .bind(id)
                    .execute(&mut *conn)
                    .await
                    .ctx("closing account history")?;
            }
            let row = account_row(
                system,
                &holder,
                Some(account.employee_id.clone()),
                &account.email,
                external_id,
                &account.display_name,
                active.unwrap_or(was_active),
                at,
                reason,
                Some(seq),
            );
            insert_rows(conn, c::ACCOUNT_INSERT, "", 11, vec![row], "recording account history").await
        }

        /// Updates the access history for one carried-out change.
        async fn record_change(
            conn: &mut Conn,
            system: &str,
            change: &Change,
            seq: u64,
            at: Timestamp,
        ) -> Result<()> {
            let reason = change.reason.to_string();
            match &change.action {
                Action::CreateGroup { .. } => Ok(()),
                Action::GrantGroupSpacePermission { group, space, operation } => {
                    let row = interval_row(
                        system, "group", group, None, "space", space, operation, at, &reason,
                        Some(seq),
                    );
                    insert_rows(
                        conn,
                        c::INTERVAL_INSERT,
                        c::INTERVAL_INSERT_CONFLICT,
                        14,
                        vec![row],
                        "recording a group's space permission",
                    )
                    .await
                }
                Action::RevokeGroupSpacePermission { group, space, operation } => {
                    close_interval(conn, system, "group", group, "space", space, operation, at, seq)
                        .await
                }
                Action::Add { account, entitlement } => {
                    let (kind, target, operation) = c::entitlement_columns(entitlement);
                    let row = interval_row(
                        system,
                        "account",
                        &ref_holder(account),
                        Some((&Some(account.employee_id.clone()), &account.email, &account.external_id)),
                        kind,
                        &target,
                        &operation,
                        at,
                        &reason,
                        Some(seq),
                    );
                    insert_rows(
                        conn,
                        c::INTERVAL_INSERT,
                        c::INTERVAL_INSERT_CONFLICT,
                        14,
                        vec![row],
                        "recording an entitlement",
                    )
                    .await
                }
                Action::Remove { account, entitlement } => {
                    let (kind, target, operation) = c::entitlement_columns(entitlement);
                    close_interval(
                        conn,
                        system,
                        "account",
                        &ref_holder(account),
                        kind,
                        &target,
                        &operation,
                        at,
                        seq,
                    )
                    .await
                }
                Action::CreateAccount { account, active } => {
                    next_account_version(conn, system, account, Some(*active), at, &reason, seq).await
                }
                Action::UpdateAccount { account } => {
                    let holder = ref_holder(account);
                    if let Some(ext) = account.external_id.as_deref() {
                        let old = c::account_holder(None, Some(ext), &account.email);
                        sqlx::query(c::INTERVAL_REKEY_CLOSE_DUPLICATES)
                            .bind(c::micros(at))
                            .bind(system)
                            .bind(&old)
                            .bind(&holder)
                            .execute(&mut *conn)
                            .await
                            .ctx("linking an account's access history to its person")?;
                        sqlx::query(c::INTERVAL_REKEY)
                            .bind(&holder)
                            .bind(system)
                            .bind(&old)
                            .execute(&mut *conn)
                            .await
                            .ctx("linking an account's access history to its person")?;
                    }
                    sqlx::query(c::INTERVAL_SET_IDENTITY_OF_HOLDER)
                        .bind(&account.email)
                        .bind(&account.employee_id)
                        .bind(&account.external_id)
                        .bind(system)
                        .bind(&holder)
                        .execute(&mut *conn)
                        .await
                        .ctx("updating an account's e-mail in its access history")?;
                    next_account_version(conn, system, account, None, at, &reason, seq).await
                }
                Action::ActivateAccount { account } => {
                    next_account_version(conn, system, account, Some(true), at, &reason, seq).await
                }
                Action::DeactivateAccount { account } => {
                    next_account_version(conn, system, account, Some(false), at, &reason, seq).await
                }
            }
        }

        #[allow(clippy::too_many_arguments)]
        async fn close_interval(
            conn: &mut Conn,
            system: &str,
            holder_kind: &str,
            holder: &str,
            kind: &str,
            target: &str,
            operation: &str,
            at: Timestamp,
            seq: u64,
        ) -> Result<()> {
            sqlx::query(c::INTERVAL_CLOSE)
                .bind(c::micros(at))
                .bind(seq as i64)
                .bind(system)
                .bind(holder_kind)
                .bind(holder)
                .bind(kind)
                .bind(target)
                .bind(operation)
                .execute(&mut *conn)
                .await
                .ctx("closing an access interval")?;
            Ok(())
        }

        #[async_trait]
        impl Store for $store {
            fn backend(&self) -> &'static str {
                $backend
            }

            async fn import_people(
                &self,
                source: &str,
                people: &[Person],
                still_listed: &BTreeSet<String>,
                at: Timestamp,
            ) -> Result<ImportSummary> {
                let context = || format!("importing people from source \"{source}\"");
                let mut seen = HashSet::with_capacity(people.len());
                for p in people {
                    if !seen.insert(p.employee_id.as_str()) {
                        return Err(StoreError::Invalid(format!(
                            "source \"{source}\" lists employee id \"{}\" twice",
                            p.employee_id
                        )));
                    }
                }
                let mut tx = self.begin_write().await?;
                let current: Vec<(i64, String, String)> = sqlx::query_as(c::PERSON_CURRENT_OF_SOURCE)
                    .bind(source)
                    .fetch_all(&mut *tx)
                    .await
                    .with_ctx(context)?;
                let current: HashMap<String, (i64, String)> =
                    current.into_iter().map(|(id, emp, json)| (emp, (id, json))).collect();
                let absent: Vec<(String,)> = sqlx::query_as(c::ABSENT_OF_SOURCE)
                    .bind(source)
                    .fetch_all(&mut *tx)
                    .await
                    .with_ctx(context)?;
                let absent: HashSet<String> = absent.into_iter().map(|(e,)| e).collect();
                let previously_listed: Option<(i64,)> = sqlx::query_as(c::SOURCE_LISTED)
                    .bind(source)
                    .fetch_optional(&mut *tx)
                    .await
                    .with_ctx(context)?;

                let mut summary = ImportSummary {
                    source: source.to_string(),
                    listed: people.len(),
                    previously_listed: previously_listed.map_or(0, |(n,)| n.max(0) as usize),
                    ..ImportSummary::default()
                };
                let mut close = Vec::new();
                let mut insert = Vec::new();
                for p in people {
                    let json = c::to_json(p, "a person")?;
                    match current.get(&p.employee_id) {
                        Some((_, stored)) if *stored == json => summary.unchanged += 1,
                        Some((id, stored)) => {
                            // Compare by value: the stored text may come from an older version
                            // of the Person type.
                            let same = serde_json::from_str::<Person>(stored).is_ok_and(|old| old == *p);
                            if same {
                                summary.unchanged += 1;
                                continue;
                            }
                            summary.changed += 1;
                            close.push(*id);
                            insert.push((p, json));
                        }
                        None => {
                            summary.added += 1;
                            insert.push((p, json));
                        }
                    }
                }
                for_ids(
                    &mut tx,
                    c::PERSON_CLOSE,
                    Val::Int(c::micros(at)),
                    &close,
                    |id| Val::Int(*id),
                    "closing superseded person versions",
                )
                .await?;
                let rows = insert
                    .into_iter()
                    .map(|(p, json)| {
                        vec![
                            Val::Text(source.to_string()),
                            Val::Text(p.employee_id.clone()),
                            Val::Text(p.email.clone()),
                            Val::OptText(p.start_date.map(|d| d.to_string())),
                            Val::OptText(p.end_date.map(|d| d.to_string())),
                            Val::Text(json),
                            Val::Int(c::micros(at)),
                            Val::OptInt(None),
                        ]
                    })
                    .collect();
                insert_rows(&mut tx, c::PERSON_INSERT, "", 8, rows, "recording person versions").await?;

                // Absence: known to the source (listed, or only in quarantined rows) clears the
                // mark; a current person the source no longer has at all gets one.
                let listed: HashSet<&str> = people
                    .iter()
                    .map(|p| p.employee_id.as_str())
                    .chain(still_listed.iter().map(String::as_str))
                    .collect();
                let back: Vec<&String> = absent.iter().filter(|e| listed.contains(e.as_str())).collect();
                for_ids(
                    &mut tx,
                    c::ABSENT_DELETE,
                    Val::Text(source.to_string()),
                    &back,
                    |e| Val::Text((*e).clone()),
                    "clearing absence marks",
                )
                .await?;
                let mut gone: Vec<&String> = current
                    .keys()
                    .filter(|e| !listed.contains(e.as_str()) && !absent.contains(*e))
                    .collect();
                gone.sort();
                summary.newly_absent = gone.len();
                let rows = gone
                    .into_iter()
                    .map(|e| {
                        vec![
                            Val::Text(source.to_string()),
                            Val::Text(e.clone()),
                            Val::Int(c::micros(at)),
                        ]
                    })
                    .collect();
                insert_rows(&mut tx, c::ABSENT_INSERT, "", 3, rows, "marking people absent").await?;
                sqlx::query(c::SOURCE_UPSERT)
                    .bind(source)
                    .bind(people.len() as i64)
                    .bind(c::micros(at))
                    .execute(&mut *tx)
                    .await
                    .with_ctx(context)?;
                tx.commit().await.with_ctx(context)?;
                Ok(summary)
            }

            async fn people(&self, history_since: Timestamp) -> Result<Vec<PersonRecord>> {
                let current: Vec<(String, String, String, Option<i64>)> = sqlx::query_as(c::PEOPLE_CURRENT)
                    .fetch_all(&self.pool)
                    .await
                    .ctx("loading people")?;
                let previous: Vec<(String, String, String, i64)> = sqlx::query_as(c::PEOPLE_PREVIOUS)
                    .bind(c::micros(history_since))
                    .fetch_all(&self.pool)
                    .await
                    .ctx("loading people's earlier versions")?;
                let mut history: HashMap<(String, String), Vec<(i64, PreviousVersion)>> = HashMap::new();
                for (source, emp, json, valid_to) in previous {
                    let person: Person = c::from_json(&json, || format!("version of person {emp}"))?;
                    let superseded_at = c::timestamp(valid_to, "a person version")?;
                    history
                        .entry((source, emp))
                        .or_default()
                        .push((valid_to, PreviousVersion { person, superseded_at }));
                }
                let mut out = Vec::with_capacity(current.len());
                let mut keys = Vec::with_capacity(current.len());
                for (source, emp, json, since) in current {
                    let person: Person = c::from_json(&json, || format!("person {emp}"))?;
                    let mut previous = history.remove(&(source.clone(), emp.clone())).unwrap_or_default();
                    previous.sort_by(|a, b| b.0.cmp(&a.0));
                    let absent_since = since.map(|s| c::timestamp(s, "an absence")).transpose()?;
                    keys.push((emp, source));
                    out.push(PersonRecord {
                        person,
                        previous: previous.into_iter().map(|(_, v)| v).collect(),
                        absent_since,
                    });
                }
                let mut order: Vec<usize> = (0..out.len()).collect();
                order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
                let mut slots: Vec<Option<PersonRecord>> = out.into_iter().map(Some).collect();
                Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
            }

            async fn people_at(&self, at: Timestamp) -> Result<Vec<Person>> {
                let mut rows: Vec<(String, String, String)> = sqlx::query_as(c::PEOPLE_AT)
                    .bind(c::micros(at))
                    .fetch_all(&self.pool)
                    .await
                    .ctx("loading people as they were")?;
                rows.sort_by(|a, b| (&a.1, &a.0).cmp(&(&b.1, &b.0)));
                rows.into_iter()
                    .map(|(_, emp, json)| c::from_json(&json, || format!("version of person {emp}")))
                    .collect()
            }

            async fn replace_quarantine(
                &self,
                source: &str,
                items: &[Quarantined],
                at: Timestamp,
            ) -> Result<()> {
                let mut tx = self.begin_write().await?;
                sqlx::query(c::QUARANTINE_DELETE)
                    .bind(source)
                    .execute(&mut *tx)
                    .await
                    .ctx("clearing the quarantine")?;
                let rows = items
                    .iter()
                    .map(|q| {
                        vec![
                            Val::Text(source.to_string()),
                            Val::Int(q.row as i64),
                            Val::OptText(q.employee_id.clone()),
                            Val::OptText(q.email.clone()),
                            Val::Text(q.field.clone()),
                            Val::Text(q.reason.clone()),
                            Val::Int(c::micros(at)),
                        ]
                    })
                    .collect();
                insert_rows(&mut tx, c::QUARANTINE_INSERT, "", 7, rows, "recording quarantined records").await?;
                tx.commit().await.ctx("recording quarantined records")
            }

            async fn source_listed(&self, source: &str) -> Result<Option<usize>> {
                let row: Option<(i64,)> = sqlx::query_as(c::SOURCE_LISTED)
                    .bind(source)
                    .fetch_optional(&self.pool)
                    .await
                    .ctx("reading the size of the source's last listing")?;
                Ok(row.map(|(n,)| n.max(0) as usize))
            }

            async fn quarantine(&self) -> Result<Vec<Quarantined>> {
                let rows: Vec<(String, i64, Option<String>, Option<String>, String, String)> =
                    sqlx::query_as(c::QUARANTINE_ALL)
                        .fetch_all(&self.pool)
                        .await
                        .ctx("loading the quarantine")?;
                let mut out: Vec<Quarantined> = rows
                    .into_iter()
                    .map(|(source, row, employee_id, email, field, reason)| Quarantined {
                        source,
                        row: row.max(0) as usize,
                        employee_id,
                        email,
                        field,
                        reason,
                    })
                    .collect();
                out.sort_by(|a, b| (&a.source, a.row).cmp(&(&b.source, b.row)));
                Ok(out)
            }

            async fn put_grant(&self, grant: &Grant) -> Result<()> {
                sqlx::query(c::GRANT_UPSERT)
                    .bind(&grant.id)
                    .bind(&grant.employee_id)
                    .bind(c::to_json(grant, "a grant")?)
                    .execute(&self.pool)
                    .await
                    .with_ctx(|| format!("saving grant {}", grant.id))?;
                Ok(())
            }

            async fn grants(&self) -> Result<Vec<Grant>> {
                let mut rows: Vec<(String, String)> = sqlx::query_as(c::GRANT_ALL)
                    .fetch_all(&self.pool)
                    .await
                    .ctx("loading grants")?;
                rows.sort();
                rows.into_iter()
                    .map(|(id, json)| c::from_json(&json, || format!("grant {id}")))
                    .collect()
            }

            async fn save_plan(&self, plan: &Plan, status: PlanStatus) -> Result<String> {
                let id = uuid::Uuid::now_v7().to_string();
                let context = || format!("saving plan {id} for {}", plan.system);
                let created = c::micros(plan.computed_at);
                let mut tx = self.begin_write().await?;
                sqlx::query(c::PLAN_INSERT)
                    .bind(&id)
                    .bind(&plan.system)
                    .bind(status.as_str())
                    .bind(created)
                    .bind(c::to_json(plan, "a plan")?)
                    .execute(&mut *tx)
                    .await
                    .with_ctx(context)?;
                let rows = (0..plan.changes.len())
                    .map(|step| {
                        vec![
                            Val::Text(id.clone()),
                            Val::Int(step as i64),
                            Val::Text(StepState::Pending.as_str().to_string()),
                            Val::Int(0),
                            Val::OptText(None),
                            Val::Int(created),
                        ]
                    })
                    .collect();
                insert_rows(&mut tx, c::STEP_INSERT, "", 6, rows, "creating the apply journal").await?;
                tx.commit().await.with_ctx(context)?;
                Ok(id)
            }

            async fn plan(&self, id: &str) -> Result<StoredPlan> {
                let row: Option<PlanRow> = sqlx::query_as(c::PLAN_BY_ID)
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await
                    .with_ctx(|| format!("loading plan {id}"))?;
                stored_plan(row.ok_or_else(|| StoreError::NotFound(format!("plan {id}")))?)
            }

            async fn latest_plan(&self, system: &str) -> Result<Option<StoredPlan>> {
                let row: Option<PlanRow> = sqlx::query_as(c::PLAN_LATEST)
                    .bind(system)
                    .fetch_optional(&self.pool)
                    .await
                    .with_ctx(|| format!("loading the latest plan for {system}"))?;
                row.map(stored_plan).transpose()
            }

            async fn set_plan_status(&self, id: &str, status: PlanStatus, by: Option<&str>) -> Result<()> {
                let done = sqlx::query(c::PLAN_SET_STATUS)
                    .bind(status.as_str())
                    .bind(by)
                    .bind(id)
                    .execute(&self.pool)
                    .await
                    .with_ctx(|| format!("setting the status of plan {id}"))?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound(format!("plan {id}")));
                }
                Ok(())
            }

            async fn steps(&self, plan_id: &str) -> Result<Vec<StepRecord>> {
                let rows: Vec<(i64, String, i64, Option<String>)> = sqlx::query_as(c::STEPS_OF_PLAN)
                    .bind(plan_id)
                    .fetch_all(&self.pool)
                    .await
                    .with_ctx(|| format!("loading the journal of plan {plan_id}"))?;
                if rows.is_empty() {
                    // Tell an empty plan from an unknown one.
                    self.plan(plan_id).await?;
                }
                rows.into_iter()
                    .map(|(step, state, attempts, last_error)| {
                        Ok(StepRecord {
                            step: c::count(step.max(0) as u64),
                            state: StepState::parse(&state).ok_or_else(|| {
                                StoreError::Invalid(format!(
                                    "step {step} of plan {plan_id} has an unknown state \"{state}\""
                                ))
                            })?,
                            attempts: c::count(attempts.max(0) as u64),
                            last_error,
                        })
                    })
                    .collect()
            }

            async fn mark_steps_started(&self, plan_id: &str, steps: &[u32], at: Timestamp) -> Result<()> {
                let context = || format!("journaling steps of plan {plan_id} as started");
                let mut tx = self.begin_write().await?;
                for &step in steps {
                    sqlx::query(c::STEP_START)
                        .bind(c::micros(at))
                        .bind(plan_id)
                        .bind(i64::from(step))
                        .execute(&mut *tx)
                        .await
                        .with_ctx(context)?;
                }
                tx.commit().await.with_ctx(context)
            }

            async fn complete_steps(
                &self,
                plan_id: &str,
                steps: &[CompletedStep],
                at: Timestamp,
            ) -> Result<Vec<u64>> {
                if steps.is_empty() {
                    return Ok(Vec::new());
                }
                let context = || format!("journaling steps of plan {plan_id} as done");
                let mut tx = self.begin_write().await?;
                let system: Option<(String,)> = sqlx::query_as(c::PLAN_SYSTEM)
                    .bind(plan_id)
                    .fetch_optional(&mut *tx)
                    .await
                    .with_ctx(context)?;
                let (system,) = system.ok_or_else(|| StoreError::NotFound(format!("plan {plan_id}")))?;
                let mut todo = Vec::with_capacity(steps.len());
                for s in steps {
                    let marked = sqlx::query(c::STEP_DONE)
                        .bind(c::micros(at))
                        .bind(plan_id)
                        .bind(i64::from(s.step))
                        .execute(&mut *tx)
                        .await
                        .with_ctx(context)?;
                    if marked.rows_affected() == 1 {
                        todo.push(s);
                        continue;
                    }
                    // Already done (a replay), or no such step.
                    let exists: Option<(i64,)> = sqlx::query_as(c::STEP_EXISTS)
                        .bind(plan_id)
                        .bind(i64::from(s.step))
                        .fetch_optional(&mut *tx)
                        .await
                        .with_ctx(context)?;
                    if exists.is_none() {
                        return Err(StoreError::NotFound(format!("step {} of plan {plan_id}", s.step)));
                    }
                }
                let events: Vec<&NewAuditEvent> = todo.iter().map(|s| &s.event).collect();
                let seqs = append_events(&mut tx, &events).await?;
                for (s, &seq) in todo.iter().zip(&seqs) {
                    record_change(&mut tx, &system, &s.change, seq, s.event.at).await?;
                }
                tx.commit().await.with_ctx(context)?;
                Ok(seqs)
            }

            async fn fail_step(&self, plan_id: &str, step: u32, error: &str, at: Timestamp) -> Result<()> {
                sqlx::query(c::STEP_FAIL)
                    .bind(error)
                    .bind(c::micros(at))
                    .bind(plan_id)
                    .bind(i64::from(step))
                    .execute(&self.pool)
                    .await
                    .with_ctx(|| format!("journaling step {step} of plan {plan_id} as failed"))?;
                Ok(())
            }

            async fn append_audit(&self, events: &[NewAuditEvent]) -> Result<Vec<u64>> {
                if events.is_empty() {
                    return Ok(Vec::new());
                }
                let mut tx = self.begin_write().await?;
                let events: Vec<&NewAuditEvent> = events.iter().collect();
                let seqs = append_events(&mut tx, &events).await?;
                tx.commit().await.ctx("appending audit events")?;
                Ok(seqs)
            }

            async fn audit_page(&self, after: u64, limit: u32) -> Result<Vec<StoredAuditEvent>> {
                let rows: Vec<AuditRow> = sqlx::query_as(c::AUDIT_PAGE)
                    .bind(i64::try_from(after).unwrap_or(i64::MAX))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .ctx("reading the audit log")?;
                Ok(audit_rows(rows))
            }

            async fn audit_since(&self, since: Timestamp, after: u64, limit: u32) -> Result<Vec<StoredAuditEvent>> {
                let rows: Vec<AuditRow> = sqlx::query_as(c::AUDIT_SINCE)
                    .bind(c::micros(since))
                    .bind(i64::try_from(after).unwrap_or(i64::MAX))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await
                    .ctx("reading the audit log")?;
                Ok(audit_rows(rows))
            }

            async fn audit_head(&self) -> Result<Option<(u64, String)>> {
                let row: Option<(i64, String)> = sqlx::query_as(c::HEAD_SELECT)
                    .fetch_optional(&self.pool)
                    .await
                    .ctx("reading the audit chain head")?;
                Ok(row.filter(|(seq, _)| *seq > 0).map(|(seq, hash)| (seq as u64, hash)))
            }

            async fn open_manual_task(
                &self,
                system: &str,
                action: &Action,
                description: &str,
                at: Timestamp,
            ) -> Result<($crate::ManualTask, bool)> {
                let json = c::to_json(action, "an action")?;
                let context = || format!("opening a manual task in {system}");
                let inserted = sqlx::query(c::TASK_OPEN)
                    .bind(system)
                    .bind(&json)
                    .bind(description)
                    .bind(c::micros(at))
                    .execute(&self.pool)
                    .await
                    .with_ctx(context)?;
                let row: TaskRow = sqlx::query_as(c::TASK_FIND_OPEN)
                    .bind(system)
                    .bind(&json)
                    .fetch_one(&self.pool)
                    .await
                    .with_ctx(context)?;
                Ok((task(row)?, inserted.rows_affected() == 1))
            }

            async fn manual_tasks(&self, system: Option<&str>, open_only: bool) -> Result<Vec<$crate::ManualTask>> {
                let rows: Vec<TaskRow> = sqlx::query_as(AssertSqlSafe(format!(
                    "{} WHERE ($1 IS NULL OR system = $1) AND ($2 = 0 OR state = 'open') ORDER BY id",
                    c::TASK_COLUMNS
                )))
                .bind(system)
                .bind(i64::from(open_only))
                .fetch_all(&self.pool)
                .await
                .ctx("loading manual tasks")?;
                rows.into_iter().map(task).collect()
            }

            async fn complete_manual_task(
                &self,
                id: u64,
                by: &str,
                note: Option<&str>,
                at: Timestamp,
            ) -> Result<$crate::ManualTask> {
                let context = || format!("marking manual task {id} done");
                let mut tx = self.begin_write().await?;
                let done = sqlx::query(c::TASK_DONE)
                    .bind(c::micros(at))
                    .bind(by)
                    .bind(note)
                    .bind(id as i64)
                    .execute(&mut *tx)
                    .await
                    .with_ctx(context)?;
                let row: Option<TaskRow> = sqlx::query_as(c::TASK_BY_ID)
                    .bind(id as i64)
                    .fetch_optional(&mut *tx)
                    .await
                    .with_ctx(context)?;
                let row = row.ok_or_else(|| StoreError::NotFound(format!("manual task {id}")))?;
                let t = task(row)?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::Invalid(format!(
                        "manual task {id} is already done (by {})",
                        t.done_by.as_deref().unwrap_or("someone")
                    )));
                }
                let event = NewAuditEvent {
                    at,
                    actor: by.to_string(),
                    action: "manual task done".into(),
                    system: Some(t.system.clone()),
                    subject: format!("task:{id}"),
                    detail: serde_json::json!({
                        "task_id": id,
                        "description": t.description,
                        "action": t.action,
                        "note": note,
                    }),
                };
                append_events(&mut tx, &[&event]).await?;
                tx.commit().await.with_ctx(context)?;
                Ok(t)
            }

            async fn record_observation(
                &self,
                system: &str,
                state: &ActualState,
                at: Timestamp,
            ) -> Result<()> {
                let context = || format!("recording what {system} holds");
                let mut tx = self.begin_write().await?;
                let open: Vec<OpenIntervalRow> = sqlx::query_as(c::INTERVALS_OPEN_OF_SYSTEM)
                    .bind(system)
                    .fetch_all(&mut *tx)
                    .await
                    .with_ctx(context)?;
                // (holder_kind, holder, kind, target, operation) -> (id, email, external id)
                let mut open: HashMap<(String, String, String, String, String), (i64, Option<String>, Option<String>)> = open
                    .into_iter()
                    .map(|(id, hk, h, k, t, o, email, ext)| ((hk, h, k, t, o), (id, email, ext)))
                    .collect();

                let mut to_open = Vec::new();
                let mut seen: HashSet<(String, String, String, String, String)> = HashSet::new();
                let mut accounts_seen: BTreeMap<String, &roster_core::Account> = BTreeMap::new();
                for a in &state.accounts {
                    let holder = c::account_holder(a.employee_id.as_deref(), Some(&a.external_id), &a.email);
                    if accounts_seen.contains_key(&holder) {
                        continue; // Two accounts claim one person: the first one read counts.
                    }
                    accounts_seen.insert(holder.clone(), a);
                    for e in &a.entitlements {
                        let (kind, target, operation) = c::entitlement_columns(e);
                        let key = ("account".to_string(), holder.clone(), kind.to_string(), target, operation);
                        if !seen.insert(key.clone()) {
                            continue;
                        }
                        match open.remove(&key) {
                            Some((id, email, ext)) => {
                                if email.as_deref() != Some(a.email.as_str()) || ext.is_none() {
                                    sqlx::query(c::INTERVAL_SET_IDENTITY)
                                        .bind(&a.email)
                                        .bind(&a.external_id)
                                        .bind(&a.employee_id)
                                        .bind(id)
                                        .execute(&mut *tx)
                                        .await
                                        .with_ctx(context)?;
                                }
                            }
                            None => to_open.push(interval_row(
                                system,
                                "account",
                                &holder,
                                Some((&a.employee_id, &a.email, &Some(a.external_id.clone()))),
                                &key.2,
                                &key.3,
                                &key.4,
                                at,
                                c::OBSERVED,
                                None,
                            )),
                        }
                    }
                }
                for p in &state.group_space_permissions {
                    let key = (
                        "group".to_string(),
                        p.group.clone(),
                        "space".to_string(),
                        p.space.clone(),
                        p.operation.clone(),
                    );
                    if !seen.insert(key.clone()) || open.remove(&key).is_some() {
                        continue;
                    }
                    to_open.push(interval_row(
                        system, "group", &p.group, None, "space", &p.space, &p.operation, at,
                        c::OBSERVED, None,
                    ));
                }
                // Whatever is still in `open` was not seen: the target no longer holds it.
                let mut gone: Vec<i64> = open.into_values().map(|(id, _, _)| id).collect();
                gone.sort_unstable();
                for_ids(&mut tx, c::INTERVAL_CLOSE_IDS, Val::Int(c::micros(at)), &gone, |id| Val::Int(*id), "closing access no longer held").await?;
                insert_rows(&mut tx, c::INTERVAL_INSERT, c::INTERVAL_INSERT_CONFLICT, 14, to_open, "recording observed access").await?;

                // Accounts: their e-mail, name and active flag over time.
                let current: Vec<AccountRow> = sqlx::query_as(c::ACCOUNT_CURRENT_OF_SYSTEM)
                    .bind(system)
                    .fetch_all(&mut *tx)
                    .await
                    .with_ctx(context)?;
                let mut current: HashMap<String, AccountRow> =
                    current.into_iter().map(|r| (r.1.clone(), r)).collect();
                let mut close = Vec::new();
                let mut rows = Vec::new();
                for (holder, a) in &accounts_seen {
                    match current.remove(holder) {
                        Some((id, _, email, ext, name, active))
                            if email == a.email && name == a.display_name && active == a.active =>
                        {
                            if ext.as_deref() != Some(a.external_id.as_str()) {
                                sqlx::query(c::ACCOUNT_SET_EXTERNAL_ID)
                                    .bind(&a.external_id)
                                    .bind(id)
                                    .execute(&mut *tx)
                                    .await
                                    .with_ctx(context)?;
                            }
                            continue;
                        }
                        Some((id, ..)) => close.push(id),
                        None => {}
                    }
                    rows.push(account_row(
                        system,
                        holder,
                        a.employee_id.clone(),
                        &a.email,
                        Some(a.external_id.clone()),
                        &a.display_name,
                        a.active,
                        at,
                        c::OBSERVED,
                        None,
                    ));
                }
                close.extend(current.into_values().map(|r| r.0));
                close.sort_unstable();
                for_ids(&mut tx, c::ACCOUNT_CLOSE_IDS, Val::Int(c::micros(at)), &close, |id| Val::Int(*id), "closing account history").await?;
                insert_rows(&mut tx, c::ACCOUNT_INSERT, "", 11, rows, "recording observed accounts").await?;
                tx.commit().await.with_ctx(context)
            }

            async fn access_at(&self, at: Timestamp, filter: &AccessFilter) -> Result<Vec<AccessRecord>> {
                let email = filter.email.as_deref().map(normalise_email);
                let accounts: Vec<(String, Option<String>, Option<String>, String, String, String, String, Option<i64>, i64)> =
                    sqlx::query_as(c::ACCESS_ACCOUNTS_AT)
                        .bind(c::micros(at))
                        .bind(filter.system.as_deref())
                        .bind(email.as_deref())
                        .bind(filter.space.as_deref())
                        .fetch_all(&self.pool)
                        .await
                        .ctx("reading who held what")?;
                let groups: Vec<(String, String, String, String, String, Option<i64>, i64)> =
                    sqlx::query_as(c::ACCESS_GROUPS_AT)
                        .bind(c::micros(at))
                        .bind(filter.system.as_deref())
                        .bind(filter.space.as_deref())
                        .fetch_all(&self.pool)
                        .await
                        .ctx("reading which groups held space permissions")?;
                // (system, group) -> the space permissions it held.
                let mut by_group: HashMap<(&str, &str), Vec<&(String, String, String, String, String, Option<i64>, i64)>> =
                    HashMap::new();
                for g in &groups {
                    by_group.entry((g.0.as_str(), g.1.as_str())).or_default().push(g);
                }
                let mut out = Vec::new();
                for (system, employee_id, email, kind, target, operation, reason, seq, from) in &accounts {
                    let email = email.clone().unwrap_or_default();
                    if kind == "group"
                        && let Some(perms) = by_group.get(&(system.as_str(), target.as_str()))
                    {
                        for (_, group, space, op, _, perm_seq, perm_from) in perms.iter().map(|p| &**p) {
                            out.push(AccessRecord {
                                system: system.clone(),
                                email: email.clone(),
                                employee_id: employee_id.clone(),
                                entitlement: roster_core::Entitlement::space(space, op).to_string(),
                                via: format!("group {group}"),
                                reason: reason.clone(),
                                audit_events: seq.iter().chain(perm_seq.iter()).map(|s| *s as u64).collect(),
                                since: c::timestamp((*from).max(*perm_from), "an access interval")?,
                            });
                        }
                    }
                    if filter.space.is_some() && kind != "space" {
                        continue;
                    }
                    out.push(AccessRecord {
                        system: system.clone(),
                        email,
                        employee_id: employee_id.clone(),
                        entitlement: c::entitlement_from_columns(kind, target, operation).to_string(),
                        via: "direct".to_string(),
                        reason: reason.clone(),
                        audit_events: seq.iter().map(|s| *s as u64).collect(),
                        since: c::timestamp(*from, "an access interval")?,
                    });
                }
                out.sort_by(|a, b| {
                    (&a.system, &a.email, &a.entitlement, &a.via).cmp(&(&b.system, &b.email, &b.entitlement, &b.via))
                });
                Ok(out)
            }
        }
        }
    };
}

pub(crate) use impl_store;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_across_rows() {
        assert_eq!(
            values_sql(
                Marks::Numbered,
                "INSERT INTO t (a, b)",
                2,
                2,
                "ON CONFLICT DO NOTHING"
            ),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4) ON CONFLICT DO NOTHING"
        );
        assert_eq!(
            values_sql(Marks::Anonymous, "INSERT INTO t (a, b)", 2, 2, ""),
            "INSERT INTO t (a, b) VALUES (?, ?), (?, ?) "
        );
        assert_eq!(
            in_list_sql(Marks::Numbered, "DELETE FROM t WHERE k = $1 AND id IN", 3),
            "DELETE FROM t WHERE k = $1 AND id IN ($2, $3, $4)"
        );
        assert_eq!(
            in_list_sql(Marks::Anonymous, "DELETE FROM t WHERE k = $1 AND id IN", 2),
            "DELETE FROM t WHERE k = ? AND id IN (?, ?)"
        );
    }

    #[test]
    fn head_hash_round_trips() {
        let h = roster_core::audit::chain_hash(&GENESIS, "x");
        assert_eq!(parse_hash(&hex::encode(h)).unwrap(), h);
        assert!(parse_hash("zz").is_err());
    }

    #[test]
    fn migration_trees_have_the_same_files() {
        let names = |dir: &str| {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(dir);
            let mut names: Vec<String> = std::fs::read_dir(&path)
                .unwrap_or_else(|e| panic!("cannot list {}: {e}", path.display()))
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let sqlite = names("sqlite");
        assert!(!sqlite.is_empty());
        assert_eq!(
            sqlite,
            names("postgres"),
            "migrations/sqlite and migrations/postgres differ"
        );
    }
}
