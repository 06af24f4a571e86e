//! Confluence Cloud REST v2 pages, read-only: the content a leaver wrote, which deactivation
//! must leave exactly as it was. Field names follow the v2 `PageBulk` shape (id, status,
//! title, spaceId, authorId, ownerId, lastOwnerId, createdAt, version; CONFCLOUD-81139 lists
//! the owner fields) with the cursor paging of ref §2.2. Pages are written through
//! `POST /_sim/pages` ("as if this person wrote it"), since the real create call always
//! authors the page as the caller.

use std::collections::HashMap;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use jiff::Timestamp;
use serde_json::{Value, json};

use super::errors::{self, Reply, json_ok};
use super::state::{App, Page, millis};
use super::v2::{bad, cursor_page, decode_cursor, encode_cursor, limit, not_found, space_id};

type Q = Query<HashMap<String, String>>;

pub fn routes() -> Router<App> {
    Router::new()
        .route("/wiki/api/v2/pages", get(list))
        .route("/wiki/api/v2/pages/{id}", get(one))
        .route("/wiki/api/v2/spaces/{id}/pages", get(in_space))
}

fn page_json(p: &Page) -> Value {
    json!({
        "id": p.id.to_string(),
        "status": p.status,
        "title": p.title,
        "spaceId": p.space_id.to_string(),
        "parentId": null,
        "parentType": null,
        "position": 0,
        "authorId": p.author_id,
        "ownerId": p.owner_id,
        "lastOwnerId": null,
        "createdAt": millis(p.created),
        "version": {
            "createdAt": millis(p.created),
            "message": "",
            "number": p.version,
            "minorEdit": false,
            "authorId": p.author_id,
        },
        "_links": {
            "webui": format!("/spaces/{}/pages/{}", p.space_id, p.id),
            "tinyui": format!("/x/{}", p.id),
        },
    })
}

/// `GET /wiki/api/v2/pages?space-id=&status=&limit=&cursor=`, by id ascending; `current`
/// pages unless a status is asked for.
async fn list(State(app): State<App>, Query(q): Q) -> Reply {
    let spaces = q
        .get("space-id")
        .map(|v| {
            v.split(',')
                .map(|s| space_id(s.trim()))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    page_of(&app, &q, spaces, "/wiki/api/v2/pages".to_string())
}

/// `GET /wiki/api/v2/spaces/{id}/pages`: 404 for an unknown space.
async fn in_space(State(app): State<App>, Path(id): Path<String>, Query(q): Q) -> Reply {
    let id = space_id(&id)?;
    if !app.site().spaces.iter().any(|s| s.id == id) {
        return Err(not_found());
    }
    page_of(
        &app,
        &q,
        vec![id],
        format!("/wiki/api/v2/spaces/{id}/pages"),
    )
}

fn page_of(app: &App, q: &HashMap<String, String>, spaces: Vec<u64>, path: String) -> Reply {
    let limit = limit(q)?;
    let filter = match q.get("cursor") {
        Some(c) => decode_cursor(c)?,
        None => json!({"after": 0, "spaces": spaces, "status": q.get("status")}),
    };
    let after = filter["after"].as_u64().unwrap_or(0);
    let spaces: Vec<u64> = filter["spaces"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_u64).collect())
        .unwrap_or_default();
    let status = filter["status"].as_str().unwrap_or("current").to_string();
    let site = app.site();
    let mut matching: Vec<&Page> = site
        .pages
        .iter()
        .filter(|p| p.id > after && p.status == status)
        .filter(|p| spaces.is_empty() || spaces.contains(&p.space_id))
        .collect();
    matching.sort_by_key(|p| p.id);
    let more = matching.len() > limit;
    matching.truncate(limit);
    let next = match (more, matching.last()) {
        (true, Some(last)) => {
            let mut f = filter.clone();
            f["after"] = json!(last.id);
            Some(format!("{path}?cursor={}&limit={limit}", encode_cursor(&f)))
        }
        _ => None,
    };
    let results = matching.into_iter().map(page_json).collect();
    Ok(cursor_page(app, results, next))
}

async fn one(State(app): State<App>, Path(id): Path<String>) -> Reply {
    let id: u64 = id
        .parse()
        .map_err(|_| bad(format!("Invalid page id: {id}")))?;
    let site = app.site();
    let page = site
        .pages
        .iter()
        .find(|p| p.id == id)
        .ok_or_else(not_found)?;
    Ok(json_ok(StatusCode::OK, &page_json(page)))
}

/// `POST /_sim/pages` with `{"spaceKey", "title", "authorAccountId"}` (not faulted, no auth):
/// a page that person wrote. 201 with the page; 400 for an unknown space or account.
pub async fn sim_create(State(app): State<App>, body: Bytes) -> Response {
    let refuse = |m: String| errors::json_ok(StatusCode::BAD_REQUEST, &json!({"message": m}));
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return refuse(format!("invalid JSON: {e}")),
    };
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let (Some(key), Some(title), Some(author)) =
        (text("spaceKey"), text("title"), text("authorAccountId"))
    else {
        return refuse("the body must have spaceKey, title and authorAccountId".into());
    };
    let mut site = app.site();
    let Some(space_id) = site.space_by_key(&key).map(|s| s.id) else {
        return refuse(format!("no space {key}"));
    };
    if site.user(&author).is_none() {
        return refuse(format!("no account {author}"));
    }
    let id = site.pages.iter().map(|p| p.id).max().unwrap_or(98_304) + 1;
    let page = Page {
        id,
        space_id,
        title,
        status: "current".into(),
        author_id: author.clone(),
        owner_id: author,
        created: Timestamp::now(),
        version: 1,
    };
    let body = page_json(&page);
    site.pages.push(page);
    errors::json_ok(StatusCode::CREATED, &body)
}
