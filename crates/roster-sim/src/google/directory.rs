//! Admin SDK Directory API v1: users, groups and members (reference §11.2, §11.3), paged with
//! `pageToken`/`nextPageToken`, each call checked against the token's scopes and its user's
//! admin rights.

use std::collections::HashMap;
use std::time::Instant;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::state::{
    App, Group, User, bad_request, etag, insufficient_scopes, json_response, not_authorized,
    not_found, unauthenticated,
};
use crate::directory::{millis, page_after};

type Reply = Result<Response, Response>;

const SCOPE: &str = "https://www.googleapis.com/auth/admin.directory.";

pub fn routes() -> Router<App> {
    Router::new()
        .route("/admin/directory/v1/users", get(list_users))
        .route("/admin/directory/v1/users/{key}", get(get_user))
        .route("/admin/directory/v1/groups", get(list_groups))
        .route("/admin/directory/v1/groups/{key}/members", get(members))
}

/// The bearer token's grant, if it holds one of `scopes` (suffixes of `admin.directory.`) and
/// acts as an admin.
fn authorized(app: &App, headers: &HeaderMap, scopes: &[&str]) -> Result<(), Response> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .ok_or_else(unauthenticated)?;
    let account = app.account();
    let grant = account
        .tokens
        .get(token)
        .filter(|g| g.expires > Instant::now())
        .ok_or_else(unauthenticated)?;
    let allowed = grant.scopes.iter().any(|s| {
        s.strip_prefix(SCOPE)
            .is_some_and(|rest| scopes.contains(&rest))
    });
    if !allowed {
        return Err(insufficient_scopes());
    }
    if !account.user(&grant.subject).is_some_and(|u| u.is_admin) {
        return Err(not_authorized());
    }
    Ok(())
}

/// `customer` (`my_customer` or the id) or `domain` must name this account.
fn owner(app: &App, q: &HashMap<String, String>) -> Result<(), Response> {
    let customer_ok = q
        .get("customer")
        .is_some_and(|c| c == "my_customer" || *c == app.cfg.customer_id);
    let domain_ok = q
        .get("domain")
        .is_some_and(|d| d.eq_ignore_ascii_case(&app.cfg.domain));
    if customer_ok || domain_ok {
        Ok(())
    } else {
        Err(bad_request("badRequest", "Bad Request"))
    }
}

fn max_results(
    app: &App,
    q: &HashMap<String, String>,
    default: usize,
    largest: usize,
) -> Result<usize, Response> {
    let asked = match q.get("maxResults") {
        None => default,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (1..=largest).contains(&n) => n,
            _ => {
                return Err(bad_request(
                    "invalid",
                    &format!(
                        "Invalid value '{m}'. Values must be within the range: [1, {largest}]"
                    ),
                ));
            }
        },
    };
    Ok(asked.min(app.cfg.page_size))
}

fn page_token(q: &HashMap<String, String>) -> Result<Option<String>, Response> {
    let Some(t) = q.get("pageToken").filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix("after:").map(str::to_string))
        .map(Some)
        .ok_or_else(|| bad_request("invalid", "Invalid Input: pageToken"))
}

fn next_token(last: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("after:{last}"))
}

pub fn user_json(u: &User, customer_id: &str) -> Value {
    let mut v = json!({
        "kind": "admin#directory#user",
        "id": u.id,
        "etag": etag(&format!("{}{}{}", u.id, u.suspended, u.archived)),
        "primaryEmail": u.primary_email,
        "name": {
            "givenName": u.given_name,
            "familyName": u.family_name,
            "fullName": format!("{} {}", u.given_name, u.family_name),
        },
        "isAdmin": u.is_admin,
        "isDelegatedAdmin": false,
        // The epoch is Google's "never signed in" (§11.2).
        "lastLoginTime": millis(u.last_login.unwrap_or(jiff::Timestamp::UNIX_EPOCH)),
        "creationTime": millis(u.created),
        "agreedToTerms": u.last_login.is_some(),
        "suspended": u.suspended,
        "archived": u.archived,
        "changePasswordAtNextLogin": false,
        "ipWhitelisted": false,
        "emails": [{"address": u.primary_email, "primary": true}],
        "organizations": [{
            "title": u.title, "department": u.department, "primary": true, "customType": "",
        }],
        "customerId": customer_id,
        "orgUnitPath": format!("/{}", u.department),
        "isMailboxSetup": true,
        "includeInGlobalAddressList": true,
    });
    if let Some(e) = &u.employee_id {
        v["externalIds"] = json!([{"type": "organization", "value": e}]);
    }
    if u.suspended {
        v["suspensionReason"] = json!("ADMIN");
    }
    if let Some(t) = u.deleted {
        v["deletionTime"] = json!(millis(t));
    }
    v
}

fn group_json(g: &Group) -> Value {
    json!({
        "kind": "admin#directory#group",
        "id": g.id,
        "etag": etag(&g.id),
        "email": g.email,
        "name": g.name,
        "directMembersCount": g.members.len().to_string(),
        "description": g.description,
        "adminCreated": true,
    })
}

/// `query` terms a test needs (`isSuspended=`, `isArchived=`, `externalId=`, `email=`),
/// space-separated and all required.
fn query_matches(u: &User, query: &str) -> Result<bool, Response> {
    for term in query.split_whitespace() {
        let Some((k, v)) = term.split_once('=') else {
            return Err(bad_request("invalid", "Invalid Input"));
        };
        let v = v.trim_matches('\'');
        let ok = match k {
            "isSuspended" => u.suspended.to_string() == v,
            "isArchived" => u.archived.to_string() == v,
            "externalId" => u.employee_id.as_deref() == Some(v),
            "email" => u.primary_email.eq_ignore_ascii_case(v),
            _ => return Err(bad_request("invalid", "Invalid Input")),
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

fn list(kind: &str, key: &str, items: Vec<Value>, next: Option<String>) -> Response {
    let mut body = json!({"kind": kind, "etag": etag(kind)});
    if !items.is_empty() {
        body[key] = Value::Array(items);
    }
    if let Some(n) = next {
        body["nextPageToken"] = json!(n);
    }
    json_response(StatusCode::OK, &body)
}

async fn list_users(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    authorized(&app, &headers, &["user", "user.readonly"])?;
    owner(&app, &q)?;
    let n = max_results(&app, &q, 100, 500)?;
    let after = page_token(&q)?;
    // `showDeleted=true` lists the deleted users instead of the live ones (§11.2).
    let deleted = q.get("showDeleted").is_some_and(|v| v == "true");
    let account = app.account();
    let mut listed: Vec<&User> = Vec::new();
    for u in account
        .users
        .iter()
        .filter(|u| u.deleted.is_some() == deleted)
    {
        if q.get("query").map_or(Ok(true), |t| query_matches(u, t))? {
            listed.push(u);
        }
    }
    let (page, more) = page_after(&listed, |u| u.id.as_str(), after.as_deref(), n);
    let next = more
        .then(|| page.last())
        .flatten()
        .map(|u| next_token(&u.id));
    let items = page
        .iter()
        .map(|u| user_json(u, &app.cfg.customer_id))
        .collect();
    Ok(list("admin#directory#users", "users", items, next))
}

async fn get_user(State(app): State<App>, headers: HeaderMap, Path(key): Path<String>) -> Reply {
    authorized(&app, &headers, &["user", "user.readonly"])?;
    let account = app.account();
    let u = account.user(&key).ok_or_else(|| not_found("userKey"))?;
    Ok(json_response(
        StatusCode::OK,
        &user_json(u, &app.cfg.customer_id),
    ))
}

async fn list_groups(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    authorized(&app, &headers, &["group", "group.readonly"])?;
    let account = app.account();
    let of_user = match q.get("userKey") {
        Some(k) => Some(
            account
                .user(k)
                .map(|u| u.id.clone())
                .ok_or_else(|| not_found("userKey"))?,
        ),
        None => {
            owner(&app, &q)?;
            None
        }
    };
    let n = max_results(&app, &q, 200, 200)?;
    let after = page_token(&q)?;
    let listed: Vec<&Group> = account
        .groups
        .iter()
        .filter(|g| of_user.as_ref().is_none_or(|u| g.members.contains(u)))
        .collect();
    let (page, more) = page_after(&listed, |g| g.id.as_str(), after.as_deref(), n);
    let next = more
        .then(|| page.last())
        .flatten()
        .map(|g| next_token(&g.id));
    let items = page.iter().map(|g| group_json(g)).collect();
    Ok(list("admin#directory#groups", "groups", items, next))
}

async fn members(
    State(app): State<App>,
    headers: HeaderMap,
    Path(key): Path<String>,
    Query(q): Query<HashMap<String, String>>,
) -> Reply {
    authorized(
        &app,
        &headers,
        &[
            "group",
            "group.readonly",
            "group.member",
            "group.member.readonly",
        ],
    )?;
    let n = max_results(&app, &q, 200, 200)?;
    let after = page_token(&q)?;
    let account = app.account();
    let g = account.group(&key).ok_or_else(|| not_found("groupKey"))?;
    let listed: Vec<&User> = account
        .users
        .iter()
        .filter(|u| u.deleted.is_none() && g.members.contains(&u.id))
        .collect();
    let (page, more) = page_after(&listed, |u| u.id.as_str(), after.as_deref(), n);
    let next = more
        .then(|| page.last())
        .flatten()
        .map(|u| next_token(&u.id));
    let items = page
        .iter()
        .map(|u| {
            json!({
                "kind": "admin#directory#member",
                "etag": etag(&format!("{}{}", g.id, u.id)),
                "id": u.id,
                "email": u.primary_email,
                "role": "MEMBER",
                "type": "USER",
                "status": if u.suspended { "SUSPENDED" } else { "ACTIVE" },
            })
        })
        .collect();
    Ok(list("admin#directory#members", "members", items, next))
}
