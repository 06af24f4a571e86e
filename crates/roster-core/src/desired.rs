//! Desired state: what each person should hold in a system at a given instant.
//!
//! Desired state = f(people, policy, grants, now). Nothing here reads the clock.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::person::{Person, PersonRecord, PersonStatus};
use crate::policy::{Activation, LeaverCutoff, MissingFromSource, OnLeave, Policy, Rule};
use crate::reason::{FieldValue, LeaverCause, Reason};
use crate::state::{Entitlement, Grant};

/// How far back an attribute change still counts as "this person moved" when explaining a plan.
const MOVER_LOOKBACK: SignedDuration = SignedDuration::from_hours(24 * 30);

/// Where a person stands in their lifecycle at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Phase {
    /// Starts later than the pre-provisioning window: nothing is done yet.
    NotYetProvisioned {
        start_date: Date,
    },
    /// Inside the pre-provisioning window before the start date.
    Preprovisioned {
        start_date: Date,
    },
    Active,
    /// On leave and suspended by policy: account inactive, entitlements kept.
    Suspended,
    Leaver {
        cause: LeaverCause,
    },
}

/// Why a desired entitlement is there. Borrowed and cheap: the full [`Reason`] (with the HR
/// fields behind it) is only built for entitlements that end up in a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Why<'a> {
    Rule {
        rule: &'a Rule,
        role: &'a str,
    },
    Grant(&'a Grant),
    MoverGrace {
        rule: &'a Rule,
        role: &'a str,
        until: Timestamp,
    },
    MoverGraceEnded {
        rule: &'a Rule,
        role: &'a str,
        ended: Timestamp,
    },
    GrantExpired(&'a Grant),
}

/// What one person's account in the system should look like.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DesiredAccount<'a> {
    pub person: &'a Person,
    /// The person before their latest recorded change, when that change is recent.
    pub previous: Option<&'a Person>,
    pub phase: Phase,
    /// False for leavers and suspended people: their account is never created.
    pub create_if_missing: bool,
    pub active: bool,
    /// Why the account should be active or inactive.
    pub activity_reason: Reason,
    /// Entitlements the account must hold.
    pub required: BTreeMap<&'a Entitlement, Why<'a>>,
    /// Entitlements the account may keep but that are not added (the old role during mover grace).
    pub tolerated: BTreeMap<&'a Entitlement, Why<'a>>,
    /// Entitlements that ended (grace over, grant expired), with the reason to give if removed.
    pub ended: BTreeMap<&'a Entitlement, Why<'a>>,
    /// A leaver keeps nothing, managed or not.
    pub strip_everything: bool,
}

impl DesiredAccount<'_> {
    /// The full reason for an entitlement, with the HR fields a rule read.
    pub fn reason(&self, why: &Why<'_>) -> Reason {
        match *why {
            Why::Rule { rule, role } => Reason::Rule {
                rule: rule.name.clone(),
                role: role.to_string(),
                fields: fields(rule, self.person, self.previous),
            },
            Why::Grant(g) => Reason::Grant {
                grant_id: g.id.clone(),
                owner: g.owner.clone(),
                reason: g.reason.clone(),
                expires_at: g.expires_at,
            },
            Why::MoverGrace { rule, role, until } => Reason::MoverGrace {
                rule: rule.name.clone(),
                role: role.to_string(),
                until,
            },
            Why::MoverGraceEnded { rule, role, ended } => Reason::MoverGraceEnded {
                rule: rule.name.clone(),
                role: role.to_string(),
                ended,
            },
            Why::GrantExpired(g) => Reason::GrantExpired {
                grant_id: g.id.clone(),
                expired_at: g.expires_at.unwrap_or(Timestamp::MIN),
            },
        }
    }
}

/// The HR fields a rule's condition reads, with the value before a recent change.
fn fields(rule: &Rule, person: &Person, previous: Option<&Person>) -> Vec<FieldValue> {
    rule.condition
        .attributes()
        .into_iter()
        .map(|name| {
            let value = person.attribute(name);
            let before = previous.and_then(|p| {
                let old = p.attribute(name);
                (old != value).then(|| old.map(|v| v.into_owned()).unwrap_or_default())
            });
            FieldValue {
                name: name.to_string(),
                value: value.map(|v| v.into_owned()).unwrap_or_default(),
                previous: before,
            }
        })
        .collect()
}

/// The entitlements Roster manages in a system; anything outside is left alone for active people.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedScope {
    pub groups: BTreeSet<String>,
    pub spaces: BTreeSet<String>,
    pub products: BTreeSet<String>,
}

impl ManagedScope {
    pub fn covers(&self, e: &Entitlement) -> bool {
        match e {
            Entitlement::Group { group } => self.groups.contains(group),
            Entitlement::SpacePermission { space, .. } => self.spaces.contains(space),
            Entitlement::Licence { product } => self.products.contains(product),
        }
    }

    fn add(&mut self, e: &Entitlement) {
        match e {
            Entitlement::Group { group } => self.groups.insert(group.clone()),
            Entitlement::SpacePermission { space, .. } => self.spaces.insert(space.clone()),
            Entitlement::Licence { product } => self.products.insert(product.clone()),
        };
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DesiredState<'a> {
    /// Keyed by employee id.
    pub accounts: BTreeMap<&'a str, DesiredAccount<'a>>,
    pub scope: ManagedScope,
}

/// The instant a leaver loses access for a given end date.
pub fn leaver_cutoff(policy: &Policy, end_date: Date) -> Option<Timestamp> {
    let day = match policy.lifecycle.leaver {
        LeaverCutoff::EndOfDay => end_date.tomorrow().ok()?,
        LeaverCutoff::StartOfDay => end_date,
    };
    day.to_zoned_datetime(policy.time_zone.clone())
        .ok()
        .map(|z| z.timestamp())
}

/// The person's lifecycle phase at `now`.
pub fn phase(policy: &Policy, record: &PersonRecord, now: Timestamp) -> Phase {
    let person = &record.person;
    if let Some(since) = record.absent_since
        && policy.lifecycle.missing_from_source == MissingFromSource::Leaver
    {
        return Phase::Leaver {
            cause: LeaverCause::MissingFromSource { since },
        };
    }
    let ended = person
        .end_date
        .map(|d| (d, leaver_cutoff(policy, d).is_some_and(|cut| now >= cut)));
    if let Some((end_date, true)) = ended {
        return Phase::Leaver {
            cause: LeaverCause::EndDate { end_date },
        };
    }
    // Terminated with a future end date keeps access until that date.
    if person.status == PersonStatus::Terminated && ended.is_none() {
        return Phase::Leaver {
            cause: LeaverCause::Terminated,
        };
    }
    let today = now.to_zoned_datetime(policy.time_zone.clone()).date();
    if let Some(start_date) = person.start_date
        && today < start_date
    {
        let window_opens = start_date
            .checked_sub(jiff::Span::new().days(i64::from(policy.lifecycle.preprovision_days)))
            .unwrap_or(start_date);
        return if today >= window_opens {
            Phase::Preprovisioned { start_date }
        } else {
            Phase::NotYetProvisioned { start_date }
        };
    }
    if person.status == PersonStatus::Leave {
        return match policy.lifecycle.on_leave {
            OnLeave::Suspend => Phase::Suspended,
            OnLeave::Keep => Phase::Active,
            OnLeave::Revoke => Phase::Leaver {
                cause: LeaverCause::OnLeave,
            },
        };
    }
    Phase::Active
}

fn started_recently(policy: &Policy, start_date: Date, now: Timestamp) -> bool {
    start_date
        .to_zoned_datetime(policy.time_zone.clone())
        .is_ok_and(|z| now.duration_since(z.timestamp()) <= MOVER_LOOKBACK)
}

/// Entitlements the policy's rules give a person, each with the first rule and role giving it.
pub fn rule_entitlements<'a>(
    policy: &'a Policy,
    person: &Person,
) -> BTreeMap<&'a Entitlement, Why<'a>> {
    let mut out = BTreeMap::new();
    for rule in &policy.rules {
        if !rule.condition.evaluate(person) {
            continue;
        }
        for role_name in &rule.roles {
            let Some(role) = policy.roles.get(role_name) else {
                continue;
            };
            for e in &role.entitlements {
                out.entry(e).or_insert(Why::Rule {
                    rule,
                    role: role_name,
                });
            }
        }
    }
    out
}

/// Evaluates the desired state of every person at `now`.
pub fn desired_state<'a>(
    policy: &'a Policy,
    people: &'a [PersonRecord],
    grants: &'a [Grant],
    now: Timestamp,
) -> DesiredState<'a> {
    let mut scope = ManagedScope {
        groups: policy.managed_groups(),
        spaces: policy.spaces.clone(),
        products: BTreeSet::new(),
    };
    for role in policy.roles.values() {
        role.entitlements.iter().for_each(|e| scope.add(e));
    }
    let all_grants: Vec<&'a Grant> = policy.grants.iter().chain(grants.iter()).collect();
    // Expired grants stay in scope, or what they gave would never be taken back.
    all_grants.iter().for_each(|g| scope.add(&g.entitlement));
    let mut grants_by_person: BTreeMap<&str, Vec<&'a Grant>> = BTreeMap::new();
    for g in &all_grants {
        grants_by_person
            .entry(g.employee_id.as_str())
            .or_default()
            .push(g);
    }

    let grace = SignedDuration::from_hours(24 * i64::from(policy.lifecycle.mover_grace_days));
    let mut accounts = BTreeMap::new();
    for record in people {
        let person = &record.person;
        let phase = phase(policy, record, now);
        let (create_if_missing, active, activity_reason) = match &phase {
            Phase::NotYetProvisioned { .. } => continue,
            Phase::Preprovisioned { start_date } => (
                true,
                policy.lifecycle.activate == Activation::AtCreation,
                Reason::Joiner {
                    start_date: *start_date,
                    preprovision_days: policy.lifecycle.preprovision_days,
                },
            ),
            Phase::Active => (
                true,
                true,
                match person.start_date {
                    Some(start_date) if started_recently(policy, start_date, now) => {
                        Reason::Joiner {
                            start_date,
                            preprovision_days: policy.lifecycle.preprovision_days,
                        }
                    }
                    _ => Reason::Employed {
                        status: person.status,
                    },
                },
            ),
            Phase::Suspended => (false, false, Reason::OnLeave),
            Phase::Leaver { cause } => (
                false,
                false,
                Reason::Leaver {
                    cause: cause.clone(),
                },
            ),
        };
        let strip_everything = matches!(phase, Phase::Leaver { .. });
        let previous = record
            .previous
            .first()
            .filter(|p| now.duration_since(p.superseded_at) <= MOVER_LOOKBACK)
            .map(|p| &p.person);
        let mut desired = DesiredAccount {
            person,
            previous,
            phase,
            create_if_missing,
            active,
            activity_reason,
            required: BTreeMap::new(),
            tolerated: BTreeMap::new(),
            ended: BTreeMap::new(),
            strip_everything,
        };
        if !strip_everything {
            desired.required = rule_entitlements(policy, person);
            for &g in grants_by_person
                .get(person.employee_id.as_str())
                .into_iter()
                .flatten()
            {
                if g.is_in_force(now) {
                    desired
                        .required
                        .entry(&g.entitlement)
                        .or_insert(Why::Grant(g));
                } else if g.expires_at.is_some_and(|e| e <= now) {
                    desired
                        .ended
                        .entry(&g.entitlement)
                        .or_insert(Why::GrantExpired(g));
                }
            }
            for prev in &record.previous {
                let until = prev
                    .superseded_at
                    .checked_add(grace)
                    .unwrap_or(Timestamp::MAX);
                let in_grace = now < until;
                if now.duration_since(prev.superseded_at) > MOVER_LOOKBACK && !in_grace {
                    continue;
                }
                for (e, why) in rule_entitlements(policy, &prev.person) {
                    if desired.required.contains_key(e) {
                        continue;
                    }
                    let Why::Rule { rule, role } = why else {
                        continue;
                    };
                    if in_grace {
                        desired
                            .tolerated
                            .entry(e)
                            .or_insert(Why::MoverGrace { rule, role, until });
                    } else {
                        desired.ended.entry(e).or_insert(Why::MoverGraceEnded {
                            rule,
                            role,
                            ended: until,
                        });
                    }
                }
            }
            desired.ended.retain(|e, _| {
                !desired.required.contains_key(e) && !desired.tolerated.contains_key(e)
            });
        }
        accounts.insert(person.employee_id.as_str(), desired);
    }
    DesiredState { accounts, scope }
}
