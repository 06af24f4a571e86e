//! Read-only commands: `roster policy check`, `roster access at`, `roster quarantine list`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use jiff::Timestamp;
use roster_core::Policy;
use roster_store::AccessFilter;

use super::Global;

pub fn policy_check(file: &Path) -> Result<ExitCode> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    match Policy::parse(&text) {
        Ok(policy) => {
            println!(
                "{}: ok — {} role(s), {} rule(s), {} space(s), {} managed group(s), {} grant(s); time zone {}",
                file.display(),
                policy.roles.len(),
                policy.rules.len(),
                policy.spaces.len(),
                policy.managed_groups().len(),
                policy.grants.len(),
                policy.time_zone_name
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                println!("{}:{}:{}: {}", file.display(), e.line, e.column, e.message);
            }
            println!("{} problem(s) found", errors.0.len());
            Ok(ExitCode::FAILURE)
        }
    }
}

pub async fn access_at(
    global: &Global<'_>,
    at: Timestamp,
    filter: &AccessFilter,
    json: bool,
) -> Result<ExitCode> {
    let store = global.open_store().await?;
    let records = store.access_at(at, filter).await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&records)?);
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() {
        println!("No recorded access at {at} matches.");
        return Ok(ExitCode::SUCCESS);
    }
    println!("Access at {at} ({} entitlement(s)):", records.len());
    let mut current = None;
    for r in &records {
        let who = (&r.system, &r.email);
        if current != Some(who) {
            let id = r.employee_id.as_deref().unwrap_or("no employee id");
            println!("\n{} ({id}) in {}", r.email, r.system);
            current = Some(who);
        }
        let events = if r.audit_events.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = r.audit_events.iter().map(|e| format!("#{e}")).collect();
            format!("; audit {}", list.join(", "))
        };
        println!(
            "  {:<32} {:<22} since {}  why: {}{events}",
            r.entitlement, r.via, r.since, r.reason
        );
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn quarantine_list(global: &Global<'_>, json: bool) -> Result<ExitCode> {
    let store = global.open_store().await?;
    let items = store.quarantine().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&items)?);
    } else if items.is_empty() {
        println!("No HR records are quarantined.");
    } else {
        println!("{} HR record(s) quarantined (not imported):", items.len());
        for q in &items {
            println!("  {q}");
        }
    }
    Ok(ExitCode::SUCCESS)
}
