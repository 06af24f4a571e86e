//! SCIM reads and writes on direct connections: the same statements as the sqlx path
//! (`scim_impl`), bound with rusqlite.

use roster_core::audit::{NewAuditEvent, seal};
use roster_scim::schema::ResourceType;
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use super::{db_error, is_unique_violation};
use crate::common as c;
use crate::scim_impl::{self as si, ResourceRow};
use crate::scim_sql::SqlParam;
use crate::{Result, ScimMember, ScimResource, ScimWriteError};

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ResourceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
    ))
}

pub(crate) fn get(
    conn: &Connection,
    connection: &str,
    rt: ResourceType,
    id: &str,
) -> Result<Option<ScimResource>> {
    let what = || format!("reading SCIM resource {id}");
    let mut stmt = conn
        .prepare_cached(&si::get_sql(crate::scim_sql::Dialect::Sqlite))
        .map_err(|e| db_error(what(), &e))?;
    let found = stmt
        .query_row(params![id, connection, rt.name()], row)
        .optional()
        .map_err(|e| db_error(what(), &e))?;
    found.map(si::resource).transpose()
}

/// Resource rows of a generated statement.
pub(crate) fn rows(
    conn: &Connection,
    sql: &str,
    params: &[SqlParam],
    what: &str,
) -> Result<Vec<ResourceRow>> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(|e| db_error(what.to_string(), &e))?;
    let rows = stmt
        .query_map(params_from_iter(params), row)
        .map_err(|e| db_error(what.to_string(), &e))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| db_error(what.to_string(), &e))
}

/// The single integer a generated `COUNT(*)` statement returns.
pub(crate) fn count(conn: &Connection, sql: &str, params: &[SqlParam], what: &str) -> Result<i64> {
    let mut stmt = conn
        .prepare_cached(sql)
        .map_err(|e| db_error(what.to_string(), &e))?;
    stmt.query_row(params_from_iter(params), |r| r.get(0))
        .map_err(|e| db_error(what.to_string(), &e))
}

/// `(n, generation)` from `scim_counts`.
pub(crate) fn counts(
    conn: &Connection,
    connection: &str,
    rt: ResourceType,
) -> Result<Option<(i64, i64)>> {
    let what = || format!("counting SCIM {}s of {connection}", rt.name());
    let mut stmt = conn
        .prepare_cached(si::COUNTS)
        .map_err(|e| db_error(what(), &e))?;
    stmt.query_row(params![connection, rt.name()], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .optional()
    .map_err(|e| db_error(what(), &e))
}

/// Every `stride`th `(created, id)` in the default order.
pub(crate) fn anchors(
    conn: &Connection,
    connection: &str,
    rt: ResourceType,
    stride: i64,
) -> Result<Vec<(i64, String)>> {
    let what = || format!("indexing the SCIM {}s of {connection}", rt.name());
    let mut stmt = conn
        .prepare_cached(si::ANCHORS)
        .map_err(|e| db_error(what(), &e))?;
    let rows = stmt
        .query_map(params![connection, rt.name(), stride], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .map_err(|e| db_error(what(), &e))?;
    rows.collect::<rusqlite::Result<Vec<_>>>()
        .map_err(|e| db_error(what(), &e))
}

/// Why a write hit a unique index, read in the writer's transaction.
fn uniqueness(conn: &Connection, resource: &ScimResource) -> ScimWriteError {
    let owner = if resource.resource_type == ResourceType::User {
        conn.query_row(
            si::USER_NAME_OWNER,
            params![
                resource.connection,
                si::name_lower(&resource.name),
                resource.id
            ],
            |r| r.get::<_, String>(0),
        )
        .optional()
        .ok()
        .flatten()
    } else {
        None
    };
    si::uniqueness(resource, owner)
}

pub(crate) fn create(
    conn: &Connection,
    resource: &ScimResource,
    members: &[ScimMember],
    event: &NewAuditEvent,
) -> Result<(), ScimWriteError> {
    let doc = c::to_json(&resource.doc, "a SCIM resource")?;
    let what = || format!("creating SCIM resource {}", resource.id);
    let inserted = conn
        .prepare_cached(si::insert_sql(crate::scim_sql::Dialect::Sqlite))
        .and_then(|mut s| {
            s.execute(params![
                resource.connection,
                resource.resource_type.name(),
                resource.id,
                resource.external_id,
                resource.name,
                si::name_lower(&resource.name),
                si::micros(resource.created),
                si::micros(resource.last_modified),
                doc,
            ])
        });
    match inserted {
        Err(e) if is_unique_violation(&e) => return Err(uniqueness(conn, resource)),
        other => {
            other.map_err(|e| db_error(what(), &e))?;
        }
    }
    conn.prepare_cached(si::COUNT_UP)
        .and_then(|mut s| s.execute(params![resource.connection, resource.resource_type.name()]))
        .map_err(|e| db_error(format!("counting SCIM resource {}", resource.id), &e))?;
    if !members.is_empty() {
        insert_members(conn, &resource.connection, &resource.id, members)?;
    }
    append_event(conn, event)?;
    Ok(())
}

pub(crate) fn update(
    conn: &Connection,
    resource: &ScimResource,
    expected_version: i64,
    add_members: &[ScimMember],
    remove_members: &[String],
    event: &NewAuditEvent,
) -> Result<(), ScimWriteError> {
    let doc = c::to_json(&resource.doc, "a SCIM resource")?;
    let what = || format!("updating SCIM resource {}", resource.id);
    let updated = conn
        .prepare_cached(si::update_sql(crate::scim_sql::Dialect::Sqlite))
        .and_then(|mut s| {
            s.execute(params![
                resource.external_id,
                resource.name,
                si::name_lower(&resource.name),
                expected_version + 1,
                si::micros(resource.last_modified),
                doc,
                resource.id,
                resource.connection,
                resource.resource_type.name(),
                expected_version,
            ])
        });
    let updated = match updated {
        Err(e) if is_unique_violation(&e) => return Err(uniqueness(conn, resource)),
        other => other.map_err(|e| db_error(what(), &e))?,
    };
    if updated == 0 {
        let stored: Option<i64> = conn
            .query_row(
                si::VERSION_OF,
                params![
                    resource.id,
                    resource.connection,
                    resource.resource_type.name()
                ],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| db_error(format!("reading SCIM resource {}", resource.id), &e))?;
        return Err(match stored {
            Some(stored) => ScimWriteError::VersionMismatch { stored },
            None => ScimWriteError::NotFound(resource.id.clone()),
        });
    }
    if !remove_members.is_empty() {
        let mut stmt = conn
            .prepare_cached("DELETE FROM scim_members WHERE group_id = ?1 AND member_id = ?2")
            .map_err(|e| db_error(what(), &e))?;
        for member in remove_members {
            stmt.execute(params![resource.id, member]).map_err(|e| {
                db_error(format!("removing members from group {}", resource.id), &e)
            })?;
        }
    }
    if !add_members.is_empty() {
        insert_members(conn, &resource.connection, &resource.id, add_members)?;
    }
    append_event(conn, event)?;
    Ok(())
}

/// Adds members (each a resource of the same connection, its type taken from the store).
fn insert_members(
    conn: &Connection,
    connection: &str,
    group_id: &str,
    members: &[ScimMember],
) -> Result<(), ScimWriteError> {
    let mut ids: Vec<&str> = members.iter().map(|m| m.value.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.contains(&group_id) {
        return Err(ScimWriteError::InvalidValue(format!(
            "group {group_id} cannot be a member of itself"
        )));
    }
    let what = || format!("adding members to group {group_id}");
    let mut find = conn
        .prepare_cached(
            "SELECT resource_type FROM scim_resources WHERE connection = ?1 AND id = ?2",
        )
        .map_err(|e| db_error(what(), &e))?;
    let mut found = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in &ids {
        let rt: Option<String> = find
            .query_row(params![connection, id], |r| r.get(0))
            .optional()
            .map_err(|e| db_error(format!("finding the new members of group {group_id}"), &e))?;
        match rt {
            Some(rt) => found.push((*id, rt)),
            None => missing.push(*id),
        }
    }
    if !missing.is_empty() {
        let shown: Vec<&str> = missing.iter().copied().take(5).collect();
        return Err(ScimWriteError::InvalidValue(format!(
            "members of group {group_id}: {} not a user or group of connection {connection}",
            match shown.as_slice() {
                [one] => format!("{one} is"),
                more => format!("{} are", more.join(", ")),
            }
        )));
    }
    let mut insert = conn
        .prepare_cached(&format!(
            "{} VALUES (?1, ?2, ?3, ?4) {}",
            si::MEMBERS_INSERT,
            si::MEMBERS_INSERT_CONFLICT
        ))
        .map_err(|e| db_error(what(), &e))?;
    for (id, rt) in found {
        insert
            .execute(params![connection, group_id, id, rt])
            .map_err(|e| db_error(what(), &e))?;
    }
    Ok(())
}

/// Appends one event after the chain head, in the writer's transaction (which holds the write
/// lock, so the head cannot move meanwhile).
fn append_event(conn: &Connection, event: &NewAuditEvent) -> Result<u64> {
    let what = |e: &rusqlite::Error| db_error("appending an audit event".into(), e);
    let (head_seq, head_hash): (i64, String) = conn
        .prepare_cached(c::HEAD_SELECT)
        .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))))
        .map_err(|e| db_error("reading the audit chain head".into(), &e))?;
    let prev = c::parse_hash(&head_hash)?;
    let seq = u64::try_from(head_seq).unwrap_or_default() + 1;
    let (stored, hash) = seal(seq, &prev, event);
    conn.prepare_cached(&format!(
        "{} VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        c::AUDIT_INSERT
    ))
    .and_then(|mut s| {
        s.execute(params![
            seq as i64,
            stored.at_micros,
            stored.actor,
            stored.action,
            stored.system,
            stored.subject,
            stored.prev_hash,
            stored.hash,
            stored.body,
        ])
    })
    .map_err(|e| what(&e))?;
    conn.prepare_cached(c::HEAD_UPDATE)
        .and_then(|mut s| s.execute(params![seq as i64, hex::encode(hash)]))
        .map_err(|e| db_error("moving the audit chain head".into(), &e))?;
    Ok(seq)
}
