//! `roster status`: HR beside every identity provider (read live, never written) and every
//! configured target (read live), with the findings of the status comparison. The same
//! report backs `GET /api/status` in `roster serve`.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Result;
use jiff::{SignedDuration, Timestamp};
use roster_connectors::directory::{build_reader, process_env};
use roster_core::status::{Category, StatusInput, StatusReport, compare};
use roster_core::{ActualState, Policy, desired_state};
use roster_store::Store;

use super::{Global, load_policy, open_target};
use crate::StatusArgs;
use crate::config::Loaded;

/// A status report and what could not be read for it.
pub struct Gathered {
    pub report: StatusReport,
    /// Systems that could not be read (and why), and what readers could not learn.
    pub warnings: Vec<String>,
}

/// Reads every directory and target and compares them with HR as of `now`. A system that
/// cannot be read is left out with a warning rather than failing the report: an unreadable
/// Okta must not hide an active leaver in Confluence.
pub async fn gather(
    store: &Arc<dyn Store>,
    loaded: &Loaded,
    policy: &Policy,
    now: Timestamp,
) -> Result<Gathered> {
    let people = store
        .people(now - SignedDuration::from_hours(24 * 60))
        .await?;
    let grants = store.grants().await?;
    let desired = desired_state(policy, &people, &grants, now);
    let mut warnings = Vec::new();
    let mut directories = Vec::new();
    for (name, config) in &loaded.config.directories {
        let read = async {
            let reader = build_reader(name, config, &process_env)?;
            reader.read_accounts().await
        };
        match read.await {
            Ok(listing) => {
                warnings.extend(listing.warnings.iter().map(|w| format!("{name}: {w}")));
                directories.push((name.clone(), listing.accounts));
            }
            Err(e) => warnings.push(format!("{name}: not compared: {e}")),
        }
    }
    let mut targets: Vec<(String, ActualState)> = Vec::new();
    for (name, system) in &loaded.config.systems {
        let read = async {
            let target = open_target(name, system, store)?;
            target.read_state().await.map_err(anyhow::Error::from)
        };
        match read.await {
            Ok(state) => targets.push((name.clone(), state)),
            Err(e) => warnings.push(format!("{name}: not compared: {e:#}")),
        }
    }
    let admin_groups: BTreeSet<String> =
        loaded.config.status.admin_groups.iter().cloned().collect();
    let report = compare(&StatusInput {
        policy,
        people: &people,
        desired: &desired,
        directories: &directories,
        targets: &targets,
        matching: &loaded.config.matching,
        admin_groups: &admin_groups,
        now,
    });
    Ok(Gathered { report, warnings })
}

/// Keeps only the findings of `category` (and the people they name).
pub fn only(mut report: StatusReport, category: Category) -> StatusReport {
    report.findings.retain(|f| f.category == category);
    let named: BTreeSet<&str> = report
        .findings
        .iter()
        .filter_map(|f| f.employee_id.as_deref())
        .collect();
    report
        .people
        .retain(|p| named.contains(p.employee_id.as_str()));
    report
}

pub async fn run(global: &Global<'_>, args: &StatusArgs) -> Result<ExitCode> {
    let loaded = global.load_config()?;
    let policy = load_policy(&loaded.config.policy)?;
    let store = global.open_store().await?;
    let now = args.at.unwrap_or_else(Timestamp::now);
    let Gathered { report, warnings } = gather(&store, &loaded, &policy, now).await?;
    for w in &warnings {
        eprintln!("warning: {w}");
    }
    let report = match args.category {
        Some(c) => only(report, c),
        None => report,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    print!("{}", render(&report, args.category));
    Ok(ExitCode::SUCCESS)
}

fn render(report: &StatusReport, category: Option<Category>) -> String {
    let mut out = String::new();
    let categories: Vec<Category> = match category {
        Some(c) => vec![c],
        None => Category::ALL.to_vec(),
    };
    let totals: Vec<String> = categories
        .iter()
        .map(|c| format!("{} {c}", report.count(*c)))
        .collect();
    out.push_str(&format!("Status: {}\n", totals.join(", ")));
    for c in categories {
        let findings: Vec<_> = report.findings.iter().filter(|f| f.category == c).collect();
        if findings.is_empty() {
            continue;
        }
        out.push_str(&format!(
            "\n{} ({})\n",
            c.to_string().to_uppercase(),
            findings.len()
        ));
        for f in findings {
            let who = f.employee_id.as_deref().unwrap_or("(no person)");
            let account = f.account.as_deref().unwrap_or("(no account)");
            out.push_str(&format!(
                "  {:<14} {:<10} {:<36} {}\n",
                f.system, who, account, f.detail
            ));
        }
    }
    if category.is_none() && !report.conflicts.is_empty() {
        out.push_str(&format!(
            "\nIDENTITY CONFLICTS ({}): not merged, fix the records\n",
            report.conflicts.len()
        ));
        for c in &report.conflicts {
            out.push_str(&format!("  {c}\n"));
        }
    }
    out
}
