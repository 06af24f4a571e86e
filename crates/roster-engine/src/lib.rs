//! Roster's engine: turns stored people and policy into stored plans, and applies plans to
//! targets through a journal so that an apply can crash and resume without repeating,
//! skipping or double-logging a change. Also the in-memory target used by tests and the demo.

pub mod apply;
pub mod memory;
pub mod sync;

pub use apply::{ApplyError, ApplyOptions, ApplyReport, Progress, apply_plan};
pub use memory::MemoryTarget;
pub use sync::{SyncError, import, plan_system};
