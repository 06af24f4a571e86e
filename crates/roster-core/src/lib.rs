//! Roster's domain, pure: people and policy in, desired state and plans out.
//!
//! This crate owns the hard thinking — policy evaluation, lifecycle timing, the plan diff,
//! safety checks and the audit chain's hashing — and does no I/O: no HTTP, no SQL, no clock.
//! Time is always an argument (`now`), which a clippy rule enforces.

pub mod audit;
pub mod condition;
pub mod desired;
pub mod directory;
pub mod intake;
pub mod matching;
pub mod model;
pub mod person;
pub mod plan;
pub mod policy;
pub mod quality;
pub mod reason;
pub mod render;
pub mod safety;
pub mod state;
pub mod status;
pub mod target;

pub use desired::{DesiredState, desired_state};
pub use person::{Person, PersonRecord, PersonStatus};
pub use plan::{Action, Change, Plan, plan};
pub use policy::Policy;
pub use reason::Reason;
pub use state::{Account, ActualState, Entitlement, Grant};
pub use target::{StepOutcome, Target, TargetError};
