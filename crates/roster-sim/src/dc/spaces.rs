//! Spaces (ref §4.6) and space permissions over REST, DC 9.2+ (ref §4.7).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::Dc;
use super::site::{Perm, Subject, VALID_PAIRS, perm_json, space_json};
use super::wire::{self, bad_request, no_content, not_found, page, parse_body};

type Params = Query<HashMap<String, String>>;

fn space_missing(key: &str) -> Response {
    // ref §4.9
    not_found(format!("No space with key : {key}"))
}

/// `GET /rest/api/space?start&limit&spaceKey&type` (ref §4.6).
pub(crate) async fn list(State(dc): State<Dc>, Query(q): Params) -> Response {
    let q = wire::Query(q);
    let (start, limit) = match q.paging(25, 500) {
        Ok(p) => p,
        Err(r) => return r,
    };
    let keys: Vec<&str> = q
        .get("spaceKey")
        .map(|k| k.split(',').collect())
        .unwrap_or_default();
    let kind = q.get("type");
    let all: Vec<Value> = dc
        .site()
        .spaces
        .values()
        .filter(|s| keys.is_empty() || keys.contains(&s.key.as_str()))
        // Every simulated space is a global, current one.
        .filter(|_| kind.is_none_or(|t| t == "global"))
        .map(|s| space_json(&dc.links, s))
        .collect();
    let keep: Vec<(&str, &str)> = ["spaceKey", "type", "status"]
        .into_iter()
        .filter_map(|k| q.get(k).map(|v| (k, v)))
        .collect();
    axum::Json(page(&dc.links, "/rest/api/space", &keep, all, start, limit)).into_response()
}

/// `GET /rest/api/space/{key}`.
pub(crate) async fn get_space(State(dc): State<Dc>, Path(key): Path<String>) -> Response {
    match dc.site().spaces.get(&key) {
        Some(s) => axum::Json(space_json(&dc.links, s)).into_response(),
        None => space_missing(&key),
    }
}

fn list_perms(dc: &Dc, key: &str, only: Option<&Subject>) -> Response {
    let site = dc.site();
    let Some(space) = site.spaces.get(key) else {
        return space_missing(key);
    };
    let items: Vec<Value> = space
        .perms
        .iter()
        .filter(|p| only.is_none_or(|s| &p.subject == s))
        .map(|p| perm_json(&space.key, p))
        .collect();
    axum::Json(items).into_response()
}

/// `GET /rest/api/space/{key}/permissions`: an array, not paged (ref §4.7).
pub(crate) async fn permissions(State(dc): State<Dc>, Path(key): Path<String>) -> Response {
    list_perms(&dc, &key, None)
}

/// `GET /rest/api/space/{key}/permissions/group/{name}` (ref §4.7).
pub(crate) async fn group_permissions(
    State(dc): State<Dc>,
    Path((key, name)): Path<(String, String)>,
) -> Response {
    if !dc.site().groups.contains_key(&name) {
        return not_found(format!("Group not found: {name}"));
    }
    list_perms(&dc, &key, Some(&Subject::Group(name)))
}

/// `GET /rest/api/space/{key}/permissions/user/{userKey}` (ref §4.7).
pub(crate) async fn user_permissions(
    State(dc): State<Dc>,
    Path((key, user_key)): Path<(String, String)>,
) -> Response {
    if dc.site().user_by_key(&user_key).is_none() {
        return not_found(format!("No user found with key: {user_key}"));
    }
    list_perms(&dc, &key, Some(&Subject::User(user_key)))
}

/// The `[{"operationKey","targetType"}]` body, each pair checked against ref §4.7.
#[allow(clippy::result_large_err)]
fn operations(body: &[u8]) -> Result<Vec<(String, String)>, Response> {
    let v = parse_body(body)?;
    let Some(items) = v.as_array() else {
        return Err(bad_request(
            "Expected an array of space permission operations",
        ));
    };
    let mut out = Vec::new();
    for item in items {
        let op = item.get("operationKey").and_then(Value::as_str);
        let target = item.get("targetType").and_then(Value::as_str);
        let (Some(op), Some(target)) = (op, target) else {
            return Err(bad_request(
                "Each operation needs an operationKey and a targetType",
            ));
        };
        if !VALID_PAIRS.contains(&(target, op)) {
            return Err(bad_request(format!(
                "Invalid space permission operation: operationKey '{op}' with targetType '{target}'"
            )));
        }
        out.push((target.to_string(), op.to_string()));
    }
    Ok(out)
}

fn is_read(pair: &(String, String)) -> bool {
    pair.0 == "space" && pair.1 == "read"
}

/// Grants or revokes for one subject (ref §4.7): grant adds only missing ones and needs
/// read/space held or granted in the same call; revoke skips ones not held, and revoking
/// read/space takes every other permission of the subject on the space with it.
fn change(dc: &Dc, key: &str, subject: Subject, verb: &str, body: &[u8]) -> Response {
    let grant = match verb {
        "grant" => true,
        "revoke" => false,
        _ => return not_found_route(),
    };
    let ops = match operations(body) {
        Ok(ops) => ops,
        Err(r) => return r,
    };
    let mut site = dc.site();
    let subject_known = match &subject {
        Subject::Group(g) => site.groups.contains_key(g),
        Subject::User(k) => site.user_by_key(k).is_some(),
    };
    let Some(space) = site.spaces.get_mut(key) else {
        return space_missing(key);
    };
    if !subject_known {
        return not_found(match &subject {
            Subject::Group(g) => format!("Group not found: {g}"),
            Subject::User(k) => format!("No user found with key: {k}"),
        });
    }
    let perm = |(target, operation): &(String, String)| Perm {
        subject: subject.clone(),
        target: target.clone(),
        operation: operation.clone(),
    };
    let read = ("space".to_string(), "read".to_string());
    if grant {
        let has_read = space.perms.contains(&perm(&read)) || ops.iter().any(is_read);
        if !has_read && !ops.is_empty() {
            return bad_request(
                "The read space permission ('read' on 'space') must be granted before other permissions",
            );
        }
        for op in &ops {
            space.perms.insert(perm(op));
        }
    } else if ops.iter().any(is_read) {
        space.perms.retain(|p| p.subject != subject);
    } else {
        for op in &ops {
            space.perms.remove(&perm(op));
        }
    }
    no_content()
}

fn not_found_route() -> Response {
    // A path that is not a route: the HTML 404 of ref §4.9. Built synchronously.
    (
        axum::http::StatusCode::NOT_FOUND,
        [(axum::http::header::CONTENT_TYPE, "text/html;charset=UTF-8")],
        "<!DOCTYPE html><html><head><title>HTTP Status 404 – Not Found</title></head>\
         <body><h1>HTTP Status 404 – Not Found</h1></body></html>",
    )
        .into_response()
}

/// `PUT /rest/api/space/{key}/permissions/group/{name}/grant|revoke` → 204 (ref §4.7).
pub(crate) async fn change_group(
    State(dc): State<Dc>,
    Path((key, name, verb)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    change(&dc, &key, Subject::Group(name), &verb, &body)
}

/// `PUT /rest/api/space/{key}/permissions/user/{userKey}/grant|revoke` → 204 (ref §4.7).
pub(crate) async fn change_user(
    State(dc): State<Dc>,
    Path((key, user_key, verb)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    change(&dc, &key, Subject::User(user_key), &verb, &body)
}
