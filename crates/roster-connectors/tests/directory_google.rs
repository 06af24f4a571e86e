//! The Google reader against the Google simulator over real HTTP, with a pre-obtained access
//! token and with a service-account key (domain-wide delegation): every user across many
//! `nextPageToken` pages, deleted ones included, suspended and archived, last logins (the
//! epoch read as never), groups, the planted disagreements, 403 `userRateLimitExceeded`
//! retried, and clear errors for a missing scope, a missing delegation and a bad token.

mod directory_common;

use std::collections::BTreeSet;

use directory_common::*;
use roster_connectors::directory::{GoogleConfig, GoogleReader, ReaderError, StatusReader};
use roster_core::directory::DirectoryStatus;
use roster_sim::FaultConfig;
use roster_sim::google::{GROUP_READONLY, GoogleOptions, USER_READONLY, start};
use serde_json::json;
use tokio::net::TcpListener;

async fn start_sim(options: GoogleOptions) -> roster_sim::Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, options).await.unwrap()
}

fn token_config(sim: &roster_sim::Running) -> GoogleConfig {
    GoogleConfig {
        base_url: s(&sim.info, "base_url"),
        customer: s(&sim.info, "customer"),
        domain: None,
        access_token_env: Some("ROSTER_GOOGLE_TOKEN".into()),
        service_account_key_env: None,
        subject: None,
        token_url: None,
        groups: true,
        include_deleted: true,
        page_size: None,
        http: policy(),
    }
}

fn by_token(sim: &roster_sim::Running, config: GoogleConfig) -> GoogleReader {
    let token = s(&sim.info, "access_token");
    GoogleReader::new("google", config, &env(&[("ROSTER_GOOGLE_TOKEN", &token)])).unwrap()
}

fn delegated_config(sim: &roster_sim::Running) -> GoogleConfig {
    GoogleConfig {
        access_token_env: None,
        service_account_key_env: Some("ROSTER_GOOGLE_SA_KEY".into()),
        subject: Some(s(&sim.info, "subject")),
        ..token_config(sim)
    }
}

fn delegated(sim: &roster_sim::Running, config: GoogleConfig) -> GoogleReader {
    let key = s(&sim.info, "service_account_key");
    GoogleReader::new("google", config, &env(&[("ROSTER_GOOGLE_SA_KEY", &key)])).unwrap()
}

#[tokio::test]
async fn reads_every_account_across_pages_deleted_ones_included() {
    let sim = start_sim(GoogleOptions {
        page_size: Some(30),
        ..GoogleOptions::default()
    })
    .await;
    let listing = by_token(&sim, token_config(&sim))
        .read_accounts()
        .await
        .unwrap();
    let state = state(&sim).await;
    assert_eq!(listed_ids(&listing), ids(&state));
    let users = state["users"].as_array().unwrap();
    assert!(users.len() > 3 * 30);
    assert!(faults(&sim).await["requests"].as_u64().unwrap() as usize > users.len() / 30);
    for u in users {
        let a = listing
            .accounts
            .iter()
            .find(|a| a.id == u["id"].as_str().unwrap())
            .unwrap();
        let flag = |k: &str| u[k].as_bool().unwrap();
        let (want, text) = if flag("deleted") {
            (DirectoryStatus::Deprovisioned, "deleted")
        } else if flag("archived") {
            (DirectoryStatus::Suspended, "archived")
        } else if flag("suspended") {
            (DirectoryStatus::Suspended, "suspended (ADMIN)")
        } else {
            (DirectoryStatus::Active, "active")
        };
        assert_eq!((a.status, a.vendor_status.as_str()), (want, text), "{a:?}");
        assert_eq!(a.login, u["primaryEmail"].as_str().unwrap());
        assert_eq!(a.employee_id.as_deref(), u["employeeId"].as_str());
        // Never-signed-in accounts are served with the epoch and read as None.
        assert_eq!(
            a.last_sign_in.map(|t| t.as_millisecond()),
            u["lastLoginTime"]
                .as_str()
                .map(|t| t.parse::<jiff::Timestamp>().unwrap().as_millisecond())
        );
    }
    let seen: BTreeSet<&str> = listing
        .accounts
        .iter()
        .map(|a| a.vendor_status.as_str())
        .collect();
    assert_eq!(
        seen,
        BTreeSet::from(["active", "archived", "deleted", "suspended (ADMIN)"])
    );
    let groups = sim_groups(&state, &[]);
    for a in listing
        .accounts
        .iter()
        .filter(|a| a.status != DirectoryStatus::Deprovisioned)
    {
        assert_eq!(&a.groups, &groups[&a.id], "{}", a.login);
    }
}

#[tokio::test]
async fn the_planted_disagreements_are_read() {
    let sim = start_sim(GoogleOptions::default()).await;
    let listing = delegated(&sim, delegated_config(&sim))
        .read_accounts()
        .await
        .unwrap();
    assert_seeded_disagreements(&listing, &acme());
    // People who left months ago are deleted (or archived), as HR says.
    let company = acme();
    for id in &company.expected.long_gone {
        let (a, _) = account_of(&listing.accounts, company.previous_person(id).unwrap()).unwrap();
        assert!(!a.status.can_sign_in(), "{a:?}");
    }
}

#[tokio::test]
async fn a_service_account_key_in_a_file_works_too() {
    let sim = start_sim(GoogleOptions::default()).await;
    let path = std::env::temp_dir().join(format!("roster-sa-{}.json", std::process::id()));
    std::fs::write(&path, s(&sim.info, "service_account_key")).unwrap();
    let r = GoogleReader::new(
        "google",
        delegated_config(&sim),
        &env(&[("ROSTER_GOOGLE_SA_KEY", path.to_str().unwrap())]),
    )
    .unwrap();
    let checks = r.check().await;
    std::fs::remove_file(&path).unwrap();
    assert!(checks.iter().all(|c| c.ok), "{checks:?}");
    assert_eq!(checks.len(), 3);
    let missing = GoogleReader::new(
        "google",
        delegated_config(&sim),
        &env(&[("ROSTER_GOOGLE_SA_KEY", "/nonexistent/key.json")]),
    )
    .unwrap_err();
    assert!(matches!(missing, ReaderError::Config { .. }));
    assert!(
        missing.to_string().contains("ROSTER_GOOGLE_SA_KEY"),
        "{missing}"
    );
}

#[tokio::test]
async fn rate_limit_403s_are_retried_with_back_off() {
    // Google answers 403 userRateLimitExceeded, with no hint of when to retry.
    let sim = start_sim(GoogleOptions {
        page_size: Some(50),
        faults: FaultConfig {
            rate_limit_per_sec: 3,
            ..FaultConfig::default()
        },
        ..GoogleOptions::default()
    })
    .await;
    let mut config = token_config(&sim);
    config.http.base_delay_ms = 150;
    config.http.max_attempts = 8;
    let listing = by_token(&sim, config).read_accounts().await.unwrap();
    assert_eq!(listed_ids(&listing), ids(&state(&sim).await));
    assert!(faults(&sim).await["throttled"].as_u64().unwrap() >= 1);
}

#[tokio::test]
async fn a_forbidden_403_is_not_mistaken_for_a_rate_limit() {
    let sim = start_sim(GoogleOptions {
        token_scopes: vec![GROUP_READONLY.into()],
        ..GoogleOptions::default()
    })
    .await;
    let e = by_token(&sim, token_config(&sim))
        .read_accounts()
        .await
        .unwrap_err();
    assert!(matches!(e, ReaderError::Permission { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("lacks scope admin.directory.user.readonly")
            && e.to_string().contains("ROSTER_GOOGLE_TOKEN"),
        "{e}"
    );
    // Answered at once, not retried.
    assert_eq!(faults(&sim).await["requests"].as_u64().unwrap(), 1);
}

#[tokio::test]
async fn missing_delegation_names_the_scope() {
    let sim = start_sim(GoogleOptions {
        delegated_scopes: vec![GROUP_READONLY.into()],
        ..GoogleOptions::default()
    })
    .await;
    let r = delegated(&sim, delegated_config(&sim));
    let e = r.read_accounts().await.unwrap_err();
    assert!(matches!(e, ReaderError::Permission { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("Google: domain-wide delegation missing scope admin.directory.user.readonly"),
        "{e}"
    );
    // The check asks scope by scope and names only the missing one.
    let checks = r.check().await;
    assert_eq!(checks.len(), 1, "{checks:?}");
    let detail = &checks[0].detail;
    assert!(detail.contains("admin.directory.user.readonly"), "{detail}");
    assert!(!detail.contains("group.readonly"), "{detail}");
    // Without groups, only the user scope is asked for; still missing.
    let sim2 = start_sim(GoogleOptions {
        delegated_scopes: vec![USER_READONLY.into()],
        ..GoogleOptions::default()
    })
    .await;
    let ok = delegated(
        &sim2,
        GoogleConfig {
            groups: false,
            ..delegated_config(&sim2)
        },
    )
    .read_accounts()
    .await
    .unwrap();
    assert!(ok.accounts.iter().all(|a| a.groups.is_empty()));
}

#[tokio::test]
async fn a_user_who_is_no_admin_cannot_be_impersonated_to_read() {
    let sim = start_sim(GoogleOptions::default()).await;
    let state = state(&sim).await;
    let plain = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["isAdmin"] == false && u["deleted"] == false)
        .unwrap();
    let mut config = delegated_config(&sim);
    config.subject = Some(plain["primaryEmail"].as_str().unwrap().to_string());
    let e = delegated(&sim, config).read_accounts().await.unwrap_err();
    assert!(matches!(e, ReaderError::Permission { .. }), "{e:?}");
    assert!(e.to_string().contains("may not read the directory"), "{e}");
    let mut nobody = delegated_config(&sim);
    nobody.subject = Some("nobody@acme.example".into());
    let e = delegated(&sim, nobody).read_accounts().await.unwrap_err();
    assert!(
        matches!(e, ReaderError::Credentials { .. }) && e.to_string().contains("subject"),
        "{e}"
    );
}

#[tokio::test]
async fn a_rejected_access_token_says_it_may_have_expired() {
    let sim = start_sim(GoogleOptions::default()).await;
    let r = GoogleReader::new(
        "google",
        token_config(&sim),
        &env(&[("ROSTER_GOOGLE_TOKEN", "ya29.old")]),
    )
    .unwrap();
    let e = r.read_accounts().await.unwrap_err();
    assert!(matches!(e, ReaderError::Credentials { .. }), "{e:?}");
    assert!(
        e.to_string().contains("expired") && e.to_string().contains("ROSTER_GOOGLE_TOKEN"),
        "{e}"
    );
    let both = GoogleConfig {
        service_account_key_env: Some("X".into()),
        ..token_config(&sim)
    };
    let e = GoogleReader::new("google", both, &env(&[])).unwrap_err();
    assert!(e.to_string().contains("exactly one of"), "{e}");
}

#[tokio::test]
async fn suspending_a_user_shows_on_the_next_read() {
    let sim = start_sim(GoogleOptions::default()).await;
    let r = by_token(
        &sim,
        GoogleConfig {
            groups: false,
            ..token_config(&sim)
        },
    );
    let company = acme();
    let leaver = company
        .previous_person(&company.expected.leavers[1])
        .unwrap();
    let before = r.read_accounts().await.unwrap();
    let (a, _) = account_of(&before.accounts, leaver).unwrap();
    assert_eq!(a.status, DirectoryStatus::Active);
    patch_user(&sim, &a.id, json!({"suspended": true})).await;
    let now = r.read_accounts().await.unwrap();
    assert_eq!(
        now.accounts.iter().find(|x| x.id == a.id).unwrap().status,
        DirectoryStatus::Suspended
    );
    patch_user(&sim, &a.id, json!({"deleted": true})).await;
    let gone = r.read_accounts().await.unwrap();
    assert_eq!(
        gone.accounts.iter().find(|x| x.id == a.id).unwrap().status,
        DirectoryStatus::Deprovisioned
    );
}
