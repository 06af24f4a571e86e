//! One sync step: record what a source says, read what a target holds, and store the plan
//! that reconciles them.

use jiff::{SignedDuration, Timestamp};
use roster_core::intake::Intake;
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

/// Records a source's validated listing and its quarantine as of `now`.
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
