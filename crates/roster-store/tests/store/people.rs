//! People: versioned imports, absence and quarantine, the people at a past instant, grants.

use super::*;

pub(crate) async fn import_versions(store: &dyn Store) {
    let (t1, t2, t3, t4) = (
        at("2026-01-01T08:00:00Z"),
        at("2026-01-02T08:00:00Z"),
        at("2026-01-03T08:00:00Z"),
        at("2026-01-04T08:00:00Z"),
    );
    let none = BTreeSet::new();
    let s = store
        .import_people(
            "hr",
            &[person("A", "Engineering"), person("B", "Sales")],
            &none,
            t1,
        )
        .await
        .unwrap();
    assert_eq!(
        (
            s.listed,
            s.previously_listed,
            s.added,
            s.changed,
            s.unchanged
        ),
        (2, 0, 2, 0, 0)
    );

    let s = store
        .import_people(
            "hr",
            &[person("A", "Engineering"), person("B", "Sales")],
            &none,
            t2,
        )
        .await
        .unwrap();
    assert_eq!(
        (s.previously_listed, s.added, s.changed, s.unchanged),
        (2, 0, 0, 2),
        "same data: nothing new"
    );

    let s = store
        .import_people(
            "hr",
            &[person("A", "Sales"), person("B", "Sales")],
            &none,
            t3,
        )
        .await
        .unwrap();
    assert_eq!(
        (s.added, s.changed, s.unchanged, s.newly_absent),
        (0, 1, 1, 0)
    );
    store
        .import_people(
            "hr",
            &[person("A", "Finance"), person("B", "Sales")],
            &none,
            t4,
        )
        .await
        .unwrap();

    let people = store.people(t1).await.unwrap();
    assert_eq!(people.len(), 2);
    let a = &people[0];
    assert_eq!(a.person.employee_id, "A");
    assert_eq!(a.person.department, "Finance");
    assert_eq!(
        a.person.custom.get("cost_center").map(String::as_str),
        Some("42")
    );
    let history: Vec<(&str, Timestamp)> = a
        .previous
        .iter()
        .map(|v| (v.person.department.as_str(), v.superseded_at))
        .collect();
    assert_eq!(
        history,
        vec![("Sales", t4), ("Engineering", t3)],
        "newest first"
    );
    assert!(people[1].previous.is_empty(), "B never changed");
    assert_eq!(people[1].absent_since, None);

    // Only versions superseded after `history_since` are loaded.
    let recent = store.people(t3).await.unwrap();
    assert_eq!(recent[0].previous.len(), 1);
    assert_eq!(recent[0].previous[0].person.department, "Sales");
    assert!(store.people(t4).await.unwrap()[0].previous.is_empty());

    // A source listing one employee id twice is refused, and nothing is recorded.
    let err = store
        .import_people(
            "hr",
            &[person("C", "Sales"), person("C", "Sales")],
            &none,
            t4,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, StoreError::Invalid(ref m) if m.contains("\"C\" twice")),
        "{err}"
    );
    assert_eq!(store.people(t4).await.unwrap().len(), 2);
}

pub(crate) async fn import_absence_and_quarantine(store: &dyn Store) {
    let (t1, t2, t3) = (
        at("2026-02-01T08:00:00Z"),
        at("2026-02-02T08:00:00Z"),
        at("2026-02-03T08:00:00Z"),
    );
    let everyone: Vec<Person> = ["A", "B", "C", "D"]
        .iter()
        .map(|id| person(id, "Sales"))
        .collect();
    store
        .import_people("hr", &everyone, &BTreeSet::new(), t1)
        .await
        .unwrap();

    // The feed lists A; C's row was quarantined, so the source still has C.
    let s = store
        .import_people("hr", &everyone[..1], &ids(&["C"]), t2)
        .await
        .unwrap();
    assert_eq!((s.listed, s.previously_listed, s.newly_absent), (1, 4, 2));
    let people = store.people(t1).await.unwrap();
    let absent: Vec<(&str, Option<Timestamp>)> = people
        .iter()
        .map(|r| (r.person.employee_id.as_str(), r.absent_since))
        .collect();
    assert_eq!(
        absent,
        vec![("A", None), ("B", Some(t2)), ("C", None), ("D", Some(t2))],
        "absent people stay listed with their mark; the quarantined one is still listed, unmarked"
    );

    // B is back; C is gone from the source altogether; D's mark keeps its first instant.
    let s = store
        .import_people(
            "hr",
            &[everyone[0].clone(), everyone[1].clone()],
            &BTreeSet::new(),
            t3,
        )
        .await
        .unwrap();
    assert_eq!(
        (s.previously_listed, s.unchanged, s.newly_absent),
        (1, 2, 1)
    );
    let marks: Vec<Option<Timestamp>> = store
        .people(t1)
        .await
        .unwrap()
        .iter()
        .map(|r| r.absent_since)
        .collect();
    assert_eq!(marks, vec![None, None, Some(t3), Some(t2)]);

    // Another source is independent.
    let s = store
        .import_people("contractors", &[person("X", "Ops")], &BTreeSet::new(), t3)
        .await
        .unwrap();
    assert_eq!((s.added, s.previously_listed, s.newly_absent), (1, 0, 0));
    assert_eq!(store.people(t1).await.unwrap().len(), 5);

    // Quarantine is replaced per source.
    let q = |source: &str, row: usize| Quarantined {
        source: source.into(),
        row,
        employee_id: Some("C".into()),
        email: Some("c@acme.example".into()),
        field: "start_date".into(),
        reason: "\"31/02\" is not a date".into(),
    };
    store
        .replace_quarantine("hr", &[q("hr", 7), q("hr", 3)], t2)
        .await
        .unwrap();
    store
        .replace_quarantine("contractors", &[q("contractors", 1)], t2)
        .await
        .unwrap();
    let rows: Vec<(String, usize)> = store
        .quarantine()
        .await
        .unwrap()
        .into_iter()
        .map(|q| (q.source, q.row))
        .collect();
    assert_eq!(
        rows,
        vec![
            ("contractors".into(), 1),
            ("hr".into(), 3),
            ("hr".into(), 7)
        ]
    );
    assert_eq!(store.quarantine().await.unwrap()[1], q("hr", 3));
    store.replace_quarantine("hr", &[], t3).await.unwrap();
    assert_eq!(store.quarantine().await.unwrap(), vec![q("contractors", 1)]);
}

pub(crate) async fn people_at_a_past_instant(store: &dyn Store) {
    let (t0, t1, t2, t3) = (
        at("2026-03-01T00:00:00Z"),
        at("2026-03-02T00:00:00Z"),
        at("2026-03-03T00:00:00Z"),
        at("2026-03-04T00:00:00Z"),
    );
    let none = BTreeSet::new();
    store
        .import_people("hr", &[person("A", "Engineering")], &none, t1)
        .await
        .unwrap();
    store
        .import_people(
            "hr",
            &[person("A", "Sales"), person("B", "Sales")],
            &none,
            t3,
        )
        .await
        .unwrap();
    assert!(store.people_at(t0).await.unwrap().is_empty());
    assert_eq!(
        store.people_at(t1).await.unwrap(),
        vec![person("A", "Engineering")]
    );
    assert_eq!(
        store.people_at(t2).await.unwrap(),
        vec![person("A", "Engineering")]
    );
    assert_eq!(
        store.people_at(t3).await.unwrap(),
        vec![person("A", "Sales"), person("B", "Sales")],
        "a version is current from its instant on"
    );
}

pub(crate) async fn grants_are_upserted(store: &dyn Store) {
    let grant = |id: &str, reason: &str| Grant {
        id: id.into(),
        employee_id: "E1".into(),
        entitlement: Entitlement::space("FIN", "read"),
        owner: "cfo@acme.example".into(),
        reason: reason.into(),
        starts_at: None,
        expires_at: Some(at("2026-12-31T00:00:00Z")),
    };
    store.put_grant(&grant("g2", "audit")).await.unwrap();
    store
        .put_grant(&grant("g1", "quarter close"))
        .await
        .unwrap();
    store
        .put_grant(&grant("g2", "audit, extended"))
        .await
        .unwrap();
    assert_eq!(
        store.grants().await.unwrap(),
        vec![grant("g1", "quarter close"), grant("g2", "audit, extended")]
    );
}

/// Two imports of one source at once: each works out its changes on a snapshot before it takes
/// the write lock, so the one that commits second must notice the first and redo its work on
/// what the first left (recording from the stale snapshot would open a second current version
/// of everyone both changed, which the store refuses). Both succeed; the last one wins.
pub(crate) async fn racing_imports_of_one_source_both_land(store: &dyn Store) {
    let none = BTreeSet::new();
    let listing = |department: &str, n: usize| -> Vec<Person> {
        (0..n)
            .map(|i| person(&format!("E{i:05}"), department))
            .collect()
    };
    let n = 3_000;
    store
        .import_people(
            "hr",
            &listing("Sales", n),
            &none,
            at("2026-02-01T08:00:00Z"),
        )
        .await
        .unwrap();
    for round in 0..4 {
        let (a, b) = (listing("Engineering", n), listing("Finance", n));
        let t = at("2026-02-02T08:00:00Z") + jiff::SignedDuration::from_hours(round);
        let (ra, rb) = tokio::join!(
            store.import_people("hr", &a, &none, t),
            store.import_people("hr", &b, &none, t),
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        // Whichever committed second found everyone changed again (or unchanged, when the
        // first left what it lists).
        for s in [&ra, &rb] {
            assert_eq!(s.listed, n);
            assert_eq!(s.added + s.changed + s.unchanged, n, "round {round}: {s:?}");
            assert_eq!(s.newly_absent, 0);
        }
        let people = store.people(t).await.unwrap();
        assert_eq!(people.len(), n, "one current version per person");
        let departments: BTreeSet<&str> = people
            .iter()
            .map(|r| r.person.department.as_str())
            .collect();
        assert_eq!(
            departments.len(),
            1,
            "one import's listing, not a mix: {departments:?}"
        );
        // Back to Sales, so the next round changes everyone again.
        let s = store
            .import_people(
                "hr",
                &listing("Sales", n),
                &none,
                t + jiff::SignedDuration::from_mins(30),
            )
            .await
            .unwrap();
        assert_eq!(s.changed, n);
    }
}
