//! Contract tests of the identity-provider simulators over real HTTP, field by field against
//! `shared/reference/hris-idp.md` (§9 Okta, §10 Microsoft Graph, §11 Google Directory; the
//! section is cited per test). One binary for the three: each link costs minutes on CI.

use reqwest::{Client, Response};
use serde_json::Value;

mod entra;
mod google;
mod okta;

fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().build().expect("client")
}

fn info(run: &roster_sim::Running, key: &str) -> String {
    run.info[key].as_str().expect("info field").to_string()
}

async fn json(r: Response) -> Value {
    r.json().await.expect("a JSON body")
}

fn header(r: &Response, name: &str) -> Option<String> {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
}

/// The object's keys, sorted.
fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {v}"))
        .keys()
        .cloned()
        .collect();
    k.sort();
    k
}

fn sorted(names: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

/// `2022-04-04T15:56:05.000Z`: RFC 3339 with milliseconds, as Okta and Google write instants.
fn is_millis_instant(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 24
            && s.ends_with('Z')
            && s.as_bytes()[19] == b'.'
            && s.parse::<jiff::Timestamp>().is_ok()
    })
}

async fn put_faults(run: &roster_sim::Running, body: Value) {
    let r = client()
        .put(format!("{}/_sim/faults", run.url()))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
}
