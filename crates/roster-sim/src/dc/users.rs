//! Users (ref §4.3) and the admin user REST (ref §4.4).

use std::collections::HashMap;

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::Dc;
use super::site::{check_email, check_full_name, check_user_name, user_json};
use super::wire::{self, Caller, bad_request, error, no_content, not_found, page, parse_body};

type Params = Query<HashMap<String, String>>;

/// `GET /rest/api/user/current`.
pub(crate) async fn current(
    State(dc): State<Dc>,
    Extension(caller): Extension<Caller>,
    Query(q): Params,
) -> Response {
    let q = wire::Query(q);
    let site = dc.site();
    match site.user(&caller.0) {
        Some(u) => axum::Json(user_json(&dc.links, u, q.expands("status"))).into_response(),
        // An unseeded site: the credentials' owner exists only in the user directory.
        None => axum::Json(json!({
            "type": "known",
            "username": caller.0,
            "userKey": "00000000000000000000000000000001",
            "displayName": caller.0,
            "_links": {"self": dc.links.user("00000000000000000000000000000001")},
            "_expandable": {"status": ""},
        }))
        .into_response(),
    }
}

/// `GET /rest/api/user?username=` or `?key=` (ref §4.3).
pub(crate) async fn get_user(State(dc): State<Dc>, Query(q): Params) -> Response {
    let q = wire::Query(q);
    let site = dc.site();
    let found = match (q.get("username"), q.get("key")) {
        (Some(name), _) => site
            .user(name)
            .ok_or(format!("No user found with username: {name}")),
        (None, Some(key)) => site
            .user_by_key(key)
            .ok_or(format!("No user found with key: {key}")),
        (None, None) => return bad_request("A username or key must be specified"),
    };
    match found {
        Ok(u) => axum::Json(user_json(&dc.links, u, q.expands("status"))).into_response(),
        Err(message) => not_found(message),
    }
}

fn keep(q: &wire::Query) -> Vec<(&str, &str)> {
    q.get("expand").map(|e| ("expand", e)).into_iter().collect()
}

/// `GET /rest/api/user/list?start&limit` (ref §4.3): every registered user, active or not,
/// with e-mail (the caller is an administrator).
pub(crate) async fn list(State(dc): State<Dc>, Query(q): Params) -> Response {
    let q = wire::Query(q);
    let (start, limit) = match q.paging(200, 200) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let status = q.expands("status");
    let all: Vec<Value> = dc
        .site()
        .users
        .values()
        .map(|u| user_json(&dc.links, u, status))
        .collect();
    axum::Json(page(
        &dc.links,
        "/rest/api/user/list",
        &keep(&q),
        all,
        start,
        limit,
    ))
    .into_response()
}

/// `GET /rest/api/admin/users/list/active` (ref §4.3, §4.2: with `totalCount`).
pub(crate) async fn list_active(State(dc): State<Dc>, Query(q): Params) -> Response {
    let q = wire::Query(q);
    let (start, limit) = match q.paging(200, 200) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let status = q.expands("status");
    let all: Vec<Value> = dc
        .site()
        .users
        .values()
        .filter(|u| u.active)
        .map(|u| user_json(&dc.links, u, status))
        .collect();
    let total = all.len();
    let mut body = page(
        &dc.links,
        "/rest/api/admin/users/list/active",
        &keep(&q),
        all,
        start,
        limit,
    );
    body["totalCount"] = json!(total);
    axum::Json(body).into_response()
}

fn text<'a>(v: &'a Value, field: &str) -> Option<&'a str> {
    v.get(field).and_then(Value::as_str)
}

/// `POST /rest/api/admin/user` (ref §4.4): 201 `{"userKey"}`; 400 on the validation rules,
/// 409 when the username is taken.
pub(crate) async fn create(State(dc): State<Dc>, body: Bytes) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let user_name = text(&v, "userName").unwrap_or("");
    let full_name = text(&v, "fullName").unwrap_or("");
    let email = text(&v, "email").unwrap_or("");
    let password = text(&v, "password");
    let notify = v.get("notifyViaEmail").and_then(Value::as_bool) == Some(true);
    if let Err(m) = check_user_name(user_name)
        .and_then(|_| check_full_name(full_name))
        .and_then(|_| check_email(email))
    {
        return bad_request(m);
    }
    match (password, notify) {
        (Some(p), false) if !p.is_empty() => {}
        (None, true) => {}
        (Some(_), true) => {
            return bad_request("Either a password or notifyViaEmail can be set, not both");
        }
        _ => return bad_request("A password is required unless notifyViaEmail is true"),
    }
    let mut site = dc.site();
    if site.user(user_name).is_some() {
        return error(
            StatusCode::CONFLICT,
            format!("User with username {user_name} already exists"),
        );
    }
    let key = site.add_user(user_name, full_name, email);
    (StatusCode::CREATED, axum::Json(json!({"userKey": key}))).into_response()
}

/// `PUT /rest/api/admin/user/{username}` `{"email","fullName"}` → 204 (ref §4.4).
pub(crate) async fn update(
    State(dc): State<Dc>,
    Path(username): Path<String>,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    let email = text(&v, "email");
    let full_name = text(&v, "fullName");
    if let Some(e) = email
        && let Err(m) = check_email(e)
    {
        return bad_request(m);
    }
    if let Some(n) = full_name
        && let Err(m) = check_full_name(n)
    {
        return bad_request(m);
    }
    let mut site = dc.site();
    let Some(user) = site.users.get_mut(&username.to_lowercase()) else {
        return not_found(format!("No user found with username: {username}"));
    };
    if let Some(e) = email {
        user.email = e.into();
    }
    if let Some(n) = full_name {
        user.full_name = n.into();
    }
    no_content()
}

fn set_active(dc: &Dc, username: &str, active: bool) -> Response {
    let mut site = dc.site();
    match site.users.get_mut(&username.to_lowercase()) {
        Some(u) => {
            u.active = active;
            no_content()
        }
        None => not_found(format!("No user found with username: {username}")),
    }
}

/// `PUT /rest/api/admin/user/{username}/disable` → 204, idempotent (ref §4.4).
pub(crate) async fn disable(State(dc): State<Dc>, Path(username): Path<String>) -> Response {
    set_active(&dc, &username, false)
}

/// `PUT /rest/api/admin/user/{username}/enable` → 204, idempotent (ref §4.4).
pub(crate) async fn enable(State(dc): State<Dc>, Path(username): Path<String>) -> Response {
    set_active(&dc, &username, true)
}

/// `DELETE /rest/api/admin/user/{username}` → 202 LongTaskSubmission (ref §4.4; the shape is
/// unconfirmed). The simulator removes the user at once.
pub(crate) async fn remove(State(dc): State<Dc>, Path(username): Path<String>) -> Response {
    if !dc.site().remove_user(&username) {
        return not_found(format!("No user found with username: {username}"));
    }
    let id = uuid::Uuid::new_v4().to_string();
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"id": id, "links": {"status": format!("/rest/api/longtask/{id}")}})),
    )
        .into_response()
}

/// `POST /rest/api/admin/user/{username}/password` `{"password"}` → 204 (ref §4.4).
pub(crate) async fn set_password(
    State(dc): State<Dc>,
    Path(username): Path<String>,
    body: Bytes,
) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    if text(&v, "password").is_none_or(|p| p.trim().is_empty()) {
        return bad_request("Password cannot be null or blank");
    }
    if dc.site().user(&username).is_none() {
        return not_found(format!("No user found with username: {username}"));
    }
    no_content()
}
