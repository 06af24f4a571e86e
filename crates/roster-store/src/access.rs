//! Point-in-time access: who held which entitlement at an instant, and why.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessFilter {
    /// Only this person (by e-mail, case-insensitive).
    pub email: Option<String>,
    /// Only access to this space (direct or through a group).
    pub space: Option<String>,
    pub system: Option<String>,
}

/// One line of an `access at` answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRecord {
    pub system: String,
    pub email: String,
    pub employee_id: Option<String>,
    /// e.g. `group eng`, `space FIN: read`, `licence confluence`.
    pub entitlement: String,
    /// `direct`, or `group NAME` for a space permission held through a group.
    pub via: String,
    /// Why it was held: the rule, grant or "observed in target", as recorded when it began.
    pub reason: String,
    /// Audit events behind this line (the grant of the entitlement, and of the group's permission).
    pub audit_events: Vec<u64>,
    pub since: jiff::Timestamp,
}
