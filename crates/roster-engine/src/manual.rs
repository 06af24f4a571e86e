//! The manual target, for applications with no API: each plan step becomes a task that a
//! person carries out. The step is done when someone marks the task done (`roster task done`),
//! which the audit log records with their name; the next apply then finds it in place.
//!
//! The target's state is what the completed tasks say was done, replayed in order with the
//! reference semantics of `roster_core::model`.

use std::sync::Arc;

use async_trait::async_trait;
use jiff::Timestamp;
use roster_core::plan::Action;
use roster_core::render::describe;
use roster_core::{ActualState, StepOutcome, Target, TargetError};
use roster_store::{ManualTask, Store};

/// Tells people that a task is waiting for them (a webhook, a chat message, ...).
#[async_trait]
pub trait Notifier: Send + Sync {
    async fn task_opened(&self, task: &ManualTask) -> Result<(), String>;
}

pub struct ManualTarget {
    system: String,
    store: Arc<dyn Store>,
    notifier: Option<Arc<dyn Notifier>>,
}

impl ManualTarget {
    pub fn new(system: impl Into<String>, store: Arc<dyn Store>) -> Self {
        ManualTarget {
            system: system.into(),
            store,
            notifier: None,
        }
    }

    pub fn with_notifier(mut self, notifier: Arc<dyn Notifier>) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// The task text: who and what.
    pub fn task_description(action: &Action) -> String {
        match action.account() {
            Some(a) => format!("{} ({}): {}", a.email, a.employee_id, describe(action)),
            None => describe(action),
        }
    }
}

fn store_error(e: roster_store::StoreError) -> TargetError {
    TargetError::Transient(format!("cannot reach Roster's database: {e}"))
}

#[async_trait]
impl Target for ManualTarget {
    fn system(&self) -> &str {
        &self.system
    }

    async fn read_state(&self) -> Result<ActualState, TargetError> {
        let mut state = ActualState::default();
        let mut done: Vec<ManualTask> = self
            .store
            .manual_tasks(Some(&self.system), false)
            .await
            .map_err(store_error)?
            .into_iter()
            .filter(|t| t.state == "done")
            .collect();
        done.sort_by_key(|t| (t.done_at, t.id));
        // People may mark tasks done in any order (a membership before its group): replay
        // until nothing more applies. What never applies changes nothing; the plan asks again.
        let mut pending: Vec<&ManualTask> = done.iter().collect();
        loop {
            let before = pending.len();
            pending.retain(|task| {
                state
                    .apply(&task.action, |a| format!("manual-{}", a.employee_id))
                    .is_err()
            });
            if pending.is_empty() || pending.len() == before {
                break;
            }
        }
        Ok(state)
    }

    async fn apply(&self, action: &Action) -> Result<StepOutcome, TargetError> {
        let mut state = self.read_state().await?;
        // A step whose prerequisites are not done yet (the account, the group) still gets its
        // task now: the person sees the whole list and works through it in order.
        match state.apply(action, |a| format!("manual-{}", a.employee_id)) {
            Ok(StepOutcome::AlreadyDone) => Ok(StepOutcome::AlreadyDone),
            Ok(StepOutcome::Applied) | Err(_) => {
                let description = Self::task_description(action);
                let (task, opened) = self
                    .store
                    .open_manual_task(&self.system, action, &description, Timestamp::now())
                    .await
                    .map_err(store_error)?;
                let mut note = String::new();
                if opened && let Some(notifier) = &self.notifier {
                    // A failed notification does not lose the task: it is listed by
                    // `roster task list` either way.
                    if let Err(e) = notifier.task_opened(&task).await {
                        note = format!(" (notification failed: {e})");
                    }
                }
                Err(TargetError::Waiting(format!(
                    "task {} in {}: {}{note} — when it is done: roster task done {} --by EMAIL",
                    task.id, self.system, task.description, task.id
                )))
            }
        }
    }
}
