//! Confluence Cloud simulator: one Atlassian site and organization seen through Confluence REST
//! v1/v2 (`{site_url}/wiki/...`), SCIM user provisioning (`/scim/directory/{id}`) and the
//! organization admin / user management APIs (`/admin/...`, `/users/...`), all sharing one state
//! (`docs/reference/atlassian-api.md` §0-§3, §5.3, §7). `GET /_sim/state` dumps that state;
//! `PUT /_sim/users/{accountId}/last-active` sets when an account was last active in Confluence.

// Handlers return `Result<Response, Response>` so an error answer can leave early with `?`; the
// size of `Response` in the `Err` arm does not matter for a test server.
#![allow(clippy::result_large_err)]

mod admin;
mod errors;
mod pages;
mod perms;
mod scim;
mod scim_groups;
mod state;
mod v1;
mod v2;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::{FaultConfig, Faults};
use state::{App, Config, Site};

pub use errors::{rate_headers, rate_limited};

/// How to start the simulator. Credentials left `None` are random ([`crate::random_secret`]).
#[derive(Debug, Clone)]
pub struct CloudOptions {
    /// The site admin's email (Basic auth user name).
    pub email: Option<String>,
    /// The site admin's API token (Basic auth password).
    pub api_token: Option<String>,
    /// The SCIM directory API key (Bearer).
    pub scim_key: Option<String>,
    /// The organization admin API key (Bearer).
    pub org_key: Option<String>,
    pub faults: FaultConfig,
    /// Seed the site with people, default groups and three spaces (default true).
    pub seed_site: bool,
    /// More spaces `(key, name)` the site starts with, as an admin would have created them
    /// (the admin holds read and administer, like a space's creator).
    pub spaces: Vec<(String, String)>,
}

impl Default for CloudOptions {
    fn default() -> Self {
        CloudOptions {
            email: None,
            api_token: None,
            scim_key: None,
            org_key: None,
            faults: FaultConfig::default(),
            seed_site: true,
            spaces: Vec::new(),
        }
    }
}

/// Starts the simulator on `listener`. [`crate::Running::info`] holds `site_url`,
/// `scim_base_url`, `admin_api_url`, `org_id`, `directory_id` and the four credentials.
pub async fn start(
    listener: TcpListener,
    options: CloudOptions,
) -> std::io::Result<crate::Running> {
    let addr = listener.local_addr()?;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let cfg = Config {
        site_url: base.clone(),
        org_id: uuid::Uuid::new_v4().to_string(),
        directory_id: uuid::Uuid::new_v4().to_string(),
        cloud_id: uuid::Uuid::new_v4().to_string(),
        email: options
            .email
            .unwrap_or_else(|| "admin@example.com".to_string()),
        api_token: options.api_token.unwrap_or_else(crate::random_secret),
        scim_key: options.scim_key.unwrap_or_else(crate::random_secret),
        org_key: options.org_key.unwrap_or_else(crate::random_secret),
    };
    let info = json!({
        "site_url": base,
        "scim_base_url": format!("{base}/scim/directory/{}", cfg.directory_id),
        "admin_api_url": base,
        "org_id": cfg.org_id,
        "directory_id": cfg.directory_id,
        "email": cfg.email,
        "api_token": cfg.api_token,
        "scim_key": cfg.scim_key,
        "org_key": cfg.org_key,
    });
    let mut site = Site::new(&cfg.email, options.seed_site);
    if let Some(admin) = site.users.first().map(|u| u.account_id.clone()) {
        for (key, name) in &options.spaces {
            if site.space_by_key_mut(key).is_none() {
                site.add_space(key, name, &admin);
                site.grant(key, "user", &admin, "read", "space");
                site.grant(key, "user", &admin, "administer", "space");
            }
        }
    }
    let app = App::new(cfg, site);
    let faults = Faults::new(
        options.faults,
        crate::faults::RateStyle {
            limited: rate_limited,
            headers: rate_headers,
        },
    );
    let api = Router::new()
        .merge(v1::routes(&app))
        .merge(v2::routes(&app))
        .merge(scim::routes(&app))
        .merge(admin::routes(&app))
        .route("/_sim/state", get(sim_state))
        .route("/_sim/users/{account}/last-active", put(set_last_active))
        .route("/_sim/pages", post(pages::sim_create))
        .fallback(not_found)
        .with_state(app);
    let router = api
        .merge(crate::faults::admin_routes().with_state(faults.clone()))
        .layer(axum::middleware::from_fn_with_state(
            faults,
            crate::faults::inject,
        ));
    crate::serve(listener, router, info)
}

/// Basic `email:api_token` (ref §2.1); a successful call counts as Confluence activity (§3.7).
fn basic_ok(app: &App, headers: &HeaderMap) -> bool {
    let Some(encoded) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
    else {
        return false;
    };
    let expected = format!("{}:{}", app.cfg.email, app.cfg.api_token);
    let ok = STANDARD
        .decode(encoded.trim())
        .is_ok_and(|d| d == expected.as_bytes());
    if ok {
        let mut site = app.site();
        let email = app.cfg.email.clone();
        if let Some(u) = site.users.iter_mut().find(|u| u.email == email) {
            u.last_active = Some(jiff::Timestamp::now());
        }
    }
    ok
}

/// `GET /_sim/state` (not faulted, no auth).
async fn sim_state(State(app): State<App>) -> Response {
    let v = app.site().dump(&app.cfg);
    errors::json_ok(StatusCode::OK, &v)
}

/// `PUT /_sim/users/{accountId}/last-active` with `{"lastActiveTimestamp": "RFC 3339" | null}`
/// (not faulted, no auth): when the account was last active in Confluence, as the org admin
/// API reports it (ref §3.3, §3.4, §3.7). 204; 404 for an unknown account; 400 for a bad body.
async fn set_last_active(
    State(app): State<App>,
    Path(account): Path<String>,
    body: Bytes,
) -> Response {
    let bad =
        |detail: String| errors::json_ok(StatusCode::BAD_REQUEST, &json!({"message": detail}));
    let value: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad(format!("invalid JSON: {e}")),
    };
    let last_active = match value.get("lastActiveTimestamp") {
        Some(Value::Null) => None,
        Some(Value::String(s)) => match s.parse::<jiff::Timestamp>() {
            Ok(t) => Some(t),
            Err(e) => return bad(format!("lastActiveTimestamp {s:?} is not RFC 3339: {e}")),
        },
        _ => {
            return bad(
                "the body must be {\"lastActiveTimestamp\": \"RFC 3339 instant\" or null}"
                    .to_string(),
            );
        }
    };
    let mut site = app.site();
    match site.user_mut(&account) {
        Some(u) => {
            u.last_active = last_active;
            StatusCode::NO_CONTENT.into_response()
        }
        None => errors::json_ok(
            StatusCode::NOT_FOUND,
            &json!({"message": format!("no account {account}")}),
        ),
    }
}

/// Unknown paths: the Confluence v1 404 for `/wiki/...` (so the plural
/// `/space/{id}/permissions` form answers like the real site, ref §6.4), SCIM / admin 404s
/// elsewhere.
async fn not_found(request: Request) -> Response {
    let path = request.uri().path().to_string();
    if path.starts_with("/wiki/api/v2/") {
        errors::v2(StatusCode::NOT_FOUND, "NOT_FOUND", "Not Found")
    } else if path.starts_with("/wiki/") {
        errors::v1(StatusCode::NOT_FOUND, format!("null for uri: {path}"))
    } else if path.starts_with("/scim/") {
        errors::scim(
            StatusCode::NOT_FOUND,
            None,
            format!("Resource {path} not found"),
        )
    } else if path.starts_with("/admin/") {
        errors::admin(
            StatusCode::NOT_FOUND,
            "ADMIN-UAM-404-1",
            "Unknown Resource",
            format!("No resource at {path}"),
        )
    } else {
        StatusCode::NOT_FOUND.into_response()
    }
}
