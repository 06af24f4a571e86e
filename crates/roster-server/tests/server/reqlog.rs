//! The request log: what is kept, what is redacted, and the admin endpoint over it.

use reqwest::StatusCode;
use roster_server::ServerConfig;
use serde_json::{Value, json};

use crate::common::{ADMIN_TOKEN, Backend, TestServer, on_every_backend, test_config, user};

async fn log(s: &TestServer, query: &str) -> Vec<Value> {
    let response = s
        .http
        .get(format!("{}/api/scim/log{query}", s.root))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    body["entries"].as_array().unwrap().clone()
}

async fn the_log_keeps_bodies_without_secrets(s: &TestServer) {
    let mut ada = user("ada@acme.example");
    ada["password"] = json!("hunter2-plain");
    let (_, created) = s.post("/Users", &ada).await;
    let id = created["id"].as_str().unwrap();
    s.patch(
        &format!("/Users/{id}"),
        &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "replace", "path": "password", "value": "s3cret-patch"},
                               {"op": "replace", "value": {"password": "s3cret-pathless"}}]}),
    )
    .await;
    s.get("/Users?filter=userName%20eq").await;

    let entries = log(s, "").await;
    assert_eq!(entries.len(), 3, "{entries:?}");
    // Newest first.
    assert_eq!(entries[0]["status"], 400);
    assert_eq!(entries[2]["method"], "POST");
    assert_eq!(entries[2]["path"], "/scim/v2/Users");
    assert_eq!(entries[2]["status"], 201);
    assert_eq!(entries[2]["connection"], "bootstrap");
    let request = entries[2]["request_body"].as_str().unwrap();
    assert!(
        request.contains("ada@acme.example") && request.contains("[redacted]"),
        "{request}"
    );
    assert!(entries[2]["response_body"].as_str().unwrap().contains(id));
    let everything = serde_json::to_string(&entries).unwrap();
    for secret in [
        "hunter2-plain",
        "s3cret-patch",
        "s3cret-pathless",
        s.token.as_str(),
    ] {
        assert!(!everything.contains(secret), "{secret} is in the log");
    }

    let failed = log(s, "?failed=true").await;
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0]["response_body"]
            .as_str()
            .unwrap()
            .contains("invalidFilter")
    );
    assert!(log(s, "?connection=okta").await.is_empty());
    assert_eq!(log(s, "?connection=bootstrap&limit=2").await.len(), 2);

    // The CLI reads the same entries from the database.
    let stored = s.store.scim_log(Some("bootstrap"), true, 10).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert_eq!(stored[0].status, 400);
}

on_every_backend!(the_log_keeps_bodies_without_secrets);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_log_keeps_the_newest_entries_per_connection() {
    let config = ServerConfig {
        log_keep: 3,
        ..test_config()
    };
    let s = TestServer::start(Backend::Sqlite, config).await.unwrap();
    for i in 0..5 {
        s.get(&format!("/Users?count={i}")).await;
    }
    let entries = log(&s, "").await;
    let paths: Vec<&str> = entries
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "/scim/v2/Users?count=4",
            "/scim/v2/Users?count=3",
            "/scim/v2/Users?count=2"
        ]
    );
    s.finish().await;
}
