//! The tenant-wide token bucket (`rate_limit_per_sec`) with Cloud's headers (ref §5.1, §5.3).

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::*;
use roster_sim::FaultConfig;
use roster_sim::cloud::CloudOptions;

fn header(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header"))
        .to_str()
        .unwrap()
        .to_string()
}

async fn report(s: &Sim) -> Value {
    s.http
        .get(format!("{}/_sim/faults", s.run.url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn bucket_empties_answers_429_with_headers_and_refills() {
    // Three tokens refilled at three a second: one token every 333 ms, far longer than four
    // requests over loopback take.
    let s = start(CloudOptions {
        faults: FaultConfig {
            rate_limit_per_sec: 3,
            ..FaultConfig::default()
        },
        ..CloudOptions::default()
    })
    .await;
    // Every API of the site draws on the one bucket.
    let calls = [
        s.wiki(Method::GET, "/wiki/rest/api/group"),
        s.scim(Method::GET, "/Users"),
        s.wiki(Method::GET, "/wiki/api/v2/spaces"),
    ];
    for (call, remaining) in calls.into_iter().zip(["2", "1", "0"]) {
        let r = call.send().await.unwrap();
        assert!(r.status().is_success(), "{}", r.status());
        assert_eq!(header(&r, "x-ratelimit-limit"), "3");
        assert_eq!(header(&r, "x-ratelimit-remaining"), remaining);
    }
    let r = s
        .wiki(Method::POST, "/wiki/rest/api/group")
        .json(&json!({"name": "refused"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "retry-after"), "1", "whole seconds, at least 1");
    assert_eq!(header(&r, "x-ratelimit-limit"), "3", "the configured limit");
    assert_eq!(header(&r, "x-ratelimit-remaining"), "0");
    assert_eq!(
        header(&r, "ratelimit-reason"),
        "confluence-quota-tenant-based"
    );
    assert!(r.headers().contains_key("x-ratelimit-reset"));
    assert_eq!(
        r.json::<Value>().await.unwrap(),
        json!({"message": "Rate limit exceeded."})
    );
    assert!(
        !s.state().await.to_string().contains("\"refused\""),
        "a throttled write is not carried out; /_sim/ is never limited"
    );
    let counts = report(&s).await;
    assert_eq!(
        (
            &counts["throttled"],
            &counts["injected"],
            &counts["requests"]
        ),
        (&json!(1), &json!(0), &json!(4)),
        "{counts}"
    );

    tokio::time::sleep(Duration::from_millis(400)).await;
    let r = s
        .wiki(Method::GET, "/wiki/rest/api/group")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "a token came back");
    assert_eq!(header(&r, "x-ratelimit-remaining"), "0");

    // Turned off at run time: no limit, no headers.
    let r = s
        .http
        .put(format!("{}/_sim/faults", s.run.url()))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    for _ in 0..5 {
        let r = s
            .wiki(Method::GET, "/wiki/rest/api/group")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert!(!r.headers().contains_key("x-ratelimit-limit"));
    }
}

/// An injected burst with no limit configured reports the documented 100 requests a second.
#[tokio::test]
async fn burst_without_a_limit_reports_the_documented_rate() {
    let s = start(CloudOptions {
        faults: FaultConfig {
            burst_every: 2,
            burst_length: 1,
            ..FaultConfig::default()
        },
        ..CloudOptions::default()
    })
    .await;
    let r = s
        .wiki(Method::GET, "/wiki/rest/api/group")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "x-ratelimit-limit"), "100");
    let r = s
        .wiki(Method::GET, "/wiki/rest/api/group")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        !r.headers().contains_key("x-ratelimit-limit"),
        "no limit, no headers on success"
    );
}
