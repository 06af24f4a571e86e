//! Microsoft Entra ID simulator: the identity platform's client-credentials token endpoint
//! (`POST /{tenant}/oauth2/v2.0/token`) and Microsoft Graph v1.0 users and groups, each call
//! checked against the application permissions granted to the app (reference §10). Seeded
//! from the acme example ([`crate::directory`]), plus one B2B guest.
//!
//! Admin routes (no auth, never faulted): `GET /_sim/state`, `GET/PUT /_sim/faults`, and
//! `PATCH /_sim/users/{id}` with any of `{"accountEnabled", "lastSignInDateTime" (RFC 3339 or
//! null), "employeeId", "mail"}`; `DELETE /_sim/tokens` revokes every issued token (Graph
//! then answers 401, as after a revocation or an early expiry).

// Handlers return `Result<Response, Response>` so an error answer can leave early with `?`.
#![allow(clippy::result_large_err)]

mod graph;
mod state;
mod token;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{delete, get, patch, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::{FaultConfig, Faults};
use state::{App, Config, Tenant, graph_error, json_response};

pub use state::{enabled, rate_headers, rate_limited};

/// Every permission the reader can use.
pub const ALL_PERMISSIONS: [&str; 3] =
    ["User.Read.All", "GroupMember.Read.All", "AuditLog.Read.All"];

/// How to start the simulator. Identifiers and the secret left `None` are random.
#[derive(Debug, Clone)]
pub struct EntraOptions {
    pub tenant_id: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Application permissions granted with admin consent (default [`ALL_PERMISSIONS`]).
    pub permissions: Vec<String>,
    /// `expires_in` of issued tokens (default 3599 s, as Microsoft issues them).
    pub token_lifetime_secs: u64,
    pub faults: FaultConfig,
    /// Largest page Graph serves whatever `$top` asks (default 999).
    pub page_size: Option<usize>,
    /// Start with the acme accounts and the guest (default); otherwise only the admin.
    pub seed: bool,
}

impl Default for EntraOptions {
    fn default() -> Self {
        EntraOptions {
            tenant_id: None,
            client_id: None,
            client_secret: None,
            permissions: ALL_PERMISSIONS.iter().map(|p| p.to_string()).collect(),
            token_lifetime_secs: 3599,
            faults: FaultConfig::default(),
            page_size: None,
            seed: true,
        }
    }
}

/// Starts the simulator. [`crate::Running::info`] holds `graph_url` (in place of
/// `https://graph.microsoft.com`), `token_url`, `tenant_id`, `client_id` and `client_secret`.
pub async fn start(
    listener: TcpListener,
    options: EntraOptions,
) -> std::io::Result<crate::Running> {
    let addr = listener.local_addr()?;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let cfg = Config {
        graph_url: base.clone(),
        tenant_id: options
            .tenant_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        client_id: options
            .client_id
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
        // Entra secrets are 40 characters with a `~`; any string will do here.
        client_secret: options
            .client_secret
            .unwrap_or_else(|| format!("Q8~{}", crate::random_secret())),
        permissions: options.permissions,
        token_lifetime_secs: options.token_lifetime_secs,
        page_size: options.page_size.unwrap_or(999).clamp(1, 999),
    };
    let info = json!({
        "graph_url": base,
        "token_url": format!("{base}/{}/oauth2/v2.0/token", cfg.tenant_id),
        "tenant_id": cfg.tenant_id,
        "client_id": cfg.client_id,
        "client_secret": cfg.client_secret,
    });
    let mut seed = crate::directory::acme();
    if !options.seed {
        seed.accounts.retain(|a| a.admin);
        seed.groups.retain(|(n, _)| n == "it-admins");
    }
    let app = App::new(cfg, Tenant::from_seed(&seed, options.seed));
    let faults = Faults::new(
        options.faults,
        crate::faults::RateStyle {
            limited: rate_limited,
            headers: rate_headers,
        },
    );
    let api = Router::new()
        .merge(graph::routes())
        .route("/{tenant}/oauth2/v2.0/token", post(token::token))
        .route("/_sim/state", get(sim_state))
        .route("/_sim/users/{id}", patch(sim_patch_user))
        .route("/_sim/tokens", delete(sim_revoke_tokens))
        .fallback(|| async {
            graph_error(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "Resource not found for the segment.",
            )
        })
        .with_state(app);
    let router = api
        .merge(crate::faults::admin_routes().with_state(faults.clone()))
        .layer(axum::middleware::from_fn_with_state(
            faults,
            crate::faults::inject,
        ));
    crate::serve(listener, router, info)
}

async fn sim_state(State(app): State<App>) -> Response {
    let dump = app.tenant().dump(&app.cfg);
    json_response(StatusCode::OK, &dump)
}

async fn sim_revoke_tokens(State(app): State<App>) -> Response {
    let revoked = std::mem::take(&mut app.tenant().tokens).len();
    json_response(StatusCode::OK, &json!({"revoked": revoked}))
}

async fn sim_patch_user(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> Response {
    let bad = |m: String| json_response(StatusCode::BAD_REQUEST, &json!({"message": m}));
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return bad("the body must be a JSON object".into()),
        Err(e) => return bad(format!("invalid JSON: {e}")),
    };
    let mut tenant = app.tenant();
    let Some(u) = tenant.users.iter_mut().find(|u| u.id == id) else {
        return state::not_found(&id);
    };
    if let Some(e) = v.get("accountEnabled") {
        match e.as_bool() {
            Some(e) => u.account_enabled = e,
            None => return bad("accountEnabled must be true or false".into()),
        }
    }
    if let Some(t) = v.get("lastSignInDateTime") {
        u.last_sign_in = match t {
            Value::Null => None,
            Value::String(s) => match s.parse() {
                Ok(t) => Some(t),
                Err(e) => return bad(format!("lastSignInDateTime {s:?} is not RFC 3339: {e}")),
            },
            _ => return bad("lastSignInDateTime must be a string or null".into()),
        };
    }
    if let Some(e) = v.get("employeeId") {
        u.employee_id = e.as_str().map(str::to_string);
    }
    if let Some(m) = v.get("mail") {
        u.mail = m.as_str().map(str::to_string);
    }
    let out = json!({"id": u.id, "accountEnabled": u.account_enabled, "employeeId": u.employee_id});
    json_response(StatusCode::OK, &out)
}
