//! `/api/v1/users` and `/api/v1/groups` (reference §9.2, §9.4).

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

use super::filter::{self, Mode};
use super::state::{App, User};
use super::{authorized, wire};
use crate::directory::{page_after, query_encode};

type Reply = Result<Response, Response>;

pub const STATUSES: [&str; 8] = [
    "STAGED",
    "PROVISIONED",
    "ACTIVE",
    "RECOVERY",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
    "SUSPENDED",
    "DEPROVISIONED",
];

pub fn routes() -> Router<App> {
    Router::new()
        .route("/api/v1/users", get(list_users))
        .route("/api/v1/users/{id}", get(get_user))
        .route("/api/v1/users/{id}/groups", get(user_groups))
        .route("/api/v1/groups", get(list_groups))
        .route("/api/v1/groups/{id}", get(get_group))
        .route("/api/v1/groups/{id}/users", get(group_users))
}

/// `limit`, Okta's default when absent, never above 200 nor the simulator's page size.
fn limit(app: &App, q: &HashMap<String, String>, default: usize) -> Result<usize, Response> {
    let asked = match q.get("limit") {
        None => default,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                return Err(wire::error(
                    axum::http::StatusCode::BAD_REQUEST,
                    "E0000001",
                    "Api validation failed: limit",
                    &[format!("limit: {l} is not a positive number")],
                ));
            }
        },
    };
    Ok(asked.min(200).min(app.cfg.page_size))
}

/// The answer with `Link` headers on separate lines, as Okta sends them (§9.2).
fn paged(body: Value, self_url: String, next: Option<String>) -> Response {
    let mut response = wire::ok(&body);
    let h = response.headers_mut();
    let mut link = |url: String, rel: &str| {
        if let Ok(v) = HeaderValue::from_str(&format!("<{url}>; rel=\"{rel}\"")) {
            h.append(header::LINK, v);
        }
    };
    link(self_url, "self");
    if let Some(n) = next {
        link(n, "next");
    }
    response
}

/// The next page's URL: the same query with `after` moved on.
fn next_url(
    base: &str,
    path: &str,
    q: &HashMap<String, String>,
    after: &str,
    limit: usize,
) -> String {
    let mut url = format!("{base}{path}?after={}&limit={limit}", query_encode(after));
    for key in ["filter", "search", "sortBy", "sortOrder"] {
        if let Some(v) = q.get(key) {
            url.push_str(&format!("&{key}={}", query_encode(v)));
        }
    }
    url
}

fn self_url(base: &str, path: &str, raw: Option<String>) -> String {
    match raw.filter(|r| !r.is_empty()) {
        Some(r) => format!("{base}{path}?{r}"),
        None => format!("{base}{path}"),
    }
}

async fn list_users(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Reply {
    authorized(&app, &headers)?;
    let base = &app.cfg.base_url;
    let org = app.org();
    // `q` is a quick prefix search: 10 by default, no DEPROVISIONED users, not pageable.
    if let Some(prefix) = q.get("q") {
        let prefix = prefix.to_lowercase();
        let n = limit(&app, &q, 10)?;
        let found: Vec<Value> = org
            .users
            .iter()
            .filter(|u| u.status != "DEPROVISIONED")
            .filter(|u| {
                ["firstName", "lastName", "email", "login"].iter().any(|k| {
                    u.profile[*k]
                        .as_str()
                        .is_some_and(|v| v.to_lowercase().starts_with(&prefix))
                })
            })
            .take(n)
            .map(|u| wire::user_json(u, base))
            .collect();
        return Ok(paged(
            Value::Array(found),
            self_url(base, "/api/v1/users", raw),
            None,
        ));
    }
    let expr = match (q.get("search"), q.get("filter")) {
        (Some(s), _) => Some((
            filter::parse(s, Mode::Search).map_err(|e| wire::invalid_search(&e))?,
            Mode::Search,
        )),
        (None, Some(f)) => Some((
            filter::parse(f, Mode::Filter).map_err(|e| wire::invalid_search(&e))?,
            Mode::Filter,
        )),
        (None, None) => None,
    };
    let n = limit(&app, &q, 200)?;
    let listed: Vec<&User> = org
        .users
        .iter()
        .filter(|u| match &expr {
            Some((e, mode)) => filter::matches(e, &wire::user_json(u, base), *mode),
            // Without filter or search DEPROVISIONED users are left out (§9.2).
            None => u.status != "DEPROVISIONED",
        })
        .collect();
    let (page, more) = page_after(
        &listed,
        |u| u.id.as_str(),
        q.get("after").map(String::as_str),
        n,
    );
    let next = more
        .then(|| page.last())
        .flatten()
        .map(|last| next_url(base, "/api/v1/users", &q, &last.id, n));
    let body = Value::Array(page.iter().map(|u| wire::user_json(u, base)).collect());
    Ok(paged(body, self_url(base, "/api/v1/users", raw), next))
}

async fn get_user(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Reply {
    authorized(&app, &headers)?;
    let org = app.org();
    match org.user(&id) {
        Some(u) => Ok(wire::ok(&wire::user_json(u, &app.cfg.base_url))),
        None => Err(wire::not_found(&format!("{id} (User)"))),
    }
}

fn groups_readable(app: &App) -> Result<(), Response> {
    if app.cfg.can_read_groups {
        Ok(())
    } else {
        Err(wire::access_denied())
    }
}

async fn user_groups(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Reply {
    authorized(&app, &headers)?;
    groups_readable(&app)?;
    let org = app.org();
    let Some(u) = org.user(&id) else {
        return Err(wire::not_found(&format!("{id} (User)")));
    };
    let groups: Vec<Value> = org
        .groups
        .iter()
        .filter(|g| g.members.contains(&u.id))
        .map(|g| wire::group_json(g, &app.cfg.base_url))
        .collect();
    Ok(wire::ok(&Value::Array(groups)))
}

async fn list_groups(
    State(app): State<App>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Reply {
    authorized(&app, &headers)?;
    groups_readable(&app)?;
    if q.contains_key("filter") || q.contains_key("search") {
        return Err(wire::invalid_search(
            "the simulator answers q, limit and after on groups",
        ));
    }
    let base = &app.cfg.base_url;
    let org = app.org();
    let prefix = q.get("q").map(|p| p.to_lowercase());
    let listed: Vec<_> = org
        .groups
        .iter()
        .filter(|g| {
            prefix
                .as_deref()
                .is_none_or(|p| g.name.to_lowercase().starts_with(p))
        })
        .collect();
    let n = limit(&app, &q, 200)?;
    let (page, more) = page_after(
        &listed,
        |g| g.id.as_str(),
        q.get("after").map(String::as_str),
        n,
    );
    let next = more
        .then(|| page.last())
        .flatten()
        .map(|last| next_url(base, "/api/v1/groups", &q, &last.id, n));
    let body = Value::Array(page.iter().map(|g| wire::group_json(g, base)).collect());
    Ok(paged(body, self_url(base, "/api/v1/groups", raw), next))
}

async fn get_group(State(app): State<App>, headers: HeaderMap, Path(id): Path<String>) -> Reply {
    authorized(&app, &headers)?;
    groups_readable(&app)?;
    let org = app.org();
    match org.group(&id) {
        Some(g) => Ok(wire::ok(&wire::group_json(g, &app.cfg.base_url))),
        None => Err(wire::not_found(&format!("{id} (UserGroup)"))),
    }
}

async fn group_users(
    State(app): State<App>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    RawQuery(raw): RawQuery,
) -> Reply {
    authorized(&app, &headers)?;
    groups_readable(&app)?;
    let base = &app.cfg.base_url;
    let org = app.org();
    let Some(g) = org.group(&id) else {
        return Err(wire::not_found(&format!("{id} (UserGroup)")));
    };
    let members: Vec<&User> = org
        .users
        .iter()
        .filter(|u| g.members.contains(&u.id))
        .collect();
    let n = limit(&app, &q, 200)?;
    let (page, more) = page_after(
        &members,
        |u| u.id.as_str(),
        q.get("after").map(String::as_str),
        n,
    );
    let path = format!("/api/v1/groups/{id}/users");
    let next = more
        .then(|| page.last())
        .flatten()
        .map(|last| next_url(base, &path, &q, &last.id, n));
    let body = Value::Array(page.iter().map(|u| wire::user_json(u, base)).collect());
    Ok(paged(body, self_url(base, &path, raw), next))
}
