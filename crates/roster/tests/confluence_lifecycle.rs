//! A mover and a leaver of `examples/acme`, followed into the Confluence Cloud simulator over
//! three syncs: the mover gains the new department's group (and with it the space) at once and
//! loses the old one when the grace period ends; the leaver is deactivated and loses every
//! group and direct space permission, while the pages they wrote stay exactly as they were.

mod support;

use std::collections::BTreeSet;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};
use support::{Kind, expected, http, policy, sim_state, sqlite, start, sync};

/// The simulator's user whose SCIM externalId (the employee id) is `id`.
fn user<'a>(state: &'a Value, id: &str) -> &'a Value {
    state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["externalId"] == id)
        .unwrap_or_else(|| panic!("no account for {id}"))
}

fn account_id(state: &Value, id: &str) -> String {
    user(state, id)["accountId"].as_str().unwrap().to_string()
}

/// Names of the groups the account is a member of.
fn groups_of(state: &Value, account: &str) -> BTreeSet<String> {
    state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| {
            g["members"]
                .as_array()
                .unwrap()
                .iter()
                .any(|m| m == account)
        })
        .map(|g| g["name"].as_str().unwrap().to_string())
        .collect()
}

/// Keys of the spaces the account can read through one of its groups.
fn readable_through_groups(state: &Value, account: &str) -> BTreeSet<String> {
    let groups = groups_of(state, account);
    state["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["permissions"].as_array().unwrap().iter().any(|p| {
                p["principalType"] == "group"
                    && p["key"] == "read"
                    && groups.contains(p["principalName"].as_str().unwrap_or_default())
            })
        })
        .map(|s| s["key"].as_str().unwrap().to_string())
        .collect()
}

/// `(space key, operation)` of the permissions held by the account itself.
fn direct_permissions(state: &Value, account: &str) -> BTreeSet<(String, String)> {
    let mut held = BTreeSet::new();
    for s in state["spaces"].as_array().unwrap() {
        for p in s["permissions"].as_array().unwrap() {
            if p["principalType"] == "user" && p["principalId"] == account {
                held.insert((
                    s["key"].as_str().unwrap().to_string(),
                    p["key"].as_str().unwrap().to_string(),
                ));
            }
        }
    }
    held
}

fn pages_by(state: &Value, account: &str) -> Vec<Value> {
    state["pages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["authorId"] == account)
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mover_and_a_leaver_reach_the_cloud_simulator_and_the_leavers_pages_stay() {
    let e = expected();
    let (mover, leaver) = (e.movers[0].as_str(), "E00205");
    assert!(e.leavers.iter().any(|l| l == leaver));
    let dir = tempfile::tempdir().unwrap();
    let (sim, target) = start(Kind::Cloud).await;
    let target = target.as_ref();
    let store = sqlite(dir.path()).await;
    let policy = policy();
    let base = sim.url();
    let s = |k: &str| sim.info[k].as_str().unwrap().to_string();

    sync(&store, target, &policy, "hr-previous.csv", e.previous_as_of).await;
    let before = sim_state(&base).await;
    let (m, l) = (account_id(&before, mover), account_id(&before, leaver));
    assert!(groups_of(&before, &m).contains("eng"));
    assert!(!groups_of(&before, &m).contains("sales"));
    assert!(readable_through_groups(&before, &m).contains("ENG"));
    assert!(!readable_through_groups(&before, &m).contains("SALES"));
    assert_eq!(user(&before, leaver)["active"], true);
    let leaver_groups = groups_of(&before, &l);
    assert!(
        leaver_groups.contains("confluence-users"),
        "{leaver_groups:?}"
    );

    // Before leaving, the leaver wrote pages, and an admin gave them a direct permission by
    // hand, through the same v1 call an admin's script would use.
    let space = readable_through_groups(&before, &l)
        .into_iter()
        .next()
        .expect("the leaver reads some space");
    for title in ["Runbook", "Handover notes"] {
        let r = http()
            .post(format!("{base}/_sim/pages"))
            .json(&json!({"spaceKey": space, "title": title, "authorAccountId": l}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    let r = http()
        .post(format!("{base}/wiki/rest/api/space/{space}/permission"))
        .basic_auth(s("email"), Some(s("api_token")))
        .header("X-Atlassian-Token", "no-check")
        .json(&json!({
            "subject": {"type": "user", "identifier": l},
            "operation": {"key": "read", "target": "space"}
        }))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let written = pages_by(&sim_state(&base).await, &l);
    assert_eq!(written.len(), 2);
    assert!(!direct_permissions(&sim_state(&base).await, &l).is_empty());

    // Today: the move is a day old, the leaver's end date has passed.
    sync(&store, target, &policy, "hr.csv", e.as_of).await;
    let today = sim_state(&base).await;
    let mover_groups = groups_of(&today, &m);
    assert!(
        mover_groups.contains("sales"),
        "the new group at once: {mover_groups:?}"
    );
    assert!(
        mover_groups.contains("eng"),
        "the old group during the grace period: {mover_groups:?}"
    );
    let reads = readable_through_groups(&today, &m);
    assert!(
        reads.contains("SALES") && reads.contains("ENG"),
        "{reads:?}"
    );
    assert_eq!(user(&today, mover)["active"], true);

    let gone = user(&today, leaver);
    assert_eq!(gone["active"], false, "the leaver is deactivated");
    assert_eq!(gone["confluenceAccess"], false);
    assert_eq!(groups_of(&today, &l), BTreeSet::new(), "no group left");
    assert_eq!(direct_permissions(&today, &l), BTreeSet::new());
    assert_eq!(
        pages_by(&today, &l),
        written,
        "the leaver's pages are untouched"
    );

    // Eight days later the mover's grace period (7 days) is over.
    let later: Timestamp = e.as_of + SignedDuration::from_hours(24 * 8);
    sync(&store, target, &policy, "hr.csv", later).await;
    let after = sim_state(&base).await;
    let mover_groups = groups_of(&after, &m);
    assert!(mover_groups.contains("sales"), "{mover_groups:?}");
    assert!(
        !mover_groups.contains("eng"),
        "the old group ends with the grace period: {mover_groups:?}"
    );
    let reads = readable_through_groups(&after, &m);
    assert!(
        reads.contains("SALES") && !reads.contains("ENG"),
        "{reads:?}"
    );
    assert_eq!(pages_by(&after, &l), written);
    assert_eq!(user(&after, leaver)["active"], false);
}
