//! Shared by the HR source tests: an HTTP client for the simulators' admin routes and a
//! loopback receiver for the webhooks they deliver.
#![allow(dead_code)] // each test crate uses a different part

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use serde_json::Value;

pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

/// `GET /_sim/faults`: the simulator's request counters.
pub async fn counters(sim: &roster_sim::Running) -> Value {
    http()
        .get(format!("{}/_sim/faults", sim.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `PATCH /_sim/employees/{id}`; returns the simulator's answer.
pub async fn change(sim: &roster_sim::Running, id: &str, fields: Value) -> Value {
    let r = http()
        .patch(format!("{}/_sim/employees/{id}", sim.url()))
        .json(&fields)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.json().await.unwrap()
}

pub async fn admin(sim: &roster_sim::Running, method: reqwest::Method, path: &str, body: Value) {
    let r = http()
        .request(method, format!("{}{path}", sim.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{path}: {}", r.status());
}

pub type Deliveries = Arc<Mutex<Vec<(HeaderMap, Bytes)>>>;

/// A loopback receiver that keeps each delivery's headers and body; returns its URL.
pub async fn receiver() -> (String, Deliveries) {
    let got: Deliveries = Arc::default();
    let keep = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let keep = keep.clone();
            async move {
                keep.lock().unwrap().push((headers, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, got)
}

/// The first delivery, waiting up to five seconds for it.
pub async fn first_delivery(got: &Deliveries) -> (HeaderMap, Bytes) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(d) = got.lock().unwrap().first().cloned() {
            return d;
        }
        assert!(Instant::now() < deadline, "no webhook delivered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
