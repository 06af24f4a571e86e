//! `roster demo`: the example company end to end, with nothing to set up. By default it
//! provisions into the Confluence Cloud simulator started in this process; `--target memory`
//! uses the in-memory target instead (kept in a file, so later commands can plan against it).

use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use roster_connectors::confluence_cloud::{
    CloudSecrets, ConfluenceCloudConfig, ConfluenceCloudTarget,
};
use roster_core::Target;
use roster_core::render::{headline, render_plan};
use roster_engine::{ApplyOptions, plan_system};
use roster_examples::{ACME_SEED, ACME_SIZE};
use roster_store::verify_audit;

use super::flow::{apply_to, import_sources, report_apply};
use super::{load_policy, open_target};
use crate::DemoTarget;
use crate::config::{Config, SystemConfig};

const SYSTEM: &str = "acme.atlassian.net";

fn demo_config(system: &str) -> String {
    format!(
        r#"# Written by `roster demo`. Paths are relative to this file.
database = "sqlite://roster.db"
policy = "policy.toml"

[sources.hr]
kind = "csv"
path = "hr.csv"
date_format = "%Y-%m-%d"

{system}"#
    )
}

fn memory_system() -> String {
    format!("[systems.\"{SYSTEM}\"]\nkind = \"memory\"\nstate_file = \"target.json\"\n")
}

fn cloud_system(info: &serde_json::Value) -> String {
    let s = |k: &str| info[k].as_str().unwrap_or_default().to_string();
    format!(
        "# The Confluence Cloud simulator the demo started (it stops when the demo exits).\n\
         # Secrets come from the environment: the demo printed the values.\n\
         [systems.\"{SYSTEM}\"]\nkind = \"confluence_cloud\"\nsite_url = \"{}\"\n\
         scim_base_url = \"{}\"\nadmin_api_url = \"{}\"\norg_id = \"{}\"\nemail = \"{}\"\n\
         api_token_env = \"ROSTER_DEMO_API_TOKEN\"\nscim_key_env = \"ROSTER_DEMO_SCIM_KEY\"\n\
         org_key_env = \"ROSTER_DEMO_ORG_KEY\"\n",
        s("site_url"),
        s("scim_base_url"),
        s("admin_api_url"),
        s("org_id"),
        s("email"),
    )
}

pub async fn run(dir: &Path, target_kind: DemoTarget) -> Result<ExitCode> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    // A demo starts from scratch each time: remove only the files it writes itself.
    for name in ["roster.db", "roster.db-wal", "roster.db-shm", "target.json"] {
        let path = dir.join(name);
        if path.exists() {
            std::fs::remove_file(&path)
                .with_context(|| format!("cannot remove {}", path.display()))?;
        }
    }
    let company = roster_examples::write_example_dir(dir, ACME_SEED, ACME_SIZE)
        .with_context(|| format!("cannot write the example company into {}", dir.display()))?;

    // The target: the Cloud simulator on a loopback port, or the in-memory target.
    let (simulator, system_toml) = match target_kind {
        DemoTarget::ConfluenceCloud => {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
            // The site has the example's spaces, as its admins created them; Roster manages
            // who may do what in them.
            let spaces = load_policy(&dir.join("policy.toml"))?
                .spaces
                .iter()
                .map(|k| (k.clone(), k.clone()))
                .collect();
            let sim = roster_sim::cloud::start(
                listener,
                roster_sim::cloud::CloudOptions {
                    spaces,
                    ..Default::default()
                },
            )
            .await
            .context("cannot start the Confluence Cloud simulator")?;
            let toml = cloud_system(&sim.info);
            (Some(sim), toml)
        }
        DemoTarget::Memory => (None, memory_system()),
    };
    let config_path = dir.join("roster.toml");
    std::fs::write(&config_path, demo_config(&system_toml))
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let loaded = Config::load(&config_path)?;
    let policy = load_policy(&loaded.config.policy)?;
    let url = loaded
        .config
        .database
        .clone()
        .unwrap_or_else(|| crate::config::DEFAULT_DATABASE.into());
    let shared: Arc<dyn roster_store::Store> = Arc::from(roster_store::open(&url).await?);
    let store = shared.as_ref();
    let target: Box<dyn Target> = match (&simulator, loaded.config.systems.get(SYSTEM)) {
        (Some(sim), Some(SystemConfig::ConfluenceCloud(config))) => {
            let secret = |k: &str| sim.info[k].as_str().unwrap_or_default().to_string();
            Box::new(ConfluenceCloudTarget::new(
                SYSTEM,
                ConfluenceCloudConfig::clone(config),
                CloudSecrets {
                    api_token: secret("api_token"),
                    scim_key: secret("scim_key"),
                    org_key: Some(secret("org_key")),
                },
            )?)
        }
        (_, Some(system)) => open_target(SYSTEM, system, &shared)?,
        (_, None) => bail!("the demo configuration lost its system"),
    };

    let where_to = match &simulator {
        Some(sim) => format!("the Confluence Cloud simulator at {}", sim.url()),
        None => format!(
            "an in-memory target kept in {}",
            dir.join("target.json").display()
        ),
    };
    println!(
        "Roster demo: {} people at Acme (examples/acme, seed {ACME_SEED}), SQLite at {}, \
         provisioning {SYSTEM} = {where_to}\n",
        company.people.len(),
        dir.join("roster.db").display(),
    );

    let syncs = [
        (
            "1. Last week's sync",
            company.previous_as_of,
            dir.join("hr-previous.csv"),
        ),
        ("2. Today's sync", company.as_of, dir.join("hr.csv")),
    ];
    let options = ApplyOptions {
        batch_size: loaded.config.apply.batch_size,
        max_attempts: loaded.config.apply.max_attempts,
        ..ApplyOptions::default()
    };
    let mut today = None;
    for (i, (title, at, hr)) in syncs.iter().enumerate() {
        println!("== {title} (HR export as of {at})");
        if let Some(halt) = import_sources(store, &loaded, &policy, Some(hr), &[], *at).await? {
            anyhow::bail!("{}", halt.message);
        }
        let (id, plan) = plan_system(store, &policy, target.as_ref(), *at).await?;
        if i == 0 {
            println!("Plan {id}: {}", headline(&plan));
        } else {
            println!("Plan {id}:\n{}", render_plan(&plan));
        }
        if plan.hold.is_some() {
            bail!("the demo's plan {id} was held by the safety check");
        }
        let report = apply_to(store, target.as_ref(), &id, &options, Some(*at)).await?;
        if report_apply(SYSTEM, &report) != ExitCode::SUCCESS {
            bail!("the demo's apply had failed steps");
        }
        today = Some(plan);
        println!();
    }
    let (_, again) = plan_system(store, &policy, target.as_ref(), company.as_of).await?;
    let converged = again.is_empty();

    let events = verify_audit(store, |_| {})
        .await
        .context("the demo's audit chain did not verify")?;
    let summary = today.map(|p| p.summary).unwrap_or_default();
    let mover = company
        .expected
        .movers
        .first()
        .and_then(|id| company.person(id))
        .map_or("someone@acme.example".to_string(), |p| p.email.clone());
    let config = config_path.display();
    let after_apply = company.as_of + jiff::SignedDuration::from_mins(5);
    println!("== Summary");
    println!(
        "Today: {} joiner(s), {} mover(s), {} leaver(s); {} change(s) applied to {SYSTEM}.",
        summary.joiners, summary.movers, summary.leavers, summary.changes
    );
    if converged {
        println!("Planning again: nothing to change — {SYSTEM} is in the desired state.");
    } else {
        println!(
            "Planning again still finds {} change(s): {}",
            again.changes.len(),
            headline(&again)
        );
    }
    println!("Audit chain intact: {events} events, each linked to the one before by SHA-256.");
    println!(
        "\nTry next:\n  \
         cargo run --release -- --config {config} quarantine list     # the HR rows that were not imported\n  \
         cargo run --release -- --config {config} access at --time {after_apply} --person {mover}\n  \
         cargo run --release -- --config {config} audit verify\n  \
         cargo run --release -- --config {config} audit export --format jsonl --since {since}\n  \
         cargo run --release -- policy check {policy}",
        since = company.as_of,
        policy = dir.join("policy.toml").display(),
    );
    if let Some(sim) = simulator {
        let s = |k: &str| sim.info[k].as_str().unwrap_or_default().to_string();
        println!(
            "\nThe simulator speaks the Confluence Cloud APIs, for example:\n  \
             curl -s -u '{email}:{token}' {site}/wiki/rest/api/group\n  \
             curl -s -H 'Authorization: Bearer {scim}' '{scim_url}/Users?count=5'\n  \
             curl -s {site}/_sim/state     # everything it holds\n\
             (`roster sim confluence-cloud` runs one on its own.)",
            email = s("email"),
            token = s("api_token"),
            site = s("site_url"),
            scim = s("scim_key"),
            scim_url = s("scim_base_url"),
        );
        if std::io::stdin().is_terminal() && std::io::stdout().is_terminal() {
            println!("\nThe simulator runs until you press Enter or Ctrl-C.");
            let enter = tokio::task::spawn_blocking(|| {
                let mut line = String::new();
                let _ = std::io::stdin().read_line(&mut line);
            });
            tokio::select! {
                _ = enter => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        sim.stop().await;
    }
    Ok(if converged {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
