//! The status comparison: for every person, what HR says beside what each identity provider
//! and each target holds, and the findings an admin acts on:
//!
//! - **active leaver**: HR says the person has left (their lifecycle phase is leaver) but an
//!   account still lets them in;
//! - **orphaned account**: an active account that matches no person at all;
//! - **missing account**: an active person with no account where they should have one (a
//!   target whose policy gives them an account; every identity provider);
//! - **permission creep**: a target entitlement that no rule or grant explains;
//! - **unmanaged admin**: the same for administrative access (an admin group, or
//!   `administer` on a space), reported apart because it matters more.
//!
//! Matching is [`crate::matching`]'s; its conflicts are part of the report, never resolved
//! here.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::desired::{DesiredState, Phase, phase};
use crate::directory::DirectoryAccount;
use crate::matching::{Candidate, Conflict, MatchOptions, match_accounts, shared_emails};
use crate::person::PersonRecord;
use crate::policy::Policy;
use crate::state::{ActualState, Entitlement};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    ActiveLeaver,
    OrphanedAccount,
    MissingAccount,
    PermissionCreep,
    UnmanagedAdmin,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::ActiveLeaver,
        Category::OrphanedAccount,
        Category::MissingAccount,
        Category::PermissionCreep,
        Category::UnmanagedAdmin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Category::ActiveLeaver => "active_leaver",
            Category::OrphanedAccount => "orphaned_account",
            Category::MissingAccount => "missing_account",
            Category::PermissionCreep => "permission_creep",
            Category::UnmanagedAdmin => "unmanaged_admin",
        }
    }

    pub fn parse(s: &str) -> Option<Category> {
        let s = s.trim().replace(['-', ' '], "_").to_lowercase();
        Category::ALL.into_iter().find(|c| c.name() == s)
    }
}

impl std::fmt::Display for Category {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name().replace('_', " "))
    }
}

/// One thing an admin should look at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Finding {
    pub category: Category,
    pub system: String,
    /// The person, when there is one.
    pub employee_id: Option<String>,
    /// The account (its login or e-mail), when there is one.
    pub account: Option<String>,
    pub detail: String,
}

/// Whether a system is an identity provider (a second opinion) or a target Roster manages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SystemKind {
    Directory,
    Target,
}

/// A person's account in one system, as the row shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountStatus {
    pub system: String,
    pub kind: SystemKind,
    pub account: String,
    pub active: bool,
    /// The system's own word for the state (`SUSPENDED`, `active`, ...).
    pub status: String,
    pub last_active: Option<Timestamp>,
}

/// HR beside every system, for one person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonStatusRow {
    pub employee_id: String,
    pub email: String,
    pub name: String,
    /// HR's status (`active`, `leave`, `terminated`), or `absent` when no longer listed.
    pub hr_status: String,
    pub end_date: Option<String>,
    /// The lifecycle phase Roster derives (`active`, `leaver`, ...).
    pub phase: String,
    pub accounts: Vec<AccountStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusReport {
    pub people: Vec<PersonStatusRow>,
    pub findings: Vec<Finding>,
    pub conflicts: Vec<Conflict>,
}

impl StatusReport {
    pub fn count(&self, category: Category) -> usize {
        self.findings
            .iter()
            .filter(|f| f.category == category)
            .count()
    }
}

/// What the comparison reads.
pub struct StatusInput<'a> {
    pub policy: &'a Policy,
    pub people: &'a [PersonRecord],
    pub desired: &'a DesiredState<'a>,
    pub directories: &'a [(String, Vec<DirectoryAccount>)],
    pub targets: &'a [(String, ActualState)],
    pub matching: &'a MatchOptions,
    /// Group names that give administrative access.
    pub admin_groups: &'a BTreeSet<String>,
    pub now: Timestamp,
}

fn phase_name(p: &Phase) -> &'static str {
    match p {
        Phase::NotYetProvisioned { .. } => "not_yet_started",
        Phase::Preprovisioned { .. } => "preprovisioned",
        Phase::Active => "active",
        Phase::Suspended => "suspended",
        Phase::Leaver { .. } => "leaver",
    }
}

/// One account of either kind, for the comparison.
struct Observed<'a> {
    id: &'a str,
    label: &'a str,
    employee_id: Option<&'a str>,
    emails: Vec<&'a str>,
    active: bool,
    status: String,
    last_active: Option<Timestamp>,
    entitlements: Option<&'a BTreeSet<Entitlement>>,
}

pub fn compare(input: &StatusInput<'_>) -> StatusReport {
    let mut report = StatusReport::default();
    let people: Vec<&crate::Person> = input.people.iter().map(|r| &r.person).collect();
    report.conflicts = shared_emails(&people, input.matching);
    let phases: BTreeMap<&str, Phase> = input
        .people
        .iter()
        .map(|r| {
            (
                r.person.employee_id.as_str(),
                phase(input.policy, r, input.now),
            )
        })
        .collect();
    let mut rows: BTreeMap<&str, PersonStatusRow> = input
        .people
        .iter()
        .map(|r| {
            let p = &r.person;
            let hr_status = if r.absent_since.is_some() {
                "absent".to_string()
            } else {
                p.status.as_str().to_string()
            };
            let row = PersonStatusRow {
                employee_id: p.employee_id.clone(),
                email: p.email.clone(),
                name: format!("{} {}", p.first_name, p.last_name)
                    .trim()
                    .to_string(),
                hr_status,
                end_date: p.end_date.map(|d| d.to_string()),
                phase: phase_name(&phases[p.employee_id.as_str()]).to_string(),
                accounts: Vec::new(),
            };
            (p.employee_id.as_str(), row)
        })
        .collect();

    let directories = input.directories.iter().map(|(name, accounts)| {
        let observed: Vec<Observed> = accounts
            .iter()
            .map(|a| Observed {
                id: &a.id,
                label: &a.login,
                employee_id: a.employee_id.as_deref(),
                emails: a
                    .email
                    .iter()
                    .map(String::as_str)
                    .chain([a.login.as_str()])
                    .collect(),
                active: a.status.can_sign_in(),
                status: if a.vendor_status.is_empty() {
                    format!("{:?}", a.status).to_lowercase()
                } else {
                    a.vendor_status.clone()
                },
                last_active: a.last_sign_in,
                entitlements: None,
            })
            .collect();
        (name.as_str(), SystemKind::Directory, observed)
    });
    let targets = input.targets.iter().map(|(name, state)| {
        let observed: Vec<Observed> = state
            .accounts
            .iter()
            .map(|a| Observed {
                id: &a.external_id,
                label: &a.email,
                employee_id: a.employee_id.as_deref(),
                emails: vec![a.email.as_str()],
                active: a.active,
                status: if a.active { "active" } else { "inactive" }.to_string(),
                last_active: a.last_active,
                entitlements: Some(&a.entitlements),
            })
            .collect();
        (name.as_str(), SystemKind::Target, observed)
    });
    let systems: Vec<_> = directories.chain(targets).collect();

    for (system, kind, accounts) in &systems {
        let candidates: Vec<Candidate> = accounts
            .iter()
            .map(|a| Candidate {
                id: a.id,
                employee_id: a.employee_id,
                emails: a.emails.clone(),
            })
            .collect();
        let matches = match_accounts(system, &people, &candidates, input.matching);
        report.conflicts.extend(matches.conflicts);
        let mut holders: BTreeSet<&str> = BTreeSet::new();
        for (a, matched) in accounts.iter().zip(&matches.person_of) {
            let finding = |category, employee_id: Option<&str>, detail: String| Finding {
                category,
                system: system.to_string(),
                employee_id: employee_id.map(str::to_string),
                account: Some(a.label.to_string()),
                detail,
            };
            let Some((employee_id, _)) = matched else {
                if a.active {
                    report.findings.push(finding(
                        Category::OrphanedAccount,
                        None,
                        format!(
                            "active account {} ({}) matches no person in HR",
                            a.label, a.status
                        ),
                    ));
                }
                if let Some(held) = a.entitlements {
                    for e in held.iter().filter(|e| is_admin(e, input.admin_groups)) {
                        report.findings.push(finding(
                            Category::UnmanagedAdmin,
                            None,
                            format!("{e}, held by an account of no person"),
                        ));
                    }
                }
                continue;
            };
            let employee_id = employee_id.as_str();
            holders.insert(employee_id);
            if let Some(row) = rows.get_mut(employee_id) {
                row.accounts.push(AccountStatus {
                    system: system.to_string(),
                    kind: *kind,
                    account: a.label.to_string(),
                    active: a.active,
                    status: a.status.clone(),
                    last_active: a.last_active,
                });
                if a.active && matches!(phases.get(employee_id), Some(Phase::Leaver { .. })) {
                    let last = a.last_active.map_or("never".to_string(), |t| t.to_string());
                    report.findings.push(finding(
                        Category::ActiveLeaver,
                        Some(employee_id),
                        format!(
                            "HR: {}{}; {system}: {} (last active {last})",
                            row.hr_status,
                            row.end_date
                                .as_deref()
                                .map_or(String::new(), |d| format!(", end date {d}")),
                            a.status
                        ),
                    ));
                }
            }
            if let Some(held) = a.entitlements {
                let wanted = input.desired.accounts.get(employee_id);
                for e in held {
                    let explained = wanted.is_some_and(|d| {
                        !d.strip_everything
                            && (d.required.contains_key(e) || d.tolerated.contains_key(e))
                    });
                    if explained {
                        continue;
                    }
                    let (category, what) = if is_admin(e, input.admin_groups) {
                        (Category::UnmanagedAdmin, "administrative access")
                    } else {
                        (Category::PermissionCreep, "access")
                    };
                    report.findings.push(finding(
                        category,
                        Some(employee_id),
                        format!("{e}: {what} no rule or grant explains"),
                    ));
                }
            }
        }
        for r in input.people {
            let id = r.person.employee_id.as_str();
            if holders.contains(id) {
                continue;
            }
            let should_have = match kind {
                SystemKind::Target => input
                    .desired
                    .accounts
                    .get(id)
                    .is_some_and(|d| d.create_if_missing && d.active),
                SystemKind::Directory => matches!(phases.get(id), Some(Phase::Active)),
            };
            if should_have {
                report.findings.push(Finding {
                    category: Category::MissingAccount,
                    system: system.to_string(),
                    employee_id: Some(id.to_string()),
                    account: None,
                    detail: format!("{} is active in HR but has no account here", r.person.email),
                });
            }
        }
    }
    report.people = rows.into_values().collect();
    report.findings.sort();
    report.conflicts.sort();
    report.conflicts.dedup();
    report
}

fn is_admin(e: &Entitlement, admin_groups: &BTreeSet<String>) -> bool {
    match e {
        Entitlement::Group { group } => admin_groups.iter().any(|g| g.eq_ignore_ascii_case(group)),
        Entitlement::SpacePermission { operation, .. } => operation == "administer",
        Entitlement::Licence { .. } => false,
    }
}
