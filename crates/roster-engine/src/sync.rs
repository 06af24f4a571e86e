//! One sync step: record what a source says, read what a target holds, and store the plan
//! that reconciles them.

use jiff::{SignedDuration, Timestamp};
use roster_core::audit::NewAuditEvent;
use roster_core::intake::Intake;
use roster_core::quality::{self, FeedHalt};
use roster_core::{Plan, Policy, Target, TargetError, desired_state, plan};
use roster_store::{ImportSummary, PlanStatus, Store, StoreError};

/// How far back person history is loaded: the mover grace period and the plan's
/// "Engineering → Sales" explanations look at changes this recent.
const HISTORY: SignedDuration = SignedDuration::from_hours(24 * 60);

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot read {system}: {error}")]
    Target { system: String, error: TargetError },
}

/// What became of a source's listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    Imported {
        summary: ImportSummary,
        /// Records quarantined by intake or the quality gate.
        quarantined: Vec<roster_core::intake::Quarantined>,
    },
    /// The feed-shrink guard stopped it: nothing was recorded.
    Halted(FeedHalt),
}

/// Takes a source's validated listing through the data-quality gate and the feed-shrink
/// guard, then records it (and its quarantine) as of `now`. A halt is written to the audit
/// log, so the alert is on record even if nobody watched the sync. `accept_shrink` imports a
/// shrunken listing anyway (an admin who knows the people really left).
pub async fn import_source(
    store: &dyn Store,
    policy: &Policy,
    source: &str,
    intake: Intake,
    now: Timestamp,
    accept_shrink: bool,
) -> Result<ImportOutcome, StoreError> {
    let intake = quality::gate(source, intake, &policy.departments);
    let previously = store.source_listed(source).await?;
    if let Some(halt) = quality::feed_shrink(
        source,
        previously,
        intake.people.len(),
        policy.safety.max_feed_shrink,
    ) {
        let event = NewAuditEvent {
            at: now,
            actor: "roster sync".into(),
            action: if accept_shrink {
                "accept shrunken feed"
            } else {
                "halt sync"
            }
            .into(),
            system: None,
            subject: format!("source:{source}"),
            detail: serde_json::json!({
                "source": source,
                "previously_listed": halt.previously_listed,
                "listed": halt.listed,
                "message": halt.message,
            }),
        };
        store.append_audit(&[event]).await?;
        if !accept_shrink {
            return Ok(ImportOutcome::Halted(halt));
        }
    }
    let summary = import(store, source, &intake, now).await?;
    Ok(ImportOutcome::Imported {
        summary,
        quarantined: intake.quarantined,
    })
}

/// Records a source's validated listing and its quarantine as of `now`, unchecked (tests and
/// benchmarks; a sync goes through [`import_source`]).
pub async fn import(
    store: &dyn Store,
    source: &str,
    intake: &Intake,
    now: Timestamp,
) -> Result<ImportSummary, StoreError> {
    let summary = store
        .import_people(source, &intake.people, &intake.quarantined_ids, now)
        .await?;
    store
        .replace_quarantine(source, &intake.quarantined, now)
        .await?;
    Ok(summary)
}

/// Plans one system at `now` and stores the plan (held if the safety check says so).
/// Older plans for the system that were never applied are marked superseded.
pub async fn plan_system(
    store: &dyn Store,
    policy: &Policy,
    target: &dyn Target,
    now: Timestamp,
) -> Result<(String, Plan), SyncError> {
    let people = store.people(now - HISTORY).await?;
    let grants = store.grants().await?;
    let desired = desired_state(policy, &people, &grants, now);
    let actual = target
        .read_state()
        .await
        .map_err(|error| SyncError::Target {
            system: target.system().to_string(),
            error,
        })?;
    store
        .record_observation(target.system(), &actual, now)
        .await?;
    let plan = plan(target.system(), policy, &desired, &actual, now);
    if let Some(previous) = store.latest_plan(target.system()).await?
        && matches!(previous.status, PlanStatus::Pending | PlanStatus::Held)
    {
        store
            .set_plan_status(&previous.id, PlanStatus::Superseded, None)
            .await?;
    }
    let status = if plan.hold.is_some() {
        PlanStatus::Held
    } else {
        PlanStatus::Pending
    };
    let id = store.save_plan(&plan, status).await?;
    Ok((id, plan))
}
