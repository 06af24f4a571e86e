//! [`crate::ScimStore`] for both backends, written once in [`impl_scim_store!`] like the rest
//! of the store (see `common::impl_store!`). What differs between the backends is the SQL
//! dialect of generated statements ([`crate::scim_sql::Dialect`]) and how the JSON document
//! column is written and read (TEXT on SQLite, JSONB on PostgreSQL).

use jiff::Timestamp;
use roster_scim::schema::ResourceType;

mod anchors;
mod list;
mod store;

pub(crate) use anchors::{Anchor, PageAnchors, STRIDE, Start};
pub(crate) use list::impl_scim_list;
pub(crate) use store::impl_scim_store;

use crate::common as c;
use crate::scim_sql::Dialect;
use crate::{Result, ScimLogEntry, ScimResource, ScimWriteError, StoreError};

/// Pages of at most this many resources are read on the calling thread (see `sqlite_direct`).
pub(crate) const SHORT_READ: u64 = 1_000;

/// `connection, resource_type, id, external_id, name, version, created, last_modified, doc`.
pub(crate) type ResourceRow = (
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    i64,
    String,
);

pub(crate) type LogRow = (
    i64,
    String,
    i64,
    String,
    String,
    i32,
    Option<String>,
    Option<String>,
    i64,
);

/// The resource columns, as [`ResourceRow`] reads them.
pub(crate) fn columns(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => {
            "r.connection, r.resource_type, r.id, r.external_id, r.name, r.version, r.created, \
             r.last_modified, r.doc"
        }
        Dialect::Postgres => {
            "r.connection, r.resource_type, r.id, r.external_id, r.name, r.version, r.created, \
             r.last_modified, r.doc::text"
        }
    }
}

pub(crate) fn get_sql(d: Dialect) -> String {
    format!(
        "SELECT {} FROM scim_resources r WHERE r.id = $1 AND r.connection = $2 \
         AND r.resource_type = $3",
        columns(d)
    )
}

pub(crate) fn insert_sql(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => {
            "INSERT INTO scim_resources (connection, resource_type, id, external_id, name, \
             name_lower, version, created, last_modified, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9)"
        }
        Dialect::Postgres => {
            "INSERT INTO scim_resources (connection, resource_type, id, external_id, name, \
             name_lower, version, created, last_modified, doc) \
             VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, CAST($9 AS jsonb))"
        }
    }
}

pub(crate) fn update_sql(d: Dialect) -> &'static str {
    match d {
        Dialect::Sqlite => {
            "UPDATE scim_resources SET external_id = $1, name = $2, name_lower = $3, \
             version = $4, last_modified = $5, doc = $6 \
             WHERE id = $7 AND connection = $8 AND resource_type = $9 AND version = $10"
        }
        Dialect::Postgres => {
            "UPDATE scim_resources SET external_id = $1, name = $2, name_lower = $3, \
             version = $4, last_modified = $5, doc = CAST($6 AS jsonb) \
             WHERE id = $7 AND connection = $8 AND resource_type = $9 AND version = $10"
        }
    }
}

/// A member's `display`: its displayName, or its userName when it has none. (`->>` with a
/// bare key means the same on both backends, and keeps `$` out of statements whose
/// placeholders are rewritten.)
pub(crate) fn display_sql(alias: &str) -> String {
    format!("COALESCE({alias}.doc ->> 'displayName', {alias}.name)")
}

pub(crate) const VERSION_OF: &str = "SELECT version FROM scim_resources \
     WHERE id = $1 AND connection = $2 AND resource_type = $3";
pub(crate) const USER_NAME_OWNER: &str = "SELECT id FROM scim_resources \
     WHERE connection = $1 AND resource_type = 'User' AND name_lower = $2 AND id <> $3";
/// A deleted resource leaves the groups it was in, which changes them.
pub(crate) const BUMP_GROUPS_OF_MEMBER: &str = "UPDATE scim_resources \
     SET version = version + 1, last_modified = $1 \
     WHERE id IN (SELECT group_id FROM scim_members WHERE member_id = $2)";
pub(crate) const DELETE: &str = "DELETE FROM scim_resources \
     WHERE id = $1 AND connection = $2 AND resource_type = $3";
pub(crate) const MEMBERS_FOUND: &str =
    "SELECT id, resource_type FROM scim_resources WHERE connection = $1 AND id IN";
pub(crate) const MEMBERS_INSERT: &str =
    "INSERT INTO scim_members (connection, group_id, member_id, member_type)";
pub(crate) const MEMBERS_INSERT_CONFLICT: &str = "ON CONFLICT (group_id, member_id) DO NOTHING";
pub(crate) const MEMBERS_DELETE: &str =
    "DELETE FROM scim_members WHERE group_id = $1 AND member_id IN";
pub(crate) const CONNECTIONS: &str =
    "SELECT name, token_hash, created_at FROM scim_connections ORDER BY name";
pub(crate) const CONNECTION_UPSERT: &str = "INSERT INTO scim_connections \
     (name, token_hash, created_at) VALUES ($1, $2, $3) \
     ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash";
pub(crate) const LOG_INSERT: &str = "INSERT INTO scim_log (connection, at, method, path, status, \
     request_body, response_body, duration_ms)";
pub(crate) const LOG_TRIM: &str = "DELETE FROM scim_log WHERE connection = $1 AND id <= \
     (SELECT id FROM scim_log WHERE connection = $2 ORDER BY id DESC LIMIT 1 OFFSET $3)";
pub(crate) const LOG_SELECT: &str = "SELECT id, connection, at, method, path, status, \
     request_body, response_body, duration_ms FROM scim_log \
     WHERE ($1 IS NULL OR connection = $1) AND status >= $2 ORDER BY id DESC LIMIT $3";

pub(crate) const COUNT_UP: &str = "INSERT INTO scim_counts (connection, resource_type, n, generation) \
     VALUES ($1, $2, 1, 1) ON CONFLICT (connection, resource_type) \
     DO UPDATE SET n = scim_counts.n + 1, generation = scim_counts.generation + 1";
pub(crate) const COUNT_DOWN: &str = "UPDATE scim_counts SET n = n - 1, generation = generation + 1 \
     WHERE connection = $1 AND resource_type = $2";
pub(crate) const COUNTS: &str =
    "SELECT n, generation FROM scim_counts WHERE connection = $1 AND resource_type = $2";
/// Every `$3`th key in the default order, from the first.
pub(crate) const ANCHORS: &str = "SELECT a.created, a.id FROM (SELECT r.created, r.id, \
     ROW_NUMBER() OVER (ORDER BY r.created, r.id) AS rn FROM scim_resources r \
     WHERE r.connection = $1 AND r.resource_type = $2) a WHERE (a.rn - 1) % $3 = 0 ORDER BY a.rn";

/// Binds generated parameters, in order, to any sqlx query type.
macro_rules! bind_params {
    ($q:expr, $params:expr) => {{
        let mut q = $q;
        for p in $params {
            q = match p {
                $crate::scim_sql::SqlParam::Text(s) => q.bind(s),
                $crate::scim_sql::SqlParam::Int(i) => q.bind(i),
                $crate::scim_sql::SqlParam::Float(f) => q.bind(f),
                $crate::scim_sql::SqlParam::Bool(b) => q.bind(b),
            };
        }
        q
    }};
}

pub(crate) use bind_params;

pub(crate) fn members_sql(filter: &str) -> String {
    format!(
        "SELECT m.group_id, m.member_id, m.member_type, {} FROM scim_members m \
         JOIN scim_resources j ON j.id = m.member_id WHERE m.connection = $1 AND {filter}",
        display_sql("j")
    )
}

pub(crate) const GROUPS_OF: &str = "SELECT m.member_id, g.id, g.name FROM scim_members m \
     JOIN scim_resources g ON g.id = m.group_id WHERE m.connection = $1 AND";

pub(crate) fn resource(row: ResourceRow) -> Result<ScimResource> {
    let (connection, rt, id, external_id, name, version, created, last_modified, doc) = row;
    let resource_type = ResourceType::from_name(&rt).ok_or_else(|| {
        StoreError::Invalid(format!("SCIM resource {id} has an unknown type \"{rt}\""))
    })?;
    Ok(ScimResource {
        doc: c::from_json(&doc, || format!("document of SCIM resource {id}"))?,
        created: c::timestamp(created, "a SCIM resource's creation")?,
        last_modified: c::timestamp(last_modified, "a SCIM resource's last change")?,
        connection,
        resource_type,
        id,
        external_id,
        name,
        version,
    })
}

pub(crate) fn log_entry(row: LogRow) -> Result<ScimLogEntry> {
    let (id, connection, at, method, path, status, request_body, response_body, duration) = row;
    Ok(ScimLogEntry {
        id: id as u64,
        connection,
        at: c::timestamp(at, "a SCIM request")?,
        method,
        path,
        status: u16::try_from(status).unwrap_or(0),
        request_body,
        response_body,
        duration_ms: duration.max(0) as u64,
    })
}

/// The lower-case key of `userName` / group `displayName` (full Unicode folding, done here so
/// both backends fold alike).
pub(crate) fn name_lower(name: &str) -> String {
    name.to_lowercase()
}

pub(crate) fn micros(t: Timestamp) -> i64 {
    c::micros(t)
}

/// The 409 message for a unique-index violation on insert or update: the userName owner when
/// that is what clashed.
pub(crate) fn uniqueness(resource: &ScimResource, owner: Option<String>) -> ScimWriteError {
    match (resource.resource_type, owner) {
        (ResourceType::User, Some(owner)) => ScimWriteError::Uniqueness(format!(
            "userName \"{}\" is already in use by user {owner} of connection {}",
            resource.name, resource.connection
        )),
        _ => ScimWriteError::Uniqueness(format!(
            "{} id {} is already in use",
            resource.resource_type.name(),
            resource.id
        )),
    }
}
