//! Atlassian user provisioning (SCIM 2.0) under `/scim/directory/{directoryId}` (ref §1): users
//! here; groups and the metadata documents in `scim_groups.rs`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Map, Value, json};

use super::errors::{self, Reply, scim_ok};
use super::state::{App, Site, User, micros, new_account_id, uuid};

pub type Q = Query<HashMap<String, String>>;

pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
pub const ATLASSIAN: &str = "urn:scim:schemas:extension:atlassian-external:1.0";
/// Simple profile attributes kept as sent (ref §1.3).
const EXTRA: [&str; 7] = [
    "nickName",
    "title",
    "preferredLanguage",
    "department",
    "organization",
    "timezone",
    "phoneNumbers",
];

pub fn routes(app: &App) -> Router<App> {
    let d = "/scim/directory/{dir}";
    Router::new()
        .route(&format!("{d}/Users"), get(list_users).post(create_user))
        .route(
            &format!("{d}/Users/{{id}}"),
            get(get_user)
                .put(put_user)
                .patch(patch_user)
                .delete(delete_user),
        )
        .merge(super::scim_groups::routes())
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), guard))
}

/// Bearer directory key, else 401 `{error, traceId}`; another directory id → 404 (ref §1.1, §1.9).
async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    let auth = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match auth {
        None => {
            return errors::scim_failure(StatusCode::UNAUTHORIZED, "Missing authorization header");
        }
        Some(a) if a != format!("Bearer {}", app.cfg.scim_key) => {
            return errors::scim_failure(StatusCode::UNAUTHORIZED, "Unauthorized");
        }
        Some(_) => {}
    }
    let dir = request.uri().path().split('/').nth(3).unwrap_or("");
    if dir != app.cfg.directory_id {
        return errors::scim(
            StatusCode::NOT_FOUND,
            None,
            format!("Directory {dir} not found"),
        );
    }
    next.run(request).await
}

pub fn base(app: &App) -> String {
    format!(
        "{}/scim/directory/{}",
        app.cfg.site_url, app.cfg.directory_id
    )
}

pub fn invalid(scim_type: &str, detail: impl Into<String>) -> Response {
    errors::scim(StatusCode::BAD_REQUEST, Some(scim_type), detail)
}

pub fn not_found(what: &str, id: &str) -> Response {
    errors::scim(
        StatusCode::NOT_FOUND,
        None,
        format!("{what} {id} not found"),
    )
}

pub fn parse(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| invalid("invalidSyntax", "Request body is not a valid JSON object"))
}

/// `attr eq "value"`, the only filter form supported (ref §1.4); returns the attribute as
/// spelled in `allowed` and the value.
pub fn parse_filter(filter: &str, allowed: &[&str]) -> Result<(&'static str, String), Response> {
    let fail = || invalid("invalidFilter", format!("Unsupported filter: {filter}"));
    let mut parts = filter.trim().splitn(3, char::is_whitespace);
    let (Some(attr), Some(op), Some(rest)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(fail());
    };
    let rest = rest.trim();
    if !op.eq_ignore_ascii_case("eq")
        || rest.len() < 2
        || !rest.starts_with('"')
        || !rest.ends_with('"')
    {
        return Err(fail());
    }
    let inner = &rest[1..rest.len() - 1];
    if inner.replace("\\\"", "").contains('"') {
        return Err(fail());
    }
    let value = inner.replace("\\\"", "\"").replace("\\\\", "\\");
    let attr = match allowed.iter().find(|a| a.eq_ignore_ascii_case(attr)) {
        Some(&"userName") => "userName",
        Some(&"externalId") => "externalId",
        Some(&"displayName") => "displayName",
        _ => return Err(fail()),
    };
    Ok((attr, value))
}

/// ListResponse with 1-based `startIndex` and `count` clamped to 100 (ref §1.4).
pub fn list_response(all: Vec<Value>, q: &HashMap<String, String>) -> Response {
    let start = q
        .get("startIndex")
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(1)
        .max(1);
    let count = q
        .get("count")
        .and_then(|s| s.trim().parse::<i64>().ok())
        .unwrap_or(100)
        .clamp(0, 100);
    let total = all.len();
    let page: Vec<Value> = all
        .into_iter()
        .skip(usize::try_from(start - 1).unwrap_or(usize::MAX))
        .take(usize::try_from(count).unwrap_or(0))
        .map(|v| project(v, q))
        .collect();
    scim_ok(
        StatusCode::OK,
        &json!({
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
            "totalResults": total,
            "startIndex": start,
            "itemsPerPage": page.len(),
            "Resources": page,
        }),
    )
}

/// `attributes` / `excludedAttributes` on top-level attributes (ref §1.2).
pub fn project(mut v: Value, q: &HashMap<String, String>) -> Value {
    let names = |k: &str| -> Option<Vec<String>> {
        q.get(k).map(|s| {
            s.split(',')
                .map(|x| x.trim().to_ascii_lowercase())
                .collect()
        })
    };
    if let Some(obj) = v.as_object_mut() {
        if let Some(keep) = names("attributes") {
            obj.retain(|k, _| {
                matches!(k.as_str(), "schemas" | "id") || keep.contains(&k.to_ascii_lowercase())
            });
        }
        if let Some(drop) = names("excludedAttributes") {
            obj.retain(|k, _| {
                matches!(k.as_str(), "schemas" | "id") || !drop.contains(&k.to_ascii_lowercase())
            });
        }
    }
    v
}

/// SCIM user (ref §1.3).
pub fn user_json(app: &App, site: &Site, u: &User) -> Value {
    let scim_id = u.scim_id.clone().unwrap_or_default();
    let base = base(app);
    let mut name = Map::new();
    if let Some(g) = &u.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &u.family_name {
        name.insert("familyName".into(), json!(f));
    }
    let groups: Vec<Value> = site
        .groups_of(&u.account_id)
        .into_iter()
        .filter_map(|g| {
            g.scim_id.as_ref().map(|gid| {
                json!({"type": "direct", "value": gid, "display": g.name, "$ref": format!("{base}/Groups/{gid}")})
            })
        })
        .collect();
    let mut v = json!({
        "schemas": [ATLASSIAN, USER_SCHEMA, ENTERPRISE],
        "id": scim_id,
        "userName": u.user_name,
        "emails": [{"value": u.email, "type": "work", "primary": true}],
        "name": name,
        "displayName": u.display_name,
        "active": u.active,
        "groups": groups,
        "meta": {
            "resourceType": "User",
            "location": format!("{base}/Users/{scim_id}"),
            "lastModified": micros(u.last_modified),
            "created": micros(u.created),
        },
        ATLASSIAN: {"atlassianAccountId": u.account_id},
    });
    if let Some(e) = &u.external_id {
        v["externalId"] = json!(e);
    }
    for (k, x) in &u.extra {
        v[k] = x.clone();
    }
    v
}

fn primary_email(v: &Value) -> Option<String> {
    let list = v.as_array()?;
    list.iter()
        .find(|e| e.get("primary").and_then(Value::as_bool) == Some(true))
        .or_else(|| list.first())
        .and_then(|e| e.get("value"))
        .and_then(Value::as_str)
        .map(String::from)
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn string(path: &str, v: Option<&Value>) -> Result<String, Response> {
    v.and_then(Value::as_str)
        .map(String::from)
        .ok_or_else(|| invalid("invalidValue", format!("{path} must be a string")))
}

fn set_active(u: &mut User, active: bool) {
    if u.active && !active {
        u.deactivated_on = Some(Timestamp::now());
    }
    if active {
        u.deactivated_on = None;
    }
    u.active = active;
}

/// One PATCH operation on one attribute (ref §1.6). `value` is `None` for `remove`.
fn apply(u: &mut User, path: &str, value: Option<&Value>) -> Result<(), Response> {
    let lower = path.to_ascii_lowercase();
    let enterprise = ENTERPRISE.to_ascii_lowercase();
    match lower.as_str() {
        "active" => {
            if let Some(v) = value {
                let b = as_bool(v)
                    .ok_or_else(|| invalid("invalidValue", "active must be a boolean"))?;
                set_active(u, b);
            }
        }
        "username" => match value {
            Some(v) => u.user_name = string(path, Some(v))?,
            None => return Err(invalid("mutability", "userName cannot be removed")),
        },
        "displayname" => {
            u.display_name = match value {
                Some(v) => string(path, Some(v))?,
                None => u.user_name.clone(),
            }
        }
        "externalid" => u.external_id = value.map(|v| string(path, Some(v))).transpose()?,
        "name.givenname" => u.given_name = value.map(|v| string(path, Some(v))).transpose()?,
        "name.familyname" => u.family_name = value.map(|v| string(path, Some(v))).transpose()?,
        "name" => match value {
            Some(Value::Object(m)) => {
                for (k, x) in m {
                    if k == "givenName" || k == "familyName" {
                        apply(u, &format!("name.{k}"), Some(x))?;
                    }
                }
            }
            Some(_) => return Err(invalid("invalidValue", "name must be an object")),
            None => {
                u.given_name = None;
                u.family_name = None;
            }
        },
        "emails" => match value {
            Some(v) => {
                u.email = primary_email(v)
                    .ok_or_else(|| invalid("invalidValue", "emails must hold a value"))?;
            }
            None => return Err(invalid("mutability", "emails is required")),
        },
        "emails[type eq \"work\"].value" | "emails[primary eq true].value" => match value {
            Some(v) => u.email = string(path, Some(v))?,
            None => return Err(invalid("mutability", "emails is required")),
        },
        p if p == enterprise => match value {
            Some(Value::Object(m)) => {
                let entry = u.extra.entry(ENTERPRISE).or_insert_with(|| json!({}));
                for (k, x) in m {
                    entry[k] = x.clone();
                }
            }
            _ => {
                u.extra.remove(ENTERPRISE);
            }
        },
        p if p.starts_with(&format!("{enterprise}:")) => {
            let attr = &path[ENTERPRISE.len() + 1..];
            let entry = u.extra.entry(ENTERPRISE).or_insert_with(|| json!({}));
            match value {
                Some(x) => entry[attr] = x.clone(),
                None => {
                    if let Some(m) = entry.as_object_mut() {
                        m.remove(attr);
                    }
                }
            }
        }
        _ => match EXTRA.iter().find(|e| e.eq_ignore_ascii_case(path)) {
            Some(e) => match value {
                Some(x) => {
                    u.extra.insert((*e).to_string(), x.clone());
                }
                None => {
                    u.extra.remove(*e);
                }
            },
            None => {
                return Err(invalid(
                    "invalidPath",
                    format!("Unsupported attribute path: {path}"),
                ));
            }
        },
    }
    Ok(())
}

/// The PatchOp operations array, spelled `Operations` or `operations` (ref §1.6).
pub fn operations(body: &Value) -> Result<Vec<Value>, Response> {
    body.get("Operations")
        .or_else(|| body.get("operations"))
        .and_then(Value::as_array)
        .cloned()
        .ok_or_else(|| invalid("invalidSyntax", "PatchOp must carry Operations"))
}

/// 409 when another linked SCIM user has this userName, compared case-insensitively (ref §1.5).
fn check_unique(site: &Site, user_name: &str, except: Option<&str>) -> Result<(), Response> {
    let taken = site.users.iter().any(|o| {
        o.scim_id.is_some()
            && o.user_name.eq_ignore_ascii_case(user_name)
            && Some(o.account_id.as_str()) != except
    });
    if taken {
        return Err(errors::scim(
            StatusCode::CONFLICT,
            Some("uniqueness"),
            format!("User with userName {user_name} already exists"),
        ));
    }
    Ok(())
}

/// Fills a user from a full representation (POST and PUT; PUT clears what is not sent).
fn replace_from(u: &mut User, body: &Value) -> Result<(), Response> {
    let user_name = body
        .get("userName")
        .and_then(Value::as_str)
        .filter(|s| !s.trim().is_empty())
        .ok_or_else(|| invalid("invalidValue", "userName is required"))?;
    let email = body
        .get("emails")
        .and_then(primary_email)
        .ok_or_else(|| invalid("invalidValue", "emails with a primary value is required"))?;
    let name = body.get("name").cloned().unwrap_or(json!({}));
    let text = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).map(String::from);
    u.user_name = user_name.to_string();
    u.email = email;
    u.given_name = text(&name, "givenName");
    u.family_name = text(&name, "familyName");
    u.external_id = text(body, "externalId");
    u.display_name =
        text(body, "displayName").unwrap_or_else(|| match (&u.given_name, &u.family_name) {
            (Some(g), Some(f)) => format!("{g} {f}"),
            _ => user_name.to_string(),
        });
    u.extra.clear();
    for k in EXTRA.iter().chain([&ENTERPRISE]) {
        if let Some(x) = body.get(*k) {
            u.extra.insert((*k).to_string(), x.clone());
        }
    }
    if let Some(a) = body.get("active") {
        set_active(
            u,
            as_bool(a).ok_or_else(|| invalid("invalidValue", "active must be a boolean"))?,
        );
    }
    Ok(())
}

async fn list_users(State(app): State<App>, Query(q): Q) -> Reply {
    let filter = match q.get("filter") {
        Some(f) => Some(parse_filter(f, &["userName", "externalId"])?),
        None => None,
    };
    let site = app.site();
    let all = site
        .users
        .iter()
        .filter(|u| u.scim_id.is_some())
        .filter(|u| match &filter {
            Some(("userName", v)) => u.user_name.eq_ignore_ascii_case(v),
            Some((_, v)) => u.external_id.as_deref() == Some(v.as_str()),
            None => true,
        })
        .map(|u| user_json(&app, &site, u))
        .collect();
    Ok(list_response(all, &q))
}

fn with_location(mut r: Response, v: &Value) -> Response {
    if let Some(loc) = v["meta"]["location"].as_str()
        && let Ok(h) = HeaderValue::from_str(loc)
    {
        r.headers_mut().insert(header::LOCATION, h);
    }
    r
}

/// `POST /Users` → 201; links an existing account with the same email instead of creating one
/// (ref §1.5).
async fn create_user(State(app): State<App>, body: Bytes) -> Reply {
    let body = parse(&body)?;
    let mut site = app.site();
    let now = Timestamp::now();
    let mut draft = User {
        account_id: new_account_id(),
        scim_id: Some(uuid()),
        external_id: None,
        user_name: String::new(),
        email: String::new(),
        given_name: None,
        family_name: None,
        display_name: String::new(),
        active: true,
        extra: Map::new(),
        site_admin: false,
        created: now,
        last_modified: now,
        deactivated_on: None,
        last_active: None,
    };
    replace_from(&mut draft, &body)?;
    check_unique(&site, &draft.user_name, None)?;
    let existing = site
        .users
        .iter_mut()
        .find(|o| o.scim_id.is_none() && o.email.eq_ignore_ascii_case(&draft.email));
    let account_id = match existing {
        Some(o) => {
            draft.account_id = o.account_id.clone();
            draft.site_admin = o.site_admin;
            draft.created = o.created;
            draft.last_active = o.last_active;
            if body.get("active").is_none() {
                set_active(&mut draft, true);
            }
            *o = draft;
            o.account_id.clone()
        }
        None => {
            let id = draft.account_id.clone();
            site.users.push(draft);
            id
        }
    };
    let site = &*site;
    let v = user_json(&app, site, site.user(&account_id).expect("just stored"));
    Ok(with_location(scim_ok(StatusCode::CREATED, &v), &v))
}

fn account_of(site: &Site, scim_id: &str) -> Result<String, Response> {
    site.user_by_scim(scim_id)
        .map(|u| u.account_id.clone())
        .ok_or_else(|| not_found("User", scim_id))
}

async fn get_user(
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Q,
) -> Reply {
    let site = app.site();
    let account = account_of(&site, &id)?;
    let u = site.user(&account).expect("found by scim id");
    Ok(scim_ok(
        StatusCode::OK,
        &project(user_json(&app, &site, u), &q),
    ))
}

async fn put_user(
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let body = parse(&body)?;
    let mut site = app.site();
    let account = account_of(&site, &id)?;
    let mut draft = site.user(&account).expect("found").clone();
    replace_from(&mut draft, &body)?;
    check_unique(&site, &draft.user_name, Some(&account))?;
    draft.last_modified = Timestamp::now();
    *site.user_mut(&account).expect("found") = draft;
    let u = site.user(&account).expect("found");
    Ok(scim_ok(StatusCode::OK, &user_json(&app, &site, u)))
}

/// `PATCH /Users/{id}`: add/replace/remove with or without `path` (ref §1.6).
async fn patch_user(
    State(app): State<App>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> Reply {
    let body = parse(&body)?;
    let ops = operations(&body)?;
    let mut site = app.site();
    let account = account_of(&site, &id)?;
    let mut draft = site.user(&account).expect("found").clone();
    for op in &ops {
        let kind = op
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_ascii_lowercase();
        let path = op.get("path").and_then(Value::as_str);
        let value = op.get("value");
        match (kind.as_str(), path) {
            ("add" | "replace", Some(p)) => {
                let v = value.ok_or_else(|| invalid("invalidValue", "value is required"))?;
                apply(&mut draft, p, Some(v))?;
            }
            ("add" | "replace", None) => {
                let Some(Value::Object(m)) = value else {
                    return Err(invalid(
                        "invalidValue",
                        "value must be an object when path is absent",
                    ));
                };
                for (k, v) in m {
                    if k != "schemas" && k != "id" && k != "meta" {
                        apply(&mut draft, k, Some(v))?;
                    }
                }
            }
            ("remove", Some(p)) => apply(&mut draft, p, None)?,
            ("remove", None) => return Err(invalid("noTarget", "remove requires a path")),
            _ => return Err(invalid("invalidSyntax", format!("Unsupported op: {kind}"))),
        }
    }
    check_unique(&site, &draft.user_name, Some(&account))?;
    draft.last_modified = Timestamp::now();
    *site.user_mut(&account).expect("found") = draft;
    let u = site.user(&account).expect("found");
    Ok(scim_ok(StatusCode::OK, &user_json(&app, &site, u)))
}

/// `DELETE /Users/{id}` → 204: the SCIM record goes, the account stays, deactivated (ref §1.6).
async fn delete_user(State(app): State<App>, Path((_, id)): Path<(String, String)>) -> Reply {
    let mut site = app.site();
    let account = account_of(&site, &id)?;
    for g in site.groups.iter_mut().filter(|g| g.scim_id.is_some()) {
        g.members.retain(|m| *m != account);
    }
    let u = site.user_mut(&account).expect("found");
    u.scim_id = None;
    set_active(u, false);
    u.last_modified = Timestamp::now();
    Ok(StatusCode::NO_CONTENT.into_response())
}
