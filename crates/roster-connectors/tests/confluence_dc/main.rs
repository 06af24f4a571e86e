//! The Confluence Data Center target against the DC simulator over real HTTP: reading the
//! seeded site, every action twice, paging, and a faulty run retried to the exact state. Shared
//! helpers here; the tests by subject in the modules.

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

mod actions;
mod connect;
mod faults;
mod reads;

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
