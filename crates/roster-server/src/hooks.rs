//! What the binary plugs into the server beyond SCIM: HR webhooks (`POST /webhooks/{source}`)
//! and the status report for the dashboard (`GET /api/status`). The server only routes and
//! authenticates; the sync loop and the comparison live with the configuration.
//!
//! A webhook is authenticated by the vendor's signature, which the sink checks (a bearer
//! token is not something HR systems send); a rejected delivery gets 401 with no detail of
//! what failed, and nothing about it is acted on. The status report takes the admin token.

use std::sync::Arc;

use async_trait::async_trait;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
/// The headers a webhook arrives with (the `http` crate's, as reqwest's are).
pub use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::App;
use crate::error::ApiError;

/// What became of a webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookReply {
    /// Verified; a sync of the source is under way. 202.
    Accepted,
    /// No source of that name takes webhooks. 404.
    UnknownSource,
    /// The signature (or its timestamp) did not verify. 401; the reason is logged, not sent.
    Rejected(String),
}

#[async_trait]
pub trait WebhookSink: Send + Sync {
    async fn deliver(&self, source: &str, headers: &HeaderMap, body: &[u8]) -> WebhookReply;
}

/// The status comparison, as JSON, optionally one category only.
#[async_trait]
pub trait StatusApi: Send + Sync {
    async fn status(&self, category: Option<&str>) -> Result<serde_json::Value, StatusApiError>;
}

#[derive(Debug, thiserror::Error)]
pub enum StatusApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Failed(String),
}

/// The optional parts; `None` answers 404 (webhooks) or 503 (status).
#[derive(Clone, Default)]
pub struct Extensions {
    pub webhooks: Option<Arc<dyn WebhookSink>>,
    pub status: Option<Arc<dyn StatusApi>>,
}

impl std::fmt::Debug for Extensions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Extensions")
            .field("webhooks", &self.webhooks.is_some())
            .field("status", &self.status.is_some())
            .finish()
    }
}

pub async fn webhook(
    State(app): State<Arc<App>>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some(sink) = &app.config.extensions.webhooks else {
        return ApiError::new(404, None, "no HR source takes webhooks here").into_response();
    };
    match sink.deliver(&source, &headers, &body).await {
        WebhookReply::Accepted => (
            StatusCode::ACCEPTED,
            axum::Json(json!({"accepted": true, "source": source})),
        )
            .into_response(),
        WebhookReply::UnknownSource => ApiError::new(
            404,
            None,
            format!("no HR source \"{source}\" takes webhooks here"),
        )
        .into_response(),
        WebhookReply::Rejected(reason) => {
            eprintln!("webhook for {source} rejected: {reason}");
            ApiError::unauthorized().into_response()
        }
    }
}

#[derive(Debug, Deserialize)]
pub struct StatusQuery {
    category: Option<String>,
}

pub async fn status(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    query: Result<Query<StatusQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if !crate::admin::is_admin(&app, &headers) {
        return ApiError::unauthorized().into_response();
    }
    let Ok(Query(query)) = query else {
        return ApiError::new(400, None, "expected ?category=NAME").into_response();
    };
    let Some(api) = &app.config.extensions.status else {
        return ApiError::new(
            503,
            None,
            "the status report needs a configuration file (roster serve --config)",
        )
        .into_response();
    };
    match api.status(query.category.as_deref()).await {
        Ok(report) => axum::Json(report).into_response(),
        Err(StatusApiError::BadRequest(m)) => ApiError::new(400, None, m).into_response(),
        Err(StatusApiError::Failed(m)) => ApiError::new(500, None, m).into_response(),
    }
}
