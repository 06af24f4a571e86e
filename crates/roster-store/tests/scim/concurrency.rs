//! Many writes in flight at once (SQLite commits those queued together in one transaction):
//! each is answered on its own merits, a refused write undoes only itself, and the audit chain
//! holds exactly the writes that were accepted, in one intact chain.

use futures_util::future::join_all;
use roster_scim::schema::ResourceType;
use roster_store::{ScimListQuery, ScimWriteError, Store, verify_audit};
use serde_json::json;

use crate::{connection, event, schemas, user};

pub async fn concurrent_writes_stand_or_fall_alone(store: &dyn Store) {
    connection(store, "okta").await;
    let existing = user(
        "okta",
        "old",
        "old@acme.example",
        "2024-01-01T00:00:00Z",
        json!({}),
    );
    store
        .scim_create(&existing, &[], &event("create", "old"))
        .await
        .unwrap();

    // 30 distinct users, 10 of whose names come twice (in another case), and 10 updates of
    // the existing user that all expect version 1: only one of them can win.
    let mut creates = Vec::new();
    for i in 0..30 {
        creates.push(user(
            "okta",
            &format!("u{i}"),
            &format!("user{i}@acme.example"),
            "2024-01-02T00:00:00Z",
            json!({}),
        ));
    }
    for i in 0..10 {
        creates.push(user(
            "okta",
            &format!("dup{i}"),
            &format!("USER{i}@acme.example"),
            "2024-01-02T00:00:00Z",
            json!({}),
        ));
    }
    let updates: Vec<_> = (0..10)
        .map(|i| {
            let mut u = existing.clone();
            u.doc["title"] = format!("title {i}").into();
            u.version = 2;
            u
        })
        .collect();
    let create_events: Vec<_> = creates.iter().map(|u| event("create", &u.id)).collect();
    let update_events: Vec<_> = (0..10)
        .map(|i| event("update", &format!("old#{i}")))
        .collect();
    let created = join_all(
        creates
            .iter()
            .zip(&create_events)
            .map(|(u, e)| store.scim_create(u, &[], e)),
    );
    let updated = join_all(
        updates
            .iter()
            .zip(&update_events)
            .map(|(u, e)| store.scim_update(u, 1, &[], &[], e)),
    );
    let (created, updated) = futures_util::future::join(created, updated).await;

    for i in 0..30 {
        let clash = i < 10;
        match (&created[i], clash.then(|| &created[30 + i])) {
            (Ok(()), None) => {}
            (Ok(()), Some(Err(ScimWriteError::Uniqueness(m))))
            | (Err(ScimWriteError::Uniqueness(m)), Some(Ok(()))) => {
                assert!(
                    m.to_lowercase().contains(&format!("user{i}@acme.example")),
                    "{m}"
                );
            }
            other => {
                panic!("user{i}: expected exactly one of the two to be created, got {other:?}")
            }
        }
    }
    let won: Vec<usize> = (0..10).filter(|i| updated[*i].is_ok()).collect();
    assert_eq!(won.len(), 1, "{updated:?}");
    for (i, u) in updated.iter().enumerate() {
        if i != won[0] {
            assert_eq!(u, &Err(ScimWriteError::VersionMismatch { stored: 2 }));
        }
    }

    let stored = store
        .scim_get("okta", ResourceType::User, "old")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 2);
    assert_eq!(stored.doc["title"], format!("title {}", won[0]));
    let query = ScimListQuery {
        schemas: schemas(),
        filter: None,
        sort_by: None,
        descending: false,
        start_index: 1,
        count: 100,
    };
    let (total, listed) = store
        .scim_list("okta", ResourceType::User, &query)
        .await
        .unwrap();
    assert_eq!((total, listed.len()), (31, 31));

    // One event per accepted write, none for a refused one, in one intact chain.
    let events = store.audit_page(0, 1000).await.unwrap();
    let accepted_creates = created.iter().filter(|r| r.is_ok()).count();
    assert_eq!(accepted_creates, 30);
    assert_eq!(events.len(), 1 + 30 + 1);
    let updates_logged: Vec<&str> = events
        .iter()
        .filter(|e| e.action == "update")
        .map(|e| e.subject.as_str())
        .collect();
    assert_eq!(updates_logged, [format!("old#{}", won[0])]);
    assert_eq!(verify_audit(store, |_| {}).await.unwrap(), 32);
}
