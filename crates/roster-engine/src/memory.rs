//! The in-memory target: [`ActualState`] behind a lock, optionally kept in a JSON file so that
//! separate `roster plan` and `roster apply` runs (and a killed and restarted apply) see the
//! same system. It follows the reference semantics of `roster_core::model` exactly.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use roster_core::plan::Action;
use roster_core::{ActualState, StepOutcome, Target, TargetError};

pub struct MemoryTarget {
    system: String,
    state: Mutex<ActualState>,
    file: Option<PathBuf>,
    latency: Duration,
}

impl MemoryTarget {
    pub fn new(system: impl Into<String>, state: ActualState) -> Self {
        MemoryTarget {
            system: system.into(),
            state: Mutex::new(state),
            file: None,
            latency: Duration::ZERO,
        }
    }

    /// Opens (or starts) a target whose state lives in `path`; every change is written
    /// through atomically before it is reported done.
    pub fn open_file(system: impl Into<String>, path: &Path) -> Result<Self, TargetError> {
        let state = match std::fs::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                TargetError::Permanent(format!(
                    "{} is not a target state file: {e}",
                    path.display()
                ))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ActualState::default(),
            Err(e) => {
                return Err(TargetError::Permanent(format!(
                    "cannot read {}: {e}",
                    path.display()
                )));
            }
        };
        let mut t = MemoryTarget::new(system, state);
        t.file = Some(path.to_path_buf());
        Ok(t)
    }

    /// Simulated latency per write, to make long applies observable (demos, kill tests).
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    pub fn snapshot(&self) -> ActualState {
        self.lock().clone()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ActualState> {
        // A panic while holding the lock cannot leave the state half-changed: each action
        // mutates it in one step, so the poisoned value is still consistent.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn persist(&self, state: &ActualState) -> Result<(), TargetError> {
        let Some(path) = &self.file else {
            return Ok(());
        };
        let text = serde_json::to_string(state)
            .map_err(|e| TargetError::Permanent(format!("cannot serialise target state: {e}")))?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, text)
            .and_then(|_| std::fs::rename(&tmp, path))
            .map_err(|e| TargetError::Transient(format!("cannot write {}: {e}", path.display())))
    }
}

#[async_trait]
impl Target for MemoryTarget {
    fn system(&self) -> &str {
        &self.system
    }

    async fn read_state(&self) -> Result<ActualState, TargetError> {
        Ok(self.snapshot())
    }

    async fn apply(&self, action: &Action) -> Result<StepOutcome, TargetError> {
        if !self.latency.is_zero() {
            tokio::time::sleep(self.latency).await;
        }
        let new_id = |a: &roster_core::plan::AccountRef| format!("mem-{}", a.employee_id);
        let mut state = self.lock();
        if self.file.is_none() {
            return state.apply(action, new_id);
        }
        // Write through before reporting success, so a crash never loses a change it reported.
        let mut next = state.clone();
        let outcome = next.apply(action, new_id)?;
        if outcome == StepOutcome::Applied {
            self.persist(&next)?;
            *state = next;
        }
        Ok(outcome)
    }
}
