//! Okta's JSON: users, groups and errors as the management API spells them, and the
//! `X-Rate-Limit-*` headers every answer carries (reference §9.2, §9.4, §9.5).

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::state::{Group, User};
use crate::directory::millis;
use crate::faults::RateStatus;

pub fn user_json(u: &User, base: &str) -> Value {
    let mut v = json!({
        "id": u.id,
        "status": u.status,
        "created": millis(u.created),
        "activated": u.activated.map(millis),
        "statusChanged": u.status_changed.map(millis),
        "lastLogin": u.last_login.map(millis),
        "lastUpdated": millis(u.last_updated),
        "passwordChanged": u.password_changed.map(millis),
        "type": {"id": super::USER_TYPE_ID},
        "profile": u.profile,
        "credentials": {
            "password": {},
            "provider": {"type": "OKTA", "name": "OKTA"},
        },
        "_links": {"self": {"href": format!("{base}/api/v1/users/{}", u.id)}},
    });
    // Only present while a lifecycle change runs asynchronously (§9.3).
    if let Some(t) = &u.transitioning_to_status {
        v["transitioningToStatus"] = json!(t);
    }
    v
}

pub fn group_json(g: &Group, base: &str) -> Value {
    json!({
        "id": g.id,
        "created": millis(g.created),
        "lastUpdated": millis(g.last_updated),
        "lastMembershipUpdated": millis(g.last_membership_updated),
        "objectClass": ["okta:user_group"],
        "type": g.kind,
        "profile": {"name": g.name, "description": g.description},
        "_links": {
            "self": {"href": format!("{base}/api/v1/groups/{}", g.id)},
            "users": {"href": format!("{base}/api/v1/groups/{}/users", g.id)},
        },
    })
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

pub fn ok(body: &Value) -> Response {
    json_response(StatusCode::OK, body)
}

/// Okta's error object (§9.5): `errorCode`, `errorSummary`, `errorLink`, `errorId`,
/// `errorCauses`.
pub fn error(status: StatusCode, code: &str, summary: &str, causes: &[String]) -> Response {
    json_response(
        status,
        &json!({
            "errorCode": code,
            "errorSummary": summary,
            "errorLink": code,
            "errorId": format!("oae{}", &crate::random_secret()[..19]),
            "errorCauses": causes.iter().map(|c| json!({"errorSummary": c})).collect::<Vec<_>>(),
        }),
    )
}

pub fn invalid_token() -> Response {
    error(
        StatusCode::UNAUTHORIZED,
        "E0000011",
        "Invalid token provided",
        &[],
    )
}

pub fn access_denied() -> Response {
    error(
        StatusCode::FORBIDDEN,
        "E0000006",
        "You do not have permission to perform the requested action",
        &[],
    )
}

pub fn not_found(what: &str) -> Response {
    error(
        StatusCode::NOT_FOUND,
        "E0000007",
        &format!("Not found: Resource not found: {what}"),
        &[],
    )
}

/// A `filter`/`search` Okta cannot parse (unconfirmed code: E0000031).
pub fn invalid_search(detail: &str) -> Response {
    error(
        StatusCode::BAD_REQUEST,
        "E0000031",
        "Invalid search criteria.",
        &[detail.to_string()],
    )
}

/// The users endpoints' documented-ish limit per minute when no limit is configured (§9.5,
/// unconfirmed: "~600/min on many SKUs").
const DEFAULT_LIMIT: u32 = 600;

fn put(headers: &mut HeaderMap, name: &'static str, value: String) {
    if let Ok(v) = HeaderValue::from_str(&value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

fn epoch_in(secs: u64) -> i64 {
    jiff::Timestamp::now().as_second() + i64::try_from(secs).unwrap_or(3600)
}

/// Within a configured limit the simulator's window is one second (its token bucket holds a
/// second's worth): `Limit` is the bucket, `Reset` the end of the current second.
pub fn rate_headers(status: &RateStatus, headers: &mut HeaderMap) {
    put(headers, "x-rate-limit-limit", status.limit.to_string());
    put(
        headers,
        "x-rate-limit-remaining",
        status.remaining.to_string(),
    );
    put(headers, "x-rate-limit-reset", epoch_in(1).to_string());
}

/// Headers for answers when no limit is configured: a minute's window, barely touched.
pub fn default_rate_headers(headers: &mut HeaderMap) {
    if headers.contains_key("x-rate-limit-limit") {
        return;
    }
    put(headers, "x-rate-limit-limit", DEFAULT_LIMIT.to_string());
    put(
        headers,
        "x-rate-limit-remaining",
        (DEFAULT_LIMIT - 1).to_string(),
    );
    put(headers, "x-rate-limit-reset", epoch_in(60).to_string());
}

/// 429 with E0000047 and the reset instant; Okta sends no `Retry-After` (§9.5).
pub fn rate_limited(status: &RateStatus) -> Response {
    let mut response = error(
        StatusCode::TOO_MANY_REQUESTS,
        "E0000047",
        "API call exceeded rate limit due to too many requests.",
        &[],
    );
    let limit = if status.limit == 0 {
        DEFAULT_LIMIT
    } else {
        status.limit
    };
    let h = response.headers_mut();
    put(h, "x-rate-limit-limit", limit.to_string());
    put(h, "x-rate-limit-remaining", "0".into());
    put(
        h,
        "x-rate-limit-reset",
        epoch_in(status.retry_after_secs.max(1)).to_string(),
    );
    response
}
