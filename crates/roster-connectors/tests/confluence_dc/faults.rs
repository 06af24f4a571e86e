//! A faulty run retried to the exact state.

use super::*;

/// Like roster-engine's apply loop: transient errors are retried after a pause.
async fn apply_with_retry(t: &dyn Target, action: &Action) -> Result<StepOutcome, TargetError> {
    let mut attempt = 1;
    loop {
        match t.apply(action).await {
            Err(TargetError::Transient(_)) if attempt < 12 => {
                tokio::time::sleep(Duration::from_millis(50)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[tokio::test]
async fn faulty_run_ends_in_the_exact_state() {
    let running = sim(DcOptions {
        faults: FaultConfig {
            error_rate: 0.2,
            burst_every: 25,
            burst_length: 2,
            retry_after_secs: 1,
            drop_after_write_rate: 0.2,
            // Reproducible; another seed with ROSTER_TEST_FAULT_SEED=N.
            seed: std::env::var("ROSTER_TEST_FAULT_SEED")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(7),
            ..FaultConfig::default()
        },
        ..DcOptions::default()
    })
    .await;
    let t = target(&running, false);
    let people: Vec<AccountRef> = (1..=6).map(|i| person(&format!("E1000{i}"))).collect();
    let mut actions = vec![
        Action::CreateGroup {
            group: "eng".into(),
        },
        Action::CreateGroup {
            group: "sales".into(),
        },
        Action::GrantGroupSpacePermission {
            group: "eng".into(),
            space: "DOCS".into(),
            operation: "read".into(),
        },
    ];
    for (i, p) in people.iter().enumerate() {
        actions.push(Action::CreateAccount {
            account: p.clone(),
            active: i % 3 != 0,
        });
        let group = if i % 2 == 0 { "eng" } else { "sales" };
        for e in [
            Entitlement::group(group),
            Entitlement::licence("confluence"),
        ] {
            actions.push(Action::Add {
                account: p.clone(),
                entitlement: e,
            });
        }
    }
    actions.push(Action::Add {
        account: people[1].clone(),
        entitlement: Entitlement::space("HR", "read"),
    });
    actions.push(Action::Remove {
        account: people[2].clone(),
        entitlement: Entitlement::group("eng"),
    });
    actions.push(Action::DeactivateAccount {
        account: people[4].clone(),
    });
    for action in &actions {
        apply_with_retry(&t, action)
            .await
            .unwrap_or_else(|e| panic!("{action:?}: {e}"));
    }
    let faults: Value = reqwest::get(format!("{}/_sim/faults", running.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(faults["injected"].as_u64().unwrap() > 5, "{faults}");

    let state = sim_state(&running).await;
    let users = state["users"].as_array().unwrap();
    assert_eq!(users.len(), 3 + 6, "no duplicate users");
    for (i, p) in people.iter().enumerate() {
        let u = users
            .iter()
            .find(|u| u["username"] == p.employee_id.to_lowercase())
            .unwrap();
        assert_eq!(u["email"], p.email.as_str());
        assert_eq!(
            u["active"],
            json!(i % 3 != 0 && i != 4),
            "{}",
            p.employee_id
        );
    }
    let members = |g: &str| -> Vec<String> {
        let group = state["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["name"] == g)
            .unwrap();
        serde_json::from_value(group["members"].clone()).unwrap()
    };
    assert_eq!(members("eng"), ["e10001", "e10005"]);
    assert_eq!(members("sales"), ["e10002", "e10004", "e10006"]);
    let mut users_group = vec!["admin", "bwayne", "jsmith"];
    users_group.extend(["e10001", "e10002", "e10003", "e10004", "e10005", "e10006"]);
    users_group.sort();
    assert_eq!(members("confluence-users"), users_group);
    assert_eq!(state["groups"].as_array().unwrap().len(), 4);
    let docs = state["spaces"][0]["permissions"].as_array().unwrap();
    assert_eq!(docs.len(), 4);
    let hr = state["spaces"][1]["permissions"].as_array().unwrap();
    assert_eq!(hr.len(), 4);
    assert!(hr.iter().any(|p| p["subject"]["username"] == "e10002"));

    // Reading through the faults gives the same picture.
    let mut read = None;
    for _ in 0..10 {
        match t.read_state().await {
            Ok(s) => {
                read = Some(s);
                break;
            }
            Err(TargetError::Transient(_)) => continue,
            Err(e) => panic!("{e}"),
        }
    }
    let read = read.expect("read_state succeeds within 10 tries");
    assert_eq!(read.accounts.len(), 9);
    running.stop().await;
}
