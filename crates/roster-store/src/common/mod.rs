//! What the two backends share: SQL text (with `$N` placeholders, which sqlx's SQLite driver
//! accepts too), conversions at the store boundary, and the store logic itself, written once in
//! [`impl_store!`] and expanded for `SqliteStore` and `PgStore`: `sql` holds the statements,
//! `store` the `Store` implementation, `store_rows` row conversions and bulk writes,
//! `store_people` the people import, `store_history` the access and account history.
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

mod sql;
mod store;
mod store_history;
mod store_people;
mod store_rows;

pub(crate) use sql::*;
pub(crate) use store::impl_store;
pub(crate) use store_history::store_history;
pub(crate) use store_people::store_people;
pub(crate) use store_rows::store_rows;

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
