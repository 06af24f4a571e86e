//! SCIM groups and metadata documents (ref §1.7, §1.8). A SCIM group is also the site's
//! Confluence group of the same name (read-only from Confluence, ref §2.4).

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::errors::{self, Reply, scim_ok};
use super::scim::{
    ENTERPRISE, Q, USER_SCHEMA, base, invalid, list_response, not_found, operations, parse,
    parse_filter, project,
};
use super::state::{App, Group, Site, micros, uuid};

const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";

pub fn routes() -> Router<App> {
    let d = "/scim/directory/{dir}";
    Router::new()
        .route(&format!("{d}/Groups"), get(list_groups).post(create_group))
        .route(
            &format!("{d}/Groups/{{id}}"),
            get(get_group)
                .put(put_group)
                .patch(patch_group)
                .delete(delete_group),
        )
        .route(
            &format!("{d}/ServiceProviderConfig"),
            get(service_provider_config),
        )
        .route(&format!("{d}/ResourceTypes"), get(resource_types))
        .route(&format!("{d}/ResourceTypes/{{name}}"), get(resource_type))
        .route(&format!("{d}/Schemas"), get(schemas))
        .route(&format!("{d}/Schemas/{{id}}"), get(schema))
}

/// SCIM group with `members` as SCIM user ids (ref §1.7).
fn group_json(app: &App, site: &Site, g: &Group) -> Value {
    let base = base(app);
    let gid = g.scim_id.clone().unwrap_or_default();
    let members: Vec<Value> = g
        .members
        .iter()
        .filter_map(|m| site.user(m))
        .filter_map(|u| {
            u.scim_id.as_ref().map(|sid| {
                json!({"type": "User", "value": sid, "display": u.user_name, "$ref": format!("{base}/Users/{sid}")})
            })
        })
        .collect();
    let mut v = json!({
        "schemas": [GROUP_SCHEMA],
        "id": gid,
        "displayName": g.name,
        "members": members,
        "meta": {
            "resourceType": "Group",
            "location": format!("{base}/Groups/{gid}"),
            "lastModified": micros(g.last_modified),
            "created": micros(g.created),
        },
    });
    if let Some(e) = &g.external_id {
        v["externalId"] = json!(e);
    }
    v
}

fn group_of(site: &Site, scim_id: &str) -> Result<String, Response> {
    site.groups
        .iter()
        .find(|g| g.scim_id.as_deref() == Some(scim_id))
        .map(|g| g.id.clone())
        .ok_or_else(|| not_found("Group", scim_id))
}

/// `[{value: <scim user id>}]` → account ids; unknown users give `missing` (404 on PATCH, 400 on
/// POST/PUT, ref §1.7).
fn members_of(
    site: &Site,
    v: Option<&Value>,
    missing: StatusCode,
) -> Result<Vec<String>, Response> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let list = v
        .as_array()
        .ok_or_else(|| invalid("invalidValue", "members must be an array"))?;
    list.iter()
        .map(|m| {
            let sid = m.get("value").and_then(Value::as_str).unwrap_or("");
            site.user_by_scim(sid)
                .map(|u| u.account_id.clone())
                .ok_or_else(|| {
                    let scim_type = (missing == StatusCode::BAD_REQUEST).then_some("invalidValue");
                    errors::scim(missing, scim_type, format!("User {sid} not found"))
                })
        })
        .collect()
}

async fn list_groups(State(app): State<App>, Query(q): Q) -> Reply {
    let filter = match q.get("filter") {
        Some(f) => Some(parse_filter(f, &["displayName"])?.1),
        None => None,
    };
    let site = app.site();
    let all = site
        .groups
        .iter()
        .filter(|g| g.scim_id.is_some())
        .filter(|g| {
            filter
                .as_ref()
                .is_none_or(|n| g.name.eq_ignore_ascii_case(n))
        })
        .map(|g| group_json(&app, &site, g))
        .collect();
    Ok(list_response(all, &q))
}

/// `POST /Groups` → 201; 409 when a group of that name exists (ref §1.7).
async fn create_group(State(app): State<App>, body: Bytes) -> Reply {
    let body = parse(&body)?;
    let name = body
        .get("displayName")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid("invalidValue", "displayName is required"))?
        .to_string();
    let mut site = app.site();
    if site.group_by_name(&name).is_some() {
        return Err(errors::scim(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!("Group with displayName {name} already exists"),
        ));
    }
    let members = members_of(&site, body.get("members"), StatusCode::BAD_REQUEST)?;
    let id = site.add_group(&name, Some(uuid()));
    let g = site.group_mut(&id).expect("just added");
    g.members = members;
    g.external_id = body
        .get("externalId")
        .and_then(Value::as_str)
        .map(String::from);
    let g = site.group(&id).expect("just added");
    let v = group_json(&app, &site, g);
    let mut r = scim_ok(StatusCode::CREATED, &v);
    if let Some(loc) = v["meta"]["location"]
        .as_str()
        .and_then(|l| HeaderValue::from_str(l).ok())
    {
        r.headers_mut().insert(header::LOCATION, loc);
    }
    Ok(r)
}

async fn get_group(
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Q,
) -> Reply {
    let site = app.site();
    let gid = group_of(&site, &id)?;
    let g = site.group(&gid).expect("found");
    Ok(scim_ok(
        StatusCode::OK,
        &project(group_json(&app, &site, g), &q),
    ))
}

fn same_name(g: &Group, v: Option<&Value>) -> Result<(), Response> {
    match v.and_then(Value::as_str) {
        Some(n) if n != g.name => Err(invalid(
            "mutability",
            "displayName of a synced group cannot be changed; create a new group instead",
        )),
        _ => Ok(()),
    }
}

/// `PUT /Groups/{id}` replaces the members (ref §1.7).
async fn put_group(
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let body = parse(&body)?;
    let mut site = app.site();
    let gid = group_of(&site, &id)?;
    same_name(site.group(&gid).expect("found"), body.get("displayName"))?;
    let members = members_of(&site, body.get("members"), StatusCode::BAD_REQUEST)?;
    let g = site.group_mut(&gid).expect("found");
    g.members = members;
    g.external_id = body
        .get("externalId")
        .and_then(Value::as_str)
        .map(String::from);
    g.last_modified = Timestamp::now();
    let g = site.group(&gid).expect("found");
    Ok(scim_ok(StatusCode::OK, &group_json(&app, &site, g)))
}

fn push_unique(list: &mut Vec<String>, add: Vec<String>) {
    for a in add {
        if !list.contains(&a) {
            list.push(a);
        }
    }
}

/// `PATCH /Groups/{id}`: members add/remove/replace, `members[value eq "..."]` removal (ref §1.7).
async fn patch_group(
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let body = parse(&body)?;
    let ops = operations(&body)?;
    let mut site = app.site();
    let gid = group_of(&site, &id)?;
    let mut draft = site.group(&gid).expect("found").clone();
    for op in &ops {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let path = op.get("path").and_then(Value::as_str).map(str::trim);
        let value = op.get("value");
        let lower = path.map(str::to_ascii_lowercase);
        match (kind.as_str(), lower.as_deref()) {
            ("add" | "replace", None) => {
                let Some(Value::Object(m)) = value else {
                    return Err(invalid(
                        "invalidValue",
                        "value must be an object when path is absent",
                    ));
                };
                same_name(&draft, m.get("displayName"))?;
                if let Some(e) = m.get("externalId").and_then(Value::as_str) {
                    draft.external_id = Some(e.to_string());
                }
                if m.contains_key("members") {
                    let add = members_of(&site, m.get("members"), StatusCode::NOT_FOUND)?;
                    if kind == "replace" {
                        draft.members.clear();
                    }
                    push_unique(&mut draft.members, add);
                }
            }
            ("add", Some("members")) => {
                let add = members_of(&site, value, StatusCode::NOT_FOUND)?;
                push_unique(&mut draft.members, add);
            }
            ("replace", Some("members")) => {
                draft.members = members_of(&site, value, StatusCode::NOT_FOUND)?;
            }
            ("remove", Some("members")) => match value {
                Some(v) => {
                    let gone = members_of(&site, Some(v), StatusCode::NOT_FOUND)?;
                    draft.members.retain(|m| !gone.contains(m));
                }
                None => draft.members.clear(),
            },
            ("remove", Some(p)) if p.starts_with("members[value eq ") && p.ends_with("\"]") => {
                let raw = path.unwrap_or("");
                let sid = raw["members[value eq ".len()..raw.len() - 2].trim_start_matches('"');
                if let Some(u) = site.user_by_scim(sid) {
                    let account = u.account_id.clone();
                    draft.members.retain(|m| *m != account);
                }
            }
            ("add" | "replace", Some("displayname")) => same_name(&draft, value)?,
            ("add" | "replace", Some("externalid")) => {
                draft.external_id = value.and_then(Value::as_str).map(String::from);
            }
            ("remove", Some("externalid")) => draft.external_id = None,
            ("add" | "replace" | "remove", Some(p)) => {
                return Err(invalid(
                    "invalidPath",
                    format!("Unsupported attribute path: {p}"),
                ));
            }
            ("remove", None) => return Err(invalid("noTarget", "remove requires a path")),
            _ => return Err(invalid("invalidSyntax", format!("Unsupported op: {kind}"))),
        }
    }
    draft.last_modified = Timestamp::now();
    *site.group_mut(&gid).expect("found") = draft;
    let g = site.group(&gid).expect("found");
    Ok(scim_ok(StatusCode::OK, &group_json(&app, &site, g)))
}

/// `DELETE /Groups/{id}` → 204; gone from the site with the permissions it granted (ref §1.7).
async fn delete_group(State(app): State<App>, Path((_, id)): Path<(String, String)>) -> Reply {
    let mut site = app.site();
    let gid = group_of(&site, &id)?;
    site.delete_group(&gid);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Fixed document: patch yes, bulk/sort/etag/changePassword no, filter max 100 (ref §1.8).
async fn service_provider_config() -> Response {
    scim_ok(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
            "documentationUri": "https://developer.atlassian.com/cloud/admin/user-provisioning/rest/intro/",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": 100},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": false},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "Authentication scheme using the directory API key as a bearer token",
                "primary": true,
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": "/ServiceProviderConfig"},
        }),
    )
}

fn resource_type_json(name: &str) -> Option<Value> {
    let (endpoint, schema, ext) = match name {
        "User" => ("/Users", USER_SCHEMA, Some(ENTERPRISE)),
        "Group" => ("/Groups", GROUP_SCHEMA, None),
        _ => return None,
    };
    let mut v = json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ResourceType"],
        "id": name, "name": name, "endpoint": endpoint, "schema": schema,
        "meta": {"resourceType": "ResourceType", "location": format!("/ResourceTypes/{name}")},
    });
    if let Some(e) = ext {
        v["schemaExtensions"] = json!([{"schema": e, "required": false}]);
    }
    Some(v)
}

async fn resource_types() -> Response {
    let all = ["User", "Group"]
        .iter()
        .filter_map(|n| resource_type_json(n))
        .collect();
    list_response(all, &Default::default())
}

async fn resource_type(Path((_, name)): Path<(String, String)>) -> Reply {
    resource_type_json(&name)
        .map(|v| scim_ok(StatusCode::OK, &v))
        .ok_or_else(|| not_found("ResourceType", &name))
}

fn attr(name: &str, kind: &str, multi: bool, required: bool, mutability: &str) -> Value {
    json!({"name": name, "type": kind, "multiValued": multi, "required": required,
           "caseExact": false, "mutability": mutability, "returned": "default", "uniqueness": "none"})
}

fn schema_json(id: &str) -> Option<Value> {
    let (name, attributes) = match id {
        USER_SCHEMA => (
            "User",
            vec![
                attr("userName", "string", false, true, "readWrite"),
                attr("name", "complex", false, false, "readWrite"),
                attr("displayName", "string", false, false, "readWrite"),
                attr("nickName", "string", false, false, "readWrite"),
                attr("title", "string", false, false, "readWrite"),
                attr("preferredLanguage", "string", false, false, "readWrite"),
                attr("timezone", "string", false, false, "readWrite"),
                attr("active", "boolean", false, false, "readWrite"),
                attr("emails", "complex", true, true, "readWrite"),
                attr("phoneNumbers", "complex", true, false, "readWrite"),
                attr("groups", "complex", true, false, "readOnly"),
            ],
        ),
        GROUP_SCHEMA => (
            "Group",
            vec![
                attr("displayName", "string", false, true, "readWrite"),
                attr("members", "complex", true, false, "readWrite"),
            ],
        ),
        ENTERPRISE => (
            "EnterpriseUser",
            vec![
                attr("organization", "string", false, false, "readWrite"),
                attr("department", "string", false, false, "readWrite"),
            ],
        ),
        _ => return None,
    };
    Some(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Schema"],
        "id": id, "name": name, "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": format!("/Schemas/{id}")},
    }))
}

async fn schemas() -> Response {
    let all = [USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE]
        .iter()
        .filter_map(|s| schema_json(s))
        .collect();
    list_response(all, &Default::default())
}

async fn schema(Path((_, id)): Path<(String, String)>) -> Reply {
    schema_json(&id)
        .map(|v| scim_ok(StatusCode::OK, &v))
        .ok_or_else(|| not_found("Schema", &id))
}
