//! Google Workspace simulator: the Admin SDK Directory API (users, groups, members) and the
//! OAuth token endpoint a service account with domain-wide delegation uses (reference §11).
//! Deleted users are listed only with `showDeleted=true`; over quota the answer is 403
//! `userRateLimitExceeded`. Seeded from the acme example ([`crate::directory`]).
//!
//! Two ways in: the pre-issued `access_token` of [`crate::Running::info`] (acting as the
//! admin, with [`GoogleOptions::token_scopes`]), or the `service_account_key` it also holds,
//! signing assertions for `subject` that the token endpoint accepts for the
//! [`GoogleOptions::delegated_scopes`].
//!
//! Admin routes (no auth, never faulted): `GET /_sim/state`, `GET/PUT /_sim/faults`, and
//! `PATCH /_sim/users/{id}` with any of `{"suspended", "archived", "deleted", "lastLoginTime"
//! (RFC 3339 or null), "isAdmin"}`.

// Handlers return `Result<Response, Response>` so an error answer can leave early with `?`.
#![allow(clippy::result_large_err)]

mod directory;
mod state;
mod token;

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, patch, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::{FaultConfig, Faults};
use state::{Account, App, Config, Grant, json_response};

pub use state::{rate_headers, rate_limited};
pub use token::TEST_KEY_PEM;

pub const USER_READONLY: &str = "https://www.googleapis.com/auth/admin.directory.user.readonly";
pub const GROUP_READONLY: &str = "https://www.googleapis.com/auth/admin.directory.group.readonly";
pub const MEMBER_READONLY: &str =
    "https://www.googleapis.com/auth/admin.directory.group.member.readonly";

fn read_scopes() -> Vec<String> {
    [USER_READONLY, GROUP_READONLY, MEMBER_READONLY]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct GoogleOptions {
    /// The pre-issued access token; random when `None`.
    pub access_token: Option<String>,
    /// Scopes of the pre-issued token (default: the three read-only directory scopes).
    pub token_scopes: Vec<String>,
    /// Scopes domain-wide delegation allows the service account (default: the same three).
    pub delegated_scopes: Vec<String>,
    pub faults: FaultConfig,
    /// Largest page served whatever `maxResults` asks (default 500).
    pub page_size: Option<usize>,
    /// Start with the acme accounts (default); otherwise only the admin.
    pub seed: bool,
}

impl Default for GoogleOptions {
    fn default() -> Self {
        GoogleOptions {
            access_token: None,
            token_scopes: read_scopes(),
            delegated_scopes: read_scopes(),
            faults: FaultConfig::default(),
            page_size: None,
            seed: true,
        }
    }
}

/// Starts the simulator. [`crate::Running::info`] holds `base_url` (in place of
/// `https://admin.googleapis.com`), `access_token`, `customer`, `customer_id`, `domain`,
/// `token_url`, `subject` (the admin) and `service_account_key` (the key file's JSON).
pub async fn start(
    listener: TcpListener,
    options: GoogleOptions,
) -> std::io::Result<crate::Running> {
    let addr = listener.local_addr()?;
    let base = format!("http://127.0.0.1:{}", addr.port());
    let domain = roster_examples::EMAIL_DOMAIN.to_string();
    let cfg = Config {
        base_url: base.clone(),
        customer_id: "C01acme42".into(),
        domain: domain.clone(),
        token_url: format!("{base}/token"),
        client_email: "roster-reader@acme-roster.iam.gserviceaccount.com".into(),
        client_id: "104857600000000000042".into(),
        delegated_scopes: options.delegated_scopes,
        page_size: options.page_size.unwrap_or(500).clamp(1, 500),
    };
    let mut seed = crate::directory::acme();
    if !options.seed {
        seed.accounts.retain(|a| a.admin);
        seed.groups.retain(|(n, _)| n == "it-admins");
    }
    let mut account = Account::from_seed(&seed, &domain);
    let admin = account
        .users
        .iter()
        .find(|u| u.is_admin)
        .map(|u| u.primary_email.clone())
        .unwrap_or_default();
    let access_token = options
        .access_token
        .unwrap_or_else(|| format!("ya29.{}", crate::random_secret()));
    account.tokens.insert(
        access_token.clone(),
        Grant {
            scopes: options.token_scopes,
            subject: admin.clone(),
            // Real tokens last an hour; the simulator's lasts as long as it runs.
            expires: Instant::now() + Duration::from_secs(100 * 365 * 24 * 3600),
        },
    );
    let info = json!({
        "base_url": base,
        "access_token": access_token,
        "customer": "my_customer",
        "customer_id": cfg.customer_id,
        "domain": domain,
        "token_url": cfg.token_url,
        "subject": admin,
        "service_account_key": token::key_file(&cfg).to_string(),
    });
    let app = App::new(cfg, token::test_key()?, account);
    let faults = Faults::new(
        options.faults,
        crate::faults::RateStyle {
            limited: rate_limited,
            headers: rate_headers,
        },
    );
    let api = Router::new()
        .merge(directory::routes())
        .route("/token", post(token::token))
        .route("/_sim/state", get(sim_state))
        .route("/_sim/users/{id}", patch(sim_patch_user))
        .fallback(|| async { state::not_found("the requested path") })
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
    let dump = app.account().dump(&app.cfg);
    json_response(StatusCode::OK, &dump)
}

async fn sim_patch_user(State(app): State<App>, Path(id): Path<String>, body: Bytes) -> Response {
    let bad = |m: String| json_response(StatusCode::BAD_REQUEST, &json!({"message": m}));
    let v: Value = match serde_json::from_slice(&body) {
        Ok(v @ Value::Object(_)) => v,
        Ok(_) => return bad("the body must be a JSON object".into()),
        Err(e) => return bad(format!("invalid JSON: {e}")),
    };
    let flag = |k: &str| -> Result<Option<bool>, Response> {
        match v.get(k) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(_) => Err(bad(format!("{k} must be true or false"))),
        }
    };
    let (suspended, archived, deleted, admin) = match (
        flag("suspended"),
        flag("archived"),
        flag("deleted"),
        flag("isAdmin"),
    ) {
        (Ok(s), Ok(a), Ok(d), Ok(i)) => (s, a, d, i),
        (Err(r), ..) | (_, Err(r), ..) | (_, _, Err(r), _) | (.., Err(r)) => return r,
    };
    let last_login = match v.get("lastLoginTime") {
        None => None,
        Some(Value::Null) => Some(None),
        Some(Value::String(s)) => match s.parse() {
            Ok(t) => Some(Some(t)),
            Err(e) => return bad(format!("lastLoginTime {s:?} is not RFC 3339: {e}")),
        },
        Some(_) => return bad("lastLoginTime must be a string or null".into()),
    };
    let customer = app.cfg.customer_id.clone();
    let mut account = app.account();
    let Some(u) = account.users.iter_mut().find(|u| u.id == id) else {
        return state::not_found("userKey");
    };
    if let Some(s) = suspended {
        u.suspended = s;
    }
    if let Some(a) = archived {
        u.archived = a;
    }
    if let Some(d) = deleted {
        u.deleted = d.then(jiff::Timestamp::now);
    }
    if let Some(i) = admin {
        u.is_admin = i;
    }
    if let Some(t) = last_login {
        u.last_login = t;
    }
    json_response(StatusCode::OK, &directory::user_json(u, &customer))
}
