//! The generator's promises: determinism, a valid company, the planted events as a real
//! sync sees them, policies that parse, and the committed `examples/acme/` kept in step.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Instant;

use roster_core::intake::{IntakeOptions, RawRecord, validate};
use roster_core::person::PreviousVersion;
use roster_core::plan::PersonEvent;
use roster_core::{
    Action, ActualState, Person, PersonRecord, PersonStatus, Policy, Reason, desired_state, plan,
};
use roster_examples::{
    ACME_SEED, ACME_SIZE, Company, Expected, acme, expected_toml, large_policy_toml, policy_toml,
    write_csv, write_current_csv,
};

fn csv_text(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

/// Reads CSV text the way the CSV source does: line numbers as rows, headers as attributes.
fn records(text: &str) -> Vec<RawRecord> {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            RawRecord {
                row: r.position().unwrap().line() as usize,
                fields: headers
                    .iter()
                    .zip(r.iter())
                    .map(|(h, v)| (h.to_string(), v.to_string()))
                    .collect(),
            }
        })
        .collect()
}

fn options() -> IntakeOptions {
    IntakeOptions {
        custom_attributes: BTreeSet::from(["cost_center".to_string()]),
        ..IntakeOptions::default()
    }
}

#[test]
fn same_seed_same_company_other_seed_other_company() {
    let a = acme(7, 400);
    let b = acme(7, 400);
    assert_eq!(a, b);
    assert_eq!(
        csv_text(|w| write_current_csv(&a, w)),
        csv_text(|w| write_current_csv(&b, w))
    );
    assert_eq!(policy_toml(&a), policy_toml(&b));
    let c = acme(8, 400);
    assert_ne!(a.people, c.people);
    assert_eq!(a.people.len(), 400);
    assert_eq!(acme(1, 10).people.len(), roster_examples::MIN_SIZE);
}

fn check_company(c: &Company) {
    for people in [&c.people, &c.previous_people] {
        let ids: BTreeSet<&str> = people.iter().map(|p| p.employee_id.as_str()).collect();
        assert_eq!(ids.len(), people.len(), "unique employee ids");
        let emails: BTreeSet<String> = people.iter().map(|p| p.email.to_lowercase()).collect();
        assert_eq!(emails.len(), people.len(), "unique e-mails");
        let mut sorted = people.to_vec();
        sorted.sort_by(|a, b| a.employee_id.cmp(&b.employee_id));
        assert!(sorted == *people, "sorted by employee id");
        let ceos: Vec<&Person> = people.iter().filter(|p| p.manager_id.is_none()).collect();
        assert_eq!(ceos.len(), 1, "only the CEO has no manager");
        assert_eq!(
            ceos[0].employee_id, people[0].employee_id,
            "the CEO has the first id"
        );
        assert_eq!(ceos[0].title, "Chief Executive Officer");
        for p in people.iter() {
            if let Some(m) = &p.manager_id {
                assert!(
                    ids.contains(m.as_str()),
                    "{}'s manager {m} exists",
                    p.employee_id
                );
                assert_ne!(m, &p.employee_id);
            }
            assert!(p.email.ends_with("@acme.example"), "{}", p.email);
            assert!(p.start_date.is_some());
            assert!(p.custom.contains_key("cost_center"));
            assert!(
                ["full_time", "part_time", "contractor", "intern"]
                    .contains(&p.employment_type.as_str())
            );
            assert!(["Paris", "Berlin", "London", "Remote"].contains(&p.location.as_str()));
        }
        // Managers are never planted leavers: no one reports to someone who left.
        let terminated: BTreeSet<&str> = people
            .iter()
            .filter(|p| p.status == PersonStatus::Terminated)
            .map(|p| p.employee_id.as_str())
            .collect();
        assert!(people.iter().all(|p| {
            p.manager_id
                .as_deref()
                .is_none_or(|m| !terminated.contains(m))
        }));
    }
    // Bad rows never clash with real people's e-mails.
    let emails: BTreeSet<&str> = c.people.iter().map(|p| p.email.as_str()).collect();
    for b in &c.bad_rows {
        assert!(!emails.contains(b.fields["email"].as_str()));
    }
    // The reporting lines end at the CEO (no cycles).
    let by_id: BTreeMap<&str, &Person> = c
        .people
        .iter()
        .map(|p| (p.employee_id.as_str(), p))
        .collect();
    for p in &c.people {
        let mut cur = p;
        for _ in 0..64 {
            match cur.manager_id.as_deref() {
                Some(m) => cur = by_id[m],
                None => break,
            }
        }
        assert_eq!(cur.employee_id, c.people[0].employee_id);
    }
}

#[test]
fn acme_is_a_valid_company() {
    let c = acme(ACME_SEED, ACME_SIZE);
    check_company(&c);
    assert_eq!(c.people.len(), ACME_SIZE);
    let depts: BTreeSet<&str> = c.people.iter().map(|p| p.department.as_str()).collect();
    for d in [
        "Engineering",
        "Sales",
        "Marketing",
        "Finance",
        "People",
        "Support",
        "Legal",
        "Executive",
    ] {
        assert!(depts.contains(d), "{d}");
    }
    for t in ["Platform", "Mobile", "Data", "Security", "EMEA", "Americas"] {
        assert!(c.people.iter().any(|p| p.team == t), "{t}");
    }
    for e in ["full_time", "part_time", "contractor", "intern"] {
        assert!(c.people.iter().any(|p| p.employment_type == e), "{e}");
    }
    // Contractors with end dates still ahead are not leavers.
    assert!(c.people.iter().any(|p| {
        p.employment_type == "contractor"
            && p.end_date
                .is_some_and(|d| d > jiff::civil::date(2026, 12, 1))
    }));
}

#[test]
fn a_hundred_thousand_people_quickly() {
    let started = Instant::now();
    let c = acme(42, 100_000);
    let took = started.elapsed();
    eprintln!("generated 100,000 people in {took:?}");
    assert_eq!(c.people.len(), 100_000);
    assert_eq!(c.people[0].employee_id, "E000001");
    check_company(&c);
    // Both exports, 200,000 person records: about half a second in an optimised build
    // (benchmarks), about a second in an unoptimised test build, more on a busy machine.
    let limit = if cfg!(debug_assertions) { 15.0 } else { 3.0 };
    assert!(
        took.as_secs_f64() < limit,
        "generating 100,000 people took {took:?}"
    );
    let max_reports = c
        .people
        .iter()
        .filter(|p| !p.title.starts_with("VP ") && p.title != "Chief Executive Officer")
        .filter_map(|p| p.manager_id.as_deref())
        .fold(BTreeMap::<&str, usize>::new(), |mut m, id| {
            *m.entry(id).or_default() += 1;
            m
        });
    let heads: BTreeSet<&str> = c
        .people
        .iter()
        .filter(|p| p.manager_id.as_deref() == Some("E000001"))
        .map(|p| p.employee_id.as_str())
        .collect();
    for (manager, n) in max_reports {
        if !heads.contains(manager) && manager != "E000001" {
            assert!(n <= 9, "{manager} has {n} reports");
        }
    }
}

/// Replays the demo with roster-core alone: import the previous export, plan, apply into an
/// empty target; import today's export (through validation), plan again.
struct Replay {
    second: roster_core::Plan,
    quarantined: Vec<(usize, String, String)>,
}

fn replay(c: &Company) -> Replay {
    let policy = Policy::parse(&policy_toml(c)).unwrap();
    let previous_records = records(&csv_text(|w| write_csv(&c.previous_people, w)));
    let before = validate("hr-previous.csv", &previous_records, &options());
    assert!(before.quarantined.is_empty(), "{:?}", before.quarantined);
    assert_eq!(before.people, c.previous_people);
    let people: Vec<PersonRecord> = before
        .people
        .iter()
        .cloned()
        .map(PersonRecord::new)
        .collect();
    let desired = desired_state(&policy, &people, &[], c.previous_as_of);
    let first = plan(
        "acme",
        &policy,
        &desired,
        &ActualState::default(),
        c.previous_as_of,
    );
    assert!(first.hold.is_none());
    let mut target = ActualState::default();
    for change in &first.changes {
        target
            .apply(&change.action, |a| format!("acc-{}", a.employee_id))
            .unwrap();
    }

    let current = records(&csv_text(|w| write_current_csv(c, w)));
    let intake = validate("hr.csv", &current, &options());
    assert_eq!(intake.people, c.people);
    let previous: BTreeMap<&str, &Person> = before
        .people
        .iter()
        .map(|p| (p.employee_id.as_str(), p))
        .collect();
    let people: Vec<PersonRecord> = intake
        .people
        .iter()
        .map(|p| {
            let mut r = PersonRecord::new(p.clone());
            if let Some(old) = previous.get(p.employee_id.as_str())
                && *old != p
            {
                r.previous.push(PreviousVersion {
                    person: (*old).clone(),
                    superseded_at: c.as_of,
                });
            }
            r
        })
        .collect();
    let desired = desired_state(&policy, &people, &[], c.as_of);
    let second = plan("acme", &policy, &desired, &target, c.as_of);
    Replay {
        second,
        quarantined: intake
            .quarantined
            .iter()
            .map(|q| {
                (
                    q.row,
                    q.employee_id.clone().unwrap_or_default(),
                    q.field.clone(),
                )
            })
            .collect(),
    }
}

fn check_events(c: &Company) {
    let e = &c.expected;
    assert_eq!(e.joiners.len(), 7);
    assert_eq!(e.movers.len(), 1);
    assert_eq!(e.leavers.len(), 4);
    assert_eq!(e.on_leave.len(), 1);
    assert_eq!(e.future_joiners.len(), 2);
    assert_eq!(e.quarantined.len(), 5);
    let r = replay(c);
    let plan = &r.second;
    let of = |event: PersonEvent| -> Vec<String> {
        plan.people
            .iter()
            .filter(|(_, e)| **e == event)
            .map(|(id, _)| id.clone())
            .collect()
    };
    assert_eq!(of(PersonEvent::Joiner), e.joiners);
    assert_eq!(of(PersonEvent::Mover), e.movers);
    assert_eq!(of(PersonEvent::Leaver), e.leavers);
    assert_eq!(
        of(PersonEvent::Other),
        e.on_leave,
        "only the suspension is 'other'"
    );
    let suspended: Vec<String> = plan
        .changes
        .iter()
        .filter(|ch| matches!(ch.action, Action::DeactivateAccount { .. }))
        .filter(|ch| ch.reason == Reason::OnLeave)
        .filter_map(|ch| ch.action.account().map(|a| a.employee_id.clone()))
        .collect();
    assert_eq!(suspended, e.on_leave);
    assert!(plan.hold.is_none(), "{:?}", plan.hold);
    assert!(plan.conflicts.is_empty());
    // The two pre-provisioned joiners are activated, not created.
    let activated: BTreeSet<&str> = plan
        .changes
        .iter()
        .filter(|ch| matches!(ch.action, Action::ActivateAccount { .. }))
        .filter_map(|ch| ch.action.account().map(|a| a.employee_id.as_str()))
        .collect();
    assert_eq!(activated.len(), 2);
    // No one else is touched: future joiners, long-gone and leaving-later people are absent.
    for id in e
        .future_joiners
        .iter()
        .chain(&e.long_gone)
        .chain(&e.leaving_later)
    {
        assert!(!plan.people.contains_key(id), "{id} is in the plan");
    }
    let expected_q: Vec<(usize, String, String)> = e
        .quarantined
        .iter()
        .map(|q| (q.row, q.employee_id.clone(), q.field.clone()))
        .collect();
    assert_eq!(r.quarantined, expected_q);
    let fields: BTreeSet<&str> = e.quarantined.iter().map(|q| q.field.as_str()).collect();
    assert_eq!(
        fields,
        BTreeSet::from(["email", "start_date", "manager_id", "employee_id"])
    );
    // The mover went from Engineering to Sales.
    let mover = &e.movers[0];
    assert_eq!(c.previous_person(mover).unwrap().department, "Engineering");
    assert_eq!(c.person(mover).unwrap().department, "Sales");
    // The contractor leaver is still "active" in HR.
    assert!(e.leavers.iter().any(|id| {
        let p = c.person(id).unwrap();
        p.employment_type == "contractor" && p.status == PersonStatus::Active
    }));
}

#[test]
fn planted_events_are_what_a_sync_sees() {
    check_events(&acme(ACME_SEED, ACME_SIZE));
    for seed in [1, 2, 3] {
        check_events(&acme(seed, 150));
    }
    check_events(&acme(5, 2_000));
}

#[test]
fn acme_policy_parses_and_uses_everything_it_promises() {
    let c = acme(ACME_SEED, ACME_SIZE);
    let text = policy_toml(&c);
    let policy = Policy::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(policy.time_zone_name, "Europe/Paris");
    assert_eq!(policy.lifecycle.preprovision_days, 3);
    assert_eq!(policy.lifecycle.mover_grace_days, 7);
    assert!(policy.custom_attributes.contains("cost_center"));
    assert_eq!(
        policy.spaces,
        [
            "COMPANY", "ENG", "FIN", "LEGAL", "MKT", "PEOPLE", "SALES", "SUP"
        ]
        .into_iter()
        .map(String::from)
        .collect()
    );
    for op in [
        "==",
        "!=",
        " in [",
        " not in [",
        "starts_with",
        " and ",
        " or ",
        "not (",
    ] {
        assert!(text.contains(op), "policy uses {op}");
    }
    assert_eq!(policy.grants.len(), 1);
    let grant = &policy.grants[0];
    assert!(grant.expires_at.is_some());
    assert!(c.person(&grant.employee_id).is_some());
    // Every rule matches someone, every role is assigned by a rule.
    for rule in &policy.rules {
        assert!(
            c.people.iter().any(|p| rule.condition.evaluate(p)),
            "rule {} matches nobody",
            rule.name
        );
    }
    let assigned: BTreeSet<&str> = policy
        .rules
        .iter()
        .flat_map(|r| r.roles.iter().map(String::as_str))
        .collect();
    assert_eq!(assigned, policy.roles.keys().map(String::as_str).collect());
    // The g-and-a rule (on cost_center) matches finance people.
    let gna = policy.rules.iter().find(|r| r.name == "g-and-a").unwrap();
    assert!(
        c.people
            .iter()
            .any(|p| p.department == "Finance" && gna.condition.evaluate(&p.clone()))
    );
}

#[test]
fn large_policy_parses_and_every_rule_matches() {
    let c = acme(42, 100_000);
    let started = Instant::now();
    let text = large_policy_toml(50, 5_000, 20_000);
    let policy = Policy::parse(&text).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "large policy: {} bytes, parsed in {:?}",
        text.len(),
        started.elapsed()
    );
    assert_eq!(policy.rules.len(), 50);
    assert_eq!(policy.spaces.len(), 5_000);
    assert_eq!(policy.managed_groups().len(), 20_000, "every group is used");
    for rule in &policy.rules {
        let n = c
            .people
            .iter()
            .filter(|p| rule.condition.evaluate(p))
            .count();
        assert!(
            n > 0,
            "rule {} ({}) matches nobody",
            rule.name,
            rule.condition
        );
    }
    // Each space has members through roles.
    let role_groups: BTreeSet<&String> = policy
        .roles
        .values()
        .flat_map(|r| r.entitlements.iter())
        .filter_map(|e| match e {
            roster_core::Entitlement::Group { group } => Some(group),
            _ => None,
        })
        .collect();
    for space in &policy.spaces {
        assert!(
            policy
                .group_space_permissions
                .iter()
                .any(|p| &p.space == space && role_groups.contains(&p.group))
        );
    }
    // Small and degenerate shapes still parse and use every group.
    for (r, s, g) in [(3, 2, 10), (0, 4, 9), (5, 0, 17), (0, 0, 3), (8, 100, 5)] {
        let p = Policy::parse(&large_policy_toml(r, s, g))
            .unwrap_or_else(|e| panic!("{r} {s} {g}: {e}"));
        assert_eq!(p.managed_groups().len(), g, "{r} {s} {g}");
        assert_eq!(p.spaces.len(), s);
        assert_eq!(p.rules.len(), r);
    }
}

fn acme_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

/// `examples/acme/` is what the generator writes. Set `ROSTER_REGENERATE_EXAMPLES=1` to
/// rewrite it after changing the generator.
#[test]
fn committed_example_matches_the_generator() {
    let dir = acme_dir();
    if std::env::var_os("ROSTER_REGENERATE_EXAMPLES").is_some() {
        roster_examples::write_example_dir(&dir, ACME_SEED, ACME_SIZE).unwrap();
    }
    let tmp = tempfile::tempdir().unwrap();
    let c = roster_examples::write_example_dir(tmp.path(), ACME_SEED, ACME_SIZE).unwrap();
    for name in [
        "policy.toml",
        "hr.csv",
        "hr-previous.csv",
        "expected.toml",
        "README.md",
    ] {
        let fresh = std::fs::read_to_string(tmp.path().join(name)).unwrap();
        let committed = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        assert!(
            fresh == committed,
            "examples/acme/{name} differs from the generator's output; \
             run `ROSTER_REGENERATE_EXAMPLES=1 cargo test -p roster-examples` and commit"
        );
    }
    let expected = Expected::parse(&expected_toml(&c)).unwrap();
    assert_eq!(expected, c.expected, "expected.toml reads back as written");
}
