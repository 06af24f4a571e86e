//! Confluence v1 classic space-permission writes (ref §2.6): singular `/permission`, keyed by
//! space KEY. The plural `/space/{id}/permissions` form is not an endpoint (ref §6.4) and falls
//! through to the 404 fallback.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post};
use serde_json::{Value, json};

use super::errors::{self, Reply, json_ok};
use super::state::{App, valid_operation};

pub fn routes() -> Router<App> {
    Router::new()
        .route("/wiki/rest/api/space/{space_key}/permission", post(grant))
        .route(
            "/wiki/rest/api/space/{space_key}/permission/{id}",
            delete(revoke),
        )
}

fn bad(message: impl Into<String>) -> Response {
    errors::v1(StatusCode::BAD_REQUEST, message)
}

fn no_space(key: &str) -> Response {
    errors::v1(StatusCode::NOT_FOUND, format!("No space with key : {key}"))
}

/// `POST /wiki/rest/api/space/{spaceKey}/permission` → 200 `SpacePermissionV2` (ref §2.6).
async fn grant(State(app): State<App>, Path(space_key): Path<String>, body: Bytes) -> Reply {
    let body = super::v1::parse_body(&body)?;
    let mut site = app.site();
    if site.space_by_key(&space_key).is_none() {
        return Err(no_space(&space_key));
    }
    let text = |v: &Value, a: &str, b: &str| -> String {
        v.get(a)
            .and_then(|x| x.get(b))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let subject_type = text(&body, "subject", "type");
    let identifier = text(&body, "subject", "identifier");
    let key = text(&body, "operation", "key");
    let target = text(&body, "operation", "target");
    if subject_type.is_empty() || identifier.is_empty() || key.is_empty() || target.is_empty() {
        return Err(bad(
            "subject.type, subject.identifier, operation.key and operation.target are required",
        ));
    }
    if !valid_operation(&key, &target) {
        return Err(bad(format!(
            "Operation key '{key}' with target '{target}' is not a valid space permission"
        )));
    }
    // Groups by id (or, as older docs allow, by name); users by accountId.
    let principal_id = match subject_type.as_str() {
        "group" => match site
            .group(&identifier)
            .or_else(|| site.group_by_name(&identifier))
        {
            Some(g) => g.id.clone(),
            None => return Err(bad("No group found with the given groupName or groupId")),
        },
        "user" => match site.user(&identifier) {
            Some(u) => u.account_id.clone(),
            None => return Err(bad("No user found with the given accountId")),
        },
        other => return Err(bad(format!("Invalid subject type: {other}"))),
    };
    let Some(space) = site.space_by_key(&space_key) else {
        return Err(no_space(&space_key));
    };
    let mine = |k: &str, t: &str| {
        space.permissions.iter().any(|p| {
            p.principal_type == subject_type
                && p.principal_id == principal_id
                && p.key == k
                && p.target == t
        })
    };
    if mine(&key, &target) {
        return Err(bad("Permission already exists for the given user or group"));
    }
    let is_read = key == "read" && target == "space";
    if !is_read && !mine("read", "space") {
        return Err(bad(
            "'read space' permission doesn't exist for the given user or group",
        ));
    }
    let id = site.grant(&space_key, &subject_type, &principal_id, &key, &target);
    Ok(json_ok(
        StatusCode::OK,
        &json!({
            "id": id,
            "subject": {"type": subject_type, "identifier": principal_id},
            "operation": {"key": key, "target": target},
            "_links": {},
        }),
    ))
}

/// `DELETE /wiki/rest/api/space/{spaceKey}/permission/{id}` → 204; read/space cascades to the
/// subject's other permissions; 400 when no administer permission would be left (ref §2.6).
async fn revoke(State(app): State<App>, Path((space_key, id)): Path<(String, String)>) -> Reply {
    let Ok(id) = id.parse::<u64>() else {
        return Err(bad(format!("Permission id must be an integer: {id}")));
    };
    let mut site = app.site();
    let Some(space) = site.space_by_key_mut(&space_key) else {
        return Err(no_space(&space_key));
    };
    let Some(p) = space.permissions.iter().find(|p| p.id == id).cloned() else {
        return Err(errors::v1(
            StatusCode::NOT_FOUND,
            format!("No space permission with id : {id}"),
        ));
    };
    let cascade = p.key == "read" && p.target == "space";
    let removed = |q: &super::state::Permission| {
        q.id == id
            || (cascade && q.principal_type == p.principal_type && q.principal_id == p.principal_id)
    };
    let admins_left = space
        .permissions
        .iter()
        .any(|q| q.key == "administer" && q.target == "space" && !removed(q));
    if !admins_left {
        return Err(bad(
            "Cannot remove the last administer permission of the space; at least one space admin is required",
        ));
    }
    space.permissions.retain(|q| !removed(q));
    Ok(StatusCode::NO_CONTENT.into_response())
}
