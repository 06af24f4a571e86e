//! `scim_seed`: fills a running `roster serve` with users over SCIM, the way an IdP's first
//! push does, from 16 keep-alive connections, and writes the ids it got back (one per line)
//! for the PATCH scenario of `scripts/scim-bench.sh`. Prints the create rate it saw.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use serde_json::json;

#[derive(Parser)]
#[command(about = "Seed a SCIM server with users (benchmark set-up)")]
struct Args {
    /// The SCIM base URL, e.g. http://127.0.0.1:8080/scim/v2
    #[arg(long)]
    url: String,
    /// Bearer token (or ROSTER_SCIM_TOKEN).
    #[arg(long, env = "ROSTER_SCIM_TOKEN", hide_env_values = true)]
    token: String,
    #[arg(long, default_value_t = 100_000)]
    users: usize,
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Where to write the created ids.
    #[arg(long)]
    ids: std::path::PathBuf,
}

const DEPARTMENTS: [&str; 4] = ["Engineering", "Sales", "Finance", "People"];

/// The user the benchmark's filter scenario looks up by `userName`.
fn user(i: usize) -> serde_json::Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ],
        "userName": format!("user{i}@bench.example"),
        "externalId": format!("ext-{i}"),
        "name": {"givenName": format!("Given{i}"), "familyName": format!("Family{}", i % 997)},
        "displayName": format!("Given{i} Family{}", i % 997),
        "emails": [{"value": format!("user{i}@bench.example"), "type": "work", "primary": true}],
        "active": true,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {
            "employeeNumber": format!("{i:06}"),
            "department": DEPARTMENTS[i % DEPARTMENTS.len()],
        }
    })
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args = Args::parse();
    let next = Arc::new(AtomicUsize::new(0));
    let url = format!("{}/Users", args.url.trim_end_matches('/'));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..args.connections {
        let (next, url, token, total) = (next.clone(), url.clone(), args.token.clone(), args.users);
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder()
                .pool_max_idle_per_host(1)
                .build()?;
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    return anyhow::Ok(ids);
                }
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/scim+json")
                    .body(user(i).to_string())
                    .send()
                    .await
                    .with_context(|| format!("creating user {i}"))?;
                let status = response.status();
                let body: serde_json::Value = response.json().await.unwrap_or_default();
                if status.as_u16() != 201 {
                    bail!("creating user {i}: HTTP {status}: {body}");
                }
                let id = body["id"].as_str().context("the answer has no id")?;
                ids.push(id.to_string());
                if i > 0 && i % 10_000 == 0 {
                    eprintln!("{i} users created");
                }
            }
        }));
    }
    let mut ids = Vec::with_capacity(args.users);
    for task in tasks {
        ids.extend(task.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    std::fs::write(&args.ids, ids.join("\n") + "\n")?;
    println!(
        "seeded {} users in {elapsed:.1} s = {:.0} creates/s over {} connections",
        ids.len(),
        ids.len() as f64 / elapsed,
        args.connections
    );
    Ok(())
}
