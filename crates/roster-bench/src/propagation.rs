//! `bench propagate`: how fast a sync reaches Confluence. The example company's first sync
//! (every account, membership and permission) and today's sync are planned and applied to the
//! Confluence Cloud simulator over loopback HTTP, optionally with faults injected.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result};
use roster_connectors::CsvSourceConfig;
use roster_connectors::confluence_cloud::{
    CloudSecrets, ConfluenceCloudConfig, ConfluenceCloudTarget,
};
use roster_core::{Policy, Target};
use roster_engine::{ApplyOptions, apply_plan, import, plan_system};
use roster_store::Store;
use serde_json::json;

pub async fn run(faults: bool) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let company = roster_examples::write_example_dir(
        dir.path(),
        roster_examples::ACME_SEED,
        roster_examples::ACME_SIZE,
    )?;
    let policy = Policy::parse(&std::fs::read_to_string(dir.path().join("policy.toml"))?)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let mut options = roster_sim::cloud::CloudOptions {
        spaces: policy
            .spaces
            .iter()
            .map(|k| (k.clone(), k.clone()))
            .collect(),
        ..Default::default()
    };
    if faults {
        options.faults = serde_json::from_value(json!({
            "error_rate": 0.2, "burst_every": 1000, "burst_length": 3, "retry_after_secs": 1,
            "drop_after_write_rate": 0.1, "seed": 11
        }))?;
    }
    let sim = roster_sim::cloud::start(listener, options).await?;
    let s = |k: &str| sim.info[k].as_str().unwrap_or_default().to_string();
    let config: ConfluenceCloudConfig = serde_json::from_value(json!({
        "site_url": s("site_url"), "scim_base_url": s("scim_base_url"),
        "admin_api_url": s("admin_api_url"), "org_id": s("org_id"), "email": s("email"),
        "api_token_env": "UNUSED", "scim_key_env": "UNUSED",
        "http": {"base_delay_ms": 20, "max_delay_ms": 500}
    }))?;
    let target = ConfluenceCloudTarget::new(
        "acme.atlassian.net",
        config,
        CloudSecrets {
            api_token: s("api_token"),
            scim_key: s("scim_key"),
            org_key: Some(s("org_key")),
        },
    )?;
    let url = format!("sqlite://{}", dir.path().join("roster.db").display());
    let store: Arc<dyn Store> = Arc::from(roster_store::open(&url).await?);
    for (file, at) in [
        ("hr-previous.csv", company.previous_as_of),
        ("hr.csv", company.as_of),
    ] {
        sync(
            store.as_ref(),
            &target,
            &policy,
            &dir.path().join(file),
            at,
            file,
            faults,
        )
        .await?;
    }
    let report = fault_report(&sim.url()).await?;
    println!(
        "simulator: {} requests, {} faults injected",
        report["requests"], report["injected"]
    );
    Ok(())
}

async fn sync(
    store: &dyn Store,
    target: &dyn Target,
    policy: &Policy,
    file: &Path,
    at: jiff::Timestamp,
    name: &str,
    faults: bool,
) -> Result<()> {
    let intake = roster_connectors::load(&CsvSourceConfig::new(file), &policy.custom_attributes)?;
    import(store, "hr", &intake, at).await?;
    let t = Instant::now();
    let (id, plan) = plan_system(store, policy, target, at).await?;
    let planned = t.elapsed();
    let options = ApplyOptions {
        retry_delay: std::time::Duration::from_millis(50),
        ..ApplyOptions::default()
    };
    let clock = move || at;
    let t = Instant::now();
    let mut runs = 0;
    loop {
        runs += 1;
        let report = apply_plan(store, target, &id, &options, &clock, &mut |_| {}).await?;
        if report.is_complete() || runs == 3 {
            break;
        }
    }
    let applied = t.elapsed();
    println!(
        "{name}{}: read + plan {:.2} s; apply {} steps in {:.2} s = {:.0} steps/s ({runs} apply run(s))",
        if faults { " with faults" } else { "" },
        planned.as_secs_f64(),
        plan.changes.len(),
        applied.as_secs_f64(),
        plan.changes.len() as f64 / applied.as_secs_f64()
    );
    Ok(())
}

/// The simulator's fault counters (`GET /_sim/faults`).
async fn fault_report(base: &str) -> Result<serde_json::Value> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(reqwest::get(format!("{base}/_sim/faults"))
        .await
        .context("reading the simulator's counters")?
        .json()
        .await?)
}
