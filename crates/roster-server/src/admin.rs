//! The admin API. For now one endpoint: `GET /api/scim/log?connection=&failed=&limit=`, the
//! request log the dashboard shows. It takes the admin bearer token (`ROSTER_ADMIN_TOKEN`), not
//! an IdP connection's token: a connection's log shows what other tenants' IdPs sent.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;

use crate::App;
use crate::auth::{bearer_token, token_matches};
use crate::error::ApiError;

/// Entries returned when the request does not say.
const DEFAULT_LIMIT: u32 = 100;

#[derive(Debug, Deserialize)]
pub struct LogQuery {
    connection: Option<String>,
    #[serde(default)]
    failed: Option<String>,
    limit: Option<u32>,
}

pub(crate) fn is_admin(app: &App, headers: &HeaderMap) -> bool {
    match (&app.admin_hash, bearer_token(headers)) {
        (Some(hash), Some(token)) => token_matches(token, hash),
        _ => false,
    }
}

pub async fn scim_log(
    State(app): State<Arc<App>>,
    headers: HeaderMap,
    query: Result<Query<LogQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    if !is_admin(&app, &headers) {
        return ApiError::unauthorized().into_response();
    }
    let Ok(Query(query)) = query else {
        return ApiError::new(400, None, "expected ?connection=NAME&failed=true&limit=N")
            .into_response();
    };
    let failed = query
        .failed
        .as_deref()
        .is_some_and(|f| matches!(f.to_ascii_lowercase().as_str(), "" | "1" | "true" | "yes"));
    // Entries still in the writer's queue would be missing otherwise.
    app.log.flush().await;
    let limit = query
        .limit
        .unwrap_or(DEFAULT_LIMIT)
        .min(app.config.log_keep.max(1));
    match app
        .store
        .scim_log(
            query.connection.as_deref().filter(|c| !c.is_empty()),
            failed,
            limit,
        )
        .await
    {
        Ok(entries) => axum::Json(json!({
            "entries": entries,
            "dropped": app.log.dropped(),
        }))
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
