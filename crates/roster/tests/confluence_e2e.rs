//! End to end on the simulators: `examples/acme` HR → plan → apply against the Confluence
//! Cloud and Data Center simulators over real HTTP, then plan again and expect nothing; the
//! same with 5xx, 429 bursts and dropped connections injected. Every change must reach the
//! target exactly once and the audit log exactly once.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use jiff::Timestamp;
use roster_core::{Policy, Target};
use roster_engine::plan_system;
use roster_store::Store;
use serde_json::{Value, json};
use support::{
    Kind, data_center_policy, expected, http, policy, set_faults, sim_state, sqlite, start, sync,
};

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
