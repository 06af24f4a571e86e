//! The status comparison on a small company: HR beside an identity provider and a target.
//! A target that Roster has just converged shows no finding of its own; each kind of drift
//! planted afterwards shows up as exactly its category.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::Date;
use roster_core::directory::{DirectoryAccount, DirectoryStatus};
use roster_core::matching::{Conflict, MatchOptions};
use roster_core::status::{Category, StatusInput, StatusReport, compare};
use roster_core::{
    Account, ActualState, Entitlement, Person, PersonRecord, PersonStatus, Policy, desired_state,
    plan,
};

const POLICY: &str = r#"
[company]
time_zone = "Europe/Paris"
[[roles]]
name = "employee"
groups = ["confluence-users"]
[[roles]]
name = "eng"
groups = ["eng"]
[[rules]]
name = "everyone"
when = 'employment_type != "nobody"'
roles = ["employee"]
[[rules]]
name = "engineers"
when = 'department == "Engineering"'
roles = ["eng"]
[[spaces]]
key = "ENG"
groups = { eng = ["read"] }
"#;

fn now() -> Timestamp {
    "2026-11-23T10:00:00Z".parse().unwrap()
}

fn person(id: &str, email: &str, status: PersonStatus, end: Option<Date>) -> PersonRecord {
    PersonRecord {
        person: Person {
            employee_id: id.into(),
            email: email.into(),
            first_name: id.into(),
            last_name: "Test".into(),
            department: "Engineering".into(),
            team: String::new(),
            title: String::new(),
            manager_id: None,
            location: String::new(),
            employment_type: "full_time".into(),
            status,
            start_date: Some(Date::constant(2024, 1, 8)),
            end_date: end,
            custom: Default::default(),
        },
        previous: Vec::new(),
        absent_since: None,
    }
}

fn people() -> Vec<PersonRecord> {
    vec![
        person("E1", "ada@acme.example", PersonStatus::Active, None),
        person(
            "E2",
            "bob@acme.example",
            PersonStatus::Terminated,
            Some(Date::constant(2026, 11, 20)),
        ),
        // A contractor whose end date passed while HR still says active.
        person(
            "E3",
            "cy@acme.example",
            PersonStatus::Active,
            Some(Date::constant(2026, 11, 1)),
        ),
        person("E4", "dee@acme.example", PersonStatus::Active, None),
    ]
}

fn idp(
    id: &str,
    login: &str,
    employee_id: Option<&str>,
    status: DirectoryStatus,
) -> DirectoryAccount {
    DirectoryAccount {
        id: id.into(),
        login: login.into(),
        email: None,
        employee_id: employee_id.map(str::to_string),
        display_name: String::new(),
        status,
        vendor_status: String::new(),
        last_sign_in: None,
        groups: Vec::new(),
    }
}

/// The target after Roster converged it: plan from HR's accounts as they were before the
/// leavers left (everyone active with their groups), applied with the reference semantics.
fn converged(policy: &Policy, people: &[PersonRecord]) -> ActualState {
    let before: Vec<PersonRecord> = people
        .iter()
        .map(|r| {
            let mut r = r.clone();
            r.person.status = PersonStatus::Active;
            r.person.end_date = None;
            r
        })
        .collect();
    let mut state = ActualState::default();
    for records in [&before[..], people] {
        let desired = desired_state(policy, records, &[], now());
        let p = plan("wiki", policy, &desired, &state, now());
        for c in &p.changes {
            state
                .apply(&c.action, |a| format!("acc-{}", a.employee_id))
                .unwrap();
        }
    }
    state
}

/// Compares HR with Okta (when its accounts are given) and the wiki target.
fn report(
    people: &[PersonRecord],
    idp_accounts: Option<Vec<DirectoryAccount>>,
    target: ActualState,
) -> StatusReport {
    let policy = Policy::parse(POLICY).unwrap();
    let desired = desired_state(&policy, people, &[], now());
    let admin_groups: BTreeSet<String> = ["site-admins".to_string()].into();
    compare(&StatusInput {
        policy: &policy,
        people,
        desired: &desired,
        directories: &idp_accounts
            .map(|a| vec![("okta".to_string(), a)])
            .unwrap_or_default(),
        targets: &[("wiki".to_string(), target)],
        matching: &MatchOptions::default(),
        admin_groups: &admin_groups,
        now: now(),
    })
}

fn found(r: &StatusReport, category: Category) -> Vec<(String, Option<String>)> {
    r.findings
        .iter()
        .filter(|f| f.category == category)
        .map(|f| (f.system.clone(), f.employee_id.clone()))
        .collect()
}

#[test]
fn a_converged_target_has_no_findings_and_the_idp_shows_its_drift() {
    let policy = Policy::parse(POLICY).unwrap();
    let people = people();
    let target = converged(&policy, &people);
    let idp_accounts = vec![
        idp(
            "o1",
            "ada@acme.example",
            Some("E1"),
            DirectoryStatus::Active,
        ),
        // Left on the 20th, still active in Okta.
        idp("o2", "Bob@Acme.example", None, DirectoryStatus::Active),
        idp("o3", "cy+okta@acme.example", None, DirectoryStatus::Active),
        idp(
            "o9",
            "old.admin@acme.example",
            None,
            DirectoryStatus::Active,
        ),
        idp(
            "o10",
            "gone@acme.example",
            None,
            DirectoryStatus::Deprovisioned,
        ),
    ];
    let r = report(&people, Some(idp_accounts), target);
    let wiki_findings: Vec<_> = r.findings.iter().filter(|f| f.system == "wiki").collect();
    assert!(wiki_findings.is_empty(), "{wiki_findings:#?}");
    let okta = |id: &str| ("okta".to_string(), Some(id.to_string()));
    assert_eq!(found(&r, Category::ActiveLeaver), [okta("E2"), okta("E3")]);
    assert_eq!(
        found(&r, Category::OrphanedAccount),
        [("okta".to_string(), None)],
        "one active orphan; a deprovisioned one is harmless"
    );
    assert_eq!(found(&r, Category::MissingAccount), [okta("E4")]);
    let leaver = r.people.iter().find(|p| p.employee_id == "E2").unwrap();
    assert_eq!(leaver.hr_status, "terminated");
    assert_eq!(leaver.phase, "leaver");
    let systems: Vec<(&str, bool)> = leaver
        .accounts
        .iter()
        .map(|a| (a.system.as_str(), a.active))
        .collect();
    assert_eq!(systems, [("okta", true), ("wiki", false)]);
}

#[test]
fn drift_in_a_target_is_named_by_category() {
    let policy = Policy::parse(POLICY).unwrap();
    let people = people();
    let mut target = converged(&policy, &people);
    let find = |t: &mut ActualState, id: &str| -> usize {
        t.accounts
            .iter()
            .position(|a| a.employee_id.as_deref() == Some(id))
            .unwrap()
    };
    // Ada got a group and a space admin right by hand; Bob was reactivated by hand; an account
    // of nobody is site admin; Dee's account was deleted.
    let ada = find(&mut target, "E1");
    target.accounts[ada]
        .entitlements
        .insert(Entitlement::group("finance"));
    target.accounts[ada]
        .entitlements
        .insert(Entitlement::space("ENG", "administer"));
    let bob = find(&mut target, "E2");
    target.accounts[bob].active = true;
    let dee = find(&mut target, "E4");
    target.accounts.remove(dee);
    target.accounts.push(Account {
        external_id: "acc-x".into(),
        employee_id: None,
        email: "root@acme.example".into(),
        display_name: "root".into(),
        active: true,
        last_active: None,
        entitlements: [Entitlement::group("site-admins")].into(),
    });
    let r = report(&people, None, target);
    let wiki = |id: Option<&str>| ("wiki".to_string(), id.map(str::to_string));
    assert_eq!(found(&r, Category::PermissionCreep), [wiki(Some("E1"))]);
    assert_eq!(
        found(&r, Category::UnmanagedAdmin),
        [wiki(None), wiki(Some("E1"))]
    );
    assert_eq!(found(&r, Category::ActiveLeaver), [wiki(Some("E2"))]);
    assert_eq!(found(&r, Category::OrphanedAccount), [wiki(None)]);
    assert_eq!(found(&r, Category::MissingAccount), [wiki(Some("E4"))]);
    let creep = r
        .findings
        .iter()
        .find(|f| f.category == Category::PermissionCreep)
        .unwrap();
    assert!(creep.detail.contains("finance"), "{}", creep.detail);
}

#[test]
fn two_people_with_one_email_are_a_conflict_and_match_nothing() {
    let mut people = people();
    people[3].person.email = "ADA@acme.example".into();
    let r = report(
        &people,
        Some(vec![idp(
            "o1",
            "ada@acme.example",
            None,
            DirectoryStatus::Active,
        )]),
        ActualState::default(),
    );
    assert!(r.conflicts.contains(&Conflict::SharedEmail {
        email: "ada@acme.example".into(),
        employee_ids: vec!["E1".into(), "E4".into()],
    }));
    assert_eq!(
        found(&r, Category::OrphanedAccount),
        [("okta".to_string(), None)],
        "the shared address decides nothing"
    );
}

#[test]
fn categories_parse_from_their_cli_names() {
    for c in Category::ALL {
        assert_eq!(Category::parse(c.name()), Some(c));
        assert_eq!(Category::parse(&c.to_string()), Some(c));
    }
    assert_eq!(
        Category::parse("active-leaver"),
        Some(Category::ActiveLeaver)
    );
    assert_eq!(Category::parse("nonsense"), None);
}
