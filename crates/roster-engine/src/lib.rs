//! Roster's engine: turns stored people and policy into stored plans, and applies plans to
//! targets through a journal so that an apply can crash and resume without repeating,
//! skipping or double-logging a change. Also the targets that live on Roster's own state: the
//! in-memory target (tests, the demo) and the manual target (apps with no API).

pub mod apply;
pub mod manual;
pub mod memory;
pub mod sync;

pub use apply::{ApplyError, ApplyOptions, ApplyReport, Progress, apply_plan};
pub use manual::{ManualTarget, Notifier};
pub use memory::MemoryTarget;
pub use sync::{ImportOutcome, SyncError, import, import_source, plan_system};
