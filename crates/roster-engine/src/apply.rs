//! The apply engine: executes a stored plan against a target, wave by wave. The steps of a
//! wave ([`roster_core::Action::wave`]) do not depend on each other, so up to
//! [`ApplyOptions::concurrency`] of them are in flight at once; that is what lets a sync use
//! a system's whole request rate when each request takes a network round trip.
//!
//! Each batch of steps is journaled as started before it is sent and, after the target
//! answers, marked done together with its audit events in one transaction. A crash anywhere
//! leaves steps "started" at worst; a resumed apply sends them again, the target reports them
//! already done (every action is idempotent), and only then are they logged — so each change
//! reaches the audit log exactly once, whatever happened in between.

use std::time::Duration;

use futures_util::stream::{self, StreamExt};
use jiff::Timestamp;
use roster_core::audit::NewAuditEvent;
use roster_core::plan::Change;
use roster_core::{StepOutcome, Target, TargetError};
use roster_store::{CompletedStep, PlanStatus, StepState, Store, StoreError};
use serde_json::json;

#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Who is applying, as the audit log records it.
    pub actor: String,
    /// Confirms a plan held by the safety check.
    pub confirm: bool,
    /// Steps journaled and committed together (bounds repeated work after a crash).
    pub batch_size: usize,
    /// Attempts per step on transient errors before it is marked failed.
    pub max_attempts: u32,
    /// First back-off delay; doubled on each retry.
    pub retry_delay: Duration,
    /// Steps of one wave in flight at once (the target's HTTP client may allow fewer
    /// requests; it also paces them to the system's rate limit).
    pub concurrency: usize,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            actor: "roster apply".into(),
            confirm: false,
            batch_size: 200,
            max_attempts: 5,
            retry_delay: Duration::from_millis(200),
            concurrency: 16,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    pub plan_id: String,
    pub total_steps: usize,
    /// Steps the target carried out in this run.
    pub applied: usize,
    /// Steps the target already reflected (resumed or retried work).
    pub already_done: usize,
    /// Steps done by an earlier run of this plan.
    pub previously_done: usize,
    pub failed: Vec<(u32, String)>,
    /// Steps waiting for a person (manual targets): done by a later apply once the task is.
    pub waiting: Vec<(u32, String)>,
}

impl ApplyReport {
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.waiting.is_empty()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error("{0}")]
    Held(String),
    #[error("plan {0} was superseded by a newer plan; plan again")]
    Superseded(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Progress of a running apply: steps finished so far out of the total.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub done: usize,
    pub total: usize,
}

fn subject(change: &Change) -> String {
    use roster_core::plan::Action;
    match &change.action {
        Action::CreateGroup { group }
        | Action::GrantGroupSpacePermission { group, .. }
        | Action::RevokeGroupSpacePermission { group, .. } => format!("group:{group}"),
        other => other.account().map(|a| a.email.clone()).unwrap_or_default(),
    }
}

/// Applies a stored plan (or resumes it). `clock` gives the time for journal and audit entries.
pub async fn apply_plan(
    store: &dyn Store,
    target: &dyn Target,
    plan_id: &str,
    options: &ApplyOptions,
    clock: &(dyn Fn() -> Timestamp + Sync),
    progress: &mut (dyn FnMut(Progress) + Send),
) -> Result<ApplyReport, ApplyError> {
    let stored = store.plan(plan_id).await?;
    match stored.status {
        PlanStatus::Held if !options.confirm => {
            let message = stored.plan.hold.as_ref().map_or_else(
                || "plan is held until an admin confirms it".to_string(),
                |h| h.message.clone(),
            );
            return Err(ApplyError::Held(message));
        }
        PlanStatus::Held => {
            store
                .append_audit(&[NewAuditEvent {
                    at: clock(),
                    actor: options.actor.clone(),
                    action: "confirm held plan".into(),
                    system: Some(stored.plan.system.clone()),
                    subject: format!("plan:{plan_id}"),
                    detail: json!({
                        "plan_id": plan_id,
                        "hold": stored.plan.hold.as_ref().map(|h| h.message.clone()),
                    }),
                }])
                .await?;
            store
                .set_plan_status(plan_id, PlanStatus::Confirmed, Some(&options.actor))
                .await?;
        }
        PlanStatus::Superseded => return Err(ApplyError::Superseded(plan_id.to_string())),
        _ => {}
    }
    let plan = stored.plan;
    let steps = store.steps(plan_id).await?;
    let mut report = ApplyReport {
        plan_id: plan_id.to_string(),
        total_steps: plan.changes.len(),
        ..ApplyReport::default()
    };
    let todo: Vec<u32> = steps
        .iter()
        .filter(|s| s.state != StepState::Done)
        .map(|s| s.step)
        .collect();
    // Steps an earlier run sent (or may have sent): the target looks before it writes them.
    let sent_before: std::collections::HashSet<u32> = steps
        .iter()
        .filter(|s| s.state != StepState::Done && s.state != StepState::Pending)
        .map(|s| s.step)
        .collect();
    report.previously_done = steps.len() - todo.len();
    if !todo.is_empty() {
        store
            .set_plan_status(plan_id, PlanStatus::Applying, None)
            .await?;
    }
    progress(Progress {
        done: report.previously_done,
        total: report.total_steps,
    });

    for batch in todo.chunks(options.batch_size.max(1)) {
        store.mark_steps_started(plan_id, batch, clock()).await?;
        let mut completed = Vec::with_capacity(batch.len());
        // A wave's steps run together; the next wave waits for them (plan order is wave order).
        for wave in batch.chunk_by(|a, b| {
            let wave_of = |s: &u32| plan.changes.get(*s as usize).map(|c| c.action.wave());
            wave_of(a) == wave_of(b)
        }) {
            // Built in a loop, not by a closure over `wave`: a closure's borrow is too
            // general for the Send bound of the futures it returns.
            let mut steps = Vec::with_capacity(wave.len());
            for &step in wave {
                if let Some(change) = plan.changes.get(step as usize) {
                    let first = !sent_before.contains(&step);
                    steps.push(apply_step(target, step, change, options, first));
                }
            }
            let mut outcomes: Vec<(u32, Result<StepOutcome, TargetError>)> = stream::iter(steps)
                .buffer_unordered(options.concurrency.max(1))
                .collect()
                .await;
            // The journal and the audit log list a wave in plan order, whatever finished first.
            outcomes.sort_by_key(|(step, _)| *step);
            for (step, outcome) in outcomes {
                let change = &plan.changes[step as usize];
                match outcome {
                    Ok(outcome) => {
                        match outcome {
                            StepOutcome::Applied => report.applied += 1,
                            StepOutcome::AlreadyDone => report.already_done += 1,
                        }
                        completed.push(CompletedStep {
                            step,
                            change: change.clone(),
                            event: NewAuditEvent {
                                at: clock(),
                                actor: options.actor.clone(),
                                action: change.action.kind().to_string(),
                                system: Some(plan.system.clone()),
                                subject: subject(change),
                                detail: json!({
                                    "plan_id": plan_id,
                                    "step": step,
                                    "change": change,
                                    "why": change.reason.to_string(),
                                    "outcome": match outcome {
                                        StepOutcome::Applied => "applied",
                                        StepOutcome::AlreadyDone => "already in place",
                                    },
                                }),
                            },
                        });
                    }
                    Err(e) => {
                        let message = e.to_string();
                        store.fail_step(plan_id, step, &message, clock()).await?;
                        match e {
                            TargetError::Waiting(_) => report.waiting.push((step, message)),
                            _ => report.failed.push((step, message)),
                        }
                    }
                }
            }
        }
        store.complete_steps(plan_id, &completed, clock()).await?;
        progress(Progress {
            done: report.previously_done + report.applied + report.already_done,
            total: report.total_steps,
        });
    }

    if report.is_complete() {
        store
            .set_plan_status(plan_id, PlanStatus::Applied, None)
            .await?;
    }
    Ok(report)
}

async fn apply_step(
    target: &dyn Target,
    step: u32,
    change: &Change,
    options: &ApplyOptions,
    first: bool,
) -> (u32, Result<StepOutcome, TargetError>) {
    (step, apply_with_retry(target, change, options, first).await)
}

async fn apply_with_retry(
    target: &dyn Target,
    change: &Change,
    options: &ApplyOptions,
    first: bool,
) -> Result<StepOutcome, TargetError> {
    let mut delay = options.retry_delay;
    let mut attempt = 1;
    loop {
        let outcome = if first && attempt == 1 {
            target.apply_first(&change.action).await
        } else {
            target.apply(&change.action).await
        };
        match outcome {
            Err(TargetError::Transient(_)) if attempt < options.max_attempts => {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
                attempt += 1;
            }
            other => return other,
        }
    }
}
