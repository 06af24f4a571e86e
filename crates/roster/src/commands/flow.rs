//! `roster plan` and `roster apply`: import → read target → plan → (apply → audit).

use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use roster_connectors::SourceConfig;
use roster_connectors::directory::process_env;
use roster_connectors::hr::build_source;
use roster_core::intake::Intake;
use roster_core::quality::FeedHalt;
use roster_core::render::{headline, render_plan};
use roster_core::{Plan, Policy, Target};
use roster_engine::{
    ApplyError, ApplyOptions, ApplyReport, ImportOutcome, apply_plan, import_source, plan_system,
};
use roster_store::{PlanStatus, Store};
use serde_json::json;

use super::{Global, load_policy, open_target, selected_systems};
use crate::config::Loaded;
use crate::output::ProgressLine;
use crate::{ApplyArgs, EXIT_HALTED, EXIT_HELD, PlanArgs};

/// A plan just computed and stored.
pub struct Planned {
    pub id: String,
    pub plan: Plan,
}

/// Imports every configured HR source as of `at`, telling the user what changed and which
/// records were quarantined (on standard error, so `--json` output stays clean). A source
/// halted by the feed-shrink guard (and not in `accept_shrink`) stops the import there: the
/// halt comes back for the caller to report, and nothing after it is planned.
pub async fn import_sources(
    store: &dyn Store,
    loaded: &Loaded,
    policy: &Policy,
    hr_override: Option<&Path>,
    accept_shrink: &[String],
    at: Timestamp,
) -> Result<Option<FeedHalt>> {
    let sources = &loaded.config.sources;
    if hr_override.is_some() && sources.len() != 1 {
        bail!(
            "--hr replaces the HR source's file, but {} configures {} sources",
            loaded.file.display(),
            sources.len()
        );
    }
    for (name, source) in sources {
        let intake = read_source(name, source, policy, hr_override).await?;
        let outcome = import_source(
            store,
            policy,
            name,
            intake,
            at,
            accept_shrink.contains(name),
        )
        .await?;
        if let Some(halt) = report_import(name, outcome) {
            return Ok(Some(halt));
        }
    }
    Ok(None)
}

/// Reads one source's whole listing and validates it (`hr_override` replaces a CSV source's
/// file). A source that cannot be read fails here: nothing of it is imported.
pub async fn read_source(
    name: &str,
    source: &SourceConfig,
    policy: &Policy,
    hr_override: Option<&Path>,
) -> Result<Intake> {
    Ok(match source {
        SourceConfig::Csv(csv) => {
            let mut csv = csv.clone();
            if let Some(path) = hr_override {
                csv.path = path.to_path_buf();
            }
            roster_connectors::load(&csv, &policy.custom_attributes)
                .with_context(|| format!("HR source {name}"))?
        }
        other => {
            let source = build_source(name, other, &process_env)?;
            source
                .list()
                .await?
                .validate(name, &policy.custom_attributes)
        }
    })
}

/// Tells the user what an import changed and which records were quarantined (on standard
/// error, so `--json` output stays clean); returns the halt, if the guard stopped it.
pub fn report_import(name: &str, outcome: ImportOutcome) -> Option<FeedHalt> {
    let (summary, quarantined) = match outcome {
        ImportOutcome::Imported {
            summary,
            quarantined,
        } => (summary, quarantined),
        ImportOutcome::Halted(halt) => return Some(halt),
    };
    eprintln!(
        "{name}: {} people listed ({} new, {} changed, {} no longer listed)",
        summary.listed, summary.added, summary.changed, summary.newly_absent
    );
    if !quarantined.is_empty() {
        eprintln!(
            "{name}: {} record(s) quarantined, not imported (their people keep their last good record):",
            quarantined.len()
        );
        for q in &quarantined {
            eprintln!("  {q}");
        }
    }
    None
}

/// Reports a halted sync; returns the exit code it deserves.
pub fn report_halt(halt: &FeedHalt) -> ExitCode {
    eprintln!("{}", halt.message);
    ExitCode::from(EXIT_HALTED)
}

/// Plans each selected system at `at` and stores the plans.
pub async fn plan_systems(
    store: &Arc<dyn Store>,
    loaded: &Loaded,
    policy: &Policy,
    only: Option<&str>,
    at: Timestamp,
) -> Result<Vec<Planned>> {
    let mut out = Vec::new();
    for (name, system) in selected_systems(loaded, only)? {
        let target = open_target(name, system, store)?;
        let (id, plan) = plan_system(store.as_ref(), policy, target.as_ref(), at).await?;
        out.push(Planned { id, plan });
    }
    Ok(out)
}

pub async fn plan(global: &Global<'_>, args: &PlanArgs) -> Result<ExitCode> {
    let loaded = global.load_config()?;
    let policy = load_policy(&loaded.config.policy)?;
    let store = global.open_store().await?;
    let at = args.at.unwrap_or_else(Timestamp::now);
    if let Some(halt) = import_sources(
        store.as_ref(),
        &loaded,
        &policy,
        args.hr.as_deref(),
        &args.accept_shrink,
        at,
    )
    .await?
    {
        return Ok(report_halt(&halt));
    }
    let planned = plan_systems(&store, &loaded, &policy, args.system.as_deref(), at).await?;
    let mut held = false;
    for p in &planned {
        if args.json {
            let status = if p.plan.hold.is_some() {
                PlanStatus::Held
            } else {
                PlanStatus::Pending
            };
            println!(
                "{}",
                serde_json::to_string(&json!({
                    "plan_id": p.id,
                    "status": status,
                    "plan": p.plan,
                }))?
            );
        } else {
            println!("Plan {} for {}", p.id, p.plan.system);
            println!("{}", render_plan(&p.plan));
        }
        if let Some(hold) = &p.plan.hold {
            held = true;
            eprintln!(
                "HELD: {}\n  Review the plan; to go ahead anyway: roster apply {} --confirm",
                hold.message, p.id
            );
        } else if !p.plan.is_empty() {
            eprintln!("To apply it: roster apply {}", p.id);
        }
    }
    Ok(if held {
        ExitCode::from(EXIT_HELD)
    } else {
        ExitCode::SUCCESS
    })
}

/// Applies one stored plan to its system with a progress line.
pub async fn apply_stored(
    store: &Arc<dyn Store>,
    loaded: &Loaded,
    plan_id: &str,
    confirm: bool,
    at: Option<Timestamp>,
) -> Result<ApplyReport, ApplyError> {
    let stored = store.plan(plan_id).await?;
    let system = loaded
        .config
        .systems
        .get(&stored.plan.system)
        .ok_or_else(|| {
            ApplyError::Store(roster_store::StoreError::Invalid(format!(
                "plan {plan_id} is for system \"{}\", which {} does not configure",
                stored.plan.system,
                loaded.file.display()
            )))
        })?;
    let target = open_target(&stored.plan.system, system, store)
        .map_err(|e| ApplyError::Store(roster_store::StoreError::Invalid(format!("{e:#}"))))?;
    let options = ApplyOptions {
        confirm,
        batch_size: loaded.config.apply.batch_size,
        max_attempts: loaded.config.apply.max_attempts,
        ..ApplyOptions::default()
    };
    apply_to(store.as_ref(), target.as_ref(), plan_id, &options, at).await
}

/// Applies a stored plan to `target` with a progress line.
pub async fn apply_to(
    store: &dyn Store,
    target: &dyn Target,
    plan_id: &str,
    options: &ApplyOptions,
    at: Option<Timestamp>,
) -> Result<ApplyReport, ApplyError> {
    // Replaying an export (`--at`) records the apply at that instant too, so access history
    // and the audit log tell the replayed story in order.
    let clock = move || at.unwrap_or_else(Timestamp::now);
    let mut line = ProgressLine::new(format!("applying plan {plan_id}"));
    let report = apply_plan(store, target, plan_id, options, &clock, &mut |p| {
        line.update(p.done as u64, Some(p.total as u64))
    })
    .await;
    line.finish();
    report
}

/// Prints an apply's outcome; returns the exit code it deserves.
pub fn report_apply(system: &str, report: &ApplyReport) -> ExitCode {
    let mut text = format!(
        "{system}: plan {} — {} step(s) applied",
        report.plan_id, report.applied
    );
    if report.already_done > 0 {
        text.push_str(&format!(", {} already in place", report.already_done));
    }
    if report.previously_done > 0 {
        text.push_str(&format!(
            ", {} done by an earlier run",
            report.previously_done
        ));
    }
    println!("{text}");
    if !report.waiting.is_empty() {
        println!(
            "{} step(s) wait for a person (manual tasks; `roster task list`); run `roster apply` again once they are done:",
            report.waiting.len()
        );
        for (step, message) in &report.waiting {
            println!("  step {step}: {message}");
        }
    }
    if report.failed.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "{} step(s) failed; fix the cause and run `roster apply {}` again to retry them:",
        report.failed.len(),
        report.plan_id
    );
    for (step, error) in &report.failed {
        eprintln!("  step {step}: {error}");
    }
    ExitCode::FAILURE
}

pub async fn apply(global: &Global<'_>, args: &ApplyArgs) -> Result<ExitCode> {
    let loaded = global.load_config()?;
    let shared = global.open_store().await?;
    let store = shared.as_ref();
    let at = args.plan.at;

    let mut to_apply: Vec<(String, String)> = Vec::new();
    if let Some(id) = &args.plan_id {
        let stored = store.plan(id).await?;
        to_apply.push((stored.plan.system.clone(), id.clone()));
    } else {
        let policy = load_policy(&loaded.config.policy)?;
        let mut imported = false;
        for (name, _) in selected_systems(&loaded, args.plan.system.as_deref())? {
            let latest = store.latest_plan(name).await?;
            if let Some(p) =
                latest.filter(|p| matches!(p.status, PlanStatus::Applying | PlanStatus::Confirmed))
            {
                eprintln!("{name}: resuming interrupted plan {}", p.id);
                to_apply.push((name.clone(), p.id));
                continue;
            }
            if !imported {
                if let Some(halt) = import_sources(
                    store,
                    &loaded,
                    &policy,
                    args.plan.hr.as_deref(),
                    &args.plan.accept_shrink,
                    at.unwrap_or_else(Timestamp::now),
                )
                .await?
                {
                    return Ok(report_halt(&halt));
                }
                imported = true;
            }
            let planned = plan_systems(
                &shared,
                &loaded,
                &policy,
                Some(name),
                at.unwrap_or_else(Timestamp::now),
            )
            .await?;
            for p in planned {
                println!("Plan {} for {}: {}", p.id, name, headline(&p.plan));
                if !p.plan.is_empty() {
                    to_apply.push((name.clone(), p.id));
                }
            }
        }
    }

    let mut code = ExitCode::SUCCESS;
    for (system, id) in to_apply {
        match apply_stored(&shared, &loaded, &id, args.confirm, at).await {
            Ok(report) => {
                if report_apply(&system, &report) != ExitCode::SUCCESS {
                    code = ExitCode::FAILURE;
                }
            }
            Err(ApplyError::Held(message)) => {
                eprintln!(
                    "HELD: plan {id} for {system} was not applied: {message}\n  Review it with `roster plan`; to go ahead anyway: roster apply {id} --confirm"
                );
                code = ExitCode::from(EXIT_HELD);
            }
            Err(e) => return Err(e).with_context(|| format!("applying plan {id} to {system}")),
        }
    }
    Ok(code)
}
