//! End to end on the simulators: `examples/acme` HR → plan → apply against the Confluence
//! Cloud and Data Center simulators over real HTTP, then plan again and expect nothing; the
//! same with 5xx, 429 bursts and dropped connections injected. Every change must reach the
//! target exactly once and the audit log exactly once.

use std::collections::{BTreeMap, BTreeSet};
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

fn acme() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

fn expected() -> Expected {
    Expected::parse(&std::fs::read_to_string(acme().join("expected.toml")).unwrap()).unwrap()
}

fn policy() -> Policy {
    Policy::parse(&std::fs::read_to_string(acme().join("policy.toml")).unwrap()).unwrap()
}

/// The example policy as a Data Center site can carry it: Data Center has no `archive`
/// space permission, so the connector refuses it (and `roster plan` would show the failure).
fn data_center_policy() -> Policy {
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
fn policy_spaces() -> Vec<(String, String)> {
    policy()
        .spaces
        .iter()
        .map(|k| (k.clone(), k.clone()))
        .collect()
}

async fn sqlite(dir: &Path) -> Arc<dyn Store> {
    let url = format!("sqlite://{}", dir.join("roster.db").display());
    Arc::from(roster_store::open(&url).await.unwrap())
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

async fn set_faults(base: &str, faults: Value) {
    let response = http()
        .put(format!("{base}/_sim/faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

async fn sim_state(base: &str) -> Value {
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
async fn sync(
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

/// Each step of each plan is in the audit log exactly once.
async fn assert_logged_once(store: &dyn Store, plans: &[(String, usize)]) {
    let mut per_step: BTreeMap<(String, u64), usize> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = store.audit_page(after, 5_000).await.unwrap();
        let Some(last) = page.last() else { break };
        after = last.seq;
        for event in &page {
            let body = event.parsed().unwrap();
            if let (Some(plan), Some(step)) = (
                body.detail["plan_id"].as_str(),
                body.detail["step"].as_u64(),
            ) {
                *per_step.entry((plan.to_string(), step)).or_default() += 1;
            }
        }
    }
    for (id, steps) in plans {
        let logged: Vec<usize> = (0..*steps as u64)
            .map(|s| per_step.get(&(id.clone(), s)).copied().unwrap_or(0))
            .collect();
        assert!(
            logged.iter().all(|&n| n == 1),
            "plan {id}: steps not logged exactly once: {:?}",
            logged
                .iter()
                .enumerate()
                .filter(|(_, n)| **n != 1)
                .collect::<Vec<_>>()
        );
    }
    roster_store::verify_audit(store, |_| {}).await.unwrap();
}

/// The target holds what the policy wants: every person who should have an account has one,
/// active or not as wanted, with every required entitlement; planning again finds nothing.
async fn assert_converged(
    store: &Arc<dyn Store>,
    target: &dyn Target,
    policy: &Policy,
    at: Timestamp,
) {
    let (_, again) = plan_system(store.as_ref(), policy, target, at)
        .await
        .unwrap();
    assert!(
        again.is_empty(),
        "planning again found {} change(s): {:#?}",
        again.changes.len(),
        again.changes.iter().take(10).collect::<Vec<_>>()
    );
    let people = store
        .people(at - jiff::SignedDuration::from_hours(24 * 60))
        .await
        .unwrap();
    let desired = roster_core::desired_state(policy, &people, &[], at);
    let actual = target.read_state().await.unwrap();
    let by_employee: BTreeMap<&str, &roster_core::Account> = actual
        .accounts
        .iter()
        .filter_map(|a| a.employee_id.as_deref().map(|id| (id, a)))
        .collect();
    let mut checked = 0;
    for (id, d) in &desired.accounts {
        let Some(account) = by_employee.get(id) else {
            assert!(!d.create_if_missing, "{id} has no account");
            continue;
        };
        assert_eq!(account.active, d.active, "{id} active");
        for e in d.required.keys() {
            assert!(account.entitlements.contains(*e), "{id} lacks {e}");
        }
        if d.strip_everything {
            assert!(
                account.entitlements.is_empty(),
                "leaver {id} keeps {:?}",
                account.entitlements
            );
        }
        checked += 1;
    }
    assert!(checked > 250, "only {checked} accounts checked");
}

#[derive(Clone, Copy)]
enum Kind {
    Cloud,
    DataCenter,
}

/// Starts the simulator with the example's spaces and a target configured for it.
async fn start(kind: Kind) -> (roster_sim::Running, Box<dyn Target>) {
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

async fn run(kind: Kind, faults: Option<Value>) {
    let dir = tempfile::tempdir().unwrap();
    let (sim, target) = start(kind).await;
    let target = target.as_ref();
    if let Some(f) = &faults {
        set_faults(&sim.url(), f.clone()).await;
    }
    let store = sqlite(dir.path()).await;
    let policy = match kind {
        Kind::Cloud => policy(),
        Kind::DataCenter => data_center_policy(),
    };
    let e = expected();
    let first = sync(&store, target, &policy, "hr-previous.csv", e.previous_as_of).await;
    let second = sync(&store, target, &policy, "hr.csv", e.as_of).await;
    set_faults(&sim.url(), json!({})).await;
    assert_converged(&store, target, &policy, e.as_of).await;
    assert_logged_once(store.as_ref(), &[first, second]).await;

    // No duplicates in the simulator: one user per e-mail, one membership per person and group.
    let state = sim_state(&sim.url()).await;
    let emails: Vec<String> = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap_or_default().to_lowercase())
        .collect();
    let unique: BTreeSet<&String> = emails.iter().collect();
    assert_eq!(
        unique.len(),
        emails.len(),
        "duplicate users in the simulator"
    );
    for group in state["groups"].as_array().unwrap() {
        let members: Vec<&Value> = group["members"].as_array().unwrap().iter().collect();
        let unique: BTreeSet<String> = members.iter().map(|m| m.to_string()).collect();
        assert_eq!(
            unique.len(),
            members.len(),
            "duplicate members in {}",
            group["name"]
        );
    }
    for space in state["spaces"].as_array().unwrap() {
        let grants: Vec<String> = space["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                let mut p = p.clone();
                if let Some(o) = p.as_object_mut() {
                    o.remove("id");
                }
                p.to_string()
            })
            .collect();
        let unique: BTreeSet<&String> = grants.iter().collect();
        assert_eq!(
            unique.len(),
            grants.len(),
            "duplicate permissions in {}",
            space["key"]
        );
    }
    if faults.is_some() {
        let report: Value = http()
            .get(format!("{}/_sim/faults", sim.url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        eprintln!("faults: {report}");
        assert!(
            report["injected"].as_u64().unwrap() > 0,
            "no fault was injected"
        );
    }
}

/// 20 % of requests answered 5xx, a burst of three 429s (Retry-After: 1) every 1,000
/// requests, 10 % of writes carried out but answered with a dropped connection.
fn faults() -> Value {
    json!({
        "error_rate": 0.2,
        "burst_every": 1000,
        "burst_length": 3,
        "retry_after_secs": 1,
        "drop_after_write_rate": 0.1,
        "seed": 11
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_into_the_cloud_simulator_converges() {
    run(Kind::Cloud, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_into_the_cloud_simulator_converges_through_faults() {
    run(Kind::Cloud, Some(faults())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_into_the_data_center_simulator_converges() {
    run(Kind::DataCenter, None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acme_into_the_data_center_simulator_converges_through_faults() {
    run(Kind::DataCenter, Some(faults())).await;
}
