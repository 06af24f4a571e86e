//! `POST /webhooks/{source}` and `GET /api/status`: routed to what the binary plugs in,
//! authenticated (the sink checks the vendor's signature; the status report takes the admin
//! token), and answering clearly when nothing is plugged in.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use reqwest::StatusCode;
use roster_server::{
    Extensions, ServerConfig, StatusApi, StatusApiError, WebhookReply, WebhookSink,
};
use serde_json::{Value, json};

use crate::common::{ADMIN_TOKEN, Backend, TestServer, test_config};

/// Accepts deliveries to `hr` whose `X-Signature` is `good`, and remembers them.
#[derive(Default)]
struct Sink {
    delivered: Mutex<Vec<(String, Vec<u8>)>>,
}

#[async_trait]
impl WebhookSink for Sink {
    async fn deliver(
        &self,
        source: &str,
        headers: &reqwest::header::HeaderMap,
        body: &[u8],
    ) -> WebhookReply {
        if source != "hr" {
            return WebhookReply::UnknownSource;
        }
        if headers.get("x-signature").and_then(|v| v.to_str().ok()) != Some("good") {
            return WebhookReply::Rejected("bad signature".into());
        }
        self.delivered
            .lock()
            .unwrap()
            .push((source.to_string(), body.to_vec()));
        WebhookReply::Accepted
    }
}

struct Status;

#[async_trait]
impl StatusApi for Status {
    async fn status(&self, category: Option<&str>) -> Result<Value, StatusApiError> {
        match category {
            None | Some("active_leaver") => Ok(json!({"findings": [], "category": category})),
            Some(other) => Err(StatusApiError::BadRequest(format!(
                "unknown category \"{other}\""
            ))),
        }
    }
}

#[tokio::test]
async fn webhooks_reach_the_sink_only_when_verified_and_status_needs_the_admin_token() {
    let sink = Arc::new(Sink::default());
    let config = ServerConfig {
        extensions: Extensions {
            webhooks: Some(sink.clone()),
            status: Some(Arc::new(Status)),
        },
        ..test_config()
    };
    let s = TestServer::start(Backend::Sqlite, config).await.unwrap();
    let post = |source: &str, signature: &str| {
        s.http
            .post(format!("{}/webhooks/{source}", s.root))
            .header("x-signature", signature)
            .body("{\"employees\":[\"42\"]}")
            .send()
    };
    assert_eq!(
        post("hr", "good").await.unwrap().status(),
        StatusCode::ACCEPTED
    );
    let rejected = post("hr", "forged").await.unwrap();
    assert_eq!(rejected.status(), StatusCode::UNAUTHORIZED);
    let body = rejected.text().await.unwrap();
    assert!(
        !body.contains("signature"),
        "no detail of what failed: {body}"
    );
    assert_eq!(
        post("payroll", "good").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let delivered = sink.delivered.lock().unwrap().clone();
    assert_eq!(
        delivered,
        [("hr".to_string(), b"{\"employees\":[\"42\"]}".to_vec())]
    );

    let status = |token: Option<&str>, query: &str| {
        let mut r = s.http.get(format!("{}/api/status{query}", s.root));
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        r.send()
    };
    assert_eq!(
        status(None, "").await.unwrap().status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(Some(&s.token), "").await.unwrap().status(),
        StatusCode::UNAUTHORIZED,
        "an IdP's SCIM token is not the admin token"
    );
    let ok = status(Some(ADMIN_TOKEN), "?category=active_leaver")
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    assert_eq!(
        ok.json::<Value>().await.unwrap()["category"],
        "active_leaver"
    );
    let bad = status(Some(ADMIN_TOKEN), "?category=nope").await.unwrap();
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn without_extensions_webhooks_are_404_and_status_503() {
    let s = TestServer::start(Backend::Sqlite, test_config())
        .await
        .unwrap();
    let r = s
        .http
        .post(format!("{}/webhooks/hr", s.root))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s
        .http
        .get(format!("{}/api/status", s.root))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
}
