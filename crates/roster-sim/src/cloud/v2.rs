//! Confluence Cloud REST v2: spaces and their permission assignments (ref §2.2, §2.5, §2.6).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::errors::{self, Reply, json_ok};
use super::state::{App, Space, millis};

type Q = Query<HashMap<String, String>>;

pub fn routes(app: &App) -> Router<App> {
    Router::new()
        .route("/wiki/api/v2/spaces", get(spaces))
        .route("/wiki/api/v2/spaces/{id}", get(space))
        .route("/wiki/api/v2/spaces/{id}/permissions", get(permissions))
        .merge(super::pages::routes())
        .route_layer(axum::middleware::from_fn_with_state(app.clone(), guard))
}

async fn guard(State(app): State<App>, request: Request, next: Next) -> Response {
    if !super::basic_ok(&app, request.headers()) {
        return errors::unauthorized_basic();
    }
    next.run(request).await
}

pub(super) fn bad(title: impl Into<String>) -> Response {
    errors::v2(StatusCode::BAD_REQUEST, "INVALID_REQUEST_PARAMETER", title)
}

pub(super) fn not_found() -> Response {
    errors::v2(StatusCode::NOT_FOUND, "NOT_FOUND", "Not Found")
}

/// `limit` 1..250, default 25, 400 outside (ref §2.2).
pub(super) fn limit(q: &HashMap<String, String>) -> Result<usize, Response> {
    match q.get("limit") {
        None => Ok(25),
        Some(s) => match s.trim().parse::<usize>() {
            Ok(n) if (1..=250).contains(&n) => Ok(n),
            _ => Err(bad(format!(
                "limit must be between 1 and 250 (inclusive), was {s}"
            ))),
        },
    }
}

pub(super) fn encode_cursor(v: &Value) -> String {
    URL_SAFE_NO_PAD.encode(v.to_string())
}

pub(super) fn decode_cursor(s: &str) -> Result<Value, Response> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .filter(|v| v.get("after").and_then(Value::as_u64).is_some())
        .ok_or_else(|| bad("Invalid cursor"))
}

/// Results page: `_links.next` relative to the site root (with `/wiki`) and the same URL in a
/// `Link` header (ref §2.2).
pub(super) fn cursor_page(app: &App, results: Vec<Value>, next: Option<String>) -> Response {
    let base = format!("{}/wiki", app.cfg.site_url);
    let mut links = json!({"base": base});
    if let Some(n) = &next {
        links["next"] = json!(n);
    }
    let mut response = json_ok(
        StatusCode::OK,
        &json!({"results": results, "_links": links}),
    );
    if let Some(n) = next
        && let Ok(v) =
            HeaderValue::from_str(&format!("<{n}>; rel=\"next\", <{base}>; rel=\"base\""))
    {
        response.headers_mut().insert(header::LINK, v);
    }
    response
}

/// v2 `SpaceBulk` (ref §2.5).
fn space_json(s: &Space) -> Value {
    json!({
        "id": s.id.to_string(),
        "key": s.key,
        "name": s.name,
        "type": s.kind,
        "status": s.status,
        "authorId": s.author_id,
        "createdAt": millis(s.created),
        "homepageId": (s.id + 4).to_string(),
        "currentActiveAlias": s.key,
        "description": null,
        "icon": null,
        "_links": {"webui": format!("/spaces/{}", s.key)},
    })
}

fn list_param(q: &HashMap<String, String>, name: &str) -> Vec<String> {
    q.get(name)
        .map(|v| {
            v.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// `GET /wiki/api/v2/spaces?ids&keys&type&status&cursor&limit`, by id ascending (ref §2.5). The
/// filters ride inside the opaque cursor, so `next` is just `?cursor=...&limit=N`.
async fn spaces(State(app): State<App>, Query(q): Q) -> Reply {
    let limit = limit(&q)?;
    let filter = match q.get("cursor") {
        Some(c) => decode_cursor(c)?,
        None => json!({
            "after": 0,
            "ids": list_param(&q, "ids"),
            "keys": list_param(&q, "keys"),
            "type": q.get("type"),
            "status": q.get("status"),
        }),
    };
    let strings = |name: &str| -> Vec<String> {
        filter[name]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let (ids, keys) = (strings("ids"), strings("keys"));
    if ids.len() > 250 || keys.len() > 250 {
        return Err(bad("At most 250 ids or keys may be given"));
    }
    let after = filter["after"].as_u64().unwrap_or(0);
    let site = app.site();
    let mut matching: Vec<&Space> = site
        .spaces
        .iter()
        .filter(|s| s.id > after)
        .filter(|s| ids.is_empty() || ids.contains(&s.id.to_string()))
        .filter(|s| keys.is_empty() || keys.contains(&s.key))
        .filter(|s| filter["type"].as_str().is_none_or(|t| t == s.kind))
        .filter(|s| filter["status"].as_str().is_none_or(|t| t == s.status))
        .collect();
    matching.sort_by_key(|s| s.id);
    let more = matching.len() > limit;
    matching.truncate(limit);
    let next = match (more, matching.last()) {
        (true, Some(last)) => {
            let mut f = filter.clone();
            f["after"] = json!(last.id);
            Some(format!(
                "/wiki/api/v2/spaces?cursor={}&limit={limit}",
                encode_cursor(&f)
            ))
        }
        _ => None,
    };
    let results = matching.into_iter().map(space_json).collect();
    Ok(cursor_page(&app, results, next))
}

pub(super) fn space_id(id: &str) -> Result<u64, Response> {
    id.parse::<u64>()
        .map_err(|_| bad(format!("Invalid space id: {id}")))
}

async fn space(State(app): State<App>, Path(id): Path<String>) -> Reply {
    let id = space_id(&id)?;
    let site = app.site();
    let s = site
        .spaces
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(not_found)?;
    Ok(json_ok(StatusCode::OK, &space_json(s)))
}

/// `GET /wiki/api/v2/spaces/{id}/permissions`: `{id, principal{type,id}, operation{key,
/// targetType}}`, ids as strings (ref §2.6).
async fn permissions(State(app): State<App>, Path(id): Path<String>, Query(q): Q) -> Reply {
    let id = space_id(&id)?;
    let limit = limit(&q)?;
    let after = match q.get("cursor") {
        Some(c) => decode_cursor(c)?["after"].as_u64().unwrap_or(0),
        None => 0,
    };
    let site = app.site();
    let s = site
        .spaces
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(not_found)?;
    let mut perms: Vec<_> = s.permissions.iter().filter(|p| p.id > after).collect();
    perms.sort_by_key(|p| p.id);
    let more = perms.len() > limit;
    perms.truncate(limit);
    let next = match (more, perms.last()) {
        (true, Some(last)) => Some(format!(
            "/wiki/api/v2/spaces/{id}/permissions?cursor={}&limit={limit}",
            encode_cursor(&json!({"after": last.id}))
        )),
        _ => None,
    };
    let results = perms
        .into_iter()
        .map(|p| {
            json!({
                "id": p.id.to_string(),
                "principal": {"type": p.principal_type, "id": p.principal_id},
                "operation": {"key": p.key, "targetType": p.target},
            })
        })
        .collect();
    Ok(cursor_page(&app, results, next))
}
