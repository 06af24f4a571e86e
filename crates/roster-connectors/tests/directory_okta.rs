//! The Okta reader against the Okta simulator over real HTTP: every account across many
//! pages (DEPROVISIONED ones included), each status mapped, groups and last logins, the
//! planted disagreements, the rate-limit reset honoured, and clear errors for a bad token and
//! a token without group rights.

mod directory_common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use directory_common::*;
use roster_connectors::directory::{
    DirectoryConfig, OktaConfig, OktaReader, ReaderError, StatusReader, build_reader,
};
use roster_core::directory::DirectoryStatus;
use roster_sim::FaultConfig;
use roster_sim::okta::{OktaOptions, start};
use serde_json::json;
use tokio::net::TcpListener;

async fn sim(options: OktaOptions) -> roster_sim::Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, options).await.unwrap()
}

fn config(sim: &roster_sim::Running) -> OktaConfig {
    OktaConfig {
        base_url: s(&sim.info, "base_url"),
        token_env: "ROSTER_OKTA_TOKEN".into(),
        groups: true,
        page_size: None,
        http: policy(),
    }
}

fn reader(sim: &roster_sim::Running, config: OktaConfig) -> OktaReader {
    let token = s(&sim.info, "token");
    OktaReader::new("okta", config, &env(&[("ROSTER_OKTA_TOKEN", &token)])).unwrap()
}

#[tokio::test]
async fn reads_every_account_across_pages_with_each_status() {
    let sim = sim(OktaOptions {
        page_size: Some(25),
        ..OktaOptions::default()
    })
    .await;
    let listing = reader(&sim, config(&sim)).read_accounts().await.unwrap();
    let state = state(&sim).await;
    // Every user, DEPROVISIONED ones included (the plain list leaves them out).
    assert_eq!(listed_ids(&listing), ids(&state));
    let users = state["users"].as_array().unwrap();
    assert!(users.len() > 3 * 25, "{} users", users.len());
    let requests = faults(&sim).await["requests"].as_u64().unwrap();
    assert!(requests as usize >= users.len() / 25, "{requests} requests");

    for u in users {
        let a = listing
            .accounts
            .iter()
            .find(|a| a.id == u["id"].as_str().unwrap())
            .unwrap();
        let okta = u["status"].as_str().unwrap();
        assert_eq!(a.vendor_status, okta);
        let want = match okta {
            "ACTIVE" | "LOCKED_OUT" | "PASSWORD_EXPIRED" | "RECOVERY" => DirectoryStatus::Active,
            "STAGED" | "PROVISIONED" => DirectoryStatus::Pending,
            "SUSPENDED" => DirectoryStatus::Suspended,
            "DEPROVISIONED" => DirectoryStatus::Deprovisioned,
            other => panic!("unexpected status {other}"),
        };
        assert_eq!(a.status, want, "{a:?}");
        assert_eq!(a.login, u["login"].as_str().unwrap());
        assert_eq!(a.employee_id.as_deref(), u["employeeNumber"].as_str());
        assert_eq!(
            a.last_sign_in.map(|t| t.as_millisecond()),
            u["lastLogin"]
                .as_str()
                .map(|t| t.parse::<jiff::Timestamp>().unwrap().as_millisecond())
        );
    }
    let seen: BTreeSet<&str> = listing
        .accounts
        .iter()
        .map(|a| a.vendor_status.as_str())
        .collect();
    for status in [
        "ACTIVE",
        "STAGED",
        "PROVISIONED",
        "SUSPENDED",
        "DEPROVISIONED",
        "LOCKED_OUT",
        "PASSWORD_EXPIRED",
        "RECOVERY",
    ] {
        assert!(seen.contains(status), "no {status} in {seen:?}");
    }
    // Groups from each group's members (the built-in Everyone left out).
    let groups = sim_groups(&state, &["Everyone"]);
    for a in &listing.accounts {
        assert_eq!(&a.groups, &groups[&a.id], "{}", a.login);
    }
    assert!(listing.warnings.is_empty(), "{:?}", listing.warnings);
}

#[tokio::test]
async fn the_planted_disagreements_are_read() {
    let sim = sim(OktaOptions::default()).await;
    let listing = reader(&sim, config(&sim)).read_accounts().await.unwrap();
    assert_seeded_disagreements(&listing, &acme());
    // Okta also knows who has not started yet.
    let company = acme();
    let future = company
        .expected
        .future_joiners
        .iter()
        .find_map(|id| company.previous_person(id))
        .unwrap();
    let (a, _) = account_of(&listing.accounts, future).unwrap();
    assert_eq!(
        (a.status, a.vendor_status.as_str()),
        (DirectoryStatus::Pending, "STAGED")
    );
}

#[tokio::test]
async fn a_status_changed_in_okta_shows_on_the_next_read() {
    let sim = sim(OktaOptions::default()).await;
    let r = reader(&sim, config(&sim));
    let before = r.read_accounts().await.unwrap();
    let company = acme();
    let leaver = company
        .previous_person(&company.expected.leavers[0])
        .unwrap();
    let (a, _) = account_of(&before.accounts, leaver).unwrap();
    assert_eq!(a.status, DirectoryStatus::Active);
    patch_user(&sim, &a.id, json!({"status": "DEPROVISIONED"})).await;
    let after = r.read_accounts().await.unwrap();
    assert_eq!(after.accounts.len(), before.accounts.len());
    let now = after.accounts.iter().find(|x| x.id == a.id).unwrap();
    assert_eq!(now.status, DirectoryStatus::Deprovisioned);
    patch_user(
        &sim,
        &a.id,
        json!({"status": "ACTIVE", "transitioningToStatus": "DEPROVISIONED"}),
    )
    .await;
    let moving = r.read_accounts().await.unwrap();
    let now = moving.accounts.iter().find(|x| x.id == a.id).unwrap();
    assert_eq!(
        (now.status, now.vendor_status.as_str()),
        (DirectoryStatus::Active, "ACTIVE → DEPROVISIONED")
    );
}

#[tokio::test]
async fn a_429_waits_for_the_rate_limit_reset() {
    // Okta's 429 has no Retry-After, only X-Rate-Limit-Reset (whole seconds ahead). With three
    // attempts a few milliseconds apart, a reader that ignored the reset would give up.
    let sim = sim(OktaOptions {
        page_size: Some(50),
        faults: FaultConfig {
            burst_every: 6,
            burst_length: 2,
            retry_after_secs: 1,
            ..FaultConfig::default()
        },
        ..OktaOptions::default()
    })
    .await;
    let started = Instant::now();
    let listing = reader(
        &sim,
        OktaConfig {
            http: impatient(),
            groups: false,
            ..config(&sim)
        },
    )
    .read_accounts()
    .await
    .unwrap();
    assert_eq!(listed_ids(&listing), ids(&state(&sim).await));
    assert!(faults(&sim).await["injected"].as_u64().unwrap() >= 2);
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn the_budget_announced_in_the_headers_is_not_overspent() {
    // A bucket of four requests a second: after each fourth the reader sees
    // X-Rate-Limit-Remaining: 0 and waits for the reset rather than earn a 429.
    let sim = sim(OktaOptions {
        page_size: Some(40),
        faults: FaultConfig {
            rate_limit_per_sec: 4,
            ..FaultConfig::default()
        },
        ..OktaOptions::default()
    })
    .await;
    let listing = reader(
        &sim,
        OktaConfig {
            http: impatient(),
            groups: false,
            ..config(&sim)
        },
    )
    .read_accounts()
    .await
    .unwrap();
    assert_eq!(listed_ids(&listing), ids(&state(&sim).await));
    let report = faults(&sim).await;
    assert!(report["requests"].as_u64().unwrap() > 8);
    assert!(report["throttled"].as_u64().unwrap() <= 1, "{report}");
}

#[tokio::test]
async fn a_wrong_token_names_the_variable_to_check() {
    let sim = sim(OktaOptions::default()).await;
    let r = OktaReader::new(
        "okta",
        config(&sim),
        &env(&[("ROSTER_OKTA_TOKEN", "wrong")]),
    )
    .unwrap();
    let e = r.read_accounts().await.unwrap_err();
    assert!(matches!(e, ReaderError::Credentials { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("Okta token rejected (401): check ROSTER_OKTA_TOKEN")
            && text.contains("E0000011"),
        "{text}"
    );
    let checks = r.check().await;
    assert!(
        !checks[0].ok && checks[0].detail.contains("ROSTER_OKTA_TOKEN"),
        "{checks:?}"
    );
    // The token never appears in what the user sees.
    assert!(!format!("{r:?}{text}").contains(&s(&sim.info, "token")));
}

#[tokio::test]
async fn an_admin_without_group_rights_is_told_what_to_grant() {
    let sim = sim(OktaOptions {
        can_read_groups: false,
        ..OktaOptions::default()
    })
    .await;
    let e = reader(&sim, config(&sim))
        .read_accounts()
        .await
        .unwrap_err();
    assert!(matches!(e, ReaderError::Permission { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("may not read groups")
            && text.contains("groups = false")
            && text.contains("E0000006"),
        "{text}"
    );
    let checks = reader(&sim, config(&sim)).check().await;
    let by_name = |n: &str| checks.iter().find(|c| c.name == n).unwrap();
    assert!(
        by_name("Okta API token").ok && by_name("Okta users").ok,
        "{checks:?}"
    );
    assert!(!by_name("Okta groups").ok, "{checks:?}");
    // Without groups the same token reads every status.
    let listing = reader(
        &sim,
        OktaConfig {
            groups: false,
            ..config(&sim)
        },
    )
    .read_accounts()
    .await
    .unwrap();
    assert!(listing.accounts.iter().all(|a| a.groups.is_empty()));
    assert_eq!(listed_ids(&listing), ids(&state(&sim).await));
}

#[tokio::test]
async fn the_connection_check_passes_and_names_the_tokens_admin() {
    let sim = sim(OktaOptions::default()).await;
    let checks = reader(&sim, config(&sim)).check().await;
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    let state = state(&sim).await;
    let admin = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| {
            u["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == "it-admins")
                && u["employeeNumber"].is_string()
        })
        .unwrap();
    assert!(
        checks[0].detail.contains(admin["login"].as_str().unwrap()),
        "{checks:?}"
    );
}

#[tokio::test]
async fn built_from_the_configuration_file() {
    let sim = sim(OktaOptions::default()).await;
    let text = format!(
        "kind = \"okta\"\nbase_url = \"{}\"\ntoken_env = \"MY_OKTA\"\nhttp = {{ max_attempts = 2 }}\n",
        s(&sim.info, "base_url")
    );
    let config: DirectoryConfig = toml::from_str(&text).unwrap();
    let missing = build_reader("okta", &config, &env(&[])).err().unwrap();
    assert!(matches!(missing, ReaderError::Config { .. }));
    assert!(missing.to_string().contains("MY_OKTA"), "{missing}");
    let token = s(&sim.info, "token");
    let r = build_reader("okta", &config, &env(&[("MY_OKTA", &token)])).unwrap();
    assert_eq!(r.system(), "okta");
    assert!(!r.read_accounts().await.unwrap().accounts.is_empty());
    let typo: Result<DirectoryConfig, _> =
        toml::from_str("kind = \"okta\"\nbase_url = \"x\"\ntoken_env = \"T\"\ngrups = true\n");
    assert!(typo.unwrap_err().to_string().contains("grups"));
}
