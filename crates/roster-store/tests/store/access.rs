//! Access history: what observations and changes open and close, and who held what when.

use super::*;

pub(crate) fn observed(accounts: Vec<Account>, perms: &[(&str, &str, &str)]) -> ActualState {
    ActualState {
        groups: accounts
            .iter()
            .flat_map(|a| a.entitlements.iter())
            .filter_map(|e| match e {
                Entitlement::Group { group } => Some(group.clone()),
                _ => None,
            })
            .collect(),
        accounts,
        group_space_permissions: perms
            .iter()
            .map(|(g, s, o)| GroupSpacePermission {
                group: g.to_string(),
                space: s.to_string(),
                operation: o.to_string(),
            })
            .collect(),
    }
}

pub(crate) fn alice(entitlements: &[Entitlement]) -> Account {
    Account {
        external_id: "acc-alice".into(),
        employee_id: Some("E1".into()),
        email: "alice@acme.example".into(),
        display_name: "Alice".into(),
        active: true,
        last_active: None,
        entitlements: entitlements.iter().cloned().collect(),
    }
}

pub(crate) fn lines(records: &[AccessRecord]) -> Vec<String> {
    records
        .iter()
        .map(|r| {
            format!(
                "{} | {} | {} | {:?}",
                r.email, r.entitlement, r.via, r.audit_events
            )
        })
        .collect()
}

pub(crate) async fn observation_opens_and_closes_access(store: &dyn Store) {
    let (t1, t2, t3) = (
        at("2026-06-01T08:00:00Z"),
        at("2026-06-02T08:00:00Z"),
        at("2026-06-03T08:00:00Z"),
    );
    let state = observed(
        vec![alice(&[
            Entitlement::group("eng"),
            Entitlement::licence("confluence"),
        ])],
        &[("eng", "ENG", "read")],
    );
    store.record_observation("wiki", &state, t1).await.unwrap();
    store.record_observation("wiki", &state, t2).await.unwrap();
    let all = AccessFilter::default();
    let seen = store.access_at(t2, &all).await.unwrap();
    assert_eq!(
        lines(&seen),
        vec![
            "alice@acme.example | group eng | direct | []",
            "alice@acme.example | licence confluence | direct | []",
            "alice@acme.example | space ENG: read | group eng | []",
        ],
        "reading the same state again opens nothing new"
    );
    assert!(
        seen.iter()
            .all(|r| r.reason == "observed in target" && r.since == t1)
    );
    assert_eq!(seen[0].employee_id.as_deref(), Some("E1"));
    assert!(
        store
            .access_at(at("2026-06-01T07:59:59Z"), &all)
            .await
            .unwrap()
            .is_empty()
    );

    // The licence was reclaimed outside Roster and the group lost its permission.
    store
        .record_observation(
            "wiki",
            &observed(vec![alice(&[Entitlement::group("eng")])], &[]),
            t3,
        )
        .await
        .unwrap();
    assert_eq!(
        lines(&store.access_at(t3, &all).await.unwrap()),
        vec!["alice@acme.example | group eng | direct | []"]
    );
    assert_eq!(
        store.access_at(t2, &all).await.unwrap().len(),
        3,
        "the past is kept"
    );
    let other_system = AccessFilter {
        system: Some("okta".into()),
        ..AccessFilter::default()
    };
    assert!(store.access_at(t2, &other_system).await.unwrap().is_empty());
}

pub(crate) async fn access_at_for_person_and_space_through_group(db: &Db) {
    let store = db.store.as_ref();
    let (t1, t2, t3) = (
        at("2026-07-01T08:00:00Z"),
        at("2026-07-02T08:00:00Z"),
        at("2026-07-03T08:00:00Z"),
    );
    // Alice was in eng before Roster, and eng can read ENG.
    store
        .record_observation(
            "wiki",
            &observed(
                vec![alice(&[Entitlement::group("eng")])],
                &[("eng", "ENG", "read")],
            ),
            t1,
        )
        .await
        .unwrap();

    // Roster creates Bob, puts him in eng, grants him FIN directly, and lets eng create pages.
    let bob = account("E2", "Bob");
    let grant = Reason::Grant {
        grant_id: "g1".into(),
        owner: "cfo@acme.example".into(),
        reason: "quarter close".into(),
        expires_at: None,
    };
    let joiner = plan_of(
        "wiki",
        t2,
        vec![
            Change {
                action: Action::GrantGroupSpacePermission {
                    group: "eng".into(),
                    space: "ENG".into(),
                    operation: "create:page".into(),
                },
                reason: Reason::SpacePolicy {
                    space: "ENG".into(),
                },
            },
            Change {
                action: Action::CreateAccount {
                    account: bob.clone(),
                    active: true,
                },
                reason: Reason::Employed {
                    status: PersonStatus::Active,
                },
            },
            Change {
                action: Action::Add {
                    account: bob.clone(),
                    entitlement: Entitlement::group("eng"),
                },
                reason: rule("engineers"),
            },
            Change {
                action: Action::Add {
                    account: bob.clone(),
                    entitlement: Entitlement::space("FIN", "read"),
                },
                reason: grant.clone(),
            },
        ],
    );
    let id = store.save_plan(&joiner, PlanStatus::Pending).await.unwrap();
    let steps: Vec<CompletedStep> = (0..4).map(|n| completed(&id, &joiner, n, t2)).collect();
    let seqs = store.complete_steps(&id, &steps, t2).await.unwrap();
    assert_eq!(seqs, vec![1, 2, 3, 4]);

    // The next read finds Bob (now with a target id) holding what Roster gave him.
    let bob_account = Account {
        external_id: "acc-bob".into(),
        employee_id: Some("E2".into()),
        email: "bob@acme.example".into(),
        display_name: "Bob".into(),
        active: true,
        last_active: None,
        entitlements: [Entitlement::group("eng"), Entitlement::space("FIN", "read")].into(),
    };
    let after_join = observed(
        vec![alice(&[Entitlement::group("eng")]), bob_account.clone()],
        &[("eng", "ENG", "read"), ("eng", "ENG", "create:page")],
    );
    store
        .record_observation("wiki", &after_join, t2 + jiff::SignedDuration::from_mins(5))
        .await
        .unwrap();

    let when = t2 + jiff::SignedDuration::from_hours(1);
    let bob_filter = AccessFilter {
        email: Some("BOB@acme.example".into()),
        ..AccessFilter::default()
    };
    let bobs = store.access_at(when, &bob_filter).await.unwrap();
    assert_eq!(
        lines(&bobs),
        vec![
            "bob@acme.example | group eng | direct | [3]",
            "bob@acme.example | space ENG: create:page | group eng | [3, 1]",
            "bob@acme.example | space ENG: read | group eng | [3]",
            "bob@acme.example | space FIN: read | direct | [4]",
        ]
    );
    assert_eq!(
        bobs[0].reason, "rule \"engineers\": department = Engineering",
        "not overwritten by the read"
    );
    assert_eq!(
        bobs[3].reason,
        "grant g1 by cfo@acme.example: quarter close"
    );
    assert_eq!(bobs[0].employee_id.as_deref(), Some("E2"));
    assert!(bobs.iter().all(|r| r.since == t2));

    let eng = AccessFilter {
        space: Some("ENG".into()),
        ..AccessFilter::default()
    };
    assert_eq!(
        lines(&store.access_at(when, &eng).await.unwrap()),
        vec![
            "alice@acme.example | space ENG: create:page | group eng | [1]",
            "alice@acme.example | space ENG: read | group eng | []",
            "bob@acme.example | space ENG: create:page | group eng | [3, 1]",
            "bob@acme.example | space ENG: read | group eng | [3]",
        ]
    );
    let fin = AccessFilter {
        space: Some("FIN".into()),
        ..AccessFilter::default()
    };
    assert_eq!(
        lines(&store.access_at(when, &fin).await.unwrap()),
        vec!["bob@acme.example | space FIN: read | direct | [4]"]
    );
    assert_eq!(
        lines(&store.access_at(t1, &eng).await.unwrap()),
        vec!["alice@acme.example | space ENG: read | group eng | []"],
        "before Roster's changes"
    );

    // Bob leaves: out of eng, FIN taken back, account deactivated.
    let leaver = Reason::Leaver {
        cause: LeaverCause::Terminated,
    };
    let bob = AccountRef {
        external_id: Some("acc-bob".into()),
        ..bob
    };
    let leave = plan_of(
        "wiki",
        t3,
        vec![
            Change {
                action: Action::Remove {
                    account: bob.clone(),
                    entitlement: Entitlement::space("FIN", "read"),
                },
                reason: leaver.clone(),
            },
            Change {
                action: Action::Remove {
                    account: bob.clone(),
                    entitlement: Entitlement::group("eng"),
                },
                reason: leaver.clone(),
            },
            Change {
                action: Action::DeactivateAccount { account: bob },
                reason: leaver,
            },
        ],
    );
    let id = store.save_plan(&leave, PlanStatus::Pending).await.unwrap();
    let steps: Vec<CompletedStep> = (0..3).map(|n| completed(&id, &leave, n, t3)).collect();
    assert_eq!(
        store.complete_steps(&id, &steps, t3).await.unwrap(),
        vec![5, 6, 7]
    );

    let later = t3 + jiff::SignedDuration::from_hours(1);
    assert!(
        store
            .access_at(later, &bob_filter)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        lines(&store.access_at(later, &eng).await.unwrap()),
        vec![
            "alice@acme.example | space ENG: create:page | group eng | [1]",
            "alice@acme.example | space ENG: read | group eng | []",
        ]
    );
    assert!(store.access_at(later, &fin).await.unwrap().is_empty());
    assert_eq!(
        store.access_at(when, &bob_filter).await.unwrap().len(),
        4,
        "history is kept"
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM access_interval WHERE end_event_seq = 6")
            .await,
        1,
        "the removal's audit event closes the interval"
    );

    // Bob's account: created active, then deactivated; its target id learnt from the read.
    assert_eq!(
        db.count("SELECT COUNT(*) FROM account_history WHERE holder = 'employee:E2'")
            .await,
        2
    );
    assert_eq!(
        db.count(
            "SELECT COUNT(*) FROM account_history WHERE holder = 'employee:E2' \
             AND valid_to IS NULL AND active = FALSE AND external_id = 'acc-bob' AND event_seq = 7"
        )
        .await,
        1
    );
    assert_eq!(verify_audit(store, |_| {}).await.unwrap(), 7);
}
