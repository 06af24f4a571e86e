//! What every Data Center answer shares: the v1 error envelope, `start`/`limit` pages with
//! `_links`, authentication, the XSRF and content-type checks on writes, the HTML answers of
//! routes that do not exist, and the rate-limit answer used by fault injection.

use std::collections::HashMap;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Value, json};

use super::Dc;
use crate::faults::RateStatus;

/// The v1 error envelope Data Center sends with `reason` (ref §4.9, §2.9).
pub(crate) fn error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    let valid = status != StatusCode::BAD_REQUEST;
    let errors = if valid {
        json!([])
    } else {
        // ref §2.9: `errors` may hold `{"message": {"translation": "...", "args": []}}`.
        json!([{"message": {"translation": message, "args": []}}])
    };
    let body = json!({
        "statusCode": status.as_u16(),
        "data": {
            "authorized": false,
            "valid": valid,
            "allowedInReadOnlyMode": true,
            "errors": errors,
            "successful": false,
        },
        "message": message,
        "reason": status.canonical_reason().unwrap_or(""),
    });
    (status, axum::Json(body)).into_response()
}

pub(crate) fn not_found(message: impl Into<String>) -> Response {
    error(StatusCode::NOT_FOUND, message)
}

pub(crate) fn bad_request(message: impl Into<String>) -> Response {
    error(StatusCode::BAD_REQUEST, message)
}

pub(crate) fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

fn html(status: StatusCode, title: &str) -> Response {
    // ref §4.9: a route that does not exist answers a non-JSON (HTML) 404/405.
    let body = format!(
        "<!DOCTYPE html><html><head><title>{title}</title></head>\
         <body><h1>{title}</h1><p>The requested resource is not available.</p></body></html>"
    );
    (
        status,
        [(header::CONTENT_TYPE, "text/html;charset=UTF-8")],
        body,
    )
        .into_response()
}

pub(crate) async fn html_not_found() -> Response {
    html(StatusCode::NOT_FOUND, "HTTP Status 404 – Not Found")
}

pub(crate) async fn html_method_not_allowed() -> Response {
    html(
        StatusCode::METHOD_NOT_ALLOWED,
        "HTTP Status 405 – Method Not Allowed",
    )
}

/// The bucket DC reports when no limit is configured (an injected burst): an admin's typical
/// setting of 20 requests a bucket, refilled by 10 a second (ref §4.10).
const DEFAULT_BUCKET: u32 = 20;
const DEFAULT_FILL_RATE: u32 = 10;

/// ref §4.10: DC rate limiting answers 429 with its token-bucket headers.
pub(crate) fn rate_limited(status: &RateStatus) -> Response {
    let mut response = error(StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.");
    rate_headers(status, response.headers_mut());
    response
}

/// ref §4.10: the token-bucket headers, on every answer while rate limiting is on:
/// `retry-after` is 0 when tokens remain. The simulator's bucket holds one second's worth, so
/// its size and fill rate are both the configured limit, refilled every second.
pub(crate) fn rate_headers(status: &RateStatus, h: &mut HeaderMap) {
    let (bucket, fill) = if status.limit == 0 {
        (DEFAULT_BUCKET, DEFAULT_FILL_RATE)
    } else {
        (status.limit, status.limit)
    };
    h.insert("x-ratelimit-limit", HeaderValue::from(bucket));
    h.insert("x-ratelimit-remaining", HeaderValue::from(status.remaining));
    h.insert("x-ratelimit-interval-seconds", HeaderValue::from(1u64));
    h.insert("x-ratelimit-fillrate", HeaderValue::from(fill));
    h.insert(
        header::RETRY_AFTER,
        HeaderValue::from(status.retry_after_secs),
    );
}

/// Percent-encodes a path segment or query value (RFC 3986 unreserved characters kept).
pub(crate) fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The query parameters of a listing.
pub(crate) struct Query(pub HashMap<String, String>);

impl Query {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `expand=a,b` contains `what`.
    pub(crate) fn expands(&self, what: &str) -> bool {
        self.get("expand")
            .is_some_and(|e| e.split(',').any(|x| x.trim() == what))
    }

    /// `start` (default 0) and `limit` (default and maximum `max`) (ref §4.2).
    #[allow(clippy::result_large_err)]
    pub(crate) fn paging(&self, default: usize, max: usize) -> Result<(usize, usize), Response> {
        let num = |name: &str, default: usize| -> Result<usize, Response> {
            match self.get(name) {
                None | Some("") => Ok(default),
                Some(v) => v
                    .parse::<i64>()
                    .ok()
                    .filter(|n| *n >= 0)
                    .map(|n| n as usize)
                    .ok_or_else(|| bad_request(format!("Invalid value for '{name}': {v}"))),
            }
        };
        let start = num("start", 0)?;
        let limit = num("limit", default)?.clamp(1, max);
        Ok((start, limit))
    }
}

/// Where the site lives, for `_links`.
#[derive(Clone)]
pub(crate) struct Links {
    pub base: String,
    pub context: String,
}

impl Links {
    pub(crate) fn absolute(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub(crate) fn user(&self, key: &str) -> String {
        self.absolute(&format!("/rest/api/user?key={}", enc(key)))
    }
}

/// One page of a `start`/`limit` listing (ref §4.2, §2.2): `_links.next` only when more
/// remain, relative to `_links.base`; `prev` when not on the first page. `keep` are the
/// request's other query parameters, repeated in `self`/`next`/`prev`.
pub(crate) fn page(
    links: &Links,
    path: &str,
    keep: &[(&str, &str)],
    all: Vec<Value>,
    start: usize,
    limit: usize,
) -> Value {
    let total = all.len();
    let results: Vec<Value> = all.into_iter().skip(start).take(limit).collect();
    let size = results.len();
    let url = |start: usize| {
        let mut q: Vec<String> = keep
            .iter()
            .map(|(k, v)| format!("{k}={}", enc(v)))
            .collect();
        q.push(format!("limit={limit}"));
        q.push(format!("start={start}"));
        format!("{path}?{}", q.join("&"))
    };
    let mut l = serde_json::Map::new();
    l.insert("base".into(), json!(links.base));
    l.insert("context".into(), json!(links.context));
    l.insert("self".into(), json!(links.absolute(&url(start))));
    if start + size < total {
        l.insert("next".into(), json!(url(start + size)));
    }
    if start > 0 {
        l.insert("prev".into(), json!(url(start.saturating_sub(limit))));
    }
    json!({"results": results, "start": start, "limit": limit, "size": size, "_links": l})
}

/// Who a request authenticated as.
#[derive(Clone, Debug)]
pub(crate) struct Caller(pub String);

fn authenticate(dc: &Dc, headers: &HeaderMap) -> Option<Caller> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        // ref §4.1: a PAT carries its creator's permissions.
        return (rest == dc.creds.pat).then(|| Caller(dc.creds.username.clone()));
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(rest)
            .ok()?;
        let text = String::from_utf8(decoded).ok()?;
        let (user, password) = text.split_once(':')?;
        return (user.eq_ignore_ascii_case(&dc.creds.username) && password == dc.creds.password)
            .then(|| Caller(dc.creds.username.clone()));
    }
    None
}

fn has_body(headers: &HeaderMap) -> bool {
    if headers.contains_key(header::TRANSFER_ENCODING) {
        return true;
    }
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > 0)
}

/// Middleware on every REST route: 401 without valid credentials (ref §4.1); on writes, 403
/// "XSRF check failed" without `X-Atlassian-Token: no-check` and 415 for a body that is not
/// JSON (ref §4.1, §7).
pub(crate) async fn guard(State(dc): State<Dc>, mut request: Request, next: Next) -> Response {
    let Some(caller) = authenticate(&dc, request.headers()) else {
        let mut r = error(
            StatusCode::UNAUTHORIZED,
            "Client must be authenticated to access this resource.",
        );
        r.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"Confluence\""),
        );
        return r;
    };
    let write = matches!(
        *request.method(),
        Method::POST | Method::PUT | Method::PATCH | Method::DELETE
    );
    if write {
        let headers = request.headers();
        let token_ok = headers
            .get("x-atlassian-token")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("no-check"));
        if !token_ok {
            return error(StatusCode::FORBIDDEN, "XSRF check failed");
        }
        let json = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| {
                v.split(';')
                    .next()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
            });
        if has_body(headers) && !json {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "Unsupported Media Type: the request body must be application/json",
            );
        }
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// Parses a JSON body, answering 400 in the envelope when it is not valid.
#[allow(clippy::result_large_err)]
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, Response> {
    if body.is_empty() {
        return Err(bad_request("A request body is required"));
    }
    serde_json::from_slice(body).map_err(|e| bad_request(format!("Invalid JSON: {e}")))
}
