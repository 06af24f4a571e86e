//! Organizations (admin) API and user management lifecycle API on the `api.atlassian.com` side
//! (ref §3).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::errors::{self, Reply, json_ok};
use super::state::{App, Site, User, millis};

type Q = Query<HashMap<String, String>>;

pub fn routes(app: &App) -> Router<App> {
    Router::new()
        .route(
            "/admin/v2/orgs/{org}/directories/{dir}/users",
            get(v2_users),
        )
        .route("/admin/v1/orgs/{org}/users", get(v1_users))
        .route(
            "/admin/v1/orgs/{org}/directory/users/{account}/last-active-dates",
            get(last_active),
        )
        .route("/users/{account}/manage/lifecycle/disable", post(disable))
        .route("/users/{account}/manage/lifecycle/enable", post(enable))
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), guard))
}

/// Bearer org API key; the gateway answers 401 `{code, message}` otherwise (ref §3.1, §3.10).
async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    let ok = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a == format!("Bearer {}", app.cfg.org_key));
    if !ok {
        return errors::gateway_unauthorized();
    }
    next.run(request).await
}

fn org_not_found(org: &str) -> Response {
    errors::admin(
        StatusCode::NOT_FOUND,
        "ADMIN-UAM-404-2",
        "Org not found",
        format!("Organization {org} was not found"),
    )
}

fn unknown(detail: String) -> Response {
    errors::admin(
        StatusCode::NOT_FOUND,
        "ADMIN-UAM-404-1",
        "Unknown Resource",
        detail,
    )
}

fn check_org(app: &App, org: &str) -> Result<(), Response> {
    if org == app.cfg.org_id {
        Ok(())
    } else {
        Err(org_not_found(org))
    }
}

/// An opaque cursor holding the whole query of a page: with a cursor the other parameters
/// are ignored (ref §3.4), so it carries `expand` too.
fn encode(offset: usize, limit: usize, expand: &[String]) -> String {
    URL_SAFE_NO_PAD.encode(json!({"offset": offset, "limit": limit, "expand": expand}).to_string())
}

fn decode(cursor: &str) -> Option<(usize, usize, Vec<String>)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    let n = |k: &str| {
        v.get(k)
            .and_then(Value::as_u64)
            .and_then(|x| usize::try_from(x).ok())
    };
    let expand = v
        .get("expand")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Some((n("offset")?, n("limit")?, expand))
}

/// `{"self", "prev", "next"}` cursors (ref §3.4).
fn links(offset: usize, limit: usize, total: usize, expand: &[String]) -> Value {
    json!({
        "self": encode(offset, limit, expand),
        "prev": (offset > 0).then(|| encode(offset.saturating_sub(limit), limit, expand)),
        "next": (offset + limit < total).then(|| encode(offset + limit, limit, expand)),
    })
}

/// Composite `status` from account and membership status (ref §3.4).
fn status(u: &User) -> &'static str {
    if u.active { "active" } else { "deactivated" }
}

fn product_access(app: &App, site: &Site, u: &User) -> Option<Value> {
    site.has_confluence_access(u).then(|| {
        json!([{
            "key": "confluence",
            "id": app.cfg.cloud_id,
            "lastActiveTimestamp": u.last_active.map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()),
        }])
    })
}

/// v2 `MultiDirectoryUser` (ref §3.4); `productAccess` and `groups` only when expanded.
fn v2_user(app: &App, site: &Site, u: &User, expand: &[String]) -> Value {
    let expands = |what: &str| expand.iter().any(|e| e == what);
    let mut v = json!({
        "accountId": u.account_id,
        "accountType": "atlassian",
        "status": status(u),
        "accountStatus": if u.active { "active" } else { "inactive" },
        "membershipStatus": "active",
        "addedToOrg": u.created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "name": u.display_name,
        "nickname": u.extra.get("nickName").cloned().unwrap_or(json!(u.display_name)),
        "email": u.email,
        "emailVerified": true,
        "claimStatus": "managed",
        "platformRoles": [],
        "picture": format!("https://avatar-management.services.atlassian.com/default/{}", u.account_id),
        "avatar": format!("https://avatar-management.services.atlassian.com/default/{}", u.account_id),
        "managementSource": if u.scim_id.is_some() { json!("synced") } else { Value::Null },
        "mfaEnabled": false,
        "jobTitle": u.extra.get("title").cloned().unwrap_or(Value::Null),
        "department": u.extra.get("department").cloned().unwrap_or(Value::Null),
        "organization": u.extra.get("organization").cloned().unwrap_or(Value::Null),
        "location": null,
        "timeZone": u.extra.get("timezone").cloned().unwrap_or(Value::Null),
        "links": {"self": format!("{}/admin/v2/orgs/{}/directories/{}/users/{}", app.cfg.site_url, app.cfg.org_id, app.cfg.directory_id, u.account_id)},
        "deactivatedOn": u.deactivated_on.map(millis),
        "forDeletion": false,
    });
    if expands("productAccess")
        && let Some(p) = product_access(app, site, u)
    {
        v["productAccess"] = p;
    }
    if expands("groups") {
        v["groups"] = site
            .groups_of(&u.account_id)
            .iter()
            .map(|g| json!({"id": g.id, "name": g.name, "description": null}))
            .collect();
    }
    v
}

/// `GET /admin/v2/orgs/{orgId}/directories/{directoryId}/users`, `limit` ≤ 100, `-` = every
/// directory; with `cursor` the other parameters are ignored (ref §3.4); `expand` is a
/// comma-separated list (`productAccess`, `groups`).
async fn v2_users(
    State(app): State<App>,
    Path((org, dir)): Path<(String, String)>,
    Query(q): Q,
) -> Reply {
    check_org(&app, &org)?;
    if dir != "-" && dir != app.cfg.directory_id {
        return Err(unknown(format!("Directory {dir} was not found")));
    }
    let (offset, limit, expand) = match q.get("cursor") {
        Some(c) => decode(c).ok_or_else(|| {
            errors::admin(
                StatusCode::BAD_REQUEST,
                "ADMIN-UAM-400-1",
                "Bad Request",
                "Invalid cursor",
            )
        })?,
        None => {
            let limit = match q.get("limit") {
                None => 100,
                Some(s) => match s.parse::<usize>() {
                    Ok(n) if (1..=100).contains(&n) => n,
                    _ => {
                        return Err(errors::admin(
                            StatusCode::BAD_REQUEST,
                            "ADMIN-UAM-400-1",
                            "Bad Request",
                            format!("limit must be between 1 and 100, was {s}"),
                        ));
                    }
                },
            };
            let expand = q
                .get("expand")
                .map(|e| {
                    e.split(',')
                        .map(str::trim)
                        .filter(|x| !x.is_empty())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            (0, limit, expand)
        }
    };
    let site = app.site();
    let total = site.users.len();
    let data: Vec<Value> = site
        .users
        .iter()
        .skip(offset)
        .take(limit)
        .map(|u| v2_user(&app, &site, u, &expand))
        .collect();
    Ok(json_ok(
        StatusCode::OK,
        &json!({"data": data, "links": links(offset, limit, total, &expand)}),
    ))
}

/// `GET /admin/v1/orgs/{orgId}/users`: 50 per page, snake_case, `meta.total` (ref §3.3).
async fn v1_users(State(app): State<App>, Path(org): Path<String>, Query(q): Q) -> Reply {
    check_org(&app, &org)?;
    let offset = match q.get("cursor") {
        Some(c) => decode(c).map(|(o, _, _)| o).ok_or_else(|| {
            errors::admin(
                StatusCode::BAD_REQUEST,
                "ADMIN-UAM-400-1",
                "Bad Request",
                "Invalid cursor",
            )
        })?,
        None => 0,
    };
    let site = app.site();
    let total = site.users.len();
    let data: Vec<Value> = site
        .users
        .iter()
        .skip(offset)
        .take(50)
        .map(|u| {
            let access: Vec<Value> = product_access(&app, &site, u)
                .map(|_| vec![json!({"key": "confluence", "name": "Confluence", "url": app.cfg.site_url.trim_start_matches("http://"), "last_active": u.last_active.map(millis)})])
                .unwrap_or_default();
            json!({
                "account_id": u.account_id,
                "account_type": "atlassian",
                "account_status": if u.active { "active" } else { "inactive" },
                "name": u.display_name,
                "picture": format!("https://avatar-management.services.atlassian.com/default/{}", u.account_id),
                "email": u.email,
                "access_billable": !access.is_empty(),
                "last_active": u.last_active.map(millis),
                "product_access": access,
                "links": {"self": format!("{}/users/{}/manage/profile", app.cfg.site_url, u.account_id)},
            })
        })
        .collect();
    let next = (offset + 50 < total).then(|| {
        format!(
            "{}/admin/v1/orgs/{org}/users?cursor={}",
            app.cfg.site_url,
            encode(offset + 50, 50, &[])
        )
    });
    Ok(json_ok(
        StatusCode::OK,
        &json!({"data": data, "meta": {"total": total}, "links": {"self": format!("{}/admin/v1/orgs/{org}/users", app.cfg.site_url), "prev": null, "next": next}}),
    ))
}

/// Last active dates (ref §3.7); empty `product_access` when never active.
async fn last_active(
    State(app): State<App>,
    Path((org, account)): Path<(String, String)>,
) -> Reply {
    check_org(&app, &org)?;
    let site = app.site();
    let u = site
        .user(&account)
        .ok_or_else(|| unknown(format!("User {account} was not found")))?;
    let access: Vec<Value> = match u.last_active {
        Some(t) => vec![json!({
            "id": app.cfg.cloud_id,
            "key": "confluence",
            "last_active": t.strftime("%Y-%m-%d").to_string(),
            "last_active_timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        })],
        None => Vec::new(),
    };
    Ok(json_ok(
        StatusCode::OK,
        &json!({
            "data": {
                "product_access": access,
                "added_to_org": u.created.strftime("%Y-%m-%d").to_string(),
                "added_to_org_timestamp": u.created.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            },
            "links": {"next": null},
        }),
    ))
}

fn set_active(app: &App, account: &str, active: bool) -> Reply {
    let mut site = app.site();
    let u = site
        .user_mut(account)
        .ok_or_else(errors::account_not_found)?;
    if u.active != active {
        u.active = active;
        u.deactivated_on = (!active).then(Timestamp::now);
        u.last_modified = Timestamp::now();
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /users/{accountId}/manage/lifecycle/disable` → 204 (ref §3.8).
async fn disable(State(app): State<App>, Path(account): Path<String>) -> Reply {
    set_active(&app, &account, false)
}

/// `POST /users/{accountId}/manage/lifecycle/enable` → 204 (ref §3.8).
async fn enable(State(app): State<App>, Path(account): Path<String>) -> Reply {
    set_active(&app, &account, true)
}
