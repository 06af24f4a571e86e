//! Connections, resources, memberships, the request log and paging.

use roster_scim::schema::ResourceType;
use roster_store::{ScimConnection, ScimWriteError, Store, StoreError};
use serde_json::json;

use crate::{at, connection, event, group, member, user};

async fn audit_actions(store: &dyn Store) -> Vec<String> {
    let events = store.audit_page(0, 1000).await.unwrap();
    events
        .into_iter()
        .map(|e| format!("{} {}", e.action, e.subject))
        .collect()
}

pub async fn connections_upsert_tokens(store: &dyn Store) {
    connection(store, "okta").await;
    connection(store, "entra").await;
    // Rotating a token keeps the connection (and its creation time).
    store
        .put_scim_connection(&ScimConnection {
            name: "okta".into(),
            token_hash: "rotated".into(),
            created_at: at("2025-01-01T00:00:00Z"),
        })
        .await
        .unwrap();
    let all = store.scim_connections().await.unwrap();
    let names: Vec<(&str, &str)> = all
        .iter()
        .map(|c| (c.name.as_str(), c.token_hash.as_str()))
        .collect();
    assert_eq!(names, [("entra", "hash-of-entra"), ("okta", "rotated")]);
    assert_eq!(all[1].created_at, at("2024-01-01T00:00:00Z"));
    // Two connections cannot share a token.
    let err = store
        .put_scim_connection(&ScimConnection {
            name: "onelogin".into(),
            token_hash: "rotated".into(),
            created_at: at("2025-01-01T00:00:00Z"),
        })
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Invalid(m) if m.contains("onelogin")),
        "{err}"
    );
}

pub async fn create_read_update_delete(store: &dyn Store) {
    connection(store, "okta").await;
    let mut u = user(
        "okta",
        "u1",
        "Ada@Example.com",
        "2024-01-01T00:00:00Z",
        json!({"name": {"givenName": "Ada"}, "externalId": "00u1", "active": true}),
    );
    store
        .scim_create(&u, &[], &event("scim.create", "u1"))
        .await
        .unwrap();
    let got = store
        .scim_get("okta", ResourceType::User, "u1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got, u);
    // Another connection, or the other resource type, does not see it.
    assert!(
        store
            .scim_get("entra", ResourceType::User, "u1")
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        store
            .scim_get("okta", ResourceType::Group, "u1")
            .await
            .unwrap()
            .is_none()
    );

    u.doc["active"] = false.into();
    u.name = "ada@example.com".into();
    u.last_modified = at("2024-02-01T00:00:00Z");
    store
        .scim_update(&u, 1, &[], &[], &event("scim.update", "u1"))
        .await
        .unwrap();
    let got = store
        .scim_get("okta", ResourceType::User, "u1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(got.version, 2);
    assert_eq!(got.doc["active"], false);
    assert_eq!(got.name, "ada@example.com");
    assert_eq!(got.created, at("2024-01-01T00:00:00Z"));
    assert_eq!(got.last_modified, at("2024-02-01T00:00:00Z"));

    assert!(
        store
            .scim_delete(
                "okta",
                ResourceType::User,
                "u1",
                &event("scim.delete", "u1")
            )
            .await
            .unwrap()
    );
    assert!(
        store
            .scim_get("okta", ResourceType::User, "u1")
            .await
            .unwrap()
            .is_none()
    );
    // Deleting what is gone changes nothing and logs nothing.
    assert!(
        !store
            .scim_delete(
                "okta",
                ResourceType::User,
                "u1",
                &event("scim.delete", "u1")
            )
            .await
            .unwrap()
    );
    assert_eq!(
        audit_actions(store).await,
        ["scim.create u1", "scim.update u1", "scim.delete u1"]
    );
}

pub async fn user_name_is_unique_case_insensitively(store: &dyn Store) {
    connection(store, "okta").await;
    connection(store, "entra").await;
    let first = user(
        "okta",
        "u1",
        "Grace@Example.com",
        "2024-01-01T00:00:00Z",
        json!({}),
    );
    store
        .scim_create(&first, &[], &event("c", "u1"))
        .await
        .unwrap();
    let clash = user(
        "okta",
        "u2",
        "GRACE@example.COM",
        "2024-01-01T00:00:00Z",
        json!({}),
    );
    let err = store
        .scim_create(&clash, &[], &event("c", "u2"))
        .await
        .unwrap_err();
    match err {
        ScimWriteError::Uniqueness(m) => {
            assert!(m.contains("GRACE@example.COM") && m.contains("u1"), "{m}")
        }
        other => panic!("expected a uniqueness error, got {other:?}"),
    }
    // Nothing of the failed write remains, not even its audit event.
    assert!(
        store
            .scim_get("okta", ResourceType::User, "u2")
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(audit_actions(store).await, ["c u1"]);
    // Other connections have their own userNames.
    let elsewhere = user(
        "entra",
        "u3",
        "grace@example.com",
        "2024-01-01T00:00:00Z",
        json!({}),
    );
    store
        .scim_create(&elsewhere, &[], &event("c", "u3"))
        .await
        .unwrap();
    // Renaming into a taken name is refused too.
    let other = user("okta", "u4", "hopper", "2024-01-01T00:00:00Z", json!({}));
    store
        .scim_create(&other, &[], &event("c", "u4"))
        .await
        .unwrap();
    let renamed = user(
        "okta",
        "u4",
        "grace@EXAMPLE.com",
        "2024-01-01T00:00:00Z",
        json!({}),
    );
    assert!(matches!(
        store
            .scim_update(&renamed, 1, &[], &[], &event("u", "u4"))
            .await,
        Err(ScimWriteError::Uniqueness(_))
    ));
    // A duplicate id is a uniqueness error as well, whatever the name.
    let same_id = user(
        "okta",
        "u1",
        "someone-else",
        "2024-01-01T00:00:00Z",
        json!({}),
    );
    assert!(matches!(
        store.scim_create(&same_id, &[], &event("c", "u1")).await,
        Err(ScimWriteError::Uniqueness(m)) if m.contains("u1")
    ));
    // Groups may share a displayName (RFC 7643 does not make it unique).
    for id in ["g1", "g2"] {
        store
            .scim_create(
                &group("okta", id, "Engineering", "2024-01-01T00:00:00Z"),
                &[],
                &event("c", id),
            )
            .await
            .unwrap();
    }
}

pub async fn updates_check_the_version(store: &dyn Store) {
    connection(store, "okta").await;
    let mut u = user("okta", "u1", "lin", "2024-01-01T00:00:00Z", json!({}));
    store.scim_create(&u, &[], &event("c", "u1")).await.unwrap();
    store
        .scim_update(&u, 1, &[], &[], &event("u", "u1"))
        .await
        .unwrap();
    u.doc["title"] = "stale".into();
    assert_eq!(
        store.scim_update(&u, 1, &[], &[], &event("u", "u1")).await,
        Err(ScimWriteError::VersionMismatch { stored: 2 })
    );
    let got = store
        .scim_get("okta", ResourceType::User, "u1")
        .await
        .unwrap()
        .unwrap();
    assert!(got.doc.get("title").is_none());
    let ghost = user("okta", "nobody", "ghost", "2024-01-01T00:00:00Z", json!({}));
    assert_eq!(
        store
            .scim_update(&ghost, 1, &[], &[], &event("u", "nobody"))
            .await,
        Err(ScimWriteError::NotFound("nobody".into()))
    );
    assert_eq!(audit_actions(store).await, ["c u1", "u u1"]);
}

async fn seed_people(store: &dyn Store) {
    connection(store, "okta").await;
    connection(store, "entra").await;
    for (id, name, display) in [
        ("u1", "ada", Some("Ada Lovelace")),
        ("u2", "bob", None),
        ("u3", "cy", None),
    ] {
        let doc = match display {
            Some(d) => json!({ "displayName": d }),
            None => json!({}),
        };
        let u = user("okta", id, name, "2024-01-01T00:00:00Z", doc);
        store.scim_create(&u, &[], &event("c", id)).await.unwrap();
    }
    let stranger = user("entra", "e1", "eve", "2024-01-01T00:00:00Z", json!({}));
    store
        .scim_create(&stranger, &[], &event("c", "e1"))
        .await
        .unwrap();
}

pub async fn members_are_added_and_removed(store: &dyn Store) {
    seed_people(store).await;
    let g = group("okta", "g1", "Eng", "2024-01-01T00:00:00Z");
    store
        .scim_create(
            &g,
            &[member("u1"), member("u2"), member("u1")],
            &event("c", "g1"),
        )
        .await
        .unwrap();
    let nested = group("okta", "g2", "All", "2024-01-01T00:00:00Z");
    // The member's type comes from the store, not from what the client claimed.
    store
        .scim_create(&nested, &[member("g1")], &event("c", "g2"))
        .await
        .unwrap();
    let members = store.scim_members("okta", "g2").await.unwrap();
    assert_eq!(members.len(), 1);
    assert_eq!(
        (
            members[0].member_type.as_str(),
            members[0].display.as_deref()
        ),
        ("Group", Some("Eng"))
    );

    let shown: Vec<(String, Option<String>)> = store
        .scim_members("okta", "g1")
        .await
        .unwrap()
        .into_iter()
        .map(|m| (m.value, m.display))
        .collect();
    assert_eq!(
        shown,
        [
            ("u1".into(), Some("Ada Lovelace".into())),
            ("u2".into(), Some("bob".into()))
        ]
    );

    store
        .scim_update(
            &g,
            1,
            &[member("u3"), member("u2")],
            &["u1".into()],
            &event("u", "g1"),
        )
        .await
        .unwrap();
    let ids: Vec<String> = store
        .scim_members("okta", "g1")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.value)
        .collect();
    assert_eq!(ids, ["u2", "u3"]);
    assert_eq!(
        store.scim_groups_of("okta", "u3").await.unwrap(),
        [("g1".to_string(), "Eng".to_string())]
    );
    assert!(store.scim_groups_of("okta", "u1").await.unwrap().is_empty());
    assert_eq!(
        store
            .scim_groups_of_many("okta", &["u2".into(), "g1".into()])
            .await
            .unwrap(),
        [
            ("g1".to_string(), "g2".to_string(), "All".to_string()),
            ("u2".to_string(), "g1".to_string(), "Eng".to_string()),
        ]
    );
    let batch = store
        .scim_members_of("okta", &["g1".into(), "g2".into()])
        .await
        .unwrap();
    let pairs: Vec<(&str, &str)> = batch
        .iter()
        .map(|(g, m)| (g.as_str(), m.value.as_str()))
        .collect();
    assert_eq!(pairs, [("g1", "u2"), ("g1", "u3"), ("g2", "g1")]);

    // Members must exist in the same connection; the write is refused as a whole.
    let err = store
        .scim_update(
            &g,
            2,
            &[member("u1"), member("e1"), member("nope")],
            &[],
            &event("u", "g1"),
        )
        .await
        .unwrap_err();
    match err {
        ScimWriteError::InvalidValue(m) => assert!(m.contains("e1") && m.contains("nope"), "{m}"),
        other => panic!("expected invalidValue, got {other:?}"),
    }
    let ids: Vec<String> = store
        .scim_members("okta", "g1")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.value)
        .collect();
    assert_eq!(ids, ["u2", "u3"]);
    assert!(matches!(
        store
            .scim_update(&g, 2, &[member("g1")], &[], &event("u", "g1"))
            .await,
        Err(ScimWriteError::InvalidValue(_))
    ));
    // Users have no members.
    let u = user("okta", "u1", "ada", "2024-01-01T00:00:00Z", json!({}));
    assert!(matches!(
        store
            .scim_update(&u, 1, &[member("u2")], &[], &event("u", "u1"))
            .await,
        Err(ScimWriteError::InvalidValue(_))
    ));
}

pub async fn deleting_removes_memberships(store: &dyn Store) {
    seed_people(store).await;
    let g = group("okta", "g1", "Eng", "2024-01-01T00:00:00Z");
    store
        .scim_create(&g, &[member("u1"), member("u2")], &event("c", "g1"))
        .await
        .unwrap();
    let all = group("okta", "g2", "All", "2024-01-01T00:00:00Z");
    store
        .scim_create(&all, &[member("g1"), member("u1")], &event("c", "g2"))
        .await
        .unwrap();

    store
        .scim_delete("okta", ResourceType::User, "u1", &event("d", "u1"))
        .await
        .unwrap();
    let ids: Vec<String> = store
        .scim_members("okta", "g1")
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.value)
        .collect();
    assert_eq!(ids, ["u2"]);
    // Losing a member changed both groups: their versions moved on.
    for id in ["g1", "g2"] {
        let got = store
            .scim_get("okta", ResourceType::Group, id)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.version, 2, "{id}");
        assert_eq!(got.last_modified, at("2024-06-01T00:00:00Z"), "{id}");
    }
    store
        .scim_delete("okta", ResourceType::Group, "g1", &event("d", "g1"))
        .await
        .unwrap();
    assert!(store.scim_members("okta", "g2").await.unwrap().is_empty());
    assert!(store.scim_groups_of("okta", "u2").await.unwrap().is_empty());
    // The wrong type does not delete.
    assert!(
        !store
            .scim_delete("okta", ResourceType::Group, "u2", &event("d", "u2"))
            .await
            .unwrap()
    );
}
