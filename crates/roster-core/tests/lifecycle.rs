//! Lifecycle timing: joiners, movers, leavers, leave of absence, grants, in company time.

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use roster_core::desired::{Phase, desired_state, phase};
use roster_core::person::PreviousVersion;
use roster_core::plan::{Action, PersonEvent};
use roster_core::reason::Reason;
use roster_core::{
    Account, ActualState, Entitlement, Grant, Person, PersonRecord, PersonStatus, Policy, plan,
};

const POLICY: &str = r#"
[company]
time_zone = "Europe/Paris"
[lifecycle]
preprovision_days = 3
mover_grace_days = 7
[[roles]]
name = "eng"
groups = ["eng"]
[[roles]]
name = "sales"
groups = ["sales"]
[[rules]]
name = "engineers"
when = 'department == "Engineering"'
roles = ["eng"]
[[rules]]
name = "sellers"
when = 'department == "Sales"'
roles = ["sales"]
"#;

fn person(dept: &str) -> Person {
    Person {
        employee_id: "E1".into(),
        email: "ada@acme.example".into(),
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        department: dept.into(),
        team: String::new(),
        title: String::new(),
        manager_id: None,
        location: String::new(),
        employment_type: "full_time".into(),
        status: PersonStatus::Active,
        start_date: Some(Date::constant(2025, 1, 6)),
        end_date: None,
        custom: Default::default(),
    }
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn account(groups: &[&str], active: bool) -> Account {
    Account {
        external_id: "a1".into(),
        employee_id: Some("E1".into()),
        email: "ada@acme.example".into(),
        display_name: "Ada Lovelace".into(),
        active,
        last_active: None,
        entitlements: groups.iter().map(|g| Entitlement::group(*g)).collect(),
    }
}

fn state(accounts: Vec<Account>) -> ActualState {
    ActualState {
        accounts,
        groups: ["eng", "sales"].iter().map(|s| s.to_string()).collect(),
        group_space_permissions: Default::default(),
    }
}

#[test]
fn joiner_is_preprovisioned_inactive_then_activated_on_start_date() {
    let policy = Policy::parse(POLICY).unwrap();
    let mut p = person("Engineering");
    p.start_date = Some(Date::constant(2026, 12, 1));
    let record = PersonRecord::new(p);
    // 4 days before: nothing yet.
    assert!(matches!(
        phase(&policy, &record, at("2026-11-27T10:00:00Z")),
        Phase::NotYetProvisioned { .. }
    ));
    // 3 days before (Paris): created inactive with its groups.
    let now = at("2026-11-28T10:00:00Z");
    let d = desired_state(&policy, std::slice::from_ref(&record), &[], now);
    let pl = plan("wiki", &policy, &d, &state(vec![]), now);
    assert!(matches!(
        pl.changes[0].action,
        Action::CreateAccount { active: false, .. }
    ));
    assert!(pl.changes.iter().any(|c| matches!(&c.action, Action::Add { entitlement, .. } if entitlement == &Entitlement::group("eng"))));
    assert_eq!(pl.people["E1"], PersonEvent::Joiner);
    // Start date at 00:30 Paris time (23:30 UTC the day before): activated.
    let now = at("2026-11-30T23:30:00Z");
    let d = desired_state(&policy, std::slice::from_ref(&record), &[], now);
    let pl = plan(
        "wiki",
        &policy,
        &d,
        &state(vec![account(&["eng"], false)]),
        now,
    );
    assert_eq!(pl.changes.len(), 1);
    assert!(matches!(
        pl.changes[0].action,
        Action::ActivateAccount { .. }
    ));
    assert!(matches!(pl.changes[0].reason, Reason::Joiner { .. }));
}

#[test]
fn mover_gets_new_role_at_once_and_loses_old_after_grace() {
    let policy = Policy::parse(POLICY).unwrap();
    let moved_at = at("2026-11-20T09:00:00Z");
    let record = PersonRecord {
        person: person("Sales"),
        previous: vec![PreviousVersion {
            person: person("Engineering"),
            superseded_at: moved_at,
        }],
        absent_since: None,
    };
    let actual = state(vec![account(&["eng"], true)]);
    let now = moved_at + SignedDuration::from_hours(24);
    let d = desired_state(&policy, std::slice::from_ref(&record), &[], now);
    let pl = plan("wiki", &policy, &d, &actual, now);
    assert_eq!(pl.changes.len(), 1, "{:#?}", pl.changes);
    assert!(
        matches!(&pl.changes[0].action, Action::Add { entitlement, .. } if entitlement == &Entitlement::group("sales"))
    );
    assert_eq!(
        pl.changes[0].reason.to_string(),
        "rule \"sellers\": department Engineering → Sales"
    );
    assert_eq!(pl.people["E1"], PersonEvent::Mover);

    let actual = state(vec![account(&["eng", "sales"], true)]);
    let now = moved_at + SignedDuration::from_hours(24 * 7 + 1);
    let d = desired_state(&policy, std::slice::from_ref(&record), &[], now);
    let pl = plan("wiki", &policy, &d, &actual, now);
    assert_eq!(pl.changes.len(), 1, "{:#?}", pl.changes);
    assert!(
        matches!(&pl.changes[0].action, Action::Remove { entitlement, .. } if entitlement == &Entitlement::group("eng"))
    );
    assert!(matches!(
        pl.changes[0].reason,
        Reason::MoverGraceEnded { .. }
    ));
}

#[test]
fn leaver_loses_access_at_end_of_day_company_time() {
    let policy = Policy::parse(POLICY).unwrap();
    let mut p = person("Engineering");
    p.end_date = Some(Date::constant(2026, 11, 20));
    p.status = PersonStatus::Terminated;
    let record = PersonRecord::new(p);
    // 23:30 Paris on the end date is still the end date.
    assert_eq!(
        phase(&policy, &record, at("2026-11-20T22:30:00Z")),
        Phase::Active
    );
    // Midnight Paris (23:00 UTC) the access ends.
    let now = at("2026-11-20T23:00:00Z");
    assert!(matches!(phase(&policy, &record, now), Phase::Leaver { .. }));
    let actual = state(vec![account(&["eng", "unmanaged-group"], true)]);
    let d = desired_state(&policy, std::slice::from_ref(&record), &[], now);
    let pl = plan("wiki", &policy, &d, &actual, now);
    let kinds: Vec<&str> = pl.changes.iter().map(|c| c.action.kind()).collect();
    assert_eq!(
        kinds,
        [
            "remove from group",
            "remove from group",
            "deactivate account"
        ]
    );
    assert_eq!(pl.people["E1"], PersonEvent::Leaver);
}

#[test]
fn leave_of_absence_suspends_and_return_reactivates_with_access_kept() {
    let policy = Policy::parse(POLICY).unwrap();
    let mut p = person("Engineering");
    p.status = PersonStatus::Leave;
    let now = at("2026-11-23T10:00:00Z");
    let records = [PersonRecord::new(p.clone())];
    let d = desired_state(&policy, &records, &[], now);
    let pl = plan(
        "wiki",
        &policy,
        &d,
        &state(vec![account(&["eng"], true)]),
        now,
    );
    assert_eq!(pl.changes.len(), 1);
    assert!(matches!(
        pl.changes[0].action,
        Action::DeactivateAccount { .. }
    ));
    p.status = PersonStatus::Active;
    let records = [PersonRecord::new(p)];
    let d = desired_state(&policy, &records, &[], now);
    let pl = plan(
        "wiki",
        &policy,
        &d,
        &state(vec![account(&["eng"], false)]),
        now,
    );
    assert_eq!(pl.changes.len(), 1);
    assert!(matches!(
        pl.changes[0].action,
        Action::ActivateAccount { .. }
    ));
}

#[test]
fn expired_grant_is_revoked_and_unexpired_grant_is_kept() {
    let policy = Policy::parse(POLICY).unwrap();
    let record = PersonRecord::new(person("Engineering"));
    let grant = Grant {
        id: "REQ-7".into(),
        employee_id: "E1".into(),
        entitlement: Entitlement::space("FIN", "read"),
        owner: "cfo@acme.example".into(),
        reason: "quarter close".into(),
        starts_at: None,
        expires_at: Some(at("2026-11-30T00:00:00Z")),
    };
    let mut acct = account(&["eng"], true);
    acct.entitlements.insert(Entitlement::space("FIN", "read"));
    let actual = state(vec![acct]);
    let now = at("2026-11-29T00:00:00Z");
    let d = desired_state(
        &policy,
        std::slice::from_ref(&record),
        std::slice::from_ref(&grant),
        now,
    );
    assert!(plan("wiki", &policy, &d, &actual, now).is_empty());
    let now = at("2026-11-30T00:00:00Z");
    let d = desired_state(
        &policy,
        std::slice::from_ref(&record),
        std::slice::from_ref(&grant),
        now,
    );
    let pl = plan("wiki", &policy, &d, &actual, now);
    assert_eq!(pl.changes.len(), 1);
    assert_eq!(
        pl.changes[0].reason.to_string(),
        "grant REQ-7 expired 2026-11-30 00:00 UTC"
    );
}

#[test]
fn mass_revocation_is_held() {
    let policy = Policy::parse(POLICY).unwrap();
    let now = at("2026-11-23T10:00:00Z");
    let mut records = Vec::new();
    let mut accounts = Vec::new();
    for i in 0..20 {
        let mut p = person("Engineering");
        p.employee_id = format!("E{i}");
        p.email = format!("p{i}@acme.example");
        let mut r = PersonRecord::new(p);
        if i < 12 {
            r.absent_since = Some(now);
        }
        records.push(r);
        let mut a = account(&["eng"], true);
        a.external_id = format!("a{i}");
        a.employee_id = Some(format!("E{i}"));
        a.email = format!("p{i}@acme.example");
        accounts.push(a);
    }
    let d = desired_state(&policy, &records, &[], now);
    let pl = plan("wiki", &policy, &d, &state(accounts), now);
    let hold = pl.hold.expect("60 % revocation must be held");
    assert!(
        hold.message.contains("12 of 20 managed accounts (60 %)"),
        "{}",
        hold.message
    );
}
