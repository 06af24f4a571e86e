//! Stored resources in their wire form: the stored document plus `id`, `meta`, a group's
//! `members` and a user's `groups`, projected for the request.

use std::collections::HashMap;

use axum::http::HeaderMap;
use axum::http::header;
use roster_scim::project::project;
use roster_scim::schema::ResourceType;
use roster_store::{ScimMember, ScimResource};
use serde_json::{Map, Value, json};

use crate::query::{Projection, etag};
use crate::{App, SCIM_PREFIX};

/// The ListResponse message schema (RFC 7644 §3.4.2).
pub const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// One request's view of the server: which connection, and the absolute base URL its
/// answers' `location`s start with.
pub struct Ctx<'a> {
    pub app: &'a App,
    pub connection: &'a str,
    /// `http://host:port/scim/v2`, no trailing slash.
    pub base: String,
}

impl<'a> Ctx<'a> {
    pub fn new(app: &'a App, connection: &'a str, headers: &HeaderMap) -> Self {
        Ctx {
            app,
            connection,
            base: base_url(app, headers),
        }
    }

    pub fn location(&self, rt: ResourceType, id: &str) -> String {
        format!("{}{}/{id}", self.base, rt.endpoint())
    }
}

/// The configured public URL, or `http://` plus the request's `Host`.
pub fn base_url(app: &App, headers: &HeaderMap) -> String {
    let root = match &app.config.public_url {
        Some(public) => public.trim_end_matches('/').to_string(),
        None => {
            let host = headers
                .get(header::HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| !h.is_empty() && !h.contains(['/', ' ', '"']))
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    format!("{root}{SCIM_PREFIX}")
}

/// `members` as the wire shows them: `value`, `$ref` and `type`. `display` is left out: the
/// strict conformance tester (scim2-tester) compares a patched `members` value with what it
/// sent, and IdPs neither need nor send it back; a member's name is one GET away.
pub fn members_json(ctx: &Ctx<'_>, members: &[ScimMember]) -> Value {
    Value::Array(
        members
            .iter()
            .map(|m| {
                let rt = ResourceType::from_name(&m.member_type).unwrap_or(ResourceType::User);
                json!({
                    "value": m.value,
                    "$ref": ctx.location(rt, &m.value),
                    "type": rt.name(),
                })
            })
            .collect(),
    )
}

/// A user's `groups` (direct memberships only: Roster's groups do not nest).
pub fn groups_json(ctx: &Ctx<'_>, groups: &[(String, String)]) -> Value {
    Value::Array(
        groups
            .iter()
            .map(|(id, display)| {
                json!({
                    "value": id,
                    "$ref": ctx.location(ResourceType::Group, id),
                    "display": display,
                    "type": "direct",
                })
            })
            .collect(),
    )
}

/// The whole resource: stored document, `id`, `meta`, and the relations passed in. Takes the
/// resource by value: list pages render hundreds, and the document need not be copied.
pub fn full(
    ctx: &Ctx<'_>,
    r: ScimResource,
    members: Option<&[ScimMember]>,
    groups: Option<&[(String, String)]>,
) -> Value {
    let mut doc = match r.doc {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    let location = ctx.location(r.resource_type, &r.id);
    doc.insert(
        "meta".into(),
        json!({
            "resourceType": r.resource_type.name(),
            "created": r.created.to_string(),
            "lastModified": r.last_modified.to_string(),
            "location": location,
            "version": etag(r.version),
        }),
    );
    doc.insert("id".into(), Value::String(r.id));
    if let Some(members) = members.filter(|_| r.resource_type == ResourceType::Group) {
        doc.insert("members".into(), members_json(ctx, members));
    }
    if let Some(groups) = groups.filter(|_| r.resource_type == ResourceType::User) {
        doc.insert("groups".into(), groups_json(ctx, groups));
    }
    Value::Object(doc)
}

/// The resource as the request asked to see it, reading `members` or `groups` only when the
/// projection can include them.
pub async fn shown(
    ctx: &Ctx<'_>,
    r: &ScimResource,
    projection: &Projection,
) -> Result<Value, roster_store::StoreError> {
    let store = ctx.app.store.as_ref();
    let members = match r.resource_type {
        ResourceType::Group if projection.may_include("members") => {
            Some(store.scim_members(ctx.connection, &r.id).await?)
        }
        _ => None,
    };
    let groups = match r.resource_type {
        ResourceType::User if projection.may_include("groups") && has_groups(ctx).await? => {
            Some(store.scim_groups_of(ctx.connection, &r.id).await?)
        }
        _ => None,
    };
    let doc = full(ctx, r.clone(), members.as_deref(), groups.as_deref());
    Ok(projected(ctx, r.resource_type, &doc, projection))
}

async fn has_groups(ctx: &Ctx<'_>) -> Result<bool, roster_store::StoreError> {
    ctx.app
        .groups
        .has_groups(ctx.app.store.as_ref(), &ctx.app.schemas, ctx.connection)
        .await
}

/// Several resources of one type as the request asked to see them, reading the `members` or
/// `groups` of the whole page in one query.
pub async fn shown_many(
    ctx: &Ctx<'_>,
    rt: ResourceType,
    found: Vec<ScimResource>,
    projection: &Projection,
) -> Result<Vec<Value>, roster_store::StoreError> {
    let store = ctx.app.store.as_ref();
    let ids: Vec<String> = found.iter().map(|r| r.id.clone()).collect();
    let mut members: HashMap<String, Vec<ScimMember>> = HashMap::new();
    let mut groups: HashMap<String, Vec<(String, String)>> = HashMap::new();
    let relation = match rt {
        ResourceType::Group => "members",
        ResourceType::User => "groups",
    };
    let wanted = !ids.is_empty()
        && projection.may_include(relation)
        && (rt == ResourceType::Group || has_groups(ctx).await?);
    match rt {
        ResourceType::Group if wanted => {
            for (group, member) in store.scim_members_of(ctx.connection, &ids).await? {
                members.entry(group).or_default().push(member);
            }
        }
        ResourceType::User if wanted => {
            for (user, group, name) in store.scim_groups_of_many(ctx.connection, &ids).await? {
                groups.entry(user).or_default().push((group, name));
            }
        }
        _ => {}
    }
    let none: Vec<ScimMember> = Vec::new();
    let no_groups: Vec<(String, String)> = Vec::new();
    Ok(found
        .into_iter()
        .map(|r| {
            let m = wanted.then(|| members.get(&r.id).unwrap_or(&none).as_slice());
            let g = wanted.then(|| groups.get(&r.id).unwrap_or(&no_groups).as_slice());
            projected(ctx, rt, &full(ctx, r, m, g), projection)
        })
        .collect())
}

pub fn projected(ctx: &Ctx<'_>, rt: ResourceType, doc: &Value, projection: &Projection) -> Value {
    project(
        &ctx.app.schemas,
        rt,
        doc,
        &projection.attributes,
        &projection.excluded,
    )
}

/// A ListResponse page.
pub fn list_response(total: u64, start_index: u64, resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}
