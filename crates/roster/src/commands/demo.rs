//! `roster demo`: the example company end to end, with nothing to set up.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use roster_core::render::{headline, render_plan};
use roster_examples::{ACME_SEED, ACME_SIZE};
use roster_store::verify_audit;

use super::flow::{apply_stored, import_sources, plan_systems, report_apply};
use super::load_policy;
use crate::config::Config;

const SYSTEM: &str = "acme.atlassian.net";

fn demo_config() -> String {
    format!(
        r#"# Written by `roster demo`. Paths are relative to this file.
database = "sqlite://roster.db"
policy = "policy.toml"

[sources.hr]
kind = "csv"
path = "hr.csv"
date_format = "%Y-%m-%d"

[systems."{SYSTEM}"]
kind = "memory"
state_file = "target.json"
"#
    )
}

pub async fn run(dir: &Path) -> Result<ExitCode> {
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
    let config_path = dir.join("roster.toml");
    std::fs::write(&config_path, demo_config())
        .with_context(|| format!("cannot write {}", config_path.display()))?;
    let loaded = Config::load(&config_path)?;
    let policy = load_policy(&loaded.config.policy)?;
    let url = loaded
        .config
        .database
        .clone()
        .unwrap_or_else(|| crate::config::DEFAULT_DATABASE.into());
    let store = roster_store::open(&url).await?;
    let store = store.as_ref();

    println!(
        "Roster demo: {} people at Acme (examples/acme, seed {ACME_SEED}), SQLite at {}, \
         in-memory target {SYSTEM} kept in {}\n",
        company.people.len(),
        dir.join("roster.db").display(),
        dir.join("target.json").display()
    );

    let syncs = [
        (
            "1. Last week's sync",
            company.previous_as_of,
            dir.join("hr-previous.csv"),
        ),
        ("2. Today's sync", company.as_of, dir.join("hr.csv")),
    ];
    let mut last_plan = None;
    for (i, (title, at, hr)) in syncs.iter().enumerate() {
        println!("== {title} (HR export as of {at})");
        import_sources(store, &loaded, &policy, Some(hr), *at).await?;
        let planned = plan_systems(store, &loaded, &policy, None, *at).await?;
        for p in &planned {
            if i == 0 {
                println!("Plan {}: {}", p.id, headline(&p.plan));
            } else {
                println!("Plan {}:\n{}", p.id, render_plan(&p.plan));
            }
            if p.plan.hold.is_some() {
                bail!("the demo's plan {} was held by the safety check", p.id);
            }
            let report = apply_stored(store, &loaded, &p.id, false, Some(*at)).await?;
            if report_apply(SYSTEM, &report) != ExitCode::SUCCESS {
                bail!("the demo's apply had failed steps");
            }
            last_plan = Some(p.plan.clone());
        }
        println!();
    }

    let events = verify_audit(store, |_| {})
        .await
        .context("the demo's audit chain did not verify")?;
    let summary = last_plan.map(|p| p.summary).unwrap_or_default();
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
    println!("Audit chain intact: {events} events, each linked to the one before by SHA-256.");
    println!(
        "\nTry next:\n  \
         cargo run --release -- --config {config} plan --at {at}       # plan again: nothing left to do\n  \
         cargo run --release -- --config {config} quarantine list     # the HR rows that were not imported\n  \
         cargo run --release -- --config {config} access at --time {after_apply} --person {mover}\n  \
         cargo run --release -- --config {config} audit verify\n  \
         cargo run --release -- --config {config} audit export --format jsonl --since {since}\n  \
         cargo run --release -- policy check {policy}",
        at = company.as_of,
        since = company.as_of,
        policy = dir.join("policy.toml").display(),
    );
    Ok(ExitCode::SUCCESS)
}
