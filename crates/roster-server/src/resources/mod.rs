//! Users and Groups: reading, listing, and the four writes (RFC 7644 §3.3–§3.6), shared by the
//! HTTP handlers and Bulk. Every write carries its audit event into the store's transaction.
//!
//! Writes are read-modify-write on a version: without `If-Match` a write that lost a race to
//! another writer is redone on the fresh resource (a few times); with `If-Match` it is 412.

use std::collections::BTreeSet;

use jiff::Timestamp;
use roster_core::audit::NewAuditEvent;
use roster_scim::ScimType;
use roster_scim::patch::apply_patch;
use roster_scim::resource::validate_for_write;
use roster_scim::schema::{ResourceType, Schemas};
use roster_store::{ScimMember, ScimResource, ScimWriteError};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::query::{Precondition, Projection};
use crate::render::{self, Ctx};

mod read;

pub use read::{get, list, search_all};

/// How often a write that lost a race is redone before the client hears 409.
const RACE_RETRIES: usize = 5;
/// Member ids listed in one audit event; more are counted.
const AUDIT_MEMBER_IDS: usize = 100;

/// What a single-resource operation answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    pub status: u16,
    pub body: Option<Value>,
    pub version: Option<i64>,
    pub location: Option<String>,
}

fn missing(rt: ResourceType, id: &str) -> ApiError {
    ApiError::not_found(format!("{} {id} not found", rt.name()))
}

pub async fn load(ctx: &Ctx<'_>, rt: ResourceType, id: &str) -> ApiResult<ScimResource> {
    ctx.app
        .store
        .scim_get(ctx.connection, rt, id)
        .await?
        .ok_or_else(|| missing(rt, id))
}

fn precondition_failed(version: i64) -> ApiError {
    ApiError::new(
        412,
        Some(ScimType::InvalidVers),
        format!(
            "If-Match does not match the resource's version W/\"{version}\"; read it again and retry"
        ),
    )
}

/// The name a resource is unique by: `userName` or `displayName`.
fn name_of(rt: ResourceType, doc: &Value) -> String {
    let key = match rt {
        ResourceType::User => "userName",
        ResourceType::Group => "displayName",
    };
    doc.get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Takes `members` out of a group document: `(id, type the client gave)`.
fn take_members(doc: &mut Value) -> Vec<(String, Option<String>)> {
    let Some(Value::Array(items)) = doc.as_object_mut().and_then(|m| m.remove("members")) else {
        return Vec::new();
    };
    let mut seen = BTreeSet::new();
    items
        .into_iter()
        .filter_map(|item| {
            let value = item.get("value")?.as_str()?.to_string();
            let kind = item.get("type").and_then(Value::as_str).map(str::to_string);
            seen.insert(value.clone()).then_some((value, kind))
        })
        .collect()
}

/// Looks each new member up in this connection: its type and display name. A member that is
/// neither a user nor a group of the connection is 400 `invalidValue`.
async fn resolve_members(
    ctx: &Ctx<'_>,
    group_id: &str,
    wanted: &[(String, Option<String>)],
) -> ApiResult<Vec<ScimMember>> {
    let store = ctx.app.store.as_ref();
    let mut out = Vec::with_capacity(wanted.len());
    for (id, kind) in wanted {
        let order: &[ResourceType] = match kind.as_deref().and_then(ResourceType::from_name) {
            Some(ResourceType::Group) => &[ResourceType::Group, ResourceType::User],
            _ => &[ResourceType::User, ResourceType::Group],
        };
        let mut found = None;
        for rt in order {
            if let Some(r) = store.scim_get(ctx.connection, *rt, id).await? {
                found = Some(r);
                break;
            }
        }
        let Some(r) = found else {
            return Err(ApiError::bad(
                ScimType::InvalidValue,
                format!("members: {id} is not a User or Group of this connection"),
            ));
        };
        if r.resource_type == ResourceType::Group && r.id == group_id {
            return Err(ApiError::bad(
                ScimType::InvalidValue,
                format!("members: group {group_id} cannot be a member of itself"),
            ));
        }
        out.push(ScimMember {
            value: r.id.clone(),
            member_type: r.resource_type.name().to_string(),
            display: display_of(&r),
        });
    }
    Ok(out)
}

fn display_of(r: &ScimResource) -> Option<String> {
    r.doc
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .or_else(|| Some(r.name.clone()))
}

/// The attributes that differ between two stored documents: top-level names, and
/// `urn:…:attribute` for extension attributes. Never values (a password is not stored, but
/// detail about a person belongs in the person's history, not the audit line).
pub fn changed_attributes(schemas: &Schemas, before: Option<&Value>, after: &Value) -> Vec<String> {
    let empty = Map::new();
    let old = before.and_then(Value::as_object).unwrap_or(&empty);
    let new = after.as_object().unwrap_or(&empty);
    let mut names = BTreeSet::new();
    for key in old.keys().chain(new.keys()) {
        if key == "schemas" || old.get(key) == new.get(key) {
            continue;
        }
        let is_extension = schemas.by_id(key).is_some() && schemas.is_extension(key);
        match (is_extension, old.get(key), new.get(key)) {
            (true, o, n) => {
                let o = o.and_then(Value::as_object).unwrap_or(&empty);
                let n = n.and_then(Value::as_object).unwrap_or(&empty);
                for sub in o.keys().chain(n.keys()) {
                    if o.get(sub) != n.get(sub) {
                        names.insert(format!("{key}:{sub}"));
                    }
                }
            }
            _ => {
                names.insert(key.clone());
            }
        }
    }
    names.into_iter().collect()
}

fn ids_for_audit(ids: &[String]) -> Value {
    let mut v = json!(ids.iter().take(AUDIT_MEMBER_IDS).collect::<Vec<_>>());
    if ids.len() > AUDIT_MEMBER_IDS {
        v = json!({"first": v, "count": ids.len()});
    }
    v
}

fn audit_event(
    ctx: &Ctx<'_>,
    verb: &str,
    rt: ResourceType,
    subject: &str,
    detail: Value,
) -> NewAuditEvent {
    NewAuditEvent {
        at: Timestamp::now(),
        actor: format!("scim:{}", ctx.connection),
        action: format!("scim {verb} {}", rt.name().to_ascii_lowercase()),
        system: None,
        subject: subject.to_string(),
        detail,
    }
}

/// Now, to the microsecond: what the store keeps, so an answer shows what a later read shows.
fn now() -> Timestamp {
    Timestamp::from_microsecond(Timestamp::now().as_microsecond())
        .unwrap_or_else(|_| Timestamp::now())
}

fn written(ctx: &Ctx<'_>, rt: ResourceType) {
    if rt == ResourceType::User {
        ctx.app.people.changed(ctx.connection);
    }
}

/// `POST /{Users|Groups}`.
pub async fn create(
    ctx: &Ctx<'_>,
    rt: ResourceType,
    body: Value,
    projection: &Projection,
) -> ApiResult<Outcome> {
    let mut doc = validate_for_write(&ctx.app.schemas, rt, body, None)?;
    let id = uuid::Uuid::now_v7().to_string();
    let wanted = match rt {
        ResourceType::Group => take_members(&mut doc),
        ResourceType::User => Vec::new(),
    };
    let members = resolve_members(ctx, &id, &wanted).await?;
    let name = name_of(rt, &doc);
    let now = now();
    let resource = ScimResource {
        connection: ctx.connection.to_string(),
        resource_type: rt,
        id: id.clone(),
        external_id: doc
            .get("externalId")
            .and_then(Value::as_str)
            .map(str::to_string),
        name: name.clone(),
        version: 1,
        created: now,
        last_modified: now,
        doc,
    };
    let member_ids: Vec<String> = members.iter().map(|m| m.value.clone()).collect();
    let mut detail = json!({
        "id": id,
        "attributes": changed_attributes(&ctx.app.schemas, None, &resource.doc),
    });
    if rt == ResourceType::Group {
        detail["members_added"] = ids_for_audit(&member_ids);
    }
    let event = audit_event(ctx, "create", rt, &name, detail);
    let gate = scim_write_gate(ctx).await;
    let created = ctx.app.store.scim_create(&resource, &members, &event).await;
    drop(gate);
    created.map_err(|e| match e {
        ScimWriteError::Uniqueness(_) => ApiError::new(
            409,
            Some(ScimType::Uniqueness),
            format!(
                "a {} named \"{name}\" already exists in this connection{}",
                rt.name(),
                if rt == ResourceType::User {
                    " (userName is compared case-insensitively)"
                } else {
                    ""
                }
            ),
        ),
        other => other.into(),
    })?;
    written(ctx, rt);
    if rt == ResourceType::Group {
        ctx.app.groups.created(ctx.connection);
    }
    let full = render::full(ctx, resource, Some(&members), Some(&[]));
    Ok(Outcome {
        status: 201,
        body: Some(render::projected(ctx, rt, &full, projection)),
        version: Some(1),
        location: Some(ctx.location(rt, &id)),
    })
}

/// The write gate for a SCIM create or update, unless the store queues those itself (then
/// queuing them here first would hand its writer one write at a time).
async fn scim_write_gate<'a>(ctx: &'a Ctx<'_>) -> Option<tokio::sync::MutexGuard<'a, ()>> {
    if ctx.app.store.scim_writes_queued() {
        None
    } else {
        ctx.app.writes.enter().await
    }
}

/// A replacement document computed from the stored resource (PUT or PATCH).
struct Change {
    doc: Value,
    add: Vec<(String, Option<String>)>,
    remove: Vec<String>,
}

/// The stored resource with its `id` and members, as PUT's immutability check and PATCH see
/// it (PATCH tolerates read-only input such as Okta's repeated `id` when it equals this).
async fn with_members(ctx: &Ctx<'_>, r: &ScimResource) -> ApiResult<Value> {
    let mut doc = r.doc.clone();
    if let Value::Object(map) = &mut doc {
        map.insert("id".into(), Value::String(r.id.clone()));
        if r.resource_type == ResourceType::Group {
            let members = ctx.app.store.scim_members(ctx.connection, &r.id).await?;
            map.insert("members".into(), render::members_json(ctx, &members));
        }
    }
    Ok(doc)
}

fn member_ids(doc: &Value) -> Vec<(String, Option<String>)> {
    let mut copy = doc.clone();
    take_members(&mut copy)
}

/// Runs `compute` on the stored resource and writes its result, redoing it on the fresh
/// resource when another writer got in between (unless the client pinned a version).
async fn update<F>(
    ctx: &Ctx<'_>,
    rt: ResourceType,
    id: &str,
    verb: &str,
    if_match: Option<&Precondition>,
    mut compute: F,
) -> ApiResult<(ScimResource, bool)>
where
    F: FnMut(&ScimResource, &Value) -> ApiResult<Option<Change>>,
{
    for attempt in 0.. {
        let current = load(ctx, rt, id).await?;
        if let Some(p) = if_match
            && !p.matches(current.version)
        {
            return Err(precondition_failed(current.version));
        }
        let before = with_members(ctx, &current).await?;
        let Some(mut change) = compute(&current, &before)? else {
            return Ok((current, false));
        };
        let added = resolve_members(ctx, id, &change.add).await?;
        change
            .remove
            .retain(|r| !added.iter().any(|a| &a.value == r));
        let name = name_of(rt, &change.doc);
        let mut detail = json!({
            "id": id,
            "attributes": changed_attributes(&ctx.app.schemas, Some(&current.doc), &change.doc),
        });
        if rt == ResourceType::Group {
            let added_ids: Vec<String> = added.iter().map(|m| m.value.clone()).collect();
            detail["members_added"] = ids_for_audit(&added_ids);
            detail["members_removed"] = ids_for_audit(&change.remove);
        }
        let next = ScimResource {
            external_id: change
                .doc
                .get("externalId")
                .and_then(Value::as_str)
                .map(str::to_string),
            name: name.clone(),
            version: current.version + 1,
            last_modified: now(),
            doc: change.doc,
            ..current.clone()
        };
        let event = audit_event(ctx, verb, rt, &name, detail);
        let gate = scim_write_gate(ctx).await;
        let updated = ctx
            .app
            .store
            .scim_update(&next, current.version, &added, &change.remove, &event)
            .await;
        drop(gate);
        match updated {
            Ok(()) => {
                written(ctx, rt);
                return Ok((next, true));
            }
            Err(ScimWriteError::VersionMismatch { stored }) => {
                if if_match.is_some() {
                    return Err(precondition_failed(stored));
                }
                if attempt + 1 >= RACE_RETRIES {
                    return Err(ApiError::new(
                        409,
                        None,
                        format!(
                            "{} {id} kept changing under concurrent writes; retry",
                            rt.name()
                        ),
                    ));
                }
            }
            Err(ScimWriteError::Uniqueness(_)) => {
                return Err(ApiError::new(
                    409,
                    Some(ScimType::Uniqueness),
                    format!(
                        "another {} is already named \"{name}\" in this connection",
                        rt.name()
                    ),
                ));
            }
            Err(e) => return Err(e.into()),
        }
    }
    unreachable!("the retry loop returns")
}

async fn answer(
    ctx: &Ctx<'_>,
    r: &ScimResource,
    projection: &Projection,
    status: u16,
) -> ApiResult<Outcome> {
    Ok(Outcome {
        status,
        body: Some(render::shown(ctx, r, projection).await?),
        version: Some(r.version),
        location: Some(ctx.location(r.resource_type, &r.id)),
    })
}

/// `PUT /{Users|Groups}/{id}`: the body replaces the resource (a group's `members` included;
/// left out, the group has none). A PUT that changes nothing writes nothing.
pub async fn replace(
    ctx: &Ctx<'_>,
    rt: ResourceType,
    id: &str,
    body: Value,
    if_match: Option<&Precondition>,
    projection: &Projection,
) -> ApiResult<Outcome> {
    let schemas = &ctx.app.schemas;
    let (r, _) = update(ctx, rt, id, "replace", if_match, |current, before| {
        let mut doc = validate_for_write(schemas, rt, body.clone(), Some(before))?;
        let (add, remove) = match rt {
            ResourceType::Group => {
                let new = take_members(&mut doc);
                let old = member_ids(before);
                (
                    new.iter()
                        .filter(|(v, _)| !old.iter().any(|(o, _)| o == v))
                        .cloned()
                        .collect(),
                    old.into_iter()
                        .filter(|(o, _)| !new.iter().any(|(v, _)| v == o))
                        .map(|(o, _)| o)
                        .collect(),
                )
            }
            ResourceType::User => (Vec::new(), Vec::new()),
        };
        if same_ignoring_schemas(&doc, &current.doc) && add.is_empty() && remove.is_empty() {
            return Ok(None);
        }
        Ok(Some(Change { doc, add, remove }))
    })
    .await?;
    answer(ctx, &r, projection, 200).await
}

fn same_ignoring_schemas(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Value::Object(m) = &mut v {
            m.remove("schemas");
        }
        v
    };
    strip(a) == strip(b)
}

/// `PATCH /{Users|Groups}/{id}`. Users answer 200 with the resource; groups 204 (Entra asks
/// for it, and a body listing every member is wasted on a membership change) unless the
/// request asks for attributes.
pub async fn patch(
    ctx: &Ctx<'_>,
    rt: ResourceType,
    id: &str,
    body: Value,
    if_match: Option<&Precondition>,
    projection: &Projection,
) -> ApiResult<Outcome> {
    let schemas = &ctx.app.schemas;
    let (r, _) = update(ctx, rt, id, "patch", if_match, |_, before| {
        let mut doc = before.clone();
        let outcome = apply_patch(schemas, rt, &mut doc, &body)?;
        if !outcome.changed {
            return Ok(None);
        }
        let listed = member_ids(&doc);
        if let Value::Object(m) = &mut doc {
            for derived in ["id", "meta", "members"] {
                m.remove(derived);
            }
        }
        let add = outcome
            .members_added
            .into_iter()
            .map(|v| {
                let kind = listed
                    .iter()
                    .find(|(l, _)| *l == v)
                    .and_then(|(_, k)| k.clone());
                (v, kind)
            })
            .collect();
        Ok(Some(Change {
            doc,
            add,
            remove: outcome.members_removed,
        }))
    })
    .await?;
    if rt == ResourceType::Group
        && projection.attributes.is_empty()
        && projection.excluded.is_empty()
    {
        return Ok(Outcome {
            status: 204,
            body: None,
            version: Some(r.version),
            location: None,
        });
    }
    answer(ctx, &r, projection, 200).await
}

/// `DELETE /{Users|Groups}/{id}`.
pub async fn delete(
    ctx: &Ctx<'_>,
    rt: ResourceType,
    id: &str,
    if_match: Option<&Precondition>,
) -> ApiResult<Outcome> {
    let current = load(ctx, rt, id).await?;
    if let Some(p) = if_match
        && !p.matches(current.version)
    {
        return Err(precondition_failed(current.version));
    }
    let event = audit_event(ctx, "delete", rt, &current.name, json!({"id": id}));
    let gate = ctx.app.writes.enter().await;
    let deleted = ctx
        .app
        .store
        .scim_delete(ctx.connection, rt, id, &event)
        .await;
    drop(gate);
    if !deleted? {
        return Err(missing(rt, id));
    }
    written(ctx, rt);
    if rt == ResourceType::Group {
        ctx.app.groups.deleted(ctx.connection);
    }
    Ok(Outcome {
        status: 204,
        body: None,
        version: None,
        location: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_attributes_name_extension_attributes_with_their_urn() {
        let schemas = Schemas::standard(&[]);
        let ent = roster_scim::schema::ENTERPRISE_USER;
        let before =
            json!({"userName": "a", "title": "x", ent: {"department": "Eng", "division": "R"}});
        let after = json!({"userName": "a", "title": "y", "active": false, ent: {"department": "Ops", "division": "R"}});
        assert_eq!(
            changed_attributes(&schemas, Some(&before), &after),
            vec![
                "active".to_string(),
                "title".to_string(),
                format!("{ent}:department")
            ]
        );
        assert_eq!(
            changed_attributes(&schemas, None, &json!({"userName": "a"})),
            vec!["userName"]
        );
    }

    #[test]
    fn members_are_taken_out_once_each() {
        let mut doc = json!({"displayName": "g", "members": [
            {"value": "1", "type": "User"}, {"value": "2"}, {"value": "1"}, {"display": "no value"}]});
        let taken = take_members(&mut doc);
        assert_eq!(
            taken,
            vec![("1".into(), Some("User".into())), ("2".into(), None)]
        );
        assert!(doc.get("members").is_none());
    }
}
