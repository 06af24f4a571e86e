//! Roster's HTTP server. Today it serves the SCIM 2.0 service provider (RFC 7643/7644) that
//! identity providers (Okta, Entra ID, OneLogin) push users and groups into, under `/scim/v2`,
//! and the admin API's request-log endpoint.
//!
//! - Each IdP connection has its own bearer token (stored as a SHA-256 hash, compared in
//!   constant time) and rate limit ([`auth`]).
//! - The protocol itself (schemas, filters, PATCH, projection) is `roster-scim`; storage and
//!   filter-to-SQL translation is `roster-store`'s `ScimStore`. This crate maps HTTP onto them
//!   ([`resources`], [`bulk`], [`discovery`]).
//! - Users pushed by a connection become people from source `idp:<connection>` ([`people`]),
//!   re-imported by a coalescing background task; a hook lets the caller plan and apply.
//! - The last N exchanges per connection are kept, redacted ([`reqlog`]).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use jiff::Timestamp;
use roster_scim::schema::Schemas;
use roster_store::ScimConnection;
use roster_store::Store;
use sha2::Digest;
use tokio::net::TcpListener;

pub mod admin;
pub mod auth;
pub mod bulk;
pub mod discovery;
pub mod error;
pub mod gate;
pub mod hooks;
pub mod people;
pub mod presence;
pub mod query;
pub mod render;
pub mod reqlog;
pub mod resources;
mod routes;

pub use auth::{RateLimit, hash_token};
pub use hooks::{Extensions, StatusApi, StatusApiError, WebhookReply, WebhookSink};
pub use people::{PeopleHook, person_from_user};

/// The media type of every SCIM answer (RFC 7644 §8.1).
pub const SCIM_CONTENT_TYPE: &str = "application/scim+json";
/// Where the SCIM endpoint lives.
pub const SCIM_PREFIX: &str = "/scim/v2";
/// The connection `ROSTER_SCIM_BOOTSTRAP_TOKEN` creates.
pub const BOOTSTRAP_CONNECTION: &str = "bootstrap";

/// How the server behaves; [`ServerConfig::default`] is what `roster serve` uses unless told
/// otherwise.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The externally visible base URL (`https://roster.acme.example`) for `meta.location` and
    /// `Location`; without it, `http://` plus the request's `Host`.
    pub public_url: Option<String>,
    pub rate_limit: RateLimit,
    /// Request-log entries kept per connection.
    pub log_keep: u32,
    /// The most resources one list answer holds (`filter.maxResults`).
    pub max_results: u64,
    /// Bulk limits, advertised in `/ServiceProviderConfig`. The payload limit applies to every
    /// request body.
    pub max_operations: usize,
    pub max_payload_size: usize,
    /// The policy's custom person attributes, served in Roster's SCIM extension.
    pub custom_attributes: Vec<String>,
    /// The admin API's bearer token (`ROSTER_ADMIN_TOKEN`); without it the admin API answers
    /// 401 to everyone.
    pub admin_token: Option<String>,
    /// Shortest pause between two re-imports of a connection's people.
    pub people_sync_interval: std::time::Duration,
    /// HR webhooks and the status report, when the binary provides them.
    pub extensions: hooks::Extensions,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            public_url: None,
            rate_limit: RateLimit::DEFAULT,
            log_keep: 1000,
            max_results: 1000,
            max_operations: 1000,
            max_payload_size: 1024 * 1024,
            custom_attributes: Vec::new(),
            admin_token: None,
            people_sync_interval: std::time::Duration::from_secs(2),
            extensions: hooks::Extensions::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] roster_store::StoreError),
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// What every request handler shares.
pub struct App {
    pub store: Arc<dyn Store>,
    pub config: ServerConfig,
    pub schemas: Arc<Schemas>,
    pub connections: auth::Connections,
    pub log: reqlog::RequestLog,
    pub people: people::PeopleSync,
    /// Queues this server's SQLite writes (see [`gate`]).
    pub writes: Arc<gate::WriteGate>,
    pub groups: presence::GroupPresence,
    admin_hash: Option<[u8; 32]>,
}

/// A bound server, not yet serving.
pub struct Server {
    listener: TcpListener,
    app: Arc<App>,
}

impl Server {
    /// Binds `listen` (`127.0.0.1:0` picks a free port), loads the connections and starts the
    /// background tasks.
    pub async fn bind(
        listen: &str,
        store: Arc<dyn Store>,
        config: ServerConfig,
        hook: Option<Arc<dyn PeopleHook>>,
    ) -> Result<Server, ServerError> {
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ServerError::Bind {
                addr: listen.to_string(),
                source,
            })?;
        let connections = auth::Connections::new(config.rate_limit);
        connections.reload(store.as_ref()).await?;
        let admin_hash = config
            .admin_token
            .as_deref()
            .map(|t| sha2::Sha256::digest(t.as_bytes()).into());
        let schemas = Arc::new(Schemas::standard(&config.custom_attributes));
        let writes = Arc::new(gate::WriteGate::for_backend(store.backend()));
        let app = Arc::new(App {
            schemas: schemas.clone(),
            log: reqlog::RequestLog::start(store.clone(), writes.clone(), config.log_keep),
            people: people::PeopleSync::start(
                store.clone(),
                hook,
                schemas,
                config.custom_attributes.clone(),
                config.people_sync_interval,
            ),
            connections,
            writes,
            groups: presence::GroupPresence::default(),
            store,
            config,
            admin_hash,
        });
        Ok(Server { listener, app })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("a bound TCP listener has a local address")
    }

    /// The SCIM base URL clients use (`http://ADDR/scim/v2`).
    pub fn scim_url(&self) -> String {
        match &self.app.config.public_url {
            Some(public) => format!("{}{SCIM_PREFIX}", public.trim_end_matches('/')),
            None => format!("http://{}{SCIM_PREFIX}", self.local_addr()),
        }
    }

    /// Serves until `shutdown` completes, then finishes the requests in flight, writes the
    /// pending request log and runs the last people import.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let router = router(self.app.clone());
        let served = axum::serve(self.listener, router)
            .with_graceful_shutdown(shutdown)
            .await;
        self.app.log.flush().await;
        self.app.people.finish().await;
        served.map_err(ServerError::Serve)
    }
}

/// The whole HTTP surface.
pub fn router(app: Arc<App>) -> Router {
    let limit = app.config.max_payload_size;
    Router::new()
        .nest(SCIM_PREFIX, routes::scim(app.clone()))
        .route("/api/scim/log", get(admin::scim_log))
        .route("/api/status", get(hooks::status))
        .route("/webhooks/{source}", axum::routing::post(hooks::webhook))
        .route("/healthz", get(|| async { "ok" }))
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(app)
}

/// Creates the `bootstrap` connection with `token`, or gives the existing one this token.
pub async fn ensure_bootstrap(store: &dyn Store, token: &str) -> Result<(), ServerError> {
    let existing = store
        .scim_connections()
        .await?
        .into_iter()
        .find(|c| c.name == BOOTSTRAP_CONNECTION);
    let hash = hash_token(token);
    if existing.as_ref().is_some_and(|c| c.token_hash == hash) {
        return Ok(());
    }
    store
        .put_scim_connection(&ScimConnection {
            name: BOOTSTRAP_CONNECTION.to_string(),
            token_hash: hash,
            created_at: existing.map_or_else(Timestamp::now, |c| c.created_at),
        })
        .await?;
    Ok(())
}
