//! The Confluence Cloud target against the Cloud simulator over real HTTP: reading the
//! seeded site, every action applied twice, paging past several pages, a faulty run, and
//! `connect test`. Shared helpers here; the tests by subject in the modules.

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

mod actions;
mod faults;
mod reads;

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
