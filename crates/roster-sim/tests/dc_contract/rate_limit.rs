//! The tenant-wide token bucket (`rate_limit_per_sec`) with the DC header set (ref §4.10).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use roster_sim::FaultConfig;
use roster_sim::dc::DcOptions;
use serde_json::{Value, json};

use super::{assert_error, sim_with};

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn bucket_empties_answers_429_with_headers_and_refills() {
    // Three tokens refilled at three a second: one token every 333 ms, far longer than four
    // requests over loopback take.
    let s = sim_with(DcOptions {
        faults: FaultConfig {
            rate_limit_per_sec: 3,
            ..FaultConfig::default()
        },
        ..DcOptions::default()
    })
    .await;
    for remaining in ["2", "1", "0"] {
        let r = s.get("/rest/api/space").send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(header(&r, "x-ratelimit-limit"), "3");
        assert_eq!(header(&r, "x-ratelimit-remaining"), remaining);
        assert_eq!(header(&r, "x-ratelimit-interval-seconds"), "1");
        assert_eq!(header(&r, "x-ratelimit-fillrate"), "3");
        assert_eq!(header(&r, "retry-after"), "0", "0 while tokens remain");
    }
    // Writes and reads draw on the same bucket.
    let r = s
        .write(Method::POST, "/rest/api/admin/group")
        .json(&json!({"name": "refused"}))
        .send()
        .await
        .unwrap();
    assert_eq!(header(&r, "x-ratelimit-limit"), "3");
    assert_eq!(header(&r, "x-ratelimit-remaining"), "0");
    assert_eq!(header(&r, "x-ratelimit-fillrate"), "3");
    assert_eq!(header(&r, "retry-after"), "1", "whole seconds, at least 1");
    assert_error(r, 429, "Rate limit exceeded").await;
    let state = s.state().await;
    assert!(
        !state.to_string().contains("\"refused\""),
        "a throttled write is not carried out"
    );
    let report: Value = s
        .http
        .get(s.url("/_sim/faults"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&report["throttled"], &report["injected"]),
        (&json!(1), &json!(0)),
        "{report}"
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = s.get("/rest/api/space").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a token came back");
    assert_eq!(header(&r, "x-ratelimit-remaining"), "0");
    s.running.stop().await;
}
