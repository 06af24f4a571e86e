//! Okta simulator: one org's Users and Groups APIs (`/api/v1/users`, `/api/v1/groups`) with
//! an API token (`Authorization: SSWS`), `Link` header pagination, DEPROVISIONED users left out
//! of the plain list, `filter`/`search`/`q`, E-code error bodies and `X-Rate-Limit-*` on every
//! answer (reference §9). Seeded from the acme example ([`crate::directory`]).
//!
//! Admin routes (no auth, never faulted): `GET /_sim/state`, `GET/PUT /_sim/faults`, and
//! `PATCH /_sim/users/{id}` with any of `{"status", "transitioningToStatus", "lastLogin",
//! "profile": {...}}` (the profile is merged) to change a user for a test.

// Handlers return `Result<Response, Response>` so an error answer can leave early with `?`.
#![allow(clippy::result_large_err)]

mod api;
pub mod filter;
mod state;
mod wire;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::directory::DirectorySeed;
use crate::{FaultConfig, Faults};
use state::{App, Config, Org};

pub use state::okta_status;
pub use wire::{rate_headers, rate_limited};

/// The type id every seeded user has (the org's default user type).
const USER_TYPE_ID: &str = "oty1162QAr8hJjTaq0g4";

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct OktaOptions {
    /// The API token (`SSWS`); random when `None`.
    pub token: Option<String>,
    pub faults: FaultConfig,
    /// Largest page the org serves whatever `limit` asks (default 200, Okta's largest).
    pub page_size: Option<usize>,
    /// Start with the acme accounts (default); otherwise only the token's admin.
    pub seed: bool,
    /// Whether the token's admin may read groups (default true; false answers 403 E0000006
    /// on `/api/v1/groups`, as for an admin without a role that covers groups).
    pub can_read_groups: bool,
}

impl Default for OktaOptions {
    fn default() -> Self {
        OktaOptions {
            token: None,
            faults: FaultConfig::default(),
            page_size: None,
            seed: true,
            can_read_groups: true,
        }
    }
}

/// The accounts an empty org still has: the admin behind the token.
fn empty_seed() -> DirectorySeed {
    let mut seed = crate::directory::acme();
    seed.accounts.retain(|a| a.admin);
    seed.groups.retain(|(n, _)| n == "it-admins");
    seed
}

/// Starts the simulator. [`crate::Running::info`] holds `base_url` (in place of
/// `https://{yourOrg}.okta.com`) and `token`.
pub async fn start(listener: TcpListener, options: OktaOptions) -> std::io::Result<crate::Running> {
    let addr = listener.local_addr()?;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let cfg = Config {
        base_url: base.clone(),
        token: options.token.unwrap_or_else(crate::random_secret),
        page_size: options.page_size.unwrap_or(200).clamp(1, 200),
        can_read_groups: options.can_read_groups,
    };
    let info = json!({"base_url": base, "token": cfg.token});
    let seed = if options.seed {
        crate::directory::acme()
    } else {
        empty_seed()
    };
    let app = App::new(cfg, Org::from_seed(&seed));
    let faults = Faults::new(
        options.faults,
        crate::faults::RateStyle {
            limited: rate_limited,
            headers: rate_headers,
        },
    );
    let api = Router::new()
        .merge(api::routes())
        .route("/_sim/state", get(sim_state))
        .route("/_sim/users/{id}", patch(sim_patch_user))
        .fallback(|| async { wire::not_found("the requested path") })
        .with_state(app)
        .layer(axum::middleware::from_fn(default_headers));
    let router = api
        .merge(crate::faults::admin_routes().with_state(faults.clone()))
        .layer(axum::middleware::from_fn_with_state(
            faults,
            crate::faults::inject,
        ));
    crate::serve(listener, router, info)
}

/// Every Okta answer carries the rate-limit headers (§9.5); the fault layer outside replaces
/// them when a limit is configured.
async fn default_headers(request: Request, next: Next) -> Response {
    let sim = request.uri().path().starts_with("/_sim/");
    let mut response = next.run(request).await;
    if !sim {
        wire::default_rate_headers(response.headers_mut());
    }
    response
}

/// `Authorization: SSWS <token>` (§9.1).
fn authorized(app: &App, headers: &HeaderMap) -> Result<(), Response> {
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("SSWS "))
        .is_some_and(|t| t.trim() == app.cfg.token);
    if ok {
        Ok(())
    } else {
        Err(wire::invalid_token())
    }
}

async fn sim_state(State(app): State<App>) -> Response {
    let dump = app.org().dump(&app.cfg);
    wire::ok(&dump)
}

async fn sim_patch_user(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> Response {
    let bad = |m: String| {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "application/json")],
            json!({"message": m}).to_string(),
        )
            .into_response()
    };
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return bad("the body must be a JSON object".into()),
        Err(e) => return bad(format!("invalid JSON: {e}")),
    };
    let base = app.cfg.base_url.clone();
    let mut org = app.org();
    let Some(u) = org.user_mut(&id) else {
        return wire::not_found(&format!("{id} (User)"));
    };
    let now = jiff::Timestamp::now();
    if let Some(s) = v.get("status") {
        match s.as_str() {
            Some(s) if api::STATUSES.contains(&s) => {
                u.status = s.to_string();
                u.status_changed = Some(now);
            }
            _ => return bad(format!("status must be one of {:?}", api::STATUSES)),
        }
    }
    if let Some(t) = v.get("transitioningToStatus") {
        u.transitioning_to_status = t.as_str().map(str::to_string);
    }
    if let Some(t) = v.get("lastLogin") {
        u.last_login = match t {
            Value::Null => None,
            Value::String(s) => match s.parse() {
                Ok(t) => Some(t),
                Err(e) => return bad(format!("lastLogin {s:?} is not RFC 3339: {e}")),
            },
            _ => return bad("lastLogin must be a string or null".into()),
        };
    }
    if let Some(Value::Object(p)) = v.get("profile") {
        for (k, val) in p {
            u.profile.insert(k.clone(), val.clone());
        }
    }
    u.last_updated = now;
    wire::ok(&wire::user_json(u, &base))
}
