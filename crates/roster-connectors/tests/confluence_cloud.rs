//! The Confluence Cloud target against the Cloud simulator over real HTTP: reading the
//! seeded site, every action applied twice, paging past several pages, a faulty run, and
//! `connect test`.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use roster_connectors::confluence_cloud::{
    CloudSecrets, ConfluenceCloudConfig, ConfluenceCloudTarget,
};
use roster_connectors::http::{HttpClient, HttpPolicy};
use roster_connectors::scim_client::{ScimClient, ScimUser};
use roster_core::plan::{AccountRef, Action};
use roster_core::state::{Entitlement, GroupSpacePermission};
use roster_core::{StepOutcome, Target, TargetError};
use roster_sim::cloud::{CloudOptions, start};
use serde_json::{Value, json};
use tokio::net::TcpListener;

fn policy() -> HttpPolicy {
    HttpPolicy {
        timeout_secs: 10,
        max_attempts: 8,
        base_delay_ms: 10,
        max_delay_ms: 1_000,
        max_concurrency: 8,
        requests_per_second: None,
    }
}

async fn sim() -> roster_sim::Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, CloudOptions::default()).await.unwrap()
}

fn s(info: &Value, key: &str) -> String {
    info[key].as_str().unwrap_or_default().to_string()
}

fn config(info: &Value) -> ConfluenceCloudConfig {
    ConfluenceCloudConfig {
        site_url: s(info, "site_url"),
        scim_base_url: s(info, "scim_base_url"),
        admin_api_url: Some(s(info, "admin_api_url")),
        org_id: Some(s(info, "org_id")),
        email: s(info, "email"),
        api_token_env: "TEST_API_TOKEN".into(),
        scim_key_env: "TEST_SCIM_KEY".into(),
        org_key_env: Some("TEST_ORG_KEY".into()),
        licence_groups: BTreeMap::from([("confluence".into(), "confluence-users".into())]),
        http: policy(),
    }
}

fn secrets(info: &Value) -> CloudSecrets {
    CloudSecrets {
        api_token: s(info, "api_token"),
        scim_key: s(info, "scim_key"),
        org_key: Some(s(info, "org_key")),
    }
}

fn target(info: &Value) -> ConfluenceCloudTarget {
    ConfluenceCloudTarget::new("confluence", config(info), secrets(info)).unwrap()
}

fn scim(info: &Value) -> ScimClient {
    let http = HttpClient::new("scim", policy()).unwrap();
    ScimClient::new(
        Arc::new(http),
        s(info, "scim_base_url"),
        s(info, "scim_key"),
    )
}

async fn sim_state(info: &Value) -> Value {
    reqwest::get(format!("{}/_sim/state", s(info, "site_url")))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn person(n: u32) -> AccountRef {
    AccountRef {
        employee_id: format!("E{n:05}"),
        email: format!("person{n}@example.com"),
        display_name: format!("Person {n}"),
        external_id: None,
    }
}

/// Applies an action as the engine does: again while the failure is temporary.
async fn apply_with_retry(t: &dyn Target, action: &Action) -> Result<StepOutcome, TargetError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        match t.apply(action).await {
            Err(TargetError::Transient(m)) if attempt < 40 => {
                eprintln!("retrying {}: {m}", action.kind());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            other => return other,
        }
    }
}

async fn twice(t: &dyn Target, action: Action) {
    let first = t.apply(&action).await;
    assert_eq!(first, Ok(StepOutcome::Applied), "first {action:?}");
    let second = t.apply(&action).await;
    assert_eq!(second, Ok(StepOutcome::AlreadyDone), "second {action:?}");
}

#[tokio::test]
async fn reads_the_seeded_site() {
    let sim = sim().await;
    let t = target(&sim.info);
    let state = t.read_state().await.unwrap();
    for g in ["confluence-users", "confluence-admins", "site-admins"] {
        assert!(state.groups.contains(g), "{g} in {:?}", state.groups);
    }
    // The seeded people have no SCIM record: accounts without an employee id.
    let by_email: HashMap<&str, _> = state
        .accounts
        .iter()
        .map(|a| (a.email.as_str(), a))
        .collect();
    let grace = by_email["grace.hopper@example.com"];
    assert_eq!(grace.employee_id, None);
    assert!(grace.active);
    assert!(
        grace
            .entitlements
            .contains(&Entitlement::group("confluence-users"))
    );
    assert!(
        grace
            .entitlements
            .contains(&Entitlement::licence("confluence"))
    );
    let admin = by_email["admin@example.com"];
    assert!(
        admin
            .entitlements
            .contains(&Entitlement::group("site-admins"))
    );
    for space in ["DOCS", "HR", "IT"] {
        for (group, op) in [
            ("confluence-admins", "read"),
            ("confluence-admins", "administer"),
            ("confluence-users", "read"),
        ] {
            let p = GroupSpacePermission {
                group: group.into(),
                space: space.into(),
                operation: op.into(),
            };
            assert!(state.group_space_permissions.contains(&p), "{p:?}");
        }
    }
}

#[tokio::test]
async fn every_action_twice() {
    let sim = sim().await;
    let t = target(&sim.info);
    let ada = AccountRef {
        employee_id: "E10442".into(),
        email: "ada.lovelace@example.com".into(),
        display_name: "Ada Lovelace".into(),
        external_id: None,
    };
    let gsp = |op: &str| Action::GrantGroupSpacePermission {
        group: "eng".into(),
        space: "DOCS".into(),
        operation: op.into(),
    };
    let rgsp = |op: &str| Action::RevokeGroupSpacePermission {
        group: "eng".into(),
        space: "DOCS".into(),
        operation: op.into(),
    };
    let add = |e: Entitlement| Action::Add {
        account: ada.clone(),
        entitlement: e,
    };
    let remove = |e: Entitlement| Action::Remove {
        account: ada.clone(),
        entitlement: e,
    };

    twice(
        &t,
        Action::CreateGroup {
            group: "eng".into(),
        },
    )
    .await;
    twice(&t, gsp("read")).await;
    twice(&t, gsp("create:page")).await;
    twice(&t, gsp("delete_own")).await;
    twice(
        &t,
        Action::CreateAccount {
            account: ada.clone(),
            active: false,
        },
    )
    .await;
    let renamed = AccountRef {
        display_name: "Ada King".into(),
        ..ada.clone()
    };
    twice(&t, Action::UpdateAccount { account: renamed }).await;
    twice(
        &t,
        Action::ActivateAccount {
            account: ada.clone(),
        },
    )
    .await;
    twice(
        &t,
        Action::DeactivateAccount {
            account: ada.clone(),
        },
    )
    .await;
    twice(
        &t,
        Action::ActivateAccount {
            account: ada.clone(),
        },
    )
    .await;
    twice(&t, add(Entitlement::group("eng"))).await;
    twice(&t, add(Entitlement::licence("confluence"))).await;
    twice(&t, add(Entitlement::space("DOCS", "read"))).await;
    twice(&t, add(Entitlement::space("DOCS", "create:comment"))).await;
    twice(&t, add(Entitlement::space("DOCS", "archive"))).await;

    let state = t.read_state().await.unwrap();
    let a = state
        .accounts
        .iter()
        .find(|a| a.employee_id.as_deref() == Some("E10442"))
        .unwrap();
    assert_eq!(a.email, "ada.lovelace@example.com");
    assert_eq!(a.display_name, "Ada King");
    assert!(a.active);
    assert!(!a.external_id.is_empty());
    let want: BTreeSet<Entitlement> = [
        Entitlement::group("eng"),
        Entitlement::group("confluence-users"),
        Entitlement::licence("confluence"),
        Entitlement::space("DOCS", "read"),
        Entitlement::space("DOCS", "create:comment"),
        Entitlement::space("DOCS", "archive"),
    ]
    .into();
    assert_eq!(a.entitlements, want);
    for op in ["read", "create:page", "delete_own"] {
        let p = GroupSpacePermission {
            group: "eng".into(),
            space: "DOCS".into(),
            operation: op.into(),
        };
        assert!(state.group_space_permissions.contains(&p), "{p:?}");
    }

    // With the account id the plan would carry.
    let known = AccountRef {
        external_id: Some(a.external_id.clone()),
        ..ada.clone()
    };
    twice(
        &t,
        Action::Remove {
            account: known.clone(),
            entitlement: Entitlement::space("DOCS", "create:comment"),
        },
    )
    .await;
    twice(&t, remove(Entitlement::space("DOCS", "archive"))).await;
    twice(&t, remove(Entitlement::space("DOCS", "read"))).await;
    twice(&t, remove(Entitlement::licence("confluence"))).await;
    twice(
        &t,
        Action::Remove {
            account: known,
            entitlement: Entitlement::group("eng"),
        },
    )
    .await;
    twice(&t, rgsp("create:page")).await;
    twice(&t, rgsp("delete_own")).await;
    twice(&t, rgsp("read")).await;
    twice(
        &t,
        Action::DeactivateAccount {
            account: ada.clone(),
        },
    )
    .await;

    let state = t.read_state().await.unwrap();
    let a = state
        .accounts
        .iter()
        .find(|a| a.employee_id.as_deref() == Some("E10442"))
        .unwrap();
    assert!(!a.active);
    assert!(a.entitlements.is_empty(), "{:?}", a.entitlements);
    assert!(
        !state
            .group_space_permissions
            .iter()
            .any(|p| p.group == "eng")
    );

    // Things that do not exist are permanent errors, not retries.
    let missing = Action::Add {
        account: person(99),
        entitlement: Entitlement::group("eng"),
    };
    assert!(matches!(
        t.apply(&missing).await,
        Err(TargetError::Permanent(_))
    ));
    let no_group = add(Entitlement::group("no-such-group"));
    assert!(
        matches!(t.apply(&no_group).await, Err(TargetError::Permanent(m)) if m.contains("no-such-group"))
    );
    let no_space = Action::GrantGroupSpacePermission {
        group: "eng".into(),
        space: "NOPE".into(),
        operation: "read".into(),
    };
    assert!(
        matches!(t.apply(&no_space).await, Err(TargetError::Permanent(m)) if m.contains("NOPE"))
    );
}

#[tokio::test]
async fn reads_past_many_pages() {
    let sim = sim().await;
    let t = target(&sim.info);
    let client = scim(&sim.info);
    for n in 0..260 {
        let p = person(n);
        let user = ScimUser {
            external_id: Some(p.employee_id.clone()),
            user_name: p.email.clone(),
            display_name: Some(p.display_name.clone()),
            emails: vec![roster_connectors::scim_client::ScimEmail::work(&p.email)],
            active: Some(true),
            ..Default::default()
        };
        client.create_user(&user).await.unwrap();
    }
    let users = client.list_users().await.unwrap();
    assert_eq!(users.len(), 260, "three pages of at most 100");
    let ids: BTreeSet<_> = users.iter().map(|u| u.id.clone().unwrap()).collect();
    assert_eq!(ids.len(), 260);

    twice(
        &t,
        Action::CreateGroup {
            group: "big".into(),
        },
    )
    .await;
    for n in 0..205 {
        let action = Action::Add {
            account: person(n),
            entitlement: Entitlement::group("big"),
        };
        assert_eq!(t.apply(&action).await, Ok(StepOutcome::Applied));
    }
    let state = t.read_state().await.unwrap();
    let members = state
        .accounts
        .iter()
        .filter(|a| a.entitlements.contains(&Entitlement::group("big")))
        .count();
    assert_eq!(
        members, 205,
        "membersByGroupId read past its 200-member page"
    );
    assert_eq!(
        state
            .accounts
            .iter()
            .filter(|a| a.employee_id.is_some())
            .count(),
        260
    );
    // Already a member: found on the member list's second page.
    let again = Action::Add {
        account: person(204),
        entitlement: Entitlement::group("big"),
    };
    assert_eq!(t.apply(&again).await, Ok(StepOutcome::AlreadyDone));
}

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

#[tokio::test]
async fn connection_checks_say_what_is_wrong() {
    let sim = sim().await;
    let checks = target(&sim.info).check_connection().await;
    assert_eq!(checks.len(), 5, "{checks:?}");
    assert!(checks.iter().all(|c| c.ok), "{checks:#?}");

    let bad = CloudSecrets {
        api_token: "wrong".into(),
        scim_key: "wrong".into(),
        org_key: Some("wrong".into()),
    };
    let t = ConfluenceCloudTarget::new("confluence", config(&sim.info), bad).unwrap();
    let checks = t.check_connection().await;
    assert!(checks.iter().all(|c| !c.ok), "{checks:#?}");
    assert!(
        checks[0]
            .detail
            .contains("API token rejected for admin@example.com"),
        "{}",
        checks[0].detail
    );
    assert!(
        checks[1].detail.contains("directory API key rejected"),
        "{}",
        checks[1].detail
    );
    assert!(
        checks[4].detail.contains("organization API key rejected"),
        "{}",
        checks[4].detail
    );
}

#[test]
fn config_is_strict_and_has_defaults() {
    let c: ConfluenceCloudConfig = toml::from_str(
        r#"
        site_url = "https://acme.atlassian.net"
        scim_base_url = "https://api.atlassian.com/scim/directory/d"
        email = "bot@acme.example"
        api_token_env = "T"
        scim_key_env = "K"
        "#,
    )
    .unwrap();
    assert_eq!(c.licence_groups["confluence"], "confluence-users");
    assert_eq!(c.http, HttpPolicy::default());
    let e = toml::from_str::<ConfluenceCloudConfig>(
        r#"
        site_url = "x"
        scim_base_url = "y"
        email = "e"
        api_token_env = "T"
        scim_key_env = "K"
        api_token = "secret"
        "#,
    );
    assert!(e.is_err());
}

/// Group pages that repeat whatever `start` says (CONFCLOUD-56322) stop the read.
#[tokio::test]
async fn a_repeated_group_page_is_an_error_not_a_short_list() {
    use axum::extract::Query;
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/scim/Users",
            get(|| async { axum::Json(json!({"totalResults": 0, "Resources": []})) }),
        )
        .route(
            "/wiki/rest/api/group",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                let start: u64 = q.get("start").and_then(|s| s.parse().ok()).unwrap_or(0);
                axum::Json(json!({
                    "results": [{"type": "group", "name": "g", "id": "1"}],
                    "start": 0, "limit": 1, "size": 1,
                    "_links": {"base": "http://x/wiki", "next": format!("/rest/api/group?start={}", start + 1)}
                }))
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let info = json!({"site_url": format!("http://{addr}"), "scim_base_url": format!("http://{addr}/scim"),
                      "email": "a@example.com", "api_token": "t", "scim_key": "k"});
    let e = target(&info).read_state().await.unwrap_err();
    assert!(
        matches!(&e, TargetError::Permanent(m) if m.contains("paging went in a circle")),
        "{e:?}"
    );
}

/// With the organization admin API configured, a read carries when each account was last
/// active in Confluence (`productAccess[].lastActiveTimestamp`, ref §3.4), past the first page
/// of org users, and the org's account status for accounts SCIM has no record of. Without the
/// org key nothing changes; a wrong org key fails the read instead of leaving dates out.
#[tokio::test]
async fn reads_last_active_dates_from_the_org_admin_api() {
    let sim = sim().await;
    let t = target(&sim.info);
    let client = scim(&sim.info);
    // Two pages of org users (100 a page); the last person is licensed, so it has
    // Confluence product access.
    for n in 0..110 {
        let p = person(n);
        let user = ScimUser {
            external_id: Some(p.employee_id.clone()),
            user_name: p.email.clone(),
            display_name: Some(p.display_name.clone()),
            emails: vec![roster_connectors::scim_client::ScimEmail::work(&p.email)],
            active: Some(true),
            ..Default::default()
        };
        client.create_user(&user).await.unwrap();
    }
    let licensed = Action::Add {
        account: person(109),
        entitlement: Entitlement::licence("confluence"),
    };
    assert_eq!(t.apply(&licensed).await, Ok(StepOutcome::Applied));
    // Alan keeps an active account but loses his licence: Confluence shows him without
    // `use application` in `eng`; only the org says his account is active.
    twice(
        &t,
        Action::CreateGroup {
            group: "eng".into(),
        },
    )
    .await;
    let before = t.read_state().await.unwrap();
    let find = |state: &roster_core::state::ActualState, email: &str| {
        state
            .accounts
            .iter()
            .find(|a| a.email == email)
            .unwrap_or_else(|| panic!("{email} in {:?}", state.accounts))
            .clone()
    };
    let alan = find(&before, "alan.turing@example.com");
    let alan_ref = AccountRef {
        employee_id: "ALAN".into(),
        email: alan.email.clone(),
        display_name: alan.display_name.clone(),
        external_id: Some(alan.external_id.clone()),
    };
    for action in [
        Action::Add {
            account: alan_ref.clone(),
            entitlement: Entitlement::group("eng"),
        },
        Action::Remove {
            account: alan_ref,
            entitlement: Entitlement::licence("confluence"),
        },
    ] {
        assert_eq!(
            t.apply(&action).await,
            Ok(StepOutcome::Applied),
            "{action:?}"
        );
    }

    let grace = find(&before, "grace.hopper@example.com");
    let last = find(&before, &person(109).email);
    assert!(last.employee_id.is_some(), "a SCIM account: {last:?}");
    let set = |account: String, at: &'static str| {
        let url = format!(
            "{}/_sim/users/{account}/last-active",
            s(&sim.info, "site_url")
        );
        async move {
            let r = reqwest::Client::new()
                .put(url)
                .json(&json!({ "lastActiveTimestamp": at }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
        }
    };
    set(grace.external_id.clone(), "2026-08-30T09:15:00Z").await;
    set(last.external_id.clone(), "2026-09-01T07:30:00Z").await;

    let state = t.read_state().await.unwrap();
    let at = |s: &str| Some(s.parse::<jiff::Timestamp>().unwrap());
    assert_eq!(
        find(&state, &grace.email).last_active,
        at("2026-08-30T09:15:00Z")
    );
    assert_eq!(
        find(&state, &last.email).last_active,
        at("2026-09-01T07:30:00Z"),
        "read past the first page of org users"
    );
    // Never active in Confluence (and no product access left).
    assert_eq!(find(&state, &alan.email).last_active, None);
    assert!(
        find(&state, &alan.email).active,
        "no SCIM record: the org's accountStatus says active"
    );

    // Without the org key: no org admin API, no dates, Confluence's view of Alan.
    let plain = ConfluenceCloudTarget::new(
        "confluence",
        config(&sim.info),
        CloudSecrets {
            org_key: None,
            ..secrets(&sim.info)
        },
    )
    .unwrap();
    let state = plain.read_state().await.unwrap();
    assert!(
        state.accounts.iter().all(|a| a.last_active.is_none()),
        "{:?}",
        state.accounts
    );
    assert!(!find(&state, &alan.email).active);

    // A wrong org key is an error, not a read without dates.
    let wrong = ConfluenceCloudTarget::new(
        "confluence",
        config(&sim.info),
        CloudSecrets {
            org_key: Some("wrong".into()),
            ..secrets(&sim.info)
        },
    )
    .unwrap();
    let e = wrong.read_state().await.unwrap_err();
    assert!(
        matches!(&e, TargetError::Permanent(m) if m.contains("organization API key rejected")),
        "{e:?}"
    );
}
