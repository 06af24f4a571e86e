//! Bearer tokens, their storage, the rate limit and the admin token.

use reqwest::{Method, StatusCode};
use roster_server::{RateLimit, ServerConfig};
use serde_json::Value;

use crate::common::{
    ADMIN_TOKEN, Backend, TestServer, assert_error, on_every_backend, test_config,
};

async fn missing_and_wrong_tokens_get_the_same_401(s: &TestServer) {
    let url = format!("{}/Users", s.base);
    let answers = [
        s.http.get(&url).send().await.unwrap(),
        s.http.get(&url).bearer_auth("nope").send().await.unwrap(),
        // The right token with one character short, and under another scheme.
        s.http
            .get(&url)
            .bearer_auth(&s.token[..s.token.len() - 1])
            .send()
            .await
            .unwrap(),
        s.http
            .get(&url)
            .header("authorization", format!("Basic {}", s.token))
            .send()
            .await
            .unwrap(),
    ];
    let mut bodies = Vec::new();
    for response in answers {
        assert_eq!(
            response.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .split(' ')
                .next(),
            Some("Bearer")
        );
        let got = crate::common::read(response).await;
        assert_error(&got, 401, None);
        bodies.push(got.1);
    }
    assert!(bodies.windows(2).all(|w| w[0] == w[1]), "{bodies:?}");
    let (status, body) = s.get("/Users").await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

async fn tokens_are_stored_only_as_hashes(s: &TestServer) {
    let connections = s.store.scim_connections().await.unwrap();
    let bootstrap = connections.iter().find(|c| c.name == "bootstrap").unwrap();
    assert_ne!(bootstrap.token_hash, s.token);
    assert!(!bootstrap.token_hash.contains(&s.token));
    assert_eq!(bootstrap.token_hash, roster_server::hash_token(&s.token));
    assert_eq!(bootstrap.token_hash.len(), 64);
    // Re-bootstrapping with a new token replaces the hash: the old token stops working.
    roster_server::ensure_bootstrap(s.store.as_ref(), "a-new-token")
        .await
        .unwrap();
    let connections = s.store.scim_connections().await.unwrap();
    assert_eq!(
        connections.iter().filter(|c| c.name == "bootstrap").count(),
        1
    );
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let (status, _) = s
        .http
        .get(format!("{}/Users", s.base))
        .bearer_auth("a-new-token")
        .send()
        .await
        .map(|r| (r.status(), ()))
        .unwrap();
    assert_eq!(
        status,
        StatusCode::OK,
        "a new token is picked up without a restart"
    );
}

on_every_backend!(
    missing_and_wrong_tokens_get_the_same_401,
    tokens_are_stored_only_as_hashes
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_over_its_rate_gets_429_with_retry_after() {
    let config = ServerConfig {
        rate_limit: RateLimit {
            per_second: 0.5,
            burst: 3.0,
        },
        ..test_config()
    };
    let s = TestServer::start(Backend::Sqlite, config).await.unwrap();
    for _ in 0..3 {
        assert_eq!(s.get("/Users").await.0, StatusCode::OK);
    }
    let response = s.req(Method::GET, "/Users").send().await.unwrap();
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let got = crate::common::read(response).await;
    assert_error(&got, 429, None);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_takes_only_the_admin_token() {
    let s = TestServer::start(Backend::Sqlite, test_config())
        .await
        .unwrap();
    let url = format!("{}/api/scim/log", s.root);
    for token in [None, Some(s.token.as_str()), Some("admin")] {
        let mut r = s.http.get(&url);
        if let Some(t) = token {
            r = r.bearer_auth(t);
        }
        let got = crate::common::read(r.send().await.unwrap()).await;
        assert_error(&got, 401, None);
    }
    let response = s
        .http
        .get(&url)
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert!(body["entries"].is_array(), "{body}");
    s.finish().await;
}
