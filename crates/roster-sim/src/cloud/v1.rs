//! Confluence Cloud REST v1: users, groups, memberships (ref §2.1-§2.4, §2.9). Space
//! permission writes are in `perms.rs`.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::errors::{self, Reply, json_ok};
use super::state::{App, Site, User};

type Q = Query<HashMap<String, String>>;

pub fn routes(app: &App) -> Router<App> {
    Router::new()
        .route("/wiki/rest/api/user/current", get(user_current))
        .route("/wiki/rest/api/user", get(user_get))
        .route("/wiki/rest/api/user/memberof", get(user_memberof))
        .route("/wiki/rest/api/search/user", get(search_user))
        .route("/wiki/rest/api/group", get(group_list).post(group_create))
        .route(
            "/wiki/rest/api/group/by-id",
            get(group_get).delete(group_delete),
        )
        .route(
            "/wiki/rest/api/group/{group_id}/membersByGroupId",
            get(group_members),
        )
        .route(
            "/wiki/rest/api/group/userByGroupId",
            post(member_add).delete(member_remove),
        )
        .merge(super::perms::routes())
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), guard))
}

/// Basic auth (401 text/plain), then for writes the XSRF header (403) and, for POST/PUT, the
/// JSON content type (415) (ref §2.1, §7).
async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    if !super::basic_ok(&app, request.headers()) {
        return errors::unauthorized_basic();
    }
    let method = request.method().clone();
    if matches!(method, Method::POST | Method::PUT | Method::DELETE) {
        let xsrf = request
            .headers()
            .get("x-atlassian-token")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("no-check"));
        if !xsrf {
            return errors::v1(StatusCode::FORBIDDEN, "XSRF check failed");
        }
    }
    if matches!(method, Method::POST | Method::PUT) {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.trim()
                    .to_ascii_lowercase()
                    .starts_with("application/json")
            });
        if !json {
            return errors::v1(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type");
        }
    }
    next.run(request).await
}

pub fn expand_has(q: &HashMap<String, String>, what: &str) -> bool {
    q.get("expand")
        .is_some_and(|e| e.split(',').any(|x| x.trim() == what))
}

/// v1 `User` (ref §2.3). `operations` only with `expand=operations`: `use application` for a
/// licensed active user, `[]` for a deactivated or unlicensed one.
pub fn user_json(app: &App, site: &Site, u: &User, with_ops: bool) -> Value {
    let base = &app.cfg.site_url;
    let mut v = json!({
        "type": "known",
        "accountId": u.account_id,
        "accountType": "atlassian",
        "email": u.email,
        "publicName": u.display_name,
        "profilePicture": {
            "path": format!("/wiki/aa-avatar/{}", u.account_id),
            "width": 48, "height": 48, "isDefault": true,
        },
        "displayName": u.display_name,
        "timeZone": u.extra.get("timezone").cloned().unwrap_or(json!("Etc/UTC")),
        "isExternalCollaborator": false,
        "isGuest": false,
        "_expandable": {"operations": "", "personalSpace": ""},
        "_links": {"self": format!("{base}/wiki/rest/api/user?accountId={}", u.account_id)},
    });
    if with_ops {
        let mut ops = Vec::new();
        if site.has_confluence_access(u) {
            if u.site_admin {
                ops.push(json!({"operation": "administer", "targetType": "application"}));
            }
            ops.push(json!({"operation": "use", "targetType": "application"}));
        }
        v["operations"] = json!(ops);
        v["_expandable"] = json!({"personalSpace": ""});
    }
    v
}

pub fn group_json(app: &App, id: &str, name: &str) -> Value {
    json!({
        "type": "group",
        "name": name,
        "id": id,
        "_links": {"self": format!("{}/wiki/rest/api/group/by-id?id={id}", app.cfg.site_url)},
    })
}

/// `start`/`limit` (ref §2.2): 0-based offset, default limit 200; above `max` either 400
/// (`reject`) or clamped.
fn start_limit(
    q: &HashMap<String, String>,
    max: usize,
    reject: bool,
) -> Result<(usize, usize), Response> {
    let num = |name: &str, default: usize| -> Result<usize, Response> {
        match q.get(name) {
            None => Ok(default),
            Some(s) => s.trim().parse::<usize>().map_err(|_| {
                errors::v1(
                    StatusCode::BAD_REQUEST,
                    format!("Invalid {name} parameter: {s}"),
                )
            }),
        }
    };
    let start = num("start", 0)?;
    let limit = num("limit", 200)?;
    if limit > max {
        if reject {
            return Err(errors::v1(
                StatusCode::BAD_REQUEST,
                format!("The limit parameter must be less than or equal to {max}, but was {limit}"),
            ));
        }
        return Ok((start, max));
    }
    Ok((start, limit))
}

/// v1 offset page with `_links.next` relative to `_links.base` only when more remain (ref §2.2).
fn page(
    app: &App,
    all: Vec<Value>,
    start: usize,
    limit: usize,
    path: &str,
    extra: &str,
) -> Response {
    let total = all.len();
    let results: Vec<Value> = all.into_iter().skip(start).take(limit).collect();
    let size = results.len();
    let mut links = json!({
        "base": format!("{}/wiki", app.cfg.site_url),
        "context": "/wiki",
        "self": format!("{}/wiki{path}", app.cfg.site_url),
    });
    if limit > 0 && start + size < total {
        links["next"] = json!(format!(
            "{path}?next=true{extra}&limit={limit}&start={}",
            start + size
        ));
    }
    json_ok(
        StatusCode::OK,
        &json!({"results": results, "start": start, "limit": limit, "size": size, "_links": links}),
    )
}

async fn user_current(State(app): State<App>, Query(q): Q) -> Reply {
    let site = app.site();
    let u = site
        .users
        .iter()
        .find(|u| u.email == app.cfg.email)
        .ok_or_else(errors::unauthorized_basic)?;
    Ok(json_ok(
        StatusCode::OK,
        &user_json(&app, &site, u, expand_has(&q, "operations")),
    ))
}

/// Account ids look like `557058:<uuid>` or 24 hex characters (ref §0).
pub fn plausible_account_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 128
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '-')
}

async fn user_get(State(app): State<App>, Query(q): Q) -> Reply {
    let id = q.get("accountId").map(String::as_str).unwrap_or("");
    if !plausible_account_id(id) {
        return Err(errors::v1(
            StatusCode::BAD_REQUEST,
            "accountId is required and must be valid",
        ));
    }
    let site = app.site();
    let u = site.user(id).ok_or_else(|| {
        errors::v1(
            StatusCode::NOT_FOUND,
            format!("No user found with accountId : {id}"),
        )
    })?;
    Ok(json_ok(
        StatusCode::OK,
        &user_json(&app, &site, u, expand_has(&q, "operations")),
    ))
}

async fn user_memberof(State(app): State<App>, Query(q): Q) -> Reply {
    let (start, limit) = start_limit(&q, 200, false)?;
    let id = q.get("accountId").cloned().unwrap_or_default();
    let site = app.site();
    if site.user(&id).is_none() {
        return Err(errors::v1(
            StatusCode::NOT_FOUND,
            format!("No user found with accountId : {id}"),
        ));
    }
    let mut groups = site.groups_of(&id);
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let all = groups
        .iter()
        .map(|g| group_json(&app, &g.id, &g.name))
        .collect();
    let extra = format!("&accountId={id}");
    Ok(page(
        &app,
        all,
        start,
        limit,
        "/rest/api/user/memberof",
        &extra,
    ))
}

/// CQL user search, `cql=type=user` only; default limit 25; licensed users unless
/// `sitePermissionTypeFilter=all`; `totalSize`, `cqlQuery`, `searchDuration` (ref §2.3).
async fn search_user(State(app): State<App>, Query(q): Q) -> Reply {
    let cql = q.get("cql").map(|c| c.replace(' ', "")).unwrap_or_default();
    if cql != "type=user" {
        return Err(errors::v1(
            StatusCode::BAD_REQUEST,
            "Could not parse cql : unsupported query",
        ));
    }
    let start: usize = q.get("start").and_then(|s| s.parse().ok()).unwrap_or(0);
    let limit: usize = q
        .get("limit")
        .and_then(|s| s.parse().ok())
        .unwrap_or(25)
        .min(1000);
    let everyone = q
        .get("sitePermissionTypeFilter")
        .is_some_and(|f| f == "all");
    let site = app.site();
    let matching: Vec<&User> = site
        .users
        .iter()
        .filter(|u| everyone || site.has_confluence_access(u))
        .take(10_000)
        .collect();
    let total = matching.len();
    let ops = expand_has(&q, "operations");
    let results: Vec<Value> = matching
        .iter()
        .skip(start)
        .take(limit)
        .map(|u| {
            json!({
                "user": user_json(&app, &site, u, ops),
                "title": u.display_name,
                "excerpt": "",
                "url": format!("/people/{}", u.account_id),
                "breadcrumbs": [],
                "entityType": "user",
                "iconCssClass": "aui-icon content-type-profile",
                "lastModified": super::state::millis(u.last_modified),
                "score": 0.0,
            })
        })
        .collect();
    let size = results.len();
    let mut links = json!({"base": format!("{}/wiki", app.cfg.site_url), "context": "/wiki"});
    if start + size < total {
        links["next"] = json!(format!(
            "/rest/api/search/user?cql=type%3Duser&limit={limit}&start={}",
            start + size
        ));
    }
    Ok(json_ok(
        StatusCode::OK,
        &json!({
            "results": results, "start": start, "limit": limit, "size": size,
            "totalSize": total, "cqlQuery": "type=user", "searchDuration": 12, "_links": links,
        }),
    ))
}

/// Groups ordered by name (ref §2.4).
async fn group_list(State(app): State<App>, Query(q): Q) -> Reply {
    let (start, limit) = start_limit(&q, 200, false)?;
    let site = app.site();
    let mut groups: Vec<_> = site.groups.iter().collect();
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    let all = groups
        .iter()
        .map(|g| group_json(&app, &g.id, &g.name))
        .collect();
    Ok(page(&app, all, start, limit, "/rest/api/group", ""))
}

pub fn parse_body(body: &Bytes) -> Result<Value, Response> {
    serde_json::from_slice::<Value>(body).map_err(|e| {
        errors::v1(
            StatusCode::BAD_REQUEST,
            format!("Could not parse request body: {e}"),
        )
    })
}

fn valid_group_name(name: &str) -> bool {
    !name.trim().is_empty()
        && name.trim() == name
        && name.chars().count() <= 255
        && !name.chars().any(|c| c.is_control())
}

/// `POST /group {"name"}` → 201 Group; 400 bad or duplicate name (ref §2.4).
async fn group_create(State(app): State<App>, body: Bytes) -> Reply {
    let body = parse_body(&body)?;
    let name = body.get("name").and_then(Value::as_str).unwrap_or("");
    if !valid_group_name(name) {
        return Err(errors::v1(
            StatusCode::BAD_REQUEST,
            "Group name is missing or invalid",
        ));
    }
    let mut site = app.site();
    if site.group_by_name(name).is_some() {
        return Err(errors::v1(
            StatusCode::BAD_REQUEST,
            format!("A group with this name already exists: {name}"),
        ));
    }
    let id = site.add_group(name, None);
    Ok(json_ok(StatusCode::CREATED, &group_json(&app, &id, name)))
}

fn group_id_param(q: &HashMap<String, String>, name: &str) -> Result<String, Response> {
    let id = q.get(name).cloned().unwrap_or_default();
    if uuid::Uuid::parse_str(&id).is_err() {
        return Err(errors::v1(
            StatusCode::BAD_REQUEST,
            format!("{name} must be a valid group id: '{id}'"),
        ));
    }
    Ok(id)
}

async fn group_get(State(app): State<App>, Query(q): Q) -> Reply {
    let id = group_id_param(&q, "id")?;
    let site = app.site();
    let g = site.group(&id).ok_or_else(|| {
        errors::v1(
            StatusCode::NOT_FOUND,
            format!("No group found with id : {id}"),
        )
    })?;
    Ok(json_ok(StatusCode::OK, &group_json(&app, &g.id, &g.name)))
}

fn scim_read_only() -> Response {
    errors::v1(
        StatusCode::FORBIDDEN,
        "This group is synced from an identity provider and can only be changed there",
    )
}

async fn group_delete(State(app): State<App>, Query(q): Q) -> Reply {
    let id = group_id_param(&q, "id")?;
    let mut site = app.site();
    let g = site.group(&id).ok_or_else(|| {
        errors::v1(
            StatusCode::NOT_FOUND,
            format!("No group found with id : {id}"),
        )
    })?;
    if g.scim_id.is_some() {
        return Err(scim_read_only());
    }
    site.delete_group(&id);
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Members page; 400 when `limit` > 200; unknown group → 200 with an empty page (ref §2.4).
async fn group_members(State(app): State<App>, Path(group_id): Path<String>, Query(q): Q) -> Reply {
    let (start, limit) = start_limit(&q, 200, true)?;
    let site = app.site();
    let ops = expand_has(&q, "operations");
    let all: Vec<Value> = site
        .group(&group_id)
        .map(|g| {
            g.members
                .iter()
                .filter_map(|m| site.user(m))
                .map(|u| user_json(&app, &site, u, ops))
                .collect()
        })
        .unwrap_or_default();
    let path = format!("/rest/api/group/{group_id}/membersByGroupId");
    let extra = if ops { "&expand=operations" } else { "" };
    Ok(page(&app, all, start, limit, &path, extra))
}

/// `POST /group/userByGroupId?groupId=` `{"accountId"}` → 201, empty body (ref §2.4).
async fn member_add(State(app): State<App>, Query(q): Q, body: Bytes) -> Reply {
    let group_id = group_id_param(&q, "groupId")?;
    let body = parse_body(&body)?;
    let account_id = body
        .get("accountId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if !plausible_account_id(&account_id) {
        return Err(errors::v1(StatusCode::BAD_REQUEST, "accountId is required"));
    }
    let mut site = app.site();
    let Some(group) = site.group(&group_id) else {
        return Err(errors::v1(
            StatusCode::NOT_FOUND,
            format!("No group found with id : {group_id}"),
        ));
    };
    if group.scim_id.is_some() {
        return Err(scim_read_only());
    }
    if site.user(&account_id).is_none() {
        return Err(errors::v1(
            StatusCode::NOT_FOUND,
            format!("No user found with accountId : {account_id}"),
        ));
    }
    if let Some(g) = site.group_mut(&group_id)
        && !g.members.contains(&account_id)
    {
        g.members.push(account_id);
        g.last_modified = jiff::Timestamp::now();
    }
    Ok(StatusCode::CREATED.into_response())
}

/// `DELETE /group/userByGroupId?groupId=&accountId=` → 204, also when not a member (ref §2.4).
async fn member_remove(State(app): State<App>, Query(q): Q) -> Reply {
    let group_id = group_id_param(&q, "groupId")?;
    let account_id = q.get("accountId").cloned().unwrap_or_default();
    if !plausible_account_id(&account_id) {
        return Err(errors::v1(StatusCode::BAD_REQUEST, "accountId is required"));
    }
    let mut site = app.site();
    let Some(group) = site.group(&group_id) else {
        return Err(errors::v1(
            StatusCode::NOT_FOUND,
            format!("No group found with id : {group_id}"),
        ));
    };
    if group.scim_id.is_some() {
        return Err(scim_read_only());
    }
    if site.user(&account_id).is_none() {
        return Err(errors::v1(
            StatusCode::NOT_FOUND,
            format!("No user found with accountId : {account_id}"),
        ));
    }
    if let Some(g) = site.group_mut(&group_id) {
        g.members.retain(|m| *m != account_id);
        g.last_modified = jiff::Timestamp::now();
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}
