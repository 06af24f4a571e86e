//! The Confluence Data Center target against the DC simulator over real HTTP: reading the
//! seeded site, every action twice, paging, and a faulty run retried to the exact state.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use roster_connectors::confluence_dc::{
    ConfluenceDcConfig, ConfluenceDcTarget, DcSecrets, dc_pair, roster_operation,
};
use roster_connectors::http::HttpPolicy;
use roster_core::plan::{AccountRef, Action};
use roster_core::state::{Entitlement, GroupSpacePermission};
use roster_core::{StepOutcome, Target, TargetError};
use roster_sim::Running;
use roster_sim::dc::{DcOptions, start};
use roster_sim::faults::FaultConfig;
use serde_json::{Value, json};

fn policy() -> HttpPolicy {
    HttpPolicy {
        timeout_secs: 10,
        max_attempts: 6,
        base_delay_ms: 20,
        max_delay_ms: 200,
        max_concurrency: 4,
        requests_per_second: None,
    }
}

async fn sim(options: DcOptions) -> Running {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, options).await.unwrap()
}

fn config(running: &Running) -> ConfluenceDcConfig {
    ConfluenceDcConfig {
        base_url: running.info["base_url"].as_str().unwrap().to_string(),
        username: Some(running.info["username"].as_str().unwrap().to_string()),
        password_env: None,
        pat_env: None,
        licence_groups: BTreeMap::from([("confluence".into(), "confluence-users".into())]),
        http: policy(),
    }
}

/// A target using the PAT (`basic` = false) or Basic credentials.
fn target(running: &Running, basic: bool) -> ConfluenceDcTarget {
    let secret = |k: &str| Some(running.info[k].as_str().unwrap().to_string());
    let secrets = if basic {
        DcSecrets {
            password: secret("password"),
            pat: None,
        }
    } else {
        DcSecrets {
            password: None,
            pat: secret("pat"),
        }
    };
    ConfluenceDcTarget::new("confluence", config(running), secrets).unwrap()
}

async fn sim_state(running: &Running) -> Value {
    reqwest::get(format!("{}/_sim/state", running.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn person(id: &str) -> AccountRef {
    AccountRef {
        employee_id: id.to_string(),
        email: format!("{}@acme.example", id.to_lowercase()),
        display_name: format!("Person {id}"),
        external_id: None,
    }
}

#[test]
fn configuration_keys_and_secrets() {
    let c: ConfluenceDcConfig = toml::from_str(
        r#"
base_url = "https://confluence.example.com/wiki-ctx"
username = "roster"
password_env = "ROSTER_TEST_DC_PASSWORD_UNSET"
[http]
max_attempts = 3
"#,
    )
    .unwrap();
    assert_eq!(c.licence_groups["confluence"], "confluence-users");
    assert_eq!(c.http.max_attempts, 3);
    assert!(toml::from_str::<ConfluenceDcConfig>("base_url = \"x\"\ntoken = \"t\"").is_err());
    let e = DcSecrets::from_env(&c).unwrap_err();
    assert!(e.to_string().contains("ROSTER_TEST_DC_PASSWORD_UNSET"));
    let e = ConfluenceDcTarget::new("c", c, DcSecrets::default())
        .err()
        .unwrap();
    assert!(matches!(e, TargetError::Permanent(_)));
    let s = DcSecrets {
        password: Some("hunter2".into()),
        pat: None,
    };
    assert!(!format!("{s:?}").contains("hunter2"));
}

#[test]
fn operation_mapping() {
    for (roster, target, op) in [
        ("read", "space", "read"),
        ("administer", "space", "administer"),
        ("export", "space", "export"),
        ("restrict_content", "space", "restrict"),
        ("delete_own", "space", "delete_own"),
        ("create:page", "page", "create"),
        ("delete:attachment", "attachment", "delete"),
        ("delete_mail:space", "space", "delete_mail"),
    ] {
        assert_eq!(dc_pair(roster).unwrap(), (target.into(), op.into()));
        assert_eq!(roster_operation(target, op), roster);
    }
    let e = dc_pair("archive").unwrap_err();
    assert!(matches!(&e, TargetError::Permanent(m) if m.contains("archive")));
}

#[tokio::test]
async fn reads_the_seeded_site() {
    let running = sim(DcOptions::default()).await;
    for basic in [false, true] {
        let state = target(&running, basic).read_state().await.unwrap();
        assert_eq!(state.accounts.len(), 3);
        let admin = state
            .accounts
            .iter()
            .find(|a| a.employee_id.as_deref() == Some("ADMIN"))
            .unwrap();
        assert_eq!(admin.external_id.len(), 32);
        assert!(admin.active);
        assert!(
            admin
                .entitlements
                .contains(&Entitlement::group("confluence-administrators"))
        );
        assert!(
            admin
                .entitlements
                .contains(&Entitlement::licence("confluence"))
        );
        let bruce = state
            .accounts
            .iter()
            .find(|a| a.employee_id.as_deref() == Some("BWAYNE"))
            .unwrap();
        assert!(!bruce.active);
        assert_eq!(bruce.email, "bruce.wayne@confluence.example");
        assert_eq!(bruce.display_name, "Bruce Wayne");
        assert_eq!(
            bruce.entitlements,
            BTreeSet::from([
                Entitlement::group("confluence-users"),
                Entitlement::licence("confluence")
            ])
        );
        assert_eq!(
            state.groups,
            BTreeSet::from([
                "confluence-administrators".into(),
                "confluence-users".into()
            ])
        );
        let gsp = |g: &str, s: &str, o: &str| GroupSpacePermission {
            group: g.into(),
            space: s.into(),
            operation: o.into(),
        };
        let mut expected = BTreeSet::new();
        for space in ["DOCS", "HR"] {
            expected.insert(gsp("confluence-administrators", space, "read"));
            expected.insert(gsp("confluence-administrators", space, "administer"));
            expected.insert(gsp("confluence-users", space, "read"));
        }
        assert_eq!(state.group_space_permissions, expected);
    }
    running.stop().await;
}

/// Every action, applied twice: the second time is `AlreadyDone`.
#[tokio::test]
async fn every_action_once_and_again() {
    let running = sim(DcOptions::default()).await;
    let t = target(&running, false);
    let p = person("E00042");
    let moved = AccountRef {
        email: "new.address@acme.example".into(),
        display_name: "Person Renamed".into(),
        ..p.clone()
    };
    let add = |e: Entitlement| Action::Add {
        account: p.clone(),
        entitlement: e,
    };
    let remove = |e: Entitlement| Action::Remove {
        account: p.clone(),
        entitlement: e,
    };
    let group_perm = |grant: bool, op: &str| {
        let (group, space, operation) = ("eng".to_string(), "DOCS".to_string(), op.to_string());
        if grant {
            Action::GrantGroupSpacePermission {
                group,
                space,
                operation,
            }
        } else {
            Action::RevokeGroupSpacePermission {
                group,
                space,
                operation,
            }
        }
    };
    let actions = vec![
        Action::CreateGroup {
            group: "eng".into(),
        },
        group_perm(true, "read"),
        group_perm(true, "create:page"),
        Action::CreateAccount {
            account: p.clone(),
            active: false,
        },
        Action::UpdateAccount {
            account: moved.clone(),
        },
        Action::ActivateAccount { account: p.clone() },
        add(Entitlement::group("eng")),
        add(Entitlement::licence("confluence")),
        add(Entitlement::space("HR", "read")),
        add(Entitlement::space("HR", "export")),
    ];
    for action in &actions {
        assert_eq!(
            t.apply(action).await.unwrap(),
            StepOutcome::Applied,
            "{action:?}"
        );
        assert_eq!(
            t.apply(action).await.unwrap(),
            StepOutcome::AlreadyDone,
            "{action:?}"
        );
    }

    let state = t.read_state().await.unwrap();
    let a = state
        .accounts
        .iter()
        .find(|a| a.employee_id.as_deref() == Some("E00042"))
        .unwrap();
    assert!(a.active);
    assert_eq!(a.email, "new.address@acme.example");
    assert_eq!(a.display_name, "Person Renamed");
    assert_eq!(
        a.entitlements,
        BTreeSet::from([
            Entitlement::group("eng"),
            Entitlement::group("confluence-users"),
            Entitlement::licence("confluence"),
            Entitlement::space("HR", "read"),
            Entitlement::space("HR", "export"),
        ])
    );
    assert!(
        state
            .group_space_permissions
            .contains(&GroupSpacePermission {
                group: "eng".into(),
                space: "DOCS".into(),
                operation: "create:page".into()
            })
    );

    // By the system's id too.
    let by_key = AccountRef {
        external_id: Some(a.external_id.clone()),
        ..moved
    };
    let undo = vec![
        remove(Entitlement::space("HR", "export")),
        remove(Entitlement::space("HR", "read")),
        remove(Entitlement::group("eng")),
        remove(Entitlement::licence("confluence")),
        Action::DeactivateAccount { account: by_key },
        group_perm(false, "create:page"),
        group_perm(false, "read"),
    ];
    for action in &undo {
        assert_eq!(
            t.apply(action).await.unwrap(),
            StepOutcome::Applied,
            "{action:?}"
        );
        assert_eq!(
            t.apply(action).await.unwrap(),
            StepOutcome::AlreadyDone,
            "{action:?}"
        );
    }
    let state = sim_state(&running).await;
    let user = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "e00042")
        .unwrap();
    assert_eq!(user["active"], false);
    let eng = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "eng")
        .unwrap();
    assert_eq!(eng["members"], json!([]));
    assert_eq!(
        state["spaces"][0]["permissions"].as_array().unwrap().len(),
        3
    );
    assert_eq!(
        state["spaces"][1]["permissions"].as_array().unwrap().len(),
        3
    );

    // Errors that will not go away.
    let e = t.apply(&group_perm(true, "archive")).await.unwrap_err();
    assert!(matches!(e, TargetError::Permanent(_)));
    let e = t
        .apply(&Action::ActivateAccount {
            account: person("E99999"),
        })
        .await
        .unwrap_err();
    assert!(matches!(e, TargetError::Permanent(_)));
    let e = t
        .apply(&Action::Add {
            account: person("E00042"),
            entitlement: Entitlement::group("no-such-group"),
        })
        .await
        .unwrap_err();
    assert!(matches!(e, TargetError::Permanent(m) if m.contains("no-such-group")));
    running.stop().await;
}

/// More than 250 users (seeded through the admin REST) are read over 3+ pages.
#[tokio::test]
async fn reads_every_page() {
    let running = sim(DcOptions::default()).await;
    let t = target(&running, true);
    t.apply(&Action::CreateGroup {
        group: "big".into(),
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let base = running.info["base_url"].as_str().unwrap();
    let pat = running.info["pat"].as_str().unwrap();
    for i in 0..260 {
        let name = format!("p{i:04}");
        let r = http
            .post(format!("{base}/rest/api/admin/user"))
            .bearer_auth(pat)
            .header("X-Atlassian-Token", "no-check")
            .json(&json!({"userName": name, "fullName": format!("P {i}"),
                          "email": format!("{name}@acme.example"), "password": "pw"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = http
            .put(format!("{base}/rest/api/user/{name}/group/big"))
            .bearer_auth(pat)
            .header("X-Atlassian-Token", "no-check")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let state = t.read_state().await.unwrap();
    assert_eq!(state.accounts.len(), 263);
    let ids: BTreeSet<&str> = state
        .accounts
        .iter()
        .map(|a| a.external_id.as_str())
        .collect();
    assert_eq!(ids.len(), 263);
    let in_big = state
        .accounts
        .iter()
        .filter(|a| a.entitlements.contains(&Entitlement::group("big")))
        .count();
    assert_eq!(in_big, 260);
    running.stop().await;
}

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

/// `connect test`: every check passes with good credentials, with the PAT and with Basic.
#[tokio::test]
async fn connection_checks_pass_with_good_credentials() {
    let running = sim(DcOptions::default()).await;
    for basic in [false, true] {
        let checks = target(&running, basic).check_connection().await;
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Confluence DC credentials",
                "Administrator rights",
                "Confluence groups",
                "Confluence spaces",
                "Space permissions"
            ]
        );
        assert!(checks.iter().all(|c| c.ok), "basic {basic}: {checks:#?}");
        assert!(checks[0].detail.contains("(admin)"), "{}", checks[0].detail);
        assert!(
            checks[2].detail.contains("confluence-users"),
            "{}",
            checks[2].detail
        );
    }
}

/// A wrong PAT or password fails with a detail that names the credential (and the variable
/// it came from) without ever showing the secret.
#[tokio::test]
async fn connection_checks_name_a_rejected_credential() {
    let running = sim(DcOptions::default()).await;
    let wrong = "wrong-token-5f0c1d";
    let mut c = config(&running);
    c.pat_env = Some("CONFLUENCE_PAT".into());
    let t = ConfluenceDcTarget::new(
        "confluence",
        c,
        DcSecrets {
            password: None,
            pat: Some(wrong.into()),
        },
    )
    .unwrap();
    let checks = t.check_connection().await;
    assert!(!checks[0].ok, "{checks:#?}");
    assert!(
        checks[0]
            .detail
            .contains("personal access token rejected: check CONFLUENCE_PAT"),
        "{}",
        checks[0].detail
    );
    assert!(checks.iter().all(|c| !c.ok), "{checks:#?}");
    for c in &checks {
        assert!(!c.detail.contains(wrong), "{c:?}");
    }

    let mut c = config(&running);
    c.password_env = Some("CONFLUENCE_PASSWORD".into());
    let t = ConfluenceDcTarget::new(
        "confluence",
        c,
        DcSecrets {
            password: Some(wrong.into()),
            pat: None,
        },
    )
    .unwrap();
    let checks = t.check_connection().await;
    assert!(
        !checks[0].ok
            && checks[0]
                .detail
                .contains("password rejected for admin: check CONFLUENCE_PASSWORD"),
        "{checks:#?}"
    );
    for c in &checks {
        assert!(!c.detail.contains(wrong), "{c:?}");
    }
}

/// A site that authenticates the account but refuses it administration and one space's
/// permissions, and a configured licence group that does not exist: each check says which.
#[tokio::test]
async fn connection_checks_say_which_right_is_missing() {
    use axum::http::StatusCode;
    use axum::routing::get;
    let envelope = |status: u16, message: &str| {
        json!({"statusCode": status, "data": {"authorized": false, "valid": true, "errors": [], "successful": false},
               "message": message, "reason": "Forbidden"})
    };
    let forbidden = envelope(403, "User is not permitted to perform this operation");
    let f2 = forbidden.clone();
    let app = axum::Router::new()
        .route(
            "/rest/api/user/current",
            get(|| async {
                axum::Json(json!({"type": "known", "username": "bot", "userKey": "k1", "displayName": "Roster Bot"}))
            }),
        )
        .route(
            "/rest/api/admin/users/list/active",
            get(move || async move { (StatusCode::FORBIDDEN, axum::Json(forbidden)) }),
        )
        .route(
            "/rest/api/group",
            get(|| async { axum::Json(json!({"results": [], "start": 0, "limit": 1, "size": 0, "_links": {}})) }),
        )
        .route(
            "/rest/api/group/{name}",
            get(move || async move {
                (
                    StatusCode::NOT_FOUND,
                    axum::Json(envelope(404, "Group not found")),
                )
            }),
        )
        .route(
            "/rest/api/space",
            get(|| async {
                axum::Json(json!({"results": [{"id": 1, "key": "ENG", "name": "Engineering"}],
                                  "start": 0, "limit": 1, "size": 1, "_links": {}}))
            }),
        )
        .route(
            "/rest/api/space/{key}/permissions",
            get(move || async move { (StatusCode::FORBIDDEN, axum::Json(f2)) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = ConfluenceDcConfig {
        base_url: format!("http://{addr}"),
        username: None,
        password_env: None,
        pat_env: Some("CONFLUENCE_PAT".into()),
        licence_groups: BTreeMap::from([("confluence".into(), "confluence-users".into())]),
        http: policy(),
    };
    let t = ConfluenceDcTarget::new(
        "confluence",
        config,
        DcSecrets {
            password: None,
            pat: Some("pat".into()),
        },
    )
    .unwrap();
    let checks = t.check_connection().await;
    let ok: Vec<bool> = checks.iter().map(|c| c.ok).collect();
    assert_eq!(ok, [true, false, false, true, false], "{checks:#?}");
    assert!(
        checks[1].detail.contains("bot is not an administrator: the account must be a Confluence administrator (member of confluence-administrators) to manage users and groups"),
        "{}",
        checks[1].detail
    );
    assert!(
        checks[2]
            .detail
            .contains("licence group confluence-users (licence_groups.confluence) does not exist"),
        "{}",
        checks[2].detail
    );
    assert!(
        checks[4]
            .detail
            .contains("bot may not read the permissions of space ENG"),
        "{}",
        checks[4].detail
    );
}
