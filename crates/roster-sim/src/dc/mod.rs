//! Confluence Data Center simulator: the REST API of `docs/reference/atlassian-api.md` §4
//! (users, admin user and group REST, membership, spaces, space permissions of DC 9.2+), with
//! the v1 error envelope, `start`/`limit` pages and the DC rate-limit answer for faults.
//!
//! `base_url` plays `https://{host}/{context}`: REST lives under `{base_url}/rest/api/...`
//! (no `/wiki`; `/rest/api/latest/...` is an alias, ref §4.1). `GET /_sim/state` shows the
//! site without authentication; `GET|PUT /_sim/faults` set the faults.

mod groups;
mod site;
mod spaces;
mod users;
mod wire;

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::routing::{delete, get, post, put};
use tokio::net::TcpListener;

use crate::faults::{FaultConfig, Faults};

/// How to start the simulator.
#[derive(Debug, Clone)]
pub struct DcOptions {
    /// The administrator's username (default `admin`).
    pub username: Option<String>,
    /// The administrator's password (default random).
    pub password: Option<String>,
    /// A personal access token of the administrator (default random).
    pub pat: Option<String>,
    pub faults: FaultConfig,
    /// Start with the seed site (administrator, two users, the default groups, DOCS and HR).
    pub seed_site: bool,
    /// More spaces `(key, name)` the site starts with, as an admin would have created them
    /// (the administrator holds read and administer, like a space's creator).
    pub spaces: Vec<(String, String)>,
}

impl Default for DcOptions {
    fn default() -> Self {
        DcOptions {
            username: None,
            password: None,
            pat: None,
            faults: FaultConfig::default(),
            seed_site: true,
            spaces: Vec::new(),
        }
    }
}

pub(crate) struct Creds {
    pub username: String,
    pub password: String,
    pub pat: String,
}

/// The shared state of the routes.
#[derive(Clone)]
pub(crate) struct Dc {
    site: Arc<Mutex<site::Site>>,
    pub(crate) creds: Arc<Creds>,
    pub(crate) links: wire::Links,
}

impl Dc {
    pub(crate) fn site(&self) -> MutexGuard<'_, site::Site> {
        self.site.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Starts the simulator on `listener`. `info` holds `base_url`, `username`, `password`, `pat`.
pub async fn start(listener: TcpListener, options: DcOptions) -> std::io::Result<crate::Running> {
    let addr = listener.local_addr()?;
    let host = if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    let base_url = format!("http://{host}");
    let creds = Creds {
        username: options.username.unwrap_or_else(|| "admin".into()),
        password: options.password.unwrap_or_else(crate::random_secret),
        pat: options.pat.unwrap_or_else(crate::random_secret),
    };
    let mut site = site::Site::default();
    if options.seed_site {
        site.seed(&creds.username);
    }
    for (key, name) in &options.spaces {
        site.add_created_space(key, name, &creds.username);
    }
    let info = serde_json::json!({
        "base_url": base_url,
        "username": creds.username,
        "password": creds.password,
        "pat": creds.pat,
    });
    let dc = Dc {
        site: Arc::new(Mutex::new(site)),
        creds: Arc::new(creds),
        links: wire::Links {
            base: base_url,
            context: String::new(),
        },
    };
    let faults = Faults::new(
        options.faults,
        crate::faults::RateStyle {
            limited: wire::rate_limited,
            headers: wire::rate_headers,
        },
    );
    crate::serve(listener, router(dc, faults), info)
}

fn api() -> Router<Dc> {
    Router::new()
        // ref §4.3
        .route("/user/current", get(users::current))
        .route("/user", get(users::get_user))
        .route("/user/list", get(users::list))
        .route("/user/memberof", get(groups::member_of))
        .route("/admin/users/list/active", get(users::list_active))
        // ref §4.4
        .route("/admin/user", post(users::create))
        .route(
            "/admin/user/{username}",
            put(users::update).delete(users::remove),
        )
        .route("/admin/user/{username}/disable", put(users::disable))
        .route("/admin/user/{username}/enable", put(users::enable))
        .route("/admin/user/{username}/password", post(users::set_password))
        // ref §4.5
        .route("/group", get(groups::list))
        .route("/group/{name}", get(groups::get_group))
        .route("/group/{name}/member", get(groups::members))
        .route("/admin/group", post(groups::create))
        .route("/admin/group/{name}", delete(groups::remove))
        .route(
            "/user/{username}/group/{group}",
            put(groups::add_member).delete(groups::remove_member),
        )
        // ref §4.6, §4.7
        .route("/space", get(spaces::list))
        .route("/space/{key}", get(spaces::get_space))
        .route("/space/{key}/permissions", get(spaces::permissions))
        .route(
            "/space/{key}/permissions/group/{name}",
            get(spaces::group_permissions),
        )
        .route(
            "/space/{key}/permissions/user/{user_key}",
            get(spaces::user_permissions),
        )
        .route(
            "/space/{key}/permissions/group/{name}/{verb}",
            put(spaces::change_group),
        )
        .route(
            "/space/{key}/permissions/user/{user_key}/{verb}",
            put(spaces::change_user),
        )
}

fn router(dc: Dc, faults: Faults) -> Router {
    let api = api();
    let rest = Router::new()
        .nest("/rest/api", api.clone())
        .nest("/rest/api/latest", api) // ref §4.1: alias
        .layer(axum::middleware::from_fn_with_state(
            dc.clone(),
            wire::guard,
        ))
        .route("/_sim/state", get(sim_state))
        .with_state(dc);
    rest.merge(crate::faults::admin_routes().with_state(faults.clone()))
        .fallback(wire::html_not_found)
        .method_not_allowed_fallback(wire::html_method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            faults,
            crate::faults::inject,
        ))
}

async fn sim_state(
    axum::extract::State(dc): axum::extract::State<Dc>,
) -> axum::Json<serde_json::Value> {
    axum::Json(dc.site().snapshot())
}
