//! A server per test: a fresh database, the `bootstrap` connection with a random token, and a
//! client that sends it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::{Method, RequestBuilder, StatusCode};
use roster_server::{Server, ServerConfig, ServerError};
use roster_store::Store;
use roster_store::postgres::PgStore;
use roster_store::sqlite::SqliteStore;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub struct TestServer {
    /// `http://127.0.0.1:PORT/scim/v2`
    pub base: String,
    /// `http://127.0.0.1:PORT`
    pub root: String,
    pub token: String,
    pub store: Arc<dyn Store>,
    pub http: reqwest::Client,
    pg: Option<PgStore>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), ServerError>>>,
    _dir: Option<tempfile::TempDir>,
}

pub const ADMIN_TOKEN: &str = "admin-token-for-tests";

/// A fast people import, so tests see people soon after their writes.
pub fn test_config() -> ServerConfig {
    ServerConfig {
        admin_token: Some(ADMIN_TOKEN.to_string()),
        people_sync_interval: Duration::from_millis(20),
        ..ServerConfig::default()
    }
}

impl TestServer {
    /// `None` for PostgreSQL when `ROSTER_TEST_DATABASE_URL` is not set.
    pub async fn start(backend: Backend, config: ServerConfig) -> Option<TestServer> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let (store, pg, dir): (Arc<dyn Store>, _, _) = match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().unwrap();
                let url = format!("sqlite://{}", dir.path().join("roster.db").display());
                (
                    Arc::new(SqliteStore::open(&url).await.unwrap()),
                    None,
                    Some(dir),
                )
            }
            Backend::Postgres => {
                let url = std::env::var("ROSTER_TEST_DATABASE_URL").ok()?;
                let schema = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
                let store = PgStore::open_in_schema(&url, &schema).await.unwrap();
                (Arc::new(store.clone()), Some(store), None)
            }
        };
        let token = format!("tok-{}", uuid::Uuid::new_v4().simple());
        roster_server::ensure_bootstrap(store.as_ref(), &token)
            .await
            .unwrap();
        let server = Server::bind("127.0.0.1:0", store.clone(), config, None)
            .await
            .unwrap();
        let base = server.scim_url();
        let root = base
            .trim_end_matches(roster_server::SCIM_PREFIX)
            .to_string();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        Some(TestServer {
            base,
            root,
            token,
            store,
            http: reqwest::Client::new(),
            pg,
            stop: Some(stop),
            task: Some(task),
            _dir: dir,
        })
    }

    /// A request to `path` under `/scim/v2`, with the bootstrap token.
    pub fn req(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
    }

    /// Sends `body` as `application/scim+json` and returns status and JSON (Null when empty).
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> (StatusCode, Value) {
        let mut r = self.req(method, path);
        if let Some(body) = body {
            r = r
                .header("content-type", "application/scim+json; charset=utf-8")
                .body(body.to_string());
        }
        read(r.send().await.unwrap()).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(Method::DELETE, path, None).await
    }

    /// Stops the server (draining it) and drops a PostgreSQL test schema.
    pub async fn finish(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        if let Some(pg) = self.pg.take() {
            pg.drop_schema().await.unwrap();
        }
    }
}

pub async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.unwrap();
    let value = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{status}: not JSON ({e}): {text}"))
    };
    (status, value)
}

/// Polls `check` until it returns `Some` or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let started = Instant::now();
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(
            started.elapsed() < timeout,
            "condition not met within {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Asserts an RFC 7644 error body with this status and `scimType`.
#[track_caller]
pub fn assert_error(got: &(StatusCode, Value), status: u16, scim_type: Option<&str>) {
    assert_eq!(got.0.as_u16(), status, "{}", got.1);
    assert_eq!(
        got.1["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error",
        "{}",
        got.1
    );
    assert_eq!(got.1["status"], status.to_string(), "{}", got.1);
    assert_eq!(got.1["scimType"].as_str(), scim_type, "{}", got.1);
}

/// Runs each case on SQLite, and on PostgreSQL when configured.
macro_rules! on_every_backend {
    ($($case:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let s = crate::common::TestServer::start(
                        crate::common::Backend::Sqlite,
                        crate::common::test_config(),
                    )
                    .await
                    .unwrap();
                    super::$case(&s).await;
                    s.finish().await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    let Some(s) = crate::common::TestServer::start(
                        crate::common::Backend::Postgres,
                        crate::common::test_config(),
                    )
                    .await
                    else {
                        eprintln!("skipped: set ROSTER_TEST_DATABASE_URL to run the PostgreSQL tests");
                        return;
                    };
                    super::$case(&s).await;
                    s.finish().await;
                }
            )*
        }
    };
}
pub(crate) use on_every_backend;

/// A minimal user.
pub fn user(name: &str) -> Value {
    serde_json::json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": name,
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"value": name, "type": "work", "primary": true}],
        "active": true,
    })
}
