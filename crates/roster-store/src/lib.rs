//! Roster's persistence: people and their history, quarantine, grants, plans and the apply
//! journal, the hash-chained audit log, and the history of who held what (for `access at`).
//!
//! One [`Store`] trait, two implementations: SQLite (a file, the default, created on first
//! run) and PostgreSQL (by URL, for production and several instances). Both run the same
//! migrations (`migrations/sqlite`, `migrations/postgres`, same numbering) and the same tests.

use std::collections::BTreeSet;

use async_trait::async_trait;
use jiff::Timestamp;
use roster_core::audit::{NewAuditEvent, StoredAuditEvent};
use roster_core::intake::Quarantined;
use roster_core::plan::{Action, Change, Plan};
use roster_core::{Grant, Person, PersonRecord};
use serde::{Deserialize, Serialize};

mod access;
mod common;
pub mod postgres;
mod scim;
mod scim_impl;
mod scim_sql;
pub mod sqlite;
mod sqlite_direct;
mod verify;

pub use access::{AccessFilter, AccessRecord};
pub use scim::*;
pub use verify::{VerifyError, verify_audit};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("database error while {context}: {message}")]
    Database { context: String, message: String },
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What one import of a source's full listing changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub source: String,
    /// People the source listed this time (valid records only).
    pub listed: usize,
    /// People the source listed last time (for the feed-shrink guard).
    pub previously_listed: usize,
    pub added: usize,
    pub changed: usize,
    pub unchanged: usize,
    /// People no longer listed, now marked absent.
    pub newly_absent: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlanStatus {
    /// Ready to apply.
    Pending,
    /// Over the safety threshold; waits for an admin's confirmation.
    Held,
    /// Confirmed by an admin after a hold.
    Confirmed,
    Applying,
    Applied,
    /// Replaced by a newer plan before it was applied.
    Superseded,
}

impl PlanStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PlanStatus::Pending => "pending",
            PlanStatus::Held => "held",
            PlanStatus::Confirmed => "confirmed",
            PlanStatus::Applying => "applying",
            PlanStatus::Applied => "applied",
            PlanStatus::Superseded => "superseded",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => PlanStatus::Pending,
            "held" => PlanStatus::Held,
            "confirmed" => PlanStatus::Confirmed,
            "applying" => PlanStatus::Applying,
            "applied" => PlanStatus::Applied,
            "superseded" => PlanStatus::Superseded,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StoredPlan {
    pub id: String,
    pub plan: Plan,
    pub status: PlanStatus,
    pub created_at: Timestamp,
    pub confirmed_by: Option<String>,
}

/// Journal state of one plan step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepState {
    Pending,
    /// Sent (or about to be sent) to the target; outcome not yet recorded.
    Started,
    Done,
    Failed,
}

impl StepState {
    pub fn as_str(self) -> &'static str {
        match self {
            StepState::Pending => "pending",
            StepState::Started => "started",
            StepState::Done => "done",
            StepState::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => StepState::Pending,
            "started" => StepState::Started,
            "done" => StepState::Done,
            "failed" => StepState::Failed,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepRecord {
    pub step: u32,
    pub state: StepState,
    pub attempts: u32,
    pub last_error: Option<String>,
}

/// A step the target carried out, with the audit event that records it.
#[derive(Debug, Clone, PartialEq)]
pub struct CompletedStep {
    pub step: u32,
    pub change: Change,
    pub event: NewAuditEvent,
}

/// A step of a manual target that a person carries out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManualTask {
    pub id: u64,
    pub system: String,
    pub action: Action,
    /// What to do, in words ("add ada@acme.example to group eng").
    pub description: String,
    /// `open` or `done`.
    pub state: String,
    pub created_at: Timestamp,
    pub done_at: Option<Timestamp>,
    pub done_by: Option<String>,
    pub note: Option<String>,
}

/// Everything Roster stores; SCIM storage is part of it (see [`ScimStore`]), so one
/// `Box<dyn Store>` serves the whole server.
#[async_trait]
pub trait Store: ScimStore + Send + Sync {
    /// `sqlite` or `postgres`, for messages and test names.
    fn backend(&self) -> &'static str;

    // People.

    /// Records one source's full listing as of `at`. New and changed people get a new version
    /// (the old one is kept, superseded at `at`); people no longer listed are marked absent,
    /// except those in `still_listed` (their records were quarantined, so the source still has
    /// them); people listed again lose their absent mark.
    async fn import_people(
        &self,
        source: &str,
        people: &[Person],
        still_listed: &BTreeSet<String>,
        at: Timestamp,
    ) -> Result<ImportSummary>;

    /// Every known person's current version, with versions superseded after `history_since`
    /// (newest first) and the absent mark.
    async fn people(&self, history_since: Timestamp) -> Result<Vec<PersonRecord>>;

    /// People as they were recorded at `at`.
    async fn people_at(&self, at: Timestamp) -> Result<Vec<Person>>;

    /// How many people the source's latest import listed, if it was ever imported (what the
    /// feed-shrink guard compares a new listing with before importing it).
    async fn source_listed(&self, source: &str) -> Result<Option<usize>>;

    // Quarantine.

    /// Replaces a source's quarantine with the records rejected by its latest import.
    async fn replace_quarantine(
        &self,
        source: &str,
        items: &[Quarantined],
        at: Timestamp,
    ) -> Result<()>;
    async fn quarantine(&self) -> Result<Vec<Quarantined>>;

    // Grants.

    async fn put_grant(&self, grant: &Grant) -> Result<()>;
    async fn grants(&self) -> Result<Vec<Grant>>;

    // Plans and the apply journal.

    /// Stores a plan with one pending journal row per change; returns its id.
    async fn save_plan(&self, plan: &Plan, status: PlanStatus) -> Result<String>;
    async fn plan(&self, id: &str) -> Result<StoredPlan>;
    /// The newest plan for a system, if any.
    async fn latest_plan(&self, system: &str) -> Result<Option<StoredPlan>>;
    async fn set_plan_status(&self, id: &str, status: PlanStatus, by: Option<&str>) -> Result<()>;
    async fn steps(&self, plan_id: &str) -> Result<Vec<StepRecord>>;
    /// Journals that these steps are about to be sent to the target (attempts + 1).
    async fn mark_steps_started(&self, plan_id: &str, steps: &[u32], at: Timestamp) -> Result<()>;
    /// In one transaction: marks the steps done, appends their audit events (in order) and
    /// updates the access history. Returns the audit sequence numbers given to the events.
    /// A step already done is skipped with its event, so a replay cannot log twice.
    async fn complete_steps(
        &self,
        plan_id: &str,
        steps: &[CompletedStep],
        at: Timestamp,
    ) -> Result<Vec<u64>>;
    async fn fail_step(&self, plan_id: &str, step: u32, error: &str, at: Timestamp) -> Result<()>;

    // Audit log.

    /// Appends events to the chain in one transaction; returns their sequence numbers.
    async fn append_audit(&self, events: &[NewAuditEvent]) -> Result<Vec<u64>>;
    /// Events with `seq > after`, in order, at most `limit`.
    async fn audit_page(&self, after: u64, limit: u32) -> Result<Vec<StoredAuditEvent>>;
    /// Events at or after `since`, with `seq > after`, in order, at most `limit`.
    async fn audit_since(
        &self,
        since: Timestamp,
        after: u64,
        limit: u32,
    ) -> Result<Vec<StoredAuditEvent>>;
    /// The last sequence number and hash, kept apart from the events so a deleted tail shows.
    async fn audit_head(&self) -> Result<Option<(u64, String)>>;

    // Manual targets.

    /// The open task for `action` in `system`, opened now if there is none. The flag says
    /// whether it was opened by this call (so the notification goes out once).
    async fn open_manual_task(
        &self,
        system: &str,
        action: &Action,
        description: &str,
        at: Timestamp,
    ) -> Result<(ManualTask, bool)>;
    /// Tasks of one system (or all), oldest first; only open ones if `open_only`.
    async fn manual_tasks(&self, system: Option<&str>, open_only: bool) -> Result<Vec<ManualTask>>;
    /// Marks a task done by `by`, with an audit event in the same transaction.
    async fn complete_manual_task(
        &self,
        id: u64,
        by: &str,
        note: Option<&str>,
        at: Timestamp,
    ) -> Result<ManualTask>;

    // Access history.

    /// Records what a target holds as read at `at`: accounts and entitlements not yet known
    /// open an interval ("observed in target"); known ones no longer seen are closed.
    async fn record_observation(
        &self,
        system: &str,
        state: &roster_core::ActualState,
        at: Timestamp,
    ) -> Result<()>;

    /// Who held what at `at`, and why.
    async fn access_at(&self, at: Timestamp, filter: &AccessFilter) -> Result<Vec<AccessRecord>>;
}

/// Opens the store a URL names: `sqlite://PATH` (created if missing) or `postgres://...`.
/// Runs migrations.
pub async fn open(url: &str) -> Result<Box<dyn Store>> {
    if url.starts_with("sqlite:") {
        Ok(Box::new(sqlite::SqliteStore::open(url).await?))
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Ok(Box::new(postgres::PgStore::open(url).await?))
    } else {
        Err(StoreError::Invalid(format!(
            "unsupported database URL \"{}\": use sqlite://PATH or postgres://USER@HOST/DB",
            redact_url(url)
        )))
    }
}

/// A database URL with any password replaced, safe to print.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
