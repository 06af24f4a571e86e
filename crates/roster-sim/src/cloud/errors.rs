//! Each API's error body, as documented (ref §2.9, §1.9, §3.8, §3.10, §5.3).

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::faults::RateStatus;

pub type Reply = Result<Response, Response>;

fn json_response(status: StatusCode, content_type: &'static str, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, HeaderValue::from_static(content_type))],
        body.to_string(),
    )
        .into_response()
}

pub fn json_ok(status: StatusCode, body: &Value) -> Response {
    json_response(status, "application/json", body)
}

/// Confluence v1 envelope (ref §2.9).
pub fn v1(status: StatusCode, message: impl Into<String>) -> Response {
    let code = status.as_u16();
    let body = json!({
        "statusCode": code,
        "data": {
            "authorized": !matches!(code, 401 | 403 | 404),
            "valid": code != 400,
            "errors": [],
            "successful": false,
        },
        "message": message.into(),
    });
    json_ok(status, &body)
}

/// Basic auth failure: `text/plain` 401 (ref §2.1, §2.9, §7).
pub fn unauthorized_basic() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::CONTENT_TYPE, "text/plain;charset=UTF-8"),
            (header::WWW_AUTHENTICATE, "Basic realm=\"Confluence\""),
        ],
        "Client must be authenticated to access this resource.",
    )
        .into_response()
}

/// Confluence v2 error list; `status` is a number (ref §2.9).
pub fn v2(status: StatusCode, code: &str, title: impl Into<String>) -> Response {
    let body = json!({"errors": [{
        "status": status.as_u16(),
        "code": code,
        "title": title.into(),
        "detail": null,
    }]});
    json_ok(status, &body)
}

pub const SCIM_JSON: &str = "application/scim+json";

/// SCIM body with the SCIM content type (ref §1.1).
pub fn scim_ok(status: StatusCode, body: &Value) -> Response {
    json_response(status, SCIM_JSON, body)
}

/// SCIM `ScimError`; `status` is a string (ref §1.9).
pub fn scim(status: StatusCode, scim_type: Option<&str>, detail: impl Into<String>) -> Response {
    let mut body = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": status.as_u16().to_string(),
        "detail": detail.into(),
    });
    if let Some(t) = scim_type {
        body["scimType"] = json!(t);
    }
    scim_ok(status, &body)
}

/// SCIM 401/403 `Failure` body (ref §1.9).
pub fn scim_failure(status: StatusCode, error: &str) -> Response {
    json_ok(
        status,
        &json!({"error": error, "traceId": crate::random_secret()[..16].to_string()}),
    )
}

/// Organizations API error list; `status` is a string, codes `ADMIN-UAM-*` (ref §3.10).
pub fn admin(status: StatusCode, code: &str, title: &str, detail: impl Into<String>) -> Response {
    let body = json!({"errors": [{
        "id": uuid::Uuid::new_v4().to_string(),
        "status": status.as_u16().to_string(),
        "code": code,
        "title": title,
        "detail": detail.into(),
    }]});
    json_ok(status, &body)
}

/// api.atlassian.com gateway 401 (ref §0, §3.10).
pub fn gateway_unauthorized() -> Response {
    json_ok(
        StatusCode::UNAUTHORIZED,
        &json!({"code": 401, "message": "Unauthorized"}),
    )
}

/// User management API 404 (ref §3.8).
pub fn account_not_found() -> Response {
    json_ok(
        StatusCode::NOT_FOUND,
        &json!({
            "key": "accountNotFound",
            "errorKey": "account-not-found",
            "errorDetail": "Error: User account not found",
        }),
    )
}

/// The per-second limit Cloud reports when none is configured (an injected burst): the
/// documented burst limit of API-token GET/POST traffic (ref §5.1).
const DEFAULT_LIMIT: u32 = 100;

/// The 429 the fault middleware sends (ref §5.1, §5.3).
pub fn rate_limited(status: &RateStatus) -> Response {
    let retry_after_secs = status.retry_after_secs;
    let reset = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(
            i64::try_from(retry_after_secs).unwrap_or(i64::MAX / 2),
        ))
        .unwrap_or_else(|_| jiff::Timestamp::now());
    let mut headers = HeaderMap::new();
    rate_headers(status, &mut headers);
    let mut put = |name: &'static str, value: String| {
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(HeaderName::from_static(name), v);
        }
    };
    put("retry-after", retry_after_secs.to_string());
    put(
        "x-ratelimit-reset",
        reset.strftime("%Y-%m-%dT%H:%MZ").to_string(),
    );
    put(
        "ratelimit-reason",
        "confluence-quota-tenant-based".to_string(),
    );
    put("content-type", "application/json".to_string());
    (
        StatusCode::TOO_MANY_REQUESTS,
        headers,
        json!({"message": "Rate limit exceeded."}).to_string(),
    )
        .into_response()
}

/// `X-RateLimit-Limit` / `X-RateLimit-Remaining`: the per-second request rate and what is left
/// of it (ref §5.1).
pub fn rate_headers(status: &RateStatus, headers: &mut HeaderMap) {
    let limit = if status.limit == 0 {
        DEFAULT_LIMIT
    } else {
        status.limit
    };
    headers.insert("x-ratelimit-limit", HeaderValue::from(limit));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(status.remaining));
}
