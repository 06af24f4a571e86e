//! `roster sim NAME --listen ADDR`: run one of the API simulators in the foreground. The first
//! line on standard output is one JSON object with the base URLs and credentials it accepts.

use std::process::ExitCode;

use anyhow::{Context, Result};
use roster_sim::FaultConfig;

use crate::{SimArgs, SimKind};

pub async fn run(kind: SimKind, args: &SimArgs) -> Result<ExitCode> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let faults = FaultConfig {
        rate_limit_per_sec: args.rate_limit,
        error_rate: args.error_rate,
        burst_every: args.burst_every,
        burst_length: args.burst_length,
        retry_after_secs: args.retry_after,
        error_retry_after_secs: None,
        latency_ms: args.latency_ms,
        drop_after_write_rate: args.drop_after_write_rate,
        seed: args.seed,
    };
    let running = match kind {
        SimKind::ConfluenceCloud => {
            roster_sim::cloud::start(
                listener,
                roster_sim::cloud::CloudOptions {
                    email: args.email.clone(),
                    api_token: args.api_token.clone(),
                    scim_key: args.scim_key.clone(),
                    org_key: args.org_key.clone(),
                    faults,
                    seed_site: !args.empty,
                    spaces: spaces(&args.space),
                },
            )
            .await?
        }
        SimKind::ConfluenceDc => {
            roster_sim::dc::start(
                listener,
                roster_sim::dc::DcOptions {
                    username: args.username.clone(),
                    password: args.password.clone(),
                    pat: args.pat.clone(),
                    faults,
                    seed_site: !args.empty,
                    spaces: spaces(&args.space),
                },
            )
            .await?
        }
        SimKind::Bamboohr => {
            roster_sim::bamboohr::start(
                listener,
                roster_sim::bamboohr::BambooHrOptions {
                    api_key: args.api_key.clone(),
                    webhook_url: args.webhook_url.clone(),
                    previous_week: args.previous_week,
                    page_size: args.page_size.unwrap_or(100),
                    faults,
                    ..Default::default()
                },
            )
            .await?
        }
        SimKind::Personio => {
            roster_sim::personio::start(
                listener,
                roster_sim::personio::PersonioOptions {
                    client_id: args.client_id.clone(),
                    client_secret: args.client_secret.clone(),
                    default_limit: args.page_size.unwrap_or(50),
                    webhook_url: args.webhook_url.clone(),
                    previous_week: args.previous_week,
                    faults,
                },
            )
            .await?
        }
        SimKind::Hibob => {
            roster_sim::hibob::start(
                listener,
                roster_sim::hibob::HibobOptions {
                    service_user_id: args.service_user_id.clone(),
                    token: args.token.clone(),
                    webhook_url: args.webhook_url.clone(),
                    previous_week: args.previous_week,
                    faults,
                },
            )
            .await?
        }
        SimKind::Okta => {
            roster_sim::okta::start(
                listener,
                roster_sim::okta::OktaOptions {
                    token: args.token.clone(),
                    faults,
                    page_size: args.page_size,
                    seed: !args.empty,
                    ..Default::default()
                },
            )
            .await?
        }
        SimKind::Entra => {
            roster_sim::entra::start(
                listener,
                roster_sim::entra::EntraOptions {
                    tenant_id: args.tenant_id.clone(),
                    client_id: args.client_id.clone(),
                    client_secret: args.client_secret.clone(),
                    faults,
                    page_size: args.page_size,
                    seed: !args.empty,
                    ..Default::default()
                },
            )
            .await?
        }
        SimKind::Google => {
            roster_sim::google::start(
                listener,
                roster_sim::google::GoogleOptions {
                    access_token: args.token.clone(),
                    faults,
                    page_size: args.page_size,
                    seed: !args.empty,
                    ..Default::default()
                },
            )
            .await?
        }
    };
    println!("{}", serde_json::to_string(&running.info)?);
    eprintln!(
        "simulator listening on {}; faults: GET/PUT {}/_sim/faults; state: GET {}/_sim/state; Ctrl-C stops it",
        running.url(),
        running.url(),
        running.url()
    );
    tokio::select! {
        _ = running.wait() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(ExitCode::SUCCESS)
}

/// `--space KEY` or `--space KEY=Name`.
fn spaces(args: &[String]) -> Vec<(String, String)> {
    args.iter()
        .map(|a| match a.split_once('=') {
            Some((k, n)) => (k.to_string(), n.to_string()),
            None => (a.clone(), a.clone()),
        })
        .collect()
}
