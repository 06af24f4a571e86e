//! `bench provision`: the initial provisioning of a large company into the Confluence Cloud
//! simulator held to a request-rate limit, with network latency added. A sync can go no
//! faster than (requests it needs ÷ allowed rate); this measures how close it gets, and that
//! nothing fails for good on the way (429s are waited out, not given up on).

use std::sync::Arc;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use roster_connectors::CsvSourceConfig;
use roster_connectors::confluence_cloud::{
    CloudSecrets, ConfluenceCloudConfig, ConfluenceCloudTarget,
};
use roster_core::Policy;
use roster_engine::{ApplyOptions, apply_plan, import, plan_system};
use roster_store::Store;
use serde_json::{Value, json};

pub struct Options {
    pub people: usize,
    pub rate_limit: u32,
    pub latency_ms: u64,
}

pub async fn run(o: Options) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let company =
        roster_examples::write_example_dir(dir.path(), roster_examples::ACME_SEED, o.people)?;
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
    options.faults.rate_limit_per_sec = o.rate_limit;
    options.faults.latency_ms = o.latency_ms;
    let sim = roster_sim::cloud::start(listener, options).await?;
    let s = |k: &str| sim.info[k].as_str().unwrap_or_default().to_string();
    // Default client and apply settings: what a user gets without tuning.
    let config: ConfluenceCloudConfig = serde_json::from_value(json!({
        "site_url": s("site_url"), "scim_base_url": s("scim_base_url"),
        "admin_api_url": s("admin_api_url"), "org_id": s("org_id"), "email": s("email"),
        "api_token_env": "UNUSED", "scim_key_env": "UNUSED",
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
    let intake = roster_connectors::load(
        &CsvSourceConfig::new(dir.path().join("hr.csv")),
        &policy.custom_attributes,
    )?;
    let at = company.as_of;
    import(store.as_ref(), "hr", &intake, at).await?;

    let base = sim.url();
    let start = counters(&base).await?;
    let t = Instant::now();
    let (id, plan) = plan_system(store.as_ref(), &policy, &target, at).await?;
    let planned = t.elapsed();
    if plan.hold.is_some() {
        bail!("the first sync's plan was held: {:?}", plan.hold);
    }
    let clock = move || at;
    let report = apply_plan(
        store.as_ref(),
        &target,
        &id,
        &ApplyOptions::default(),
        &clock,
        &mut |_| {},
    )
    .await?;
    let elapsed = t.elapsed().as_secs_f64();
    let end = counters(&base).await?;
    if !report.failed.is_empty() {
        bail!(
            "{} step(s) failed for good, first: {:?}",
            report.failed.len(),
            report.failed[0]
        );
    }
    let (_, again) = plan_system(store.as_ref(), &policy, &target, at).await?;
    if !again.is_empty() {
        bail!("planning again found {} change(s)", again.changes.len());
    }

    let delta = |k: &str| end[k].as_u64().unwrap_or(0) - start[k].as_u64().unwrap_or(0);
    let (requests, throttled) = (delta("requests"), delta("throttled"));
    let accepted = requests - throttled;
    let floor = accepted as f64 / f64::from(o.rate_limit);
    println!(
        "provision {} people ({} accounts) into the Cloud simulator at {} req/s, {} ms latency: \
         read + plan {:.1} s, apply {} steps; {} requests ({} answered 429) in {:.1} s; \
         requests needed ÷ rate = {:.1} s; rate used {:.1} %; steps failed for good: 0; \
         plan again: empty",
        o.people,
        plan.changes
            .iter()
            .filter(|c| c.action.kind() == "create account")
            .count(),
        o.rate_limit,
        o.latency_ms,
        planned.as_secs_f64(),
        plan.changes.len(),
        requests,
        throttled,
        elapsed,
        floor,
        100.0 * floor / elapsed,
    );
    Ok(())
}

/// The simulator's request counters (`GET /_sim/faults`).
async fn counters(base: &str) -> Result<Value> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::get(format!("{base}/_sim/faults"))
        .await
        .context("reading the simulator's counters")?
        .json()
        .await
        .context("the simulator's counters")
}
