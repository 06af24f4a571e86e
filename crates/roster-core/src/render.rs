//! Human-readable plan text: grouped by person, every line with its reason, totals at the end.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::plan::{Action, Change, PersonEvent, Plan};

fn sign(action: &Action) -> char {
    match action {
        Action::UpdateAccount { .. } => '~',
        a if a.is_revocation() => '-',
        _ => '+',
    }
}

/// The action in words, without the account (plans group lines by person).
pub fn describe(action: &Action) -> String {
    match action {
        Action::CreateGroup { group } => format!("create group {group}"),
        Action::GrantGroupSpacePermission {
            group,
            space,
            operation,
        } => {
            format!("grant {operation} on space {space} to group {group}")
        }
        Action::RevokeGroupSpacePermission {
            group,
            space,
            operation,
        } => {
            format!("revoke {operation} on space {space} from group {group}")
        }
        Action::CreateAccount { active, .. } => {
            if *active {
                "create account".into()
            } else {
                "create account (inactive)".into()
            }
        }
        Action::UpdateAccount { .. } => "update account".into(),
        Action::ActivateAccount { .. } => "activate account".into(),
        Action::DeactivateAccount { .. } => "deactivate account".into(),
        Action::Add { entitlement, .. } | Action::Remove { entitlement, .. } => {
            format!("{} {}", action.kind(), entitlement_object(entitlement))
        }
    }
}

fn entitlement_object(e: &crate::state::Entitlement) -> String {
    match e {
        crate::state::Entitlement::Group { group } => group.clone(),
        crate::state::Entitlement::SpacePermission { space, operation } => {
            format!("{operation} on {space}")
        }
        crate::state::Entitlement::Licence { product } => product.clone(),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("{n} {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// The plan's headline, e.g. "3 joiners, 1 mover, 2 leavers (41 changes)".
pub fn headline(plan: &Plan) -> String {
    let s = &plan.summary;
    let mut text = format!(
        "{}, {}, {}",
        plural(s.joiners, "joiner"),
        plural(s.movers, "mover"),
        plural(s.leavers, "leaver")
    );
    if s.other_people > 0 {
        text.push_str(&format!(
            ", {} with other access changes",
            plural(s.other_people, "person")
        ));
    }
    text.push_str(&format!(" ({})", plural(s.changes, "change")));
    text
}

/// Renders the whole plan as text.
pub fn render_plan(plan: &Plan) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Plan for {} at {} — {}",
        plan.system,
        plan.computed_at.strftime("%Y-%m-%d %H:%M UTC"),
        headline(plan)
    );
    if plan.is_empty() {
        let _ = writeln!(
            out,
            "\nNothing to change: {} is in the desired state.",
            plan.system
        );
    }
    let (system_changes, account_changes): (Vec<&Change>, Vec<&Change>) = plan
        .changes
        .iter()
        .partition(|c| c.action.account().is_none());
    if !system_changes.is_empty() {
        let _ = writeln!(out, "\nGroups and space permissions");
        for c in system_changes {
            let _ = writeln!(
                out,
                "  {} {:<52} {}",
                sign(&c.action),
                describe(&c.action),
                c.reason
            );
        }
    }
    let mut by_person: BTreeMap<(u8, String), Vec<&Change>> = BTreeMap::new();
    for c in account_changes {
        let Some(a) = c.action.account() else {
            continue;
        };
        let order = match plan.people.get(&a.employee_id) {
            Some(PersonEvent::Joiner) => 0,
            Some(PersonEvent::Mover) => 1,
            Some(PersonEvent::Leaver) => 2,
            _ => 3,
        };
        by_person
            .entry((order, a.email.clone()))
            .or_default()
            .push(c);
    }
    for ((_, email), changes) in &by_person {
        let Some(a) = changes[0].action.account() else {
            continue;
        };
        let event = match plan.people.get(&a.employee_id) {
            Some(PersonEvent::Joiner) => "joiner",
            Some(PersonEvent::Mover) => "mover",
            Some(PersonEvent::Leaver) => "leaver",
            _ => "access change",
        };
        let _ = writeln!(
            out,
            "\n{email} ({}, {}) — {event}",
            a.display_name, a.employee_id
        );
        for c in changes {
            let _ = writeln!(
                out,
                "  {} {:<52} {}",
                sign(&c.action),
                describe(&c.action),
                c.reason
            );
        }
    }
    if !plan.conflicts.is_empty() {
        let _ = writeln!(out, "\nConflicts (nothing changed for these people):");
        for c in &plan.conflicts {
            let _ = writeln!(out, "  ! {} ({}): {}", c.email, c.employee_id, c.message);
        }
    }
    if !plan.summary.by_kind.is_empty() {
        let _ = writeln!(out, "\nTotals");
        for (kind, n) in &plan.summary.by_kind {
            let _ = writeln!(out, "  {n:>7}  {kind}");
        }
    }
    let _ = writeln!(
        out,
        "\n{} managed accounts, {} losing access in this plan, {} accounts matching no person (left alone)",
        plan.summary.managed_accounts,
        plan.summary.revoking_accounts,
        plan.summary.unmatched_accounts
    );
    if let Some(hold) = &plan.hold {
        let _ = writeln!(out, "\nHELD — {}", hold.message);
    }
    out
}
