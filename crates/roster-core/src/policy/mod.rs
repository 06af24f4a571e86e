//! Policy as code: one TOML file of roles, rules, space bundles, lifecycle timing and safety.
//!
//! [`Policy::parse`] checks the whole file and reports every problem it finds, each with
//! the line and column it points at, so `roster policy check` can list them all at once.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;

use crate::condition::Condition;
use crate::state::{Entitlement, Grant, GroupSpacePermission};

mod parse;

/// One problem in a policy file, located by line and column (both 1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl std::fmt::Display for PolicyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}

/// Every problem found in a policy file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{} problem(s) in policy: {}", .0.len(), .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("; "))]
pub struct PolicyErrors(pub Vec<PolicyError>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Pre-provisioned accounts stay inactive until the start date.
    OnStartDate,
    /// Pre-provisioned accounts are active as soon as they are created.
    AtCreation,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeaverCutoff {
    /// Access ends at the end of `end_date` (midnight after it, company time).
    EndOfDay,
    /// Access ends at the start of `end_date`.
    StartOfDay,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnLeave {
    /// Deactivate the account, keep its memberships for the return.
    Suspend,
    /// Change nothing.
    Keep,
    /// Treat as a leaver: remove everything and deactivate.
    Revoke,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MissingFromSource {
    /// A person no longer listed by their HR source is offboarded (subject to the safety hold).
    Leaver,
    /// A person no longer listed is left as they were.
    Keep,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Lifecycle {
    pub preprovision_days: u32,
    pub activate: Activation,
    pub mover_grace_days: u32,
    pub leaver: LeaverCutoff,
    pub on_leave: OnLeave,
    pub missing_from_source: MissingFromSource,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Safety {
    /// Hold any plan that deactivates or revokes from more than this share of managed accounts.
    pub max_revoke_share: f64,
    /// Halt a sync, before anyone is marked absent, when a source lists more than this share
    /// fewer people than it did last time (0.20: a feed that lost a fifth of its people).
    pub max_feed_shrink: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Role {
    pub name: String,
    /// Everything the role gives, included roles flattened in.
    pub entitlements: BTreeSet<Entitlement>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Rule {
    pub name: String,
    pub condition: Condition,
    pub roles: Vec<String>,
}

/// A checked, ready-to-evaluate policy.
#[derive(Debug, Clone)]
pub struct Policy {
    pub company_name: String,
    pub time_zone: TimeZone,
    pub time_zone_name: String,
    pub lifecycle: Lifecycle,
    pub safety: Safety,
    pub custom_attributes: BTreeSet<String>,
    /// Departments a person may be in (`[people] departments`); empty means any.
    pub departments: BTreeSet<String>,
    pub roles: BTreeMap<String, Role>,
    pub rules: Vec<Rule>,
    pub group_space_permissions: BTreeSet<GroupSpacePermission>,
    /// Spaces the policy configures; Roster reconciles permissions on these and no others.
    pub spaces: BTreeSet<String>,
    pub grants: Vec<Grant>,
}

impl Policy {
    /// Groups whose membership Roster manages: every group a role or a space bundle names.
    pub fn managed_groups(&self) -> BTreeSet<String> {
        let mut out: BTreeSet<String> = self
            .group_space_permissions
            .iter()
            .map(|p| p.group.clone())
            .collect();
        for role in self.roles.values() {
            for e in &role.entitlements {
                if let Entitlement::Group { group } = e {
                    out.insert(group.clone());
                }
            }
        }
        out
    }

    /// A policy with no roles or rules, for tests and as a starting point.
    pub fn empty() -> Policy {
        match Policy::parse("") {
            Ok(p) => p,
            Err(e) => unreachable!("the empty policy is valid: {e}"),
        }
    }
}

/// A grant's expiry: a date means "through the end of that day, company time".
pub fn parse_expiry(text: &str, tz: &TimeZone) -> Option<Timestamp> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Some(t);
    }
    let date: jiff::civil::Date = text.parse().ok()?;
    let next = date.tomorrow().ok()?;
    next.to_zoned_datetime(tz.clone())
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_every_problem_with_line_and_column() {
        let text = r#"[company]
time_zone = "Europe/Paris"

[[roles]]
name = "eng"
groups = ["eng"]
includes = ["base"]

[[roles]]
name = "base"
includes = ["eng"]

[[roles]]
name = "eng"

[[rules]]
name = "engineers"
when = 'departmnt == "Engineering"'
roles = ["enginering"]

[[rules]]
name = "broken"
when = 'department = "Sales"'
roles = ["eng"]

[[spaces]]
key = "ENG"
groups = { eng = ["read", "fly"] }
"#;
        let errs = Policy::parse(text).unwrap_err().0;
        let msgs: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
        let find = |needle: &str| {
            msgs.iter()
                .find(|m| m.contains(needle))
                .unwrap_or_else(|| panic!("no error containing {needle:?} in {msgs:#?}"))
                .clone()
        };
        assert_eq!(
            find("duplicate role name"),
            "14:8: duplicate role name \"eng\""
        );
        assert!(find("includes itself").starts_with("5:8:"));
        assert!(find("includes itself").contains("eng → base → eng"));
        assert_eq!(
            find("unknown attribute"),
            "18:9: unknown attribute \"departmnt\" in rule \"engineers\" (declare custom attributes in [people] custom_attributes)"
        );
        assert_eq!(
            find("unknown role \"enginering\""),
            "19:10: unknown role \"enginering\" in rule \"engineers\""
        );
        assert!(
            find("bad condition").starts_with("23:20:"),
            "{}",
            find("bad condition")
        );
        assert!(find("unknown space operation").starts_with("28:27:"));
    }

    #[test]
    fn syntax_and_unknown_keys_are_located() {
        let errs = Policy::parse("[lifecycle]\npreprovison_days = 3\n")
            .unwrap_err()
            .0;
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].line, 2);
        assert!(
            errs[0].message.contains("preprovison_days"),
            "{}",
            errs[0].message
        );
        let errs = Policy::parse("[[roles]\nname = 1").unwrap_err().0;
        assert_eq!(errs[0].line, 1);
    }

    #[test]
    fn flattens_includes_and_defaults() {
        let p = Policy::parse(
            r#"
[[roles]]
name = "base"
groups = ["confluence-users"]
licences = ["confluence"]
[[roles]]
name = "eng"
includes = ["base"]
groups = ["eng"]
spaces = { ENG = ["read"] }
"#,
        )
        .unwrap();
        let eng = &p.roles["eng"];
        assert!(
            eng.entitlements
                .contains(&Entitlement::group("confluence-users"))
        );
        assert!(
            eng.entitlements
                .contains(&Entitlement::licence("confluence"))
        );
        assert!(
            eng.entitlements
                .contains(&Entitlement::space("ENG", "read"))
        );
        assert_eq!(p.lifecycle.preprovision_days, 3);
        assert_eq!(p.safety.max_revoke_share, 0.10);
        assert_eq!(p.time_zone_name, "UTC");
    }

    #[test]
    fn departments_and_feed_shrink_limit() {
        let p = Policy::parse(
            "[people]\ndepartments = [\"Engineering\", \" Sales \"]\n[safety]\nmax_feed_shrink = 0.5\n",
        )
        .unwrap();
        assert_eq!(
            p.departments.iter().map(String::as_str).collect::<Vec<_>>(),
            ["Engineering", "Sales"]
        );
        assert_eq!(p.safety.max_feed_shrink, 0.5);
        assert_eq!(Policy::parse("").unwrap().safety.max_feed_shrink, 0.20);
        assert!(Policy::parse("").unwrap().departments.is_empty());
        let errs = Policy::parse(
            "[people]\ndepartments = [\"Sales\", \"Sales\", \"\"]\n[safety]\nmax_feed_shrink = 1.0\n",
        )
        .unwrap_err()
        .0;
        let messages: Vec<String> = errs
            .iter()
            .map(|e| format!("{}:{}", e.line, e.message))
            .collect();
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("2:duplicate department")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("2:a department name cannot be empty")),
            "{messages:?}"
        );
        assert!(
            messages
                .iter()
                .any(|m| m.starts_with("4:max_feed_shrink must be")),
            "{messages:?}"
        );
    }
}
