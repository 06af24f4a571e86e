//! Property tests for plan/apply: for random people, policies, grants and actual states,
//! - applying the plan and planning again yields an empty plan;
//! - no plan removes an entitlement that a rule or an unexpired grant still covers;
//! - a leaver keeps nothing;
//! - the steps of one wave commute: applying each wave in any order reaches the same state
//!   without a failing step (what lets apply run a wave's steps at once).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use roster_core::desired::{Phase, desired_state, phase};
use roster_core::person::PreviousVersion;
use roster_core::plan::Action;
use roster_core::state::GroupSpacePermission;
use roster_core::{
    Account, ActualState, Entitlement, Grant, Person, PersonRecord, PersonStatus, Policy, plan,
};

const DEPARTMENTS: &[&str] = &["Engineering", "Sales", "Finance"];
const TYPES: &[&str] = &["full_time", "contractor"];
const GROUPS: &[&str] = &["g0", "g1", "g2", "g3", "unmanaged"];
const SPACES: &[&str] = &["S0", "S1", "X9"];
const OPS: &[&str] = &["read", "create:page", "administer"];

fn now() -> Timestamp {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

fn day(offset: i64) -> Date {
    Date::constant(2026, 11, 23)
        .checked_add(jiff::Span::new().days(offset))
        .unwrap()
}

fn policy_strategy() -> impl Strategy<Value = Policy> {
    let lifecycle = (
        0u32..5,
        0u32..10,
        prop::sample::select(vec!["suspend", "keep", "revoke"]),
        prop::sample::select(vec!["end_of_day", "start_of_day"]),
        prop::sample::select(vec!["on_start_date", "at_creation"]),
        prop::sample::select(vec!["leaver", "keep"]),
    );
    // Each role: some managed groups, maybe a direct space permission and a licence.
    let role = (
        prop::collection::btree_set(0usize..4, 0..3),
        prop::option::of(0usize..2),
        any::<bool>(),
    );
    let rule = (0usize..3, prop::option::of(0usize..2), any::<bool>());
    (
        lifecycle,
        prop::collection::vec(role, 1..4),
        prop::collection::vec(rule, 0..5),
        prop::collection::btree_set((0usize..4, 0usize..2, 1usize..3), 0..4),
    )
        .prop_map(|((pre, grace, leave, cutoff, activate, missing), roles, rules, perms)| {
            let mut text = format!(
                "[company]\ntime_zone = \"Europe/Paris\"\n[lifecycle]\npreprovision_days = {pre}\nmover_grace_days = {grace}\n\
                 on_leave = \"{leave}\"\nleaver = \"{cutoff}\"\nactivate = \"{activate}\"\nmissing_from_source = \"{missing}\"\n"
            );
            for (i, (groups, space, licence)) in roles.iter().enumerate() {
                let groups: Vec<String> = groups.iter().map(|g| format!("\"{}\"", GROUPS[*g])).collect();
                text.push_str(&format!("[[roles]]\nname = \"r{i}\"\ngroups = [{}]\n", groups.join(", ")));
                if let Some(s) = space {
                    text.push_str(&format!("spaces = {{ {} = [\"read\"] }}\n", SPACES[*s]));
                }
                if *licence {
                    text.push_str("licences = [\"confluence\"]\n");
                }
            }
            for (i, (dept, ty, negate)) in rules.iter().enumerate() {
                let mut cond = format!("department == \"{}\"", DEPARTMENTS[*dept]);
                if let Some(t) = ty {
                    let op = if *negate { "!=" } else { "==" };
                    cond = format!("{cond} and employment_type {op} \"{}\"", TYPES[*t]);
                }
                text.push_str(&format!(
                    "[[rules]]\nname = \"rule{i}\"\nwhen = '{cond}'\nroles = [\"r{}\"]\n",
                    i % roles.len()
                ));
            }
            // Group bundles on spaces, always with read first.
            let mut by_space: BTreeMap<usize, BTreeMap<usize, BTreeSet<&str>>> = BTreeMap::new();
            for (g, s, op) in perms {
                let ops = by_space.entry(s).or_default().entry(g).or_default();
                ops.insert("read");
                ops.insert(OPS[op]);
            }
            for (s, groups) in by_space {
                text.push_str(&format!("[[spaces]]\nkey = \"{}\"\n[spaces.groups]\n", SPACES[s]));
                for (g, ops) in groups {
                    let ops: Vec<String> = ops.iter().map(|o| format!("\"{o}\"")).collect();
                    text.push_str(&format!("\"{}\" = [{}]\n", GROUPS[g], ops.join(", ")));
                }
            }
            Policy::parse(&text).unwrap_or_else(|e| panic!("generated policy is invalid: {e}\n{text}"))
        })
}

fn person_strategy() -> impl Strategy<Value = (usize, usize, usize, Option<i64>, Option<i64>)> {
    (
        0usize..3,
        0usize..2,
        0usize..3,
        prop::option::of(-40i64..10),
        prop::option::of(-10i64..20),
    )
}

fn make_person(
    i: usize,
    (dept, ty, status, start, end): (usize, usize, usize, Option<i64>, Option<i64>),
) -> Person {
    let start_date = start.map(day);
    let end_date = match (start, end) {
        (Some(s), Some(e)) if e < s => Some(day(s)),
        (_, e) => e.map(day),
    };
    Person {
        employee_id: format!("E{i}"),
        email: format!("p{i}@acme.example"),
        first_name: format!("P{i}"),
        last_name: "Test".into(),
        department: DEPARTMENTS[dept].into(),
        team: String::new(),
        title: String::new(),
        manager_id: None,
        location: String::new(),
        employment_type: TYPES[ty].into(),
        status: [
            PersonStatus::Active,
            PersonStatus::Leave,
            PersonStatus::Terminated,
        ][status],
        start_date,
        end_date,
        custom: Default::default(),
    }
}

#[derive(Debug, Clone)]
struct Scenario {
    policy: Policy,
    people: Vec<PersonRecord>,
    grants: Vec<Grant>,
    actual: ActualState,
}

fn entitlement_strategy() -> impl Strategy<Value = Entitlement> {
    prop_oneof![
        (0usize..GROUPS.len()).prop_map(|g| Entitlement::group(GROUPS[g])),
        (0usize..SPACES.len(), 0usize..OPS.len())
            .prop_map(|(s, o)| Entitlement::space(SPACES[s], OPS[o])),
        Just(Entitlement::licence("confluence")),
    ]
}

fn scenario_strategy() -> impl Strategy<Value = Scenario> {
    let people = prop::collection::vec(
        (
            person_strategy(),
            prop::option::of((person_strategy(), 0i64..15)),
            prop::option::of(0i64..5),
        ),
        0..10,
    );
    let grants = prop::collection::vec(
        (
            0usize..12,
            entitlement_strategy(),
            prop::option::of(-5i64..5),
        ),
        0..4,
    );
    // Accounts: owner index (people or orphans), how linked, active, entitlements.
    let accounts = prop::collection::vec(
        (
            0usize..14,
            0u8..3,
            any::<bool>(),
            prop::collection::btree_set(entitlement_strategy(), 0..5),
        ),
        0..12,
    );
    let groups = prop::collection::btree_set(0usize..GROUPS.len(), 0..GROUPS.len());
    let group_perms = prop::collection::btree_set(
        (
            0usize..GROUPS.len(),
            0usize..SPACES.len(),
            0usize..OPS.len(),
        ),
        0..6,
    );
    (
        policy_strategy(),
        people,
        grants,
        accounts,
        groups,
        group_perms,
    )
        .prop_map(|(policy, people, grants, accounts, groups, group_perms)| {
            let people: Vec<PersonRecord> = people
                .into_iter()
                .enumerate()
                .map(|(i, (p, prev, absent))| {
                    let mut record = PersonRecord::new(make_person(i, p));
                    if let Some((pp, days_ago)) = prev {
                        record.previous.push(PreviousVersion {
                            person: make_person(i, pp),
                            superseded_at: now() - SignedDuration::from_hours(24 * days_ago),
                        });
                    }
                    record.absent_since =
                        absent.map(|d| now() - SignedDuration::from_hours(24 * d));
                    record
                })
                .collect();
            let grants = grants
                .into_iter()
                .enumerate()
                .map(|(i, (who, entitlement, expiry))| Grant {
                    id: format!("G{i}"),
                    employee_id: format!("E{who}"),
                    entitlement,
                    owner: "owner@acme.example".into(),
                    reason: "test".into(),
                    starts_at: None,
                    expires_at: expiry.map(|d| now() + SignedDuration::from_hours(24 * d)),
                })
                .collect();
            let mut seen_emails = BTreeSet::new();
            let accounts = accounts
                .into_iter()
                .enumerate()
                .filter_map(|(n, (owner, link, active, entitlements))| {
                    let email = format!("p{owner}@acme.example");
                    // Targets keep e-mails unique.
                    if !seen_emails.insert(email.clone()) {
                        return None;
                    }
                    let employee_id = match link {
                        0 => Some(format!("E{owner}")),
                        1 => None,
                        _ => Some(format!("E{}", owner + 100)),
                    };
                    Some(Account {
                        external_id: format!("acc{n}"),
                        employee_id,
                        email,
                        display_name: format!("Someone {owner}"),
                        active,
                        last_active: None,
                        entitlements,
                    })
                })
                .collect();
            let actual = ActualState {
                accounts,
                groups: groups.into_iter().map(|g| GROUPS[g].to_string()).collect(),
                group_space_permissions: group_perms
                    .into_iter()
                    .map(|(g, s, o)| GroupSpacePermission {
                        group: GROUPS[g].into(),
                        space: SPACES[s].into(),
                        operation: OPS[o].into(),
                    })
                    .collect(),
            };
            Scenario {
                policy,
                people,
                grants,
                actual,
            }
        })
}

fn apply_all(actual: &mut ActualState, plan: &roster_core::Plan) {
    for (i, c) in plan.changes.iter().enumerate() {
        actual
            .apply(&c.action, |a| format!("new-{}", a.employee_id))
            .unwrap_or_else(|e| panic!("step {i} ({:?}) failed: {e}", c.action));
    }
}

/// Entitlements a rule or an unexpired grant gives this person now, computed independently
/// of the planner: conditions are evaluated directly.
fn covered(s: &Scenario, person: &Person) -> BTreeSet<Entitlement> {
    let mut out = BTreeSet::new();
    for rule in &s.policy.rules {
        if rule.condition.evaluate(person) {
            for role in &rule.roles {
                out.extend(s.policy.roles[role].entitlements.iter().cloned());
            }
        }
    }
    for g in s.grants.iter().chain(&s.policy.grants) {
        if g.employee_id == person.employee_id && g.expires_at.is_none_or(|e| now() < e) {
            out.insert(g.entitlement.clone());
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn applying_a_plan_then_planning_again_is_empty(s in scenario_strategy()) {
        let desired = desired_state(&s.policy, &s.people, &s.grants, now());
        let first = plan("wiki", &s.policy, &desired, &s.actual, now());
        let mut actual = s.actual.clone();
        apply_all(&mut actual, &first);
        let second = plan("wiki", &s.policy, &desired, &actual, now());
        prop_assert!(second.changes.is_empty(), "second plan not empty: {:#?}", second.changes);
    }

    #[test]
    fn no_plan_removes_what_a_rule_or_unexpired_grant_covers(s in scenario_strategy()) {
        let desired = desired_state(&s.policy, &s.people, &s.grants, now());
        let p = plan("wiki", &s.policy, &desired, &s.actual, now());
        let people: BTreeMap<&str, &PersonRecord> =
            s.people.iter().map(|r| (r.person.employee_id.as_str(), r)).collect();
        for c in &p.changes {
            if let Action::Remove { account, entitlement } = &c.action {
                let record = people[account.employee_id.as_str()];
                if matches!(phase(&s.policy, record, now()), Phase::Leaver { .. }) {
                    continue;
                }
                prop_assert!(
                    !covered(&s, &record.person).contains(entitlement),
                    "plan removes {entitlement} from {} although it is covered: {}", account.email, c.reason
                );
            }
        }
    }

    #[test]
    fn a_leaver_keeps_nothing(s in scenario_strategy()) {
        let desired = desired_state(&s.policy, &s.people, &s.grants, now());
        let p = plan("wiki", &s.policy, &desired, &s.actual, now());
        let mut actual = s.actual.clone();
        apply_all(&mut actual, &p);
        for record in &s.people {
            if !matches!(phase(&s.policy, record, now()), Phase::Leaver { .. }) {
                continue;
            }
            let id = &record.person.employee_id;
            if p.conflicts.iter().any(|c| &c.employee_id == id) {
                continue;
            }
            for a in &actual.accounts {
                let theirs = a.employee_id.as_deref() == Some(id.as_str())
                    || (a.employee_id.is_none() && a.email == record.person.email);
                if theirs {
                    prop_assert!(!a.active, "leaver {} still active", a.email);
                    prop_assert!(a.entitlements.is_empty(), "leaver {} keeps {:?}", a.email, a.entitlements);
                }
            }
        }
    }

    #[test]
    fn steps_of_one_wave_commute(s in scenario_strategy(), seed in any::<u64>()) {
        let desired = desired_state(&s.policy, &s.people, &s.grants, now());
        let p = plan("wiki", &s.policy, &desired, &s.actual, now());
        let mut in_order = s.actual.clone();
        apply_all(&mut in_order, &p);

        // Each wave shuffled (waves are contiguous in a plan), then applied.
        let mut rng = fastrand::Rng::with_seed(seed);
        let mut shuffled = s.actual.clone();
        let mut start = 0;
        while start < p.changes.len() {
            let wave = p.changes[start].action.wave();
            let end = start + p.changes[start..].iter().take_while(|c| c.action.wave() == wave).count();
            prop_assert!(
                p.changes[end..].iter().all(|c| c.action.wave() > wave),
                "wave {wave:?} is not contiguous"
            );
            let mut steps: Vec<usize> = (start..end).collect();
            rng.shuffle(&mut steps);
            for i in steps {
                let action = &p.changes[i].action;
                let outcome = shuffled.apply(action, |a| format!("new-{}", a.employee_id));
                prop_assert!(outcome.is_ok(), "step {i} ({action:?}) failed out of order: {outcome:?}");
            }
            start = end;
        }
        // Accounts are listed in creation order, which the shuffle may change.
        for state in [&mut shuffled, &mut in_order] {
            state.accounts.sort_by(|a, b| a.external_id.cmp(&b.external_id));
        }
        prop_assert_eq!(shuffled, in_order);
    }
}
