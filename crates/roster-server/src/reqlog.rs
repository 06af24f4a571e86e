//! The request log: the newest N requests and responses per connection, bodies included, with
//! every `password` value replaced. Admins read it (`roster scim log`, `GET /api/scim/log`) to
//! see exactly what an IdP sent when its mapping goes wrong.
//!
//! Requests only hand their raw bytes to a bounded channel; a background task redacts and
//! stores them. It keeps at most N pending entries per connection and writes every
//! [`FLUSH_EVERY`], so under heavy load it writes N entries per interval per connection rather
//! than one per request (older ones would be trimmed straight away anyway). If the channel is
//! full the entry is dropped and counted, never the request delayed. Each round is one
//! transaction. The `Authorization` header is never part of an entry.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use roster_store::ScimLogEntry;
use roster_store::Store;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

use crate::App;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::gate::WriteGate;

/// How often pending entries are written.
pub const FLUSH_EVERY: Duration = Duration::from_secs(2);
/// Request bodies and error answers longer than this are cut (after redaction) before they
/// are stored.
pub const MAX_STORED_BODY: usize = 64 * 1024;
/// Successful answers are cut shorter: the log is for what IdPs send.
pub const MAX_STORED_RESPONSE: usize = 4 * 1024;
/// What replaces a secret.
pub const REDACTED: &str = "[redacted]";
const CHANNEL: usize = 8192;

/// One exchange as captured on the request path: raw bytes, redacted later.
struct Captured {
    connection: String,
    at: Timestamp,
    method: String,
    path: String,
    status: u16,
    request: Bytes,
    response: Bytes,
    duration_ms: u64,
}

enum Message {
    Entry(Captured),
    Flush(oneshot::Sender<()>),
}

/// The handle requests use; cheap to share.
pub struct RequestLog {
    tx: mpsc::Sender<Message>,
    dropped: AtomicU64,
}

impl RequestLog {
    /// Starts the writer task, keeping `keep` entries per connection.
    pub fn start(store: Arc<dyn Store>, writes: Arc<WriteGate>, keep: u32) -> Self {
        let (tx, rx) = mpsc::channel(CHANNEL);
        tokio::spawn(writer(store, writes, keep, rx));
        RequestLog {
            tx,
            dropped: AtomicU64::new(0),
        }
    }

    fn record(&self, entry: Captured) {
        if self.tx.try_send(Message::Entry(entry)).is_err() {
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Entries dropped because the writer could not keep up.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Writes everything captured so far; returns once it is stored.
    pub async fn flush(&self) {
        let (ack, done) = oneshot::channel();
        if self.tx.send(Message::Flush(ack)).await.is_ok() {
            let _ = done.await;
        }
    }
}

async fn writer(
    store: Arc<dyn Store>,
    writes: Arc<WriteGate>,
    keep: u32,
    mut rx: mpsc::Receiver<Message>,
) {
    let mut pending: BTreeMap<String, VecDeque<Captured>> = BTreeMap::new();
    let mut tick = tokio::time::interval(FLUSH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = rx.recv() => match message {
                Some(Message::Entry(entry)) => {
                    let queue = pending.entry(entry.connection.clone()).or_default();
                    queue.push_back(entry);
                    while queue.len() > keep as usize {
                        queue.pop_front();
                    }
                }
                Some(Message::Flush(ack)) => {
                    write_pending(store.as_ref(), &writes, keep, &mut pending).await;
                    let _ = ack.send(());
                }
                None => {
                    write_pending(store.as_ref(), &writes, keep, &mut pending).await;
                    return;
                }
            },
            _ = tick.tick() => write_pending(store.as_ref(), &writes, keep, &mut pending).await,
        }
    }
}

async fn write_pending(
    store: &dyn Store,
    writes: &WriteGate,
    keep: u32,
    pending: &mut BTreeMap<String, VecDeque<Captured>>,
) {
    let entries: Vec<ScimLogEntry> = std::mem::take(pending)
        .into_values()
        .flatten()
        .map(|captured| ScimLogEntry {
            id: 0,
            connection: captured.connection,
            at: captured.at,
            method: captured.method,
            path: captured.path,
            status: captured.status,
            request_body: stored_request(&captured.request),
            response_body: stored_response(&captured.response, captured.status),
            duration_ms: captured.duration_ms,
        })
        .collect();
    if entries.is_empty() {
        return;
    }
    // One transaction per round: a write per request would cost SQLite a commit each.
    let gate = writes.enter().await;
    let written = store.append_scim_logs(&entries, keep).await;
    drop(gate);
    if let Err(e) = written {
        eprintln!(
            "roster serve: writing {} SCIM request-log entries: {e}",
            entries.len()
        );
    }
}

/// The body of a request as stored: redacted, cut to [`MAX_STORED_BODY`], `None` when empty.
fn stored_request(raw: &[u8]) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    Some(cut(redact_body(raw), MAX_STORED_BODY))
}

/// The body of a response as stored. Successful answers are cut to [`MAX_STORED_RESPONSE`]
/// first (a page of 100 users is 40 KiB, and what an admin needs from it is its start); the
/// server never returns a password, but the cut text is still redacted in case a client's
/// input is echoed in an error.
fn stored_response(raw: &[u8], status: u16) -> Option<String> {
    if raw.is_empty() {
        return None;
    }
    let limit = if failed(status) {
        MAX_STORED_BODY
    } else {
        MAX_STORED_RESPONSE
    };
    let head = &raw[..raw.len().min(limit)];
    let mut text = redact_body(head);
    if head.len() < raw.len() {
        text.push_str(" …[cut]");
    }
    Some(text)
}

fn cut(mut text: String, limit: usize) -> String {
    if text.len() > limit {
        let mut at = limit;
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        text.truncate(at);
        text.push_str(" …[cut]");
    }
    text
}

/// A body with every password value replaced: as JSON when it parses (any `password` key at
/// any depth, URN-qualified or not, and the `value` of a PATCH operation whose `path` names
/// `password`), otherwise textually, since a malformed body is exactly what an admin needs to
/// see and it may still carry a password.
pub fn redact_body(raw: &[u8]) -> String {
    // Most bodies name no password at all: keep them as sent, without parsing. A `\u` escape
    // could spell the key (`"p\u0061ssword"`), so such bodies are parsed anyway.
    if !contains_ignore_case(raw, b"password") && !raw.windows(2).any(|w| w == b"\\u") {
        return String::from_utf8_lossy(raw).into_owned();
    }
    match serde_json::from_slice::<Value>(raw) {
        Ok(mut value) => {
            redact_value(&mut value);
            value.to_string()
        }
        Err(_) => redact_text(&String::from_utf8_lossy(raw)),
    }
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle))
}

fn names_password(key: &str) -> bool {
    let last = key.rsplit(':').next().unwrap_or(key);
    last.trim().eq_ignore_ascii_case("password")
}

fn redact_value(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let op_on_password = map
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("path"))
                .and_then(|(_, v)| v.as_str())
                .is_some_and(names_password);
            for (key, v) in map.iter_mut() {
                if names_password(key) || (op_on_password && key.eq_ignore_ascii_case("value")) {
                    *v = Value::String(REDACTED.into());
                } else {
                    redact_value(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_value),
        _ => {}
    }
}

/// Replaces the string after every `password"` (any case) and a colon in text that is not
/// valid JSON.
fn redact_text(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut search = 0;
    while let Some(found) = lower[search..].find("password\"") {
        let after_key = search + found + "password\"".len();
        search = after_key;
        let rest = &text[after_key..];
        let Some(colon) = rest.find(|c: char| !c.is_whitespace()) else {
            break;
        };
        if !rest[colon..].starts_with(':') {
            continue;
        }
        let after_colon = after_key + colon + 1;
        let value_rest = &text[after_colon..];
        let Some(quote) = value_rest.find(|c: char| !c.is_whitespace()) else {
            break;
        };
        if !value_rest[quote..].starts_with('"') {
            continue;
        }
        let start = after_colon + quote + 1;
        // The value ends at the next unescaped quote, or at the end of a truncated body.
        let mut end = text.len();
        let mut escaped = false;
        for (i, c) in text[start..].char_indices() {
            match c {
                '\\' if !escaped => escaped = true,
                '"' if !escaped => {
                    end = start + i;
                    break;
                }
                _ => escaped = false,
            }
        }
        out.push_str(&text[copied..start]);
        out.push_str(REDACTED);
        copied = end;
        search = end.max(search);
    }
    out.push_str(&text[copied..]);
    out
}

/// Middleware inside authentication: captures the exchange for the caller's connection. It
/// also enforces the body size limit, since it is the one reading the body.
pub async fn capture(State(app): State<Arc<App>>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let at = Timestamp::now();
    let caller = request.extensions().get::<Arc<Caller>>().cloned();
    let method = request.method().to_string();
    // Inside the nested `/scim/v2` router the URI has lost its prefix; the log shows the
    // path the client sent.
    let uri = request
        .extensions()
        .get::<axum::extract::OriginalUri>()
        .map_or_else(|| request.uri().clone(), |o| o.0.clone());
    let path = uri
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_default();
    let (parts, body) = request.into_parts();
    let limit = app.config.max_payload_size;
    let (request_bytes, response) = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => {
            let request = Request::from_parts(parts, Body::from(bytes.clone()));
            (bytes, next.run(request).await)
        }
        Err(_) => (
            Bytes::from(format!("[request body over {limit} bytes, not read]")),
            ApiError::new(
                413,
                None,
                format!("the request body is larger than the maximum of {limit} bytes"),
            )
            .into_response(),
        ),
    };
    let Some(caller) = caller else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let response_bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return ApiError::internal("reading a response body", &e).into_response();
        }
    };
    app.log.record(Captured {
        connection: caller.connection.clone(),
        at,
        method,
        path,
        status: parts.status.as_u16(),
        request: request_bytes,
        response: response_bytes.clone(),
        duration_ms: started.elapsed().as_millis() as u64,
    });
    Response::from_parts(parts, Body::from(response_bytes))
}

/// Whether a status counts as failed for `--failed`.
pub fn failed(status: u16) -> bool {
    StatusCode::from_u16(status).map_or(true, |s| s.is_client_error() || s.is_server_error())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_wherever_json_carries_them() {
        let body = br#"{"userName":"ada","password":"hunter2","Operations":[
            {"op":"replace","path":"password","value":"p1"},
            {"op":"Replace","value":{"PASSWORD":"p2","title":"CTO"}},
            {"op":"add","path":"urn:ietf:params:scim:schemas:core:2.0:User:password","value":"p3"}],
            "nested":[{"password":{"x":"p4"}}]}"#;
        let out = redact_body(body);
        for secret in ["hunter2", "p1", "p2", "p3", "p4"] {
            assert!(!out.contains(secret), "{secret} left in {out}");
        }
        assert!(out.contains("\"userName\":\"ada\""), "{out}");
        assert!(out.contains("CTO"), "{out}");
    }

    #[test]
    fn escaped_key_names_do_not_hide_a_password() {
        let out = redact_body(br#"{"p\u0061ssword":"hunter2","userName":"ada"}"#);
        assert!(!out.contains("hunter2"), "{out}");
        let plain = br#"{"userName":"ada","title":"x"}"#;
        assert_eq!(redact_body(plain), String::from_utf8_lossy(plain));
    }

    #[test]
    fn passwords_are_redacted_in_bodies_that_are_not_json() {
        let body = br#"{"userName": "ada", "Password" : "hun\"ter2", "title": "x", "#;
        let out = redact_body(body);
        assert!(!out.contains("hun"), "{out}");
        assert!(out.contains("\"title\": \"x\""), "{out}");
        let cut = br#"{"password":"abcdef"#;
        assert!(!redact_body(cut).contains("abcdef"));
        assert_eq!(redact_body(b"password: plain"), "password: plain");
    }

    #[test]
    fn stored_bodies_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_STORED_BODY);
        let stored = stored_request(long.as_bytes()).unwrap();
        assert!(stored.len() <= MAX_STORED_BODY + 10);
        assert!(stored.ends_with("[cut]"));
        assert_eq!(stored_request(b""), None);
        let page = format!(
            "{{\"Resources\":[{}]}}",
            "{\"userName\":\"é\"},".repeat(1000)
        );
        let ok = stored_response(page.as_bytes(), 200).unwrap();
        assert!(
            ok.len() <= MAX_STORED_RESPONSE + 16 && ok.ends_with("[cut]"),
            "{}",
            ok.len()
        );
        let failed = stored_response(page.as_bytes(), 400).unwrap();
        assert!(failed.len() > MAX_STORED_RESPONSE);
    }
}
