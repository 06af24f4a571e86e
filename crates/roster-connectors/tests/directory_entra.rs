//! The Entra reader against the Entra simulator over real HTTP: client credentials, every
//! user across many `@odata.nextLink` pages, `accountEnabled` and sign-in activity, group
//! members, the planted disagreements, 429 with Retry-After honoured, a revoked token
//! replaced, and clear errors for bad credentials and each missing permission.

mod directory_common;

use std::time::{Duration, Instant};

use directory_common::*;
use roster_connectors::directory::{EntraConfig, EntraReader, ReaderError, StatusReader};
use roster_core::directory::DirectoryStatus;
use roster_sim::FaultConfig;
use roster_sim::entra::{EntraOptions, start};
use serde_json::json;
use tokio::net::TcpListener;

async fn sim(options: EntraOptions) -> roster_sim::Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, options).await.unwrap()
}

fn config(sim: &roster_sim::Running) -> EntraConfig {
    EntraConfig {
        tenant_id: s(&sim.info, "tenant_id"),
        client_id_env: "ROSTER_ENTRA_CLIENT_ID".into(),
        client_secret_env: "ROSTER_ENTRA_CLIENT_SECRET".into(),
        graph_url: s(&sim.info, "graph_url"),
        token_url: Some(s(&sim.info, "token_url")),
        groups: true,
        sign_in_activity: true,
        page_size: None,
        http: policy(),
    }
}

fn reader_with(config: EntraConfig, id: &str, secret: &str) -> EntraReader {
    EntraReader::new(
        "entra",
        config,
        &env(&[
            ("ROSTER_ENTRA_CLIENT_ID", id),
            ("ROSTER_ENTRA_CLIENT_SECRET", secret),
        ]),
    )
    .unwrap()
}

fn reader(sim: &roster_sim::Running, config: EntraConfig) -> EntraReader {
    let (id, secret) = (s(&sim.info, "client_id"), s(&sim.info, "client_secret"));
    reader_with(config, &id, &secret)
}

fn permissions(granted: &[&str]) -> EntraOptions {
    EntraOptions {
        permissions: granted.iter().map(|p| p.to_string()).collect(),
        ..EntraOptions::default()
    }
}

#[tokio::test]
async fn reads_every_account_across_pages() {
    let sim = sim(EntraOptions {
        page_size: Some(40),
        ..EntraOptions::default()
    })
    .await;
    let listing = reader(&sim, config(&sim)).read_accounts().await.unwrap();
    let state = state(&sim).await;
    assert_eq!(listed_ids(&listing), ids(&state));
    let users = state["users"].as_array().unwrap();
    assert!(users.len() > 3 * 40);
    assert!(faults(&sim).await["requests"].as_u64().unwrap() as usize > users.len() / 40);
    for u in users {
        let a = listing
            .accounts
            .iter()
            .find(|a| a.id == u["id"].as_str().unwrap())
            .unwrap();
        let enabled = u["accountEnabled"].as_bool().unwrap();
        let want = if enabled {
            DirectoryStatus::Active
        } else {
            DirectoryStatus::Suspended
        };
        assert_eq!(a.status, want, "{a:?}");
        assert!(
            a.vendor_status
                .starts_with(&format!("accountEnabled={enabled}")),
            "{a:?}"
        );
        assert_eq!(a.login, u["userPrincipalName"].as_str().unwrap());
        assert_eq!(a.email.as_deref(), u["mail"].as_str());
        assert_eq!(a.employee_id.as_deref(), u["employeeId"].as_str());
        assert_eq!(
            a.last_sign_in.map(|t| t.as_second()),
            u["lastSignInDateTime"]
                .as_str()
                .map(|t| t.parse::<jiff::Timestamp>().unwrap().as_second())
        );
    }
    let groups = sim_groups(&state, &[]);
    for a in &listing.accounts {
        assert_eq!(&a.groups, &groups[&a.id], "{}", a.login);
    }
    let guest = listing
        .accounts
        .iter()
        .find(|a| a.vendor_status.contains("userType=Guest"))
        .unwrap();
    assert_eq!(guest.email.as_deref(), Some("ext.auditor@bigfour.example"));
    assert!(listing.warnings.is_empty(), "{:?}", listing.warnings);
}

#[tokio::test]
async fn the_planted_disagreements_are_read() {
    let sim = sim(EntraOptions::default()).await;
    let listing = reader(&sim, config(&sim)).read_accounts().await.unwrap();
    assert_seeded_disagreements(&listing, &acme());
    // Entra has no staged state: the pre-provisioned joiner of this week is disabled.
    let company = acme();
    let pending = company
        .expected
        .joiners
        .iter()
        .filter_map(|id| company.previous_person(id))
        .filter_map(|p| account_of(&listing.accounts, p))
        .filter(|(a, _)| a.status == DirectoryStatus::Suspended)
        .count();
    assert!(pending >= 1);
}

#[tokio::test]
async fn a_429_waits_for_retry_after() {
    // Three requests a second for the whole tenant; each 429 says Retry-After: 1. Three attempts
    // a few milliseconds apart would all be refused.
    let sim = sim(EntraOptions {
        page_size: Some(60),
        faults: FaultConfig {
            rate_limit_per_sec: 3,
            ..FaultConfig::default()
        },
        ..EntraOptions::default()
    })
    .await;
    let started = Instant::now();
    let listing = reader(
        &sim,
        EntraConfig {
            http: impatient(),
            groups: false,
            ..config(&sim)
        },
    )
    .read_accounts()
    .await
    .unwrap();
    assert_eq!(listed_ids(&listing), ids(&state(&sim).await));
    assert!(faults(&sim).await["throttled"].as_u64().unwrap() >= 1);
    assert!(started.elapsed() >= Duration::from_millis(900));
}

#[tokio::test]
async fn a_revoked_token_is_replaced_once() {
    let sim = sim(EntraOptions::default()).await;
    let r = reader(
        &sim,
        EntraConfig {
            groups: false,
            ..config(&sim)
        },
    );
    let first = r.read_accounts().await.unwrap();
    let revoked = reqwest::Client::new()
        .delete(format!("{}/_sim/tokens", sim.url()))
        .send()
        .await
        .unwrap();
    assert!(revoked.status().is_success());
    let second = r.read_accounts().await.unwrap();
    assert_eq!(listed_ids(&first), listed_ids(&second));
}

#[tokio::test]
async fn disabling_an_account_shows_on_the_next_read() {
    let sim = sim(EntraOptions::default()).await;
    let r = reader(
        &sim,
        EntraConfig {
            groups: false,
            ..config(&sim)
        },
    );
    let company = acme();
    let leaver = company
        .previous_person(&company.expected.leavers[0])
        .unwrap();
    let before = r.read_accounts().await.unwrap();
    let (a, _) = account_of(&before.accounts, leaver).unwrap();
    assert_eq!(a.status, DirectoryStatus::Active);
    patch_user(&sim, &a.id, json!({"accountEnabled": false})).await;
    let after = r.read_accounts().await.unwrap();
    let now = after.accounts.iter().find(|x| x.id == a.id).unwrap();
    assert_eq!(now.status, DirectoryStatus::Suspended);
}

#[tokio::test]
async fn bad_client_credentials_name_what_to_fix() {
    let sim = sim(EntraOptions::default()).await;
    let id = s(&sim.info, "client_id");
    let e = reader_with(config(&sim), &id, "the-secret-id-not-its-value")
        .read_accounts()
        .await
        .unwrap_err();
    assert!(matches!(e, ReaderError::Credentials { .. }), "{e:?}");
    let text = e.to_string();
    assert!(
        text.contains("ROSTER_ENTRA_CLIENT_SECRET") && text.contains("AADSTS7000215"),
        "{text}"
    );
    assert!(!text.contains("the-secret-id-not-its-value"), "{text}");

    let secret = s(&sim.info, "client_secret");
    let e = reader_with(
        config(&sim),
        "00000000-0000-0000-0000-000000000000",
        &secret,
    )
    .read_accounts()
    .await
    .unwrap_err();
    assert!(
        e.to_string().contains("ROSTER_ENTRA_CLIENT_ID") && e.to_string().contains("AADSTS700016"),
        "{e}"
    );

    let mut wrong_tenant = config(&sim);
    wrong_tenant.token_url = Some(format!("{}/not-our-tenant/oauth2/v2.0/token", sim.url()));
    let e = reader(&sim, wrong_tenant)
        .read_accounts()
        .await
        .unwrap_err();
    assert!(e.to_string().contains("check tenant_id"), "{e}");
    let checks = reader_with(config(&sim), &id, "x").check().await;
    assert_eq!(checks.len(), 1);
    assert!(
        !checks[0].ok && checks[0].detail.contains("AADSTS7000215"),
        "{checks:?}"
    );
}

#[tokio::test]
async fn without_user_read_all_the_read_fails_and_says_so() {
    let sim = sim(permissions(&["GroupMember.Read.All", "AuditLog.Read.All"])).await;
    let e = reader(&sim, config(&sim))
        .read_accounts()
        .await
        .unwrap_err();
    assert!(matches!(e, ReaderError::Permission { .. }), "{e:?}");
    assert!(
        e.to_string().contains("Graph token lacks User.Read.All"),
        "{e}"
    );
    assert!(e.to_string().contains("Authorization_RequestDenied"), "{e}");
}

#[tokio::test]
async fn without_audit_log_the_read_goes_on_without_sign_ins_and_warns() {
    let sim = sim(permissions(&["User.Read.All", "GroupMember.Read.All"])).await;
    let r = reader(&sim, config(&sim));
    let listing = r.read_accounts().await.unwrap();
    assert_eq!(listed_ids(&listing), ids(&state(&sim).await));
    assert!(listing.accounts.iter().all(|a| a.last_sign_in.is_none()));
    assert_eq!(listing.warnings.len(), 1, "{:?}", listing.warnings);
    assert!(
        listing.warnings[0].contains("AuditLog.Read.All"),
        "{:?}",
        listing.warnings
    );
    let checks = r.check().await;
    let failed: Vec<&str> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(
        failed,
        ["Graph sign-in activity (AuditLog.Read.All)"],
        "{checks:?}"
    );
    // Asked not to read sign-ins, it does not warn.
    let quiet = reader(
        &sim,
        EntraConfig {
            sign_in_activity: false,
            ..config(&sim)
        },
    )
    .read_accounts()
    .await
    .unwrap();
    assert!(quiet.warnings.is_empty());
}

#[tokio::test]
async fn without_group_member_read_the_read_fails_and_says_so() {
    let sim = sim(permissions(&["User.Read.All", "AuditLog.Read.All"])).await;
    let e = reader(&sim, config(&sim))
        .read_accounts()
        .await
        .unwrap_err();
    assert!(matches!(e, ReaderError::Permission { .. }), "{e:?}");
    assert!(
        e.to_string().contains("GroupMember.Read.All") && e.to_string().contains("groups = false"),
        "{e}"
    );
    let checks = reader(&sim, config(&sim)).check().await;
    assert!(
        checks
            .iter()
            .any(|c| !c.ok && c.name.contains("GroupMember.Read.All")),
        "{checks:?}"
    );
    assert!(checks.iter().filter(|c| c.ok).count() == 3, "{checks:?}");
}
