//! Plans: the typed difference between desired and actual state, ordered so each step's
//! preconditions hold, with the reason for every change and a safety verdict.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::desired::{DesiredAccount, DesiredState};
use crate::person::normalise_email;
use crate::policy::Policy;
use crate::reason::{FieldValue, Reason};
use crate::state::{Account, AccountIndex, AccountMatch, ActualState, Entitlement, READ};

/// The account a change is about. Targets find accounts by employee id, then e-mail.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct AccountRef {
    pub employee_id: String,
    pub email: String,
    pub display_name: String,
    /// The system's id for the account, when it already exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    CreateGroup {
        group: String,
    },
    GrantGroupSpacePermission {
        group: String,
        space: String,
        operation: String,
    },
    RevokeGroupSpacePermission {
        group: String,
        space: String,
        operation: String,
    },
    CreateAccount {
        account: AccountRef,
        active: bool,
    },
    /// Sets e-mail and display name and links the account to the employee id.
    UpdateAccount {
        account: AccountRef,
    },
    ActivateAccount {
        account: AccountRef,
    },
    DeactivateAccount {
        account: AccountRef,
    },
    Add {
        account: AccountRef,
        entitlement: Entitlement,
    },
    Remove {
        account: AccountRef,
        entitlement: Entitlement,
    },
}

impl Action {
    /// The account this action touches, if any.
    pub fn account(&self) -> Option<&AccountRef> {
        match self {
            Action::CreateAccount { account, .. }
            | Action::UpdateAccount { account }
            | Action::ActivateAccount { account }
            | Action::DeactivateAccount { account }
            | Action::Add { account, .. }
            | Action::Remove { account, .. } => Some(account),
            _ => None,
        }
    }

    /// A short name of the kind of change, used for totals and the audit log.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::CreateGroup { .. } => "create group",
            Action::GrantGroupSpacePermission { .. } => "grant group space permission",
            Action::RevokeGroupSpacePermission { .. } => "revoke group space permission",
            Action::CreateAccount { .. } => "create account",
            Action::UpdateAccount { .. } => "update account",
            Action::ActivateAccount { .. } => "activate account",
            Action::DeactivateAccount { .. } => "deactivate account",
            Action::Add { entitlement, .. } => match entitlement {
                Entitlement::Group { .. } => "add to group",
                Entitlement::SpacePermission { .. } => "grant space permission",
                Entitlement::Licence { .. } => "assign licence",
            },
            Action::Remove { entitlement, .. } => match entitlement {
                Entitlement::Group { .. } => "remove from group",
                Entitlement::SpacePermission { .. } => "revoke space permission",
                Entitlement::Licence { .. } => "reclaim licence",
            },
        }
    }

    /// True for changes that take access away (what the safety threshold counts).
    pub fn is_revocation(&self) -> bool {
        matches!(
            self,
            Action::DeactivateAccount { .. }
                | Action::Remove { .. }
                | Action::RevokeGroupSpacePermission { .. }
        )
    }

    /// The action's wave, which is its position in the plan: groups before memberships, read
    /// before other space operations, removals after additions, deactivation last. Steps of
    /// one wave never depend on each other (each precondition is met by an earlier wave), so
    /// apply may run them in any order or at once; a wave starts when the one before it is
    /// done.
    pub fn wave(&self) -> (u8, u8) {
        let read_first = |op: &str| u8::from(op != READ);
        let read_last = |op: &str| u8::from(op == READ);
        match self {
            Action::CreateGroup { .. } => (0, 0),
            Action::GrantGroupSpacePermission { operation, .. } => (1, read_first(operation)),
            Action::UpdateAccount { .. } => (2, 0),
            Action::CreateAccount { .. } => (3, 0),
            Action::ActivateAccount { .. } => (4, 0),
            Action::Add { entitlement, .. } => match entitlement {
                Entitlement::Group { .. } => (5, 0),
                Entitlement::Licence { .. } => (5, 1),
                Entitlement::SpacePermission { operation, .. } => (5, 2 + read_first(operation)),
            },
            Action::Remove { entitlement, .. } => match entitlement {
                Entitlement::SpacePermission { operation, .. } => (6, read_last(operation)),
                Entitlement::Group { .. } => (6, 2),
                Entitlement::Licence { .. } => (6, 3),
            },
            Action::DeactivateAccount { .. } => (7, 0),
            Action::RevokeGroupSpacePermission { operation, .. } => (8, read_last(operation)),
        }
    }
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    #[serde(flatten)]
    pub action: Action,
    pub reason: Reason,
}

/// How a person's changes are counted in the plan's headline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PersonEvent {
    Joiner,
    Mover,
    Leaver,
    /// Access changes from policy or grants, not from an HR event.
    Other,
}

/// Something the plan could not decide and will not guess: shown to the admin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub employee_id: String,
    pub email: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanSummary {
    pub joiners: usize,
    pub movers: usize,
    pub leavers: usize,
    pub other_people: usize,
    pub changes: usize,
    pub by_kind: BTreeMap<String, usize>,
    /// Accounts in the target that belong to a known person.
    pub managed_accounts: usize,
    /// Accounts this plan deactivates or takes something from.
    pub revoking_accounts: usize,
    /// Accounts that match no person; left alone.
    pub unmatched_accounts: usize,
}

/// Why a plan is held until an admin confirms it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hold {
    pub message: String,
    pub share: f64,
    pub threshold: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub system: String,
    pub computed_at: Timestamp,
    pub changes: Vec<Change>,
    /// For each person with changes: whether it is a joiner, mover, leaver or other.
    pub people: BTreeMap<String, PersonEvent>,
    pub conflicts: Vec<Conflict>,
    pub summary: PlanSummary,
    pub hold: Option<Hold>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// Computes the plan that brings `actual` to `desired`.
pub fn plan(
    system: &str,
    policy: &Policy,
    desired: &DesiredState<'_>,
    actual: &ActualState,
    now: Timestamp,
) -> Plan {
    let mut changes: Vec<Change> = Vec::new();
    let mut conflicts = Vec::new();

    // Groups and their space permissions.
    for group in &desired.scope.groups {
        if !actual.groups.contains(group) {
            changes.push(Change {
                action: Action::CreateGroup {
                    group: group.clone(),
                },
                reason: Reason::GroupNeeded,
            });
        }
    }
    for p in &policy.group_space_permissions {
        if !actual.group_space_permissions.contains(p) {
            changes.push(Change {
                action: Action::GrantGroupSpacePermission {
                    group: p.group.clone(),
                    space: p.space.clone(),
                    operation: p.operation.clone(),
                },
                reason: Reason::SpacePolicy {
                    space: p.space.clone(),
                },
            });
        }
    }
    let managed_groups = policy.managed_groups();
    for p in &actual.group_space_permissions {
        if policy.spaces.contains(&p.space)
            && managed_groups.contains(&p.group)
            && !policy.group_space_permissions.contains(p)
        {
            changes.push(Change {
                action: Action::RevokeGroupSpacePermission {
                    group: p.group.clone(),
                    space: p.space.clone(),
                    operation: p.operation.clone(),
                },
                reason: Reason::SpacePolicy {
                    space: p.space.clone(),
                },
            });
        }
    }

    // Accounts. First link by employee id, so that e-mails an update frees can be reused.
    let index = AccountIndex::new(&actual.accounts);
    let mut claimed: HashSet<&str> = HashSet::with_capacity(actual.accounts.len());
    let mut matched: HashMap<&str, &Account> = HashMap::with_capacity(actual.accounts.len());
    for (&id, d) in &desired.accounts {
        if let AccountMatch::Linked(a) = index.find(id, &d.person.email) {
            matched.insert(id, a);
            claimed.insert(a.external_id.as_str());
        }
    }
    // E-mails accounts will carry once this plan's updates are applied.
    let mut projected_email: HashMap<String, &Account> =
        HashMap::with_capacity(actual.accounts.len());
    for a in &actual.accounts {
        let email = match a.employee_id.as_deref().and_then(|id| {
            desired
                .accounts
                .get(id)
                .filter(|d| !d.strip_everything && matched.contains_key(id))
        }) {
            Some(d) => normalise_email(&d.person.email),
            None => normalise_email(&a.email),
        };
        projected_email.entry(email).or_insert(a);
    }
    for (&id, d) in &desired.accounts {
        if matched.contains_key(id) {
            continue;
        }
        match projected_email.get(&normalise_email(&d.person.email)) {
            Some(a) if a.employee_id.is_none() && !claimed.contains(a.external_id.as_str()) => {
                matched.insert(id, a);
                claimed.insert(a.external_id.as_str());
            }
            Some(a) => conflicts.push(Conflict {
                employee_id: id.to_string(),
                email: d.person.email.clone(),
                message: format!(
                    "account {} with this e-mail belongs to employee id {}; resolve by hand (nothing was changed for this person)",
                    a.external_id,
                    a.employee_id.as_deref().unwrap_or("(another person)")
                ),
            }),
            None => {}
        }
    }

    let conflicted: BTreeSet<String> = conflicts.iter().map(|c| c.employee_id.clone()).collect();
    for (&id, d) in &desired.accounts {
        if conflicted.contains(id) {
            continue;
        }
        account_changes(d, matched.get(id).copied(), desired, &mut changes);
    }

    changes.sort_unstable_by(|a, b| {
        a.action
            .wave()
            .cmp(&b.action.wave())
            .then_with(|| sort_key(&a.action).cmp(&sort_key(&b.action)))
    });

    let people = classify(&changes, desired);
    let unmatched_accounts = actual
        .accounts
        .iter()
        .filter(|a| !claimed.contains(a.external_id.as_str()))
        .count();
    let revoking: BTreeSet<&str> = changes
        .iter()
        .filter(|c| c.action.is_revocation())
        .filter_map(|c| c.action.account().map(|a| a.employee_id.as_str()))
        .collect();
    let mut summary = PlanSummary {
        changes: changes.len(),
        managed_accounts: matched.len(),
        revoking_accounts: revoking.len(),
        unmatched_accounts,
        ..PlanSummary::default()
    };
    for c in &changes {
        *summary
            .by_kind
            .entry(c.action.kind().to_string())
            .or_default() += 1;
    }
    for event in people.values() {
        match event {
            PersonEvent::Joiner => summary.joiners += 1,
            PersonEvent::Mover => summary.movers += 1,
            PersonEvent::Leaver => summary.leavers += 1,
            PersonEvent::Other => summary.other_people += 1,
        }
    }
    let hold = crate::safety::check(policy, &summary);
    Plan {
        system: system.to_string(),
        computed_at: now,
        changes,
        people,
        conflicts,
        summary,
        hold,
    }
}

/// Orders changes within one kind; borrowed, because a first sync sorts millions of them.
fn sort_key(a: &Action) -> (&str, &str, Option<&Entitlement>, &str) {
    match a {
        Action::CreateGroup { group } => (group, "", None, ""),
        Action::GrantGroupSpacePermission {
            group,
            space,
            operation,
        }
        | Action::RevokeGroupSpacePermission {
            group,
            space,
            operation,
        } => (space, group, None, operation),
        Action::Add {
            account,
            entitlement,
        }
        | Action::Remove {
            account,
            entitlement,
        } => (&account.email, "", Some(entitlement), ""),
        other => (
            other.account().map_or("", |a| a.email.as_str()),
            "",
            None,
            "",
        ),
    }
}

fn account_changes(
    d: &DesiredAccount<'_>,
    existing: Option<&Account>,
    desired: &DesiredState<'_>,
    out: &mut Vec<Change>,
) {
    let display_name = d.person.display_name();
    let account = AccountRef {
        employee_id: d.person.employee_id.clone(),
        email: d.person.email.clone(),
        display_name: display_name.clone(),
        external_id: existing.map(|a| a.external_id.clone()),
    };
    let Some(existing) = existing else {
        if d.create_if_missing {
            out.push(Change {
                action: Action::CreateAccount {
                    account: account.clone(),
                    active: d.active,
                },
                reason: d.activity_reason.clone(),
            });
            for (&e, why) in &d.required {
                out.push(Change {
                    action: Action::Add {
                        account: account.clone(),
                        entitlement: e.clone(),
                    },
                    reason: d.reason(why),
                });
            }
        }
        return;
    };

    if d.strip_everything {
        for e in &existing.entitlements {
            out.push(Change {
                action: Action::Remove {
                    account: account.clone(),
                    entitlement: e.clone(),
                },
                reason: d.activity_reason.clone(),
            });
        }
        if existing.active {
            out.push(Change {
                action: Action::DeactivateAccount { account },
                reason: d.activity_reason.clone(),
            });
        }
        return;
    }

    let mut fields = Vec::new();
    if existing.employee_id.as_deref() != Some(d.person.employee_id.as_str()) {
        fields.push(FieldValue {
            name: "employee_id".into(),
            value: d.person.employee_id.clone(),
            previous: Some(existing.employee_id.clone().unwrap_or_default()),
        });
    }
    if normalise_email(&existing.email) != normalise_email(&d.person.email) {
        fields.push(FieldValue {
            name: "email".into(),
            value: d.person.email.clone(),
            previous: Some(existing.email.clone()),
        });
    }
    if existing.display_name != display_name {
        fields.push(FieldValue {
            name: "display_name".into(),
            value: display_name.clone(),
            previous: Some(existing.display_name.clone()),
        });
    }
    if !fields.is_empty() {
        out.push(Change {
            action: Action::UpdateAccount {
                account: account.clone(),
            },
            reason: Reason::Identity { fields },
        });
    }
    if d.active && !existing.active {
        out.push(Change {
            action: Action::ActivateAccount {
                account: account.clone(),
            },
            reason: d.activity_reason.clone(),
        });
    } else if !d.active && existing.active {
        out.push(Change {
            action: Action::DeactivateAccount {
                account: account.clone(),
            },
            reason: d.activity_reason.clone(),
        });
    }
    // Both sides are sorted: walk them together instead of looking each one up.
    let mut required = d.required.iter().peekable();
    let mut held = existing.entitlements.iter().peekable();
    loop {
        let (add, remove) = match (required.peek(), held.peek()) {
            (None, None) => break,
            (Some(&(&r, why)), None) => (Some((r, why)), None),
            (None, Some(&h)) => (None, Some(h)),
            (Some(&(&r, why)), Some(&h)) => match r.cmp(h) {
                std::cmp::Ordering::Less => (Some((r, why)), None),
                std::cmp::Ordering::Greater => (None, Some(h)),
                std::cmp::Ordering::Equal => {
                    required.next();
                    held.next();
                    continue;
                }
            },
        };
        if let Some((e, why)) = add {
            required.next();
            out.push(Change {
                action: Action::Add {
                    account: account.clone(),
                    entitlement: e.clone(),
                },
                reason: d.reason(why),
            });
        }
        if let Some(e) = remove {
            held.next();
            if !d.tolerated.contains_key(e) && desired.scope.covers(e) {
                let reason = d
                    .ended
                    .get(e)
                    .map_or(Reason::NotCovered, |why| d.reason(why));
                out.push(Change {
                    action: Action::Remove {
                        account: account.clone(),
                        entitlement: e.clone(),
                    },
                    reason,
                });
            }
        }
    }
}

fn classify(changes: &[Change], desired: &DesiredState<'_>) -> BTreeMap<String, PersonEvent> {
    let mut out: BTreeMap<String, PersonEvent> = BTreeMap::new();
    for c in changes {
        let Some(account) = c.action.account() else {
            continue;
        };
        let event = match (&c.action, &c.reason) {
            (_, Reason::Leaver { .. }) => PersonEvent::Leaver,
            (Action::CreateAccount { .. }, _) => PersonEvent::Joiner,
            (Action::ActivateAccount { .. }, Reason::Joiner { .. }) => PersonEvent::Joiner,
            (_, Reason::MoverGraceEnded { .. }) => PersonEvent::Mover,
            (_, Reason::Rule { fields, .. }) if fields.iter().any(|f| f.previous.is_some()) => {
                PersonEvent::Mover
            }
            _ => PersonEvent::Other,
        };
        let slot = out.entry(account.employee_id.clone()).or_insert(event);
        // Joiner and leaver outrank mover, which outranks other.
        let rank = |e: PersonEvent| match e {
            PersonEvent::Leaver => 3,
            PersonEvent::Joiner => 2,
            PersonEvent::Mover => 1,
            PersonEvent::Other => 0,
        };
        if rank(event) > rank(*slot) {
            *slot = event;
        }
    }
    debug_assert!(
        out.keys()
            .all(|k| desired.accounts.contains_key(k.as_str()))
    );
    out
}
