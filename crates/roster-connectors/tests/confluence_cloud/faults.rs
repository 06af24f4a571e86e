//! A run with 5xx, 429 bursts and dropped connections ends in exactly the wanted state.

use super::*;

#[tokio::test]
async fn a_faulty_run_ends_in_exactly_the_wanted_state() {
    let sim = sim().await;
    let t = target(&sim.info);
    let site = s(&sim.info, "site_url");
    let faults = json!({"error_rate": 0.2, "burst_every": 50, "burst_length": 3, "retry_after_secs": 1,
                        "drop_after_write_rate": 0.2, "seed": 7});
    let r = reqwest::Client::new()
        .put(format!("{site}/_sim/faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());

    let mut actions = vec![
        Action::CreateGroup {
            group: "eng".into(),
        },
        Action::CreateGroup {
            group: "sales".into(),
        },
    ];
    for (group, space, op) in [
        ("eng", "DOCS", "read"),
        ("eng", "DOCS", "create:page"),
        ("sales", "HR", "read"),
    ] {
        actions.push(Action::GrantGroupSpacePermission {
            group: group.into(),
            space: space.into(),
            operation: op.into(),
        });
    }
    for n in 0..12 {
        actions.push(Action::CreateAccount {
            account: person(n),
            active: true,
        });
    }
    for n in 0..12 {
        let group = if n % 3 == 0 { "sales" } else { "eng" };
        actions.push(Action::Add {
            account: person(n),
            entitlement: Entitlement::group(group),
        });
        actions.push(Action::Add {
            account: person(n),
            entitlement: Entitlement::licence("confluence"),
        });
    }
    for n in 0..4 {
        actions.push(Action::Add {
            account: person(n),
            entitlement: Entitlement::space("IT", "read"),
        });
    }
    actions.push(Action::Add {
        account: person(0),
        entitlement: Entitlement::space("IT", "export"),
    });
    for n in 0..2 {
        actions.push(Action::UpdateAccount {
            account: AccountRef {
                display_name: format!("Renamed {n}"),
                ..person(n)
            },
        });
        actions.push(Action::DeactivateAccount {
            account: person(10 + n),
        });
        actions.push(Action::Remove {
            account: person(10 + n),
            entitlement: Entitlement::licence("confluence"),
        });
    }
    actions.push(Action::Remove {
        account: person(1),
        entitlement: Entitlement::group("eng"),
    });
    actions.push(Action::RevokeGroupSpacePermission {
        group: "eng".into(),
        space: "DOCS".into(),
        operation: "create:page".into(),
    });
    // Applied twice, as a resumed apply would.
    let all: Vec<&Action> = actions.iter().chain(actions.iter()).collect();
    for action in all {
        let outcome = apply_with_retry(&t, action).await;
        assert!(outcome.is_ok(), "{action:?}: {outcome:?}");
    }

    let state = sim_state(&sim.info).await;
    let users = state["users"].as_array().unwrap();
    let mut by_employee: HashMap<String, Vec<&Value>> = HashMap::new();
    for u in users {
        if let Some(e) = u["externalId"].as_str() {
            by_employee.entry(e.to_string()).or_default().push(u);
        }
    }
    assert_eq!(by_employee.len(), 12);
    let mut account_of = HashMap::new();
    for n in 0..12u32 {
        let p = person(n);
        let us = &by_employee[&p.employee_id];
        assert_eq!(us.len(), 1, "one user for {}", p.employee_id);
        let u = us[0];
        assert_eq!(u["active"], json!(n < 10), "{u}");
        let name = if n < 2 {
            format!("Renamed {n}")
        } else {
            p.display_name.clone()
        };
        assert_eq!(u["displayName"], json!(name));
        account_of.insert(u["accountId"].as_str().unwrap().to_string(), n);
    }
    let groups: HashMap<&str, &Value> = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["name"].as_str().unwrap(), g))
        .collect();
    assert_eq!(
        state["groups"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["name"] == "eng")
            .count(),
        1
    );
    let members = |name: &str| -> Vec<u32> {
        let list: Vec<&str> = groups[name]["members"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_str().unwrap())
            .collect();
        let unique: BTreeSet<&str> = list.iter().copied().collect();
        assert_eq!(unique.len(), list.len(), "no duplicate members in {name}");
        let mut ns: Vec<u32> = list
            .iter()
            .filter_map(|a| account_of.get(*a).copied())
            .collect();
        ns.sort();
        ns
    };
    assert_eq!(members("eng"), vec![2, 4, 5, 7, 8, 10, 11]);
    assert_eq!(members("sales"), vec![0, 3, 6, 9]);
    assert_eq!(members("confluence-users"), (0..10).collect::<Vec<_>>());

    let spaces: HashMap<&str, &Value> = state["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| (s["key"].as_str().unwrap(), s))
        .collect();
    let perms = |key: &str| -> Vec<(String, String, String)> {
        let list: Vec<(String, String, String)> = spaces[key]["permissions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["principalName"].as_str().unwrap_or("").to_string(),
                    p["key"].as_str().unwrap().to_string(),
                    p["target"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let unique: BTreeSet<_> = list.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            list.len(),
            "no duplicate permissions in {key}: {list:?}"
        );
        list
    };
    let docs = perms("DOCS");
    assert!(docs.contains(&("eng".into(), "read".into(), "space".into())));
    assert!(!docs.iter().any(|p| p.0 == "eng" && p.1 == "create"));
    let hr = perms("HR");
    assert!(hr.contains(&("sales".into(), "read".into(), "space".into())));
    let it = perms("IT");
    for n in 0..4 {
        let email = person(n).email;
        assert!(
            it.contains(&(email.clone(), "read".into(), "space".into())),
            "{email}"
        );
    }
    assert!(it.contains(&(person(0).email, "export".into(), "space".into())));
}
