//! The audit chain: appends, pages, concurrent appenders, and tampering named by verification.

use super::*;

pub(crate) async fn audit_append_page_and_verify(store: &dyn Store) {
    assert_eq!(store.audit_head().await.unwrap(), None);
    assert_eq!(
        verify_audit(store, |_| {}).await.unwrap(),
        0,
        "an empty log verifies"
    );
    let t0 = at("2026-05-01T00:00:00Z");
    let events: Vec<NewAuditEvent> = (1..=10)
        .map(|n| event(n, t0 + jiff::SignedDuration::from_mins(n as i64)))
        .collect();
    assert_eq!(
        store.append_audit(&events[..4]).await.unwrap(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(
        store.append_audit(&events[4..]).await.unwrap(),
        (5..=10).collect::<Vec<u64>>()
    );
    assert!(store.append_audit(&[]).await.unwrap().is_empty());

    let all = all_events(store).await;
    assert_eq!(all.len(), 10);
    assert_eq!(all[0].prev_hash, "0".repeat(64));
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    let body = all[6].parsed().unwrap();
    assert_eq!(
        (body.seq, body.subject.as_str(), body.at),
        (7, "p7@acme.example", events[6].at)
    );
    assert_eq!(
        store.audit_head().await.unwrap(),
        Some((10, all[9].hash.clone()))
    );

    let page: Vec<u64> = store
        .audit_page(8, 100)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(page, vec![9, 10]);
    let since: Vec<u64> = store
        .audit_since(events[5].at, 0, 3)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(since, vec![6, 7, 8]);
    let since: Vec<u64> = store
        .audit_since(events[5].at, 8, 3)
        .await
        .unwrap()
        .iter()
        .map(|e| e.seq)
        .collect();
    assert_eq!(since, vec![9, 10]);

    let mut reported = Vec::new();
    assert_eq!(verify_audit(store, |n| reported.push(n)).await.unwrap(), 10);
    assert_eq!(reported.last(), Some(&10));
}

pub(crate) async fn audit_bulk_append(store: &dyn Store) {
    let t0 = at("2026-05-02T00:00:00Z");
    let events: Vec<NewAuditEvent> = (1..=20_000).map(|n| event(n, t0)).collect();
    let started = Instant::now();
    let seqs = store.append_audit(&events).await.unwrap();
    let took = started.elapsed();
    eprintln!(
        "{}: appended 20,000 audit events in {took:?}",
        store.backend()
    );
    assert_eq!(seqs.len(), 20_000);
    assert_eq!((seqs[0], seqs[19_999]), (1, 20_000));
    // Generous: this is a debug build; the release target is well under a second.
    assert!(took.as_secs() < 10, "appending 20,000 events took {took:?}");

    let started = Instant::now();
    let mut pages = 0;
    assert_eq!(verify_audit(store, |_| pages += 1).await.unwrap(), 20_000);
    eprintln!(
        "{}: verified 20,000 events in {:?}",
        store.backend(),
        started.elapsed()
    );
    assert!(pages >= 2, "verification reads page by page");
}

pub(crate) async fn concurrent_appends_keep_one_chain(store: &dyn Store) {
    let t0 = at("2026-05-03T00:00:00Z");
    let batch =
        |k: usize| -> Vec<NewAuditEvent> { (0..50).map(|n| event(k * 100 + n, t0)).collect() };
    let (a, b, c, d) = (batch(1), batch(2), batch(3), batch(4));
    let (ra, rb, rc, rd) = tokio::join!(
        store.append_audit(&a),
        store.append_audit(&b),
        store.append_audit(&c),
        store.append_audit(&d)
    );
    let mut seqs: Vec<u64> = [ra, rb, rc, rd]
        .into_iter()
        .flat_map(|r| r.unwrap())
        .collect();
    for one in [&seqs[..50], &seqs[50..100], &seqs[100..150], &seqs[150..]] {
        assert!(
            one.windows(2).all(|w| w[1] == w[0] + 1),
            "one call's events are contiguous"
        );
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=200).collect::<Vec<u64>>());
    assert_eq!(verify_audit(store, |_| {}).await.unwrap(), 200);
}

pub(crate) async fn ten_events(db: &Db) {
    let t0 = at("2026-05-04T00:00:00Z");
    let events: Vec<NewAuditEvent> = (1..=10).map(|n| event(n, t0)).collect();
    db.store.append_audit(&events).await.unwrap();
    assert_eq!(verify_audit(db.store.as_ref(), |_| {}).await.unwrap(), 10);
}

pub(crate) async fn tamper_edited_body_is_named(db: &Db) {
    ten_events(db).await;
    if let Raw::Postgres(_) = db.raw {
        let refused = db
            .exec("UPDATE audit_event SET body = replace(body, 'eng', 'admins') WHERE seq = 5")
            .await;
        assert!(
            refused.is_err_and(|e| e.to_string().contains("append-only")),
            "the trigger refuses edits"
        );
        assert!(
            db.exec("DELETE FROM audit_event WHERE seq = 5")
                .await
                .is_err()
        );
    }
    let n = db
        .tamper("UPDATE audit_event SET body = replace(body, 'eng', 'admins') WHERE seq = 5")
        .await;
    assert_eq!(n, 1);
    let err = verify_audit(db.store.as_ref(), |_| {}).await.unwrap_err();
    assert!(
        matches!(err, VerifyError::Broken(ChainBreak::Altered { seq: 5 })),
        "{err}"
    );
    assert!(
        err.to_string().contains("audit event 5 was altered"),
        "{err}"
    );
}

pub(crate) async fn tamper_deleted_middle_event_is_named(db: &Db) {
    ten_events(db).await;
    assert_eq!(db.tamper("DELETE FROM audit_event WHERE seq = 5").await, 1);
    let err = verify_audit(db.store.as_ref(), |_| {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Broken(ChainBreak::Missing {
                expected: 5,
                found: 6
            })
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("audit event 5 is missing"),
        "{err}"
    );
}

pub(crate) async fn tamper_deleted_last_event_is_detected(db: &Db) {
    ten_events(db).await;
    assert_eq!(db.tamper("DELETE FROM audit_event WHERE seq = 10").await, 1);
    let err = verify_audit(db.store.as_ref(), |_| {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Broken(ChainBreak::Truncated { last: 9, head: 10 })
        ),
        "{err}"
    );
    // Cutting the head back too leaves a head that does not match the last event's hash.
    db.tamper("UPDATE audit_head SET seq = 9").await;
    let err = verify_audit(db.store.as_ref(), |_| {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            VerifyError::Broken(ChainBreak::HeadMismatch { last: 9 })
        ),
        "{err}"
    );
}
