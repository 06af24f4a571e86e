//! Shared by the end-to-end tests on the Confluence simulators: the example company, a
//! SQLite store, the simulators with a target configured for each, and one sync
//! (import → plan → apply until complete).
#![allow(dead_code)] // each test crate uses a different part

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use roster_connectors::CsvSourceConfig;
use roster_core::{Policy, Target};
use roster_engine::{ApplyOptions, apply_plan, import, plan_system};
use roster_examples::Expected;
use roster_store::Store;
use serde_json::{Value, json};

pub fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

pub fn expected() -> Expected {
    Expected::parse(&std::fs::read_to_string(acme().join("expected.toml")).unwrap()).unwrap()
}

pub fn policy() -> Policy {
    Policy::parse(&std::fs::read_to_string(acme().join("policy.toml")).unwrap()).unwrap()
}

/// The example policy as a Data Center site can carry it: Data Center has no `archive`
/// space permission, so the connector refuses it (and `roster plan` would show the failure).
pub fn data_center_policy() -> Policy {
    let text = std::fs::read_to_string(acme().join("policy.toml"))
        .unwrap()
        .replace(r#", "archive""#, "");
    let policy = Policy::parse(&text).unwrap();
    assert!(
        policy
            .group_space_permissions
            .iter()
            .all(|p| p.operation != "archive")
    );
    policy
}

/// The example's spaces, as the site's admins created them before Roster manages them.
pub fn policy_spaces() -> Vec<(String, String)> {
    policy()
        .spaces
        .iter()
        .map(|k| (k.clone(), k.clone()))
        .collect()
}

pub async fn sqlite(dir: &Path) -> Arc<dyn Store> {
    let url = format!("sqlite://{}", dir.join("roster.db").display());
    Arc::from(roster_store::open(&url).await.unwrap())
}

pub fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

pub async fn set_faults(base: &str, faults: Value) {
    let response = http()
        .put(format!("{base}/_sim/faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

pub async fn sim_state(base: &str) -> Value {
    http()
        .get(format!("{base}/_sim/state"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Imports `file` as of `at`, plans and applies until the plan is complete (a resumed apply
/// is what an operator would run after an outage); returns the plan id and its step count.
pub async fn sync(
    store: &Arc<dyn Store>,
    target: &dyn Target,
    policy: &Policy,
    file: &str,
    at: Timestamp,
) -> (String, usize) {
    let config = CsvSourceConfig::new(acme().join(file));
    let intake = roster_connectors::load(&config, &policy.custom_attributes).unwrap();
    import(store.as_ref(), "hr", &intake, at).await.unwrap();
    let (id, plan) = plan_system(store.as_ref(), policy, target, at)
        .await
        .unwrap();
    assert!(plan.hold.is_none(), "{:?}", plan.hold);
    let options = ApplyOptions {
        retry_delay: Duration::from_millis(50),
        ..ApplyOptions::default()
    };
    let clock = move || at;
    let started = std::time::Instant::now();
    for attempt in 1..=3 {
        let report = apply_plan(store.as_ref(), target, &id, &options, &clock, &mut |_| {})
            .await
            .unwrap();
        if report.is_complete() {
            break;
        }
        assert!(
            attempt < 3,
            "apply still failing after 3 runs: {:?}",
            report.failed
        );
    }
    eprintln!(
        "{file}: {} steps applied in {:.1} s",
        plan.changes.len(),
        started.elapsed().as_secs_f64()
    );
    (id, plan.changes.len())
}

#[derive(Clone, Copy)]
pub enum Kind {
    Cloud,
    DataCenter,
}

/// Starts the simulator with the example's spaces and a target configured for it.
pub async fn start(kind: Kind) -> (roster_sim::Running, Box<dyn Target>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    match kind {
        Kind::Cloud => {
            let sim = roster_sim::cloud::start(
                listener,
                roster_sim::cloud::CloudOptions {
                    spaces: policy_spaces(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            let s = |k: &str| sim.info[k].as_str().unwrap().to_string();
            let config: roster_connectors::confluence_cloud::ConfluenceCloudConfig =
                serde_json::from_value(json!({
                    "site_url": s("site_url"),
                    "scim_base_url": s("scim_base_url"),
                    "admin_api_url": s("admin_api_url"),
                    "org_id": s("org_id"),
                    "email": s("email"),
                    "api_token_env": "UNUSED_API_TOKEN",
                    "scim_key_env": "UNUSED_SCIM_KEY",
                    "http": {"base_delay_ms": 20, "max_delay_ms": 500}
                }))
                .unwrap();
            let target = roster_connectors::confluence_cloud::ConfluenceCloudTarget::new(
                "acme.atlassian.net",
                config,
                roster_connectors::confluence_cloud::CloudSecrets {
                    api_token: s("api_token"),
                    scim_key: s("scim_key"),
                    org_key: Some(s("org_key")),
                },
            )
            .unwrap();
            (sim, Box::new(target))
        }
        Kind::DataCenter => {
            let sim = roster_sim::dc::start(
                listener,
                roster_sim::dc::DcOptions {
                    spaces: policy_spaces(),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
            let s = |k: &str| sim.info[k].as_str().unwrap().to_string();
            let config: roster_connectors::confluence_dc::ConfluenceDcConfig =
                serde_json::from_value(json!({
                    "base_url": s("base_url"),
                    "pat_env": "UNUSED_PAT",
                    "http": {"base_delay_ms": 20, "max_delay_ms": 500}
                }))
                .unwrap();
            let target = roster_connectors::confluence_dc::ConfluenceDcTarget::new(
                "confluence.acme.internal",
                config,
                roster_connectors::confluence_dc::DcSecrets {
                    password: None,
                    pat: Some(s("pat")),
                },
            )
            .unwrap();
            (sim, Box::new(target))
        }
    }
}
