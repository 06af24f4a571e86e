//! Groups and membership (ref §4.5).

use std::collections::{BTreeSet, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::Dc;
use super::site::{group_json, user_json};
use super::wire::{self, bad_request, error, no_content, not_found, page, parse_body};

type Params = Query<HashMap<String, String>>;

fn group_missing(name: &str) -> Response {
    not_found(format!("Group not found: {name}"))
}

/// `GET /rest/api/group?start&limit` (ref §4.5).
pub(crate) async fn list(State(dc): State<Dc>, Query(q): Params) -> Response {
    let q = wire::Query(q);
    let (start, limit) = match q.paging(200, 1000) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let all: Vec<Value> = dc
        .site()
        .groups
        .keys()
        .map(|g| group_json(&dc.links, g))
        .collect();
    axum::Json(page(&dc.links, "/rest/api/group", &[], all, start, limit)).into_response()
}

/// `GET /rest/api/group/{name}`.
pub(crate) async fn get_group(State(dc): State<Dc>, Path(name): Path<String>) -> Response {
    if dc.site().groups.contains_key(&name) {
        axum::Json(group_json(&dc.links, &name)).into_response()
    } else {
        group_missing(&name)
    }
}

/// `GET /rest/api/group/{name}/member?start&limit&expand=status` (ref §4.5).
pub(crate) async fn members(
    State(dc): State<Dc>,
    Path(name): Path<String>,
    Query(q): Params,
) -> Response {
    let q = wire::Query(q);
    let (start, limit) = match q.paging(200, 200) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let status = q.expands("status");
    let all: Vec<Value> = {
        let site = dc.site();
        let Some(members) = site.groups.get(&name) else {
            return group_missing(&name);
        };
        members
            .iter()
            .filter_map(|m| site.user(m))
            .map(|u| user_json(&dc.links, u, status))
            .collect()
    };
    let keep: Vec<(&str, &str)> = q.get("expand").map(|e| ("expand", e)).into_iter().collect();
    let path = format!("/rest/api/group/{}/member", wire::enc(&name));
    axum::Json(page(&dc.links, &path, &keep, all, start, limit)).into_response()
}

/// `GET /rest/api/user/memberof?username=` (ref §4.3): the user's groups, paged.
pub(crate) async fn member_of(State(dc): State<Dc>, Query(q): Params) -> Response {
    let q = wire::Query(q);
    let (start, limit) = match q.paging(200, 200) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Some(username) = q.get("username").map(str::to_lowercase) else {
        return bad_request("A username must be specified");
    };
    let all: Vec<Value> = {
        let site = dc.site();
        if site.user(&username).is_none() {
            return not_found(format!("No user found with username: {username}"));
        }
        site.groups
            .iter()
            .filter(|(_, m)| m.contains(&username))
            .map(|(g, _)| group_json(&dc.links, g))
            .collect()
    };
    let keep = [("username", username.as_str())];
    axum::Json(page(
        &dc.links,
        "/rest/api/user/memberof",
        &keep,
        all,
        start,
        limit,
    ))
    .into_response()
}

/// `POST /rest/api/admin/group` `{"type":"group","name"}` → 201 (ref §4.5).
pub(crate) async fn create(State(dc): State<Dc>, body: Bytes) -> Response {
    let v = match parse_body(&body) {
        Ok(v) => v,
        Err(r) => return r,
    };
    match v.get("type").and_then(Value::as_str) {
        None => return bad_request("missing type id property 'type'"),
        Some("group") => {}
        Some(other) => {
            return bad_request(format!("Could not resolve type id '{other}'"));
        }
    }
    let name = v.get("name").and_then(Value::as_str).unwrap_or("").trim();
    if name.is_empty() {
        return bad_request("Group name cannot be blank");
    }
    let mut site = dc.site();
    if site.groups.contains_key(name) {
        return error(
            StatusCode::CONFLICT,
            format!("Group with name {name} already exists"),
        );
    }
    site.groups.insert(name.to_string(), BTreeSet::new());
    (StatusCode::CREATED, axum::Json(group_json(&dc.links, name))).into_response()
}

/// `DELETE /rest/api/admin/group/{name}` → 204; 404 if missing (ref §4.5).
pub(crate) async fn remove(State(dc): State<Dc>, Path(name): Path<String>) -> Response {
    if dc.site().remove_group(&name) {
        no_content()
    } else {
        group_missing(&name)
    }
}

fn change_member(dc: &Dc, username: &str, group: &str, add: bool) -> Response {
    let mut site = dc.site();
    let Some(user) = site.user(username).map(|u| u.username.clone()) else {
        return not_found(format!("No user found with username: {username}"));
    };
    let Some(members) = site.groups.get_mut(group) else {
        return group_missing(group);
    };
    if add {
        members.insert(user);
    } else {
        members.remove(&user);
    }
    no_content()
}

/// `PUT /rest/api/user/{username}/group/{group}` → 204, idempotent (ref §4.5).
pub(crate) async fn add_member(
    State(dc): State<Dc>,
    Path((username, group)): Path<(String, String)>,
) -> Response {
    change_member(&dc, &username, &group, true)
}

/// `DELETE /rest/api/user/{username}/group/{group}` → 204, idempotent (ref §4.5).
pub(crate) async fn remove_member(
    State(dc): State<Dc>,
    Path((username, group)): Path<(String, String)>,
) -> Response {
    change_member(&dc, &username, &group, false)
}
