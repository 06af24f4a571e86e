//! Webhooks (ref §1.5): registered with `POST /v1/webhooks` (the private key is returned
//! once), delivered as event-based JSON with `X-BambooHR-Signature` = hex HMAC-SHA256 of the
//! raw body followed by the `X-BambooHR-Timestamp` value, keyed by the private key.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use ring::hmac;
use serde_json::{Value, json};

use super::{App, Webhook, error};

pub fn register(app: &App, name: &str, url: &str) -> Webhook {
    let mut c = app.company();
    let id = c.webhooks.iter().map(|w| w.id).max().unwrap_or(0) + 1;
    let hook = Webhook {
        id,
        name: name.to_string(),
        url: url.to_string(),
        private_key: crate::random_secret(),
    };
    c.webhooks.push(hook.clone());
    hook
}

/// `POST /v1/webhooks` `{"name", "url", "format": "json", "events": [...]}` → 201 with the
/// `privateKey`, which is never shown again.
pub async fn create(State(app): State<App>, body: Bytes) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "Malformed JSON");
    };
    let (Some(name), Some(url)) = (v["name"].as_str(), v["url"].as_str()) else {
        return error(StatusCode::BAD_REQUEST, "name and url are required");
    };
    if v["format"].as_str() != Some("json") && v["format"].as_str() != Some("form-encoded") {
        return error(
            StatusCode::BAD_REQUEST,
            "format is required (json or form-encoded)",
        );
    }
    // The real service takes https only; loopback http is accepted so tests can listen.
    if !(url.starts_with("https://")
        || url.starts_with("http://127.0.0.1")
        || url.starts_with("http://localhost"))
    {
        return error(StatusCode::BAD_REQUEST, "url must be https");
    }
    let hook = register(&app, name, url);
    (
        StatusCode::CREATED,
        axum::Json(json!({
            "id": hook.id.to_string(), "name": hook.name, "url": hook.url, "format": "json",
            "events": v["events"].clone(), "privateKey": hook.private_key,
            "created": Timestamp::now().strftime("%Y-%m-%dT%H:%M:%S+00:00").to_string(),
        })),
    )
        .into_response()
}

pub async fn list(State(app): State<App>) -> Response {
    let c = app.company();
    let hooks: Vec<Value> = c
        .webhooks
        .iter()
        .map(|w| json!({"id": w.id.to_string(), "name": w.name, "url": w.url, "format": "json"}))
        .collect();
    axum::Json(json!({"webhooks": hooks})).into_response()
}

pub async fn delete(State(app): State<App>, Path(id): Path<String>) -> Response {
    let mut c = app.company();
    let before = c.webhooks.len();
    c.webhooks.retain(|w| w.id.to_string() != id);
    if c.webhooks.len() == before {
        return error(StatusCode::NOT_FOUND, "Webhook not found");
    }
    StatusCode::OK.into_response()
}

/// Sends `event` about employee `id` to every webhook, in the background (BambooHR delivers
/// asynchronously); returns how many deliveries were started. Each outcome is recorded in
/// `deliveries` for `/_sim/state`.
pub fn fire(app: &App, event: &str, id: u64, changed_fields: &[String]) -> usize {
    let hooks = app.company().webhooks.clone();
    let now = Timestamp::now();
    let body = json!({
        "type": event,
        "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S+0000").to_string(),
        "data": {"companyId": "1", "employeeId": id.to_string(), "changedFields": changed_fields},
    })
    .to_string();
    let stamp = now.as_second().to_string();
    for hook in &hooks {
        let key = hmac::Key::new(hmac::HMAC_SHA256, hook.private_key.as_bytes());
        let signed = [body.as_bytes(), stamp.as_bytes()].concat();
        let signature = hex::encode(hmac::sign(&key, &signed).as_ref());
        let request = app
            .http
            .post(&hook.url)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                "BambooHR-WebHooks/1.0 (+https://www.bamboohr.com)",
            )
            .header("x-bamboohr-signature", signature)
            .header("x-bamboohr-timestamp", stamp.clone())
            .body(body.clone());
        let app = app.clone();
        let id = hook.id;
        tokio::spawn(async move {
            let status = match request.send().await {
                Ok(r) => r.status().as_u16(),
                Err(_) => 0,
            };
            app.company().deliveries.push((id, status));
        });
    }
    hooks.len()
}
