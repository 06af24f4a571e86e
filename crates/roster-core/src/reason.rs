//! The "why" behind every change: which rule, grant or lifecycle event, with the HR fields.

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use crate::person::PersonStatus;

/// An HR field a rule read, with its value (and the value before, when it just changed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldValue {
    pub name: String,
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "cause", rename_all = "snake_case")]
pub enum LeaverCause {
    EndDate { end_date: Date },
    Terminated,
    MissingFromSource { since: Timestamp },
    OnLeave,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reason {
    /// A rule matched the person and assigned a role giving the entitlement.
    Rule {
        rule: String,
        role: String,
        fields: Vec<FieldValue>,
    },
    /// An approved request or exception.
    Grant {
        grant_id: String,
        owner: String,
        reason: String,
        expires_at: Option<Timestamp>,
    },
    Joiner {
        start_date: Date,
        preprovision_days: u32,
    },
    Employed {
        status: PersonStatus,
    },
    OnLeave,
    Leaver {
        cause: LeaverCause,
    },
    /// Kept from the old role until the grace period ends.
    MoverGrace {
        rule: String,
        role: String,
        until: Timestamp,
    },
    MoverGraceEnded {
        rule: String,
        role: String,
        ended: Timestamp,
    },
    GrantExpired {
        grant_id: String,
        expired_at: Timestamp,
    },
    /// Held in a managed group, space or product, but no rule or grant gives it.
    NotCovered,
    /// The policy's `[[spaces]]` table gives (or no longer gives) a group this permission.
    SpacePolicy {
        space: String,
    },
    /// A role or space bundle names this group, so it must exist.
    GroupNeeded,
    /// The account's e-mail, name or employee link differ from HR.
    Identity {
        fields: Vec<FieldValue>,
    },
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::Rule { rule, fields, .. } => {
                write!(f, "rule \"{rule}\"")?;
                let shown: Vec<String> = fields
                    .iter()
                    .map(|fv| match &fv.previous {
                        Some(prev) => format!("{} {} → {}", fv.name, show(prev), show(&fv.value)),
                        None => format!("{} = {}", fv.name, show(&fv.value)),
                    })
                    .collect();
                if !shown.is_empty() {
                    write!(f, ": {}", shown.join(", "))?;
                }
                Ok(())
            }
            Reason::Grant {
                grant_id,
                owner,
                reason,
                expires_at,
            } => {
                write!(f, "grant {grant_id} by {owner}: {reason}")?;
                if let Some(e) = expires_at {
                    write!(f, " (until {})", e.strftime("%Y-%m-%d %H:%M UTC"))?;
                }
                Ok(())
            }
            Reason::Joiner {
                start_date,
                preprovision_days,
            } => write!(
                f,
                "joiner: start_date {start_date} (pre-provision {preprovision_days} d)"
            ),
            Reason::Employed { status } => write!(f, "employed: status {}", status.as_str()),
            Reason::OnLeave => write!(f, "on leave: account suspended, access kept for return"),
            Reason::Leaver { cause } => match cause {
                LeaverCause::EndDate { end_date } => write!(f, "leaver: end_date {end_date}"),
                LeaverCause::Terminated => write!(f, "leaver: status terminated"),
                LeaverCause::MissingFromSource { since } => write!(
                    f,
                    "leaver: missing from HR source since {}",
                    since.strftime("%Y-%m-%d %H:%M UTC")
                ),
                LeaverCause::OnLeave => write!(f, "leaver: on leave (policy on_leave = revoke)"),
            },
            Reason::MoverGrace { rule, until, .. } => write!(
                f,
                "mover grace: rule \"{rule}\" kept until {}",
                until.strftime("%Y-%m-%d %H:%M UTC")
            ),
            Reason::MoverGraceEnded { rule, ended, .. } => write!(
                f,
                "mover grace ended {}: rule \"{rule}\" no longer matches",
                ended.strftime("%Y-%m-%d")
            ),
            Reason::GrantExpired {
                grant_id,
                expired_at,
            } => write!(
                f,
                "grant {grant_id} expired {}",
                expired_at.strftime("%Y-%m-%d %H:%M UTC")
            ),
            Reason::NotCovered => write!(f, "no rule or grant gives it"),
            Reason::SpacePolicy { space } => write!(f, "policy for space {space}"),
            Reason::GroupNeeded => write!(f, "named by the policy"),
            Reason::Identity { fields } => {
                let shown: Vec<String> = fields
                    .iter()
                    .map(|fv| match &fv.previous {
                        Some(prev) => format!("{} {} → {}", fv.name, show(prev), show(&fv.value)),
                        None => format!("{} = {}", fv.name, show(&fv.value)),
                    })
                    .collect();
                write!(f, "HR record: {}", shown.join(", "))
            }
        }
    }
}

fn show(v: &str) -> &str {
    if v.is_empty() { "(empty)" } else { v }
}
