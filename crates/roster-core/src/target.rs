//! The boundary to a system Roster provisions into. Connectors implement [`Target`].

use async_trait::async_trait;

use crate::plan::Action;

/// What a target did with one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepOutcome {
    /// The change was made.
    Applied,
    /// The target already was in the wanted state (a retried or resumed step).
    AlreadyDone,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// Worth retrying later: timeouts, 5xx, rate limits.
    #[error("temporary failure: {0}")]
    Transient(String),
    /// Will fail again until someone fixes data, credentials or permissions.
    #[error("{0}")]
    Permanent(String),
    /// A person has to carry the step out (a manual target's task is open); the step is done
    /// when a later apply finds it done. Not retried in the meantime.
    #[error("waiting: {0}")]
    Waiting(String),
}

/// A system Roster provisions into. Every operation must be idempotent: applying an action the
/// target already reflects returns [`StepOutcome::AlreadyDone`], never a duplicate or an error,
/// because a resumed apply repeats the steps that were in flight when it stopped.
#[async_trait]
pub trait Target: Send + Sync {
    /// The system's name, as plans and the audit log refer to it.
    fn system(&self) -> &str;
    /// Reads everything Roster manages: accounts with their entitlements, groups, group space permissions.
    async fn read_state(&self) -> Result<crate::state::ActualState, TargetError>;
    async fn apply(&self, action: &Action) -> Result<StepOutcome, TargetError>;
    /// The first attempt of a step that was never sent before (not a retry, not a step resumed
    /// after a crash), planned from a read moments ago. A target may write without looking
    /// first where writing what is already there is harmless (adding a member twice), saving
    /// the look-up a repeated step needs; it then reports [`StepOutcome::Applied`]. By
    /// default the same as [`Target::apply`].
    async fn apply_first(&self, action: &Action) -> Result<StepOutcome, TargetError> {
        self.apply(action).await
    }
}
