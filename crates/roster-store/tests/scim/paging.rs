//! The request log and list paging.

use roster_scim::AttrPath;
use roster_scim::schema::ResourceType;
use roster_store::{ScimListQuery, ScimLogEntry, Store};
use serde_json::json;

use crate::{at, connection, event, group, schemas, user};

fn list_all(count: u64) -> ScimListQuery<'static> {
    ScimListQuery {
        schemas: schemas(),
        filter: None,
        sort_by: None,
        descending: false,
        start_index: 1,
        count,
    }
}

fn log(connection: &str, n: u32, status: u16) -> ScimLogEntry {
    ScimLogEntry {
        id: 0,
        connection: connection.into(),
        at: at("2024-06-01T00:00:00Z"),
        method: "POST".into(),
        path: format!("/scim/v2/Users/{n}"),
        status,
        request_body: Some(format!("{{\"n\":{n}}}")),
        response_body: None,
        duration_ms: u64::from(n),
    }
}

pub async fn request_log_is_trimmed_per_connection(store: &dyn Store) {
    for n in 1..=5 {
        let status = if n % 2 == 0 { 409 } else { 201 };
        store
            .append_scim_log(&log("okta", n, status), 3)
            .await
            .unwrap();
    }
    store
        .append_scim_logs(&[log("entra", 1, 500), log("entra", 2, 200)], 3)
        .await
        .unwrap();
    let okta = store.scim_log(Some("okta"), false, 100).await.unwrap();
    let paths: Vec<&str> = okta.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/scim/v2/Users/5", "/scim/v2/Users/4", "/scim/v2/Users/3"]
    );
    assert_eq!(okta[1].status, 409);
    assert_eq!(okta[1].request_body.as_deref(), Some("{\"n\":4}"));
    assert_eq!(okta[1].duration_ms, 4);
    assert!(okta[0].id > okta[1].id);
    let failed: Vec<(String, u16)> = store
        .scim_log(None, true, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.connection, e.status))
        .collect();
    assert_eq!(
        failed,
        [("entra".to_string(), 500), ("okta".to_string(), 409)]
    );
    assert_eq!(store.scim_log(None, false, 2).await.unwrap().len(), 2);
    // A batch bigger than `keep` keeps its newest entries.
    let batch: Vec<ScimLogEntry> = (10..20).map(|n| log("okta", n, 200)).collect();
    store.append_scim_logs(&batch, 4).await.unwrap();
    let paths: Vec<String> = store
        .scim_log(Some("okta"), false, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.path)
        .collect();
    assert_eq!(
        paths,
        [
            "/scim/v2/Users/19",
            "/scim/v2/Users/18",
            "/scim/v2/Users/17",
            "/scim/v2/Users/16"
        ]
    );
    assert_eq!(
        store
            .scim_log(Some("entra"), false, 100)
            .await
            .unwrap()
            .len(),
        2
    );
}

pub async fn pages_and_totals(store: &dyn Store) {
    connection(store, "okta").await;
    for i in 0..25 {
        let id = format!("u{i:02}");
        // Created in reverse name order, so created order and name order differ.
        let created = format!("2024-01-01T00:{:02}:00Z", 59 - i);
        let u = user("okta", &id, &format!("user{i:02}"), &created, json!({}));
        store.scim_create(&u, &[], &event("c", &id)).await.unwrap();
    }
    let g = group("okta", "g1", "Everyone", "2024-01-01T00:00:00Z");
    store.scim_create(&g, &[], &event("c", "g1")).await.unwrap();

    let page = |start: u64, count: u64| ScimListQuery {
        start_index: start,
        ..list_all(count)
    };
    let names =
        |rs: &[roster_store::ScimResource]| rs.iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    let (total, first) = store
        .scim_list("okta", ResourceType::User, &page(1, 10))
        .await
        .unwrap();
    assert_eq!(total, 25);
    // Default order: created, then id.
    assert_eq!(names(&first)[..3], ["user24", "user23", "user22"]);
    let (total, last) = store
        .scim_list("okta", ResourceType::User, &page(21, 10))
        .await
        .unwrap();
    assert_eq!((total, last.len()), (25, 5));
    assert_eq!(names(&last).last().unwrap(), "user00");
    let (total, beyond) = store
        .scim_list("okta", ResourceType::User, &page(40, 10))
        .await
        .unwrap();
    assert_eq!((total, beyond.len()), (25, 0));
    let (total, none) = store
        .scim_list("okta", ResourceType::User, &page(1, 0))
        .await
        .unwrap();
    assert_eq!((total, none.len()), (25, 0));
    // startIndex below 1 counts as 1 (RFC 7644 §3.4.2.4).
    let (_, zero) = store
        .scim_list("okta", ResourceType::User, &page(0, 2))
        .await
        .unwrap();
    assert_eq!(names(&zero), ["user24", "user23"]);
    // Pages cover everything exactly once.
    let mut seen = Vec::new();
    for start in (1..=25).step_by(7) {
        let (_, rs) = store
            .scim_list("okta", ResourceType::User, &page(start, 7))
            .await
            .unwrap();
        seen.extend(names(&rs));
    }
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 25);

    let by_name = AttrPath::new("userName");
    let sorted = ScimListQuery {
        sort_by: Some(&by_name),
        descending: true,
        ..page(2, 3)
    };
    let (total, rs) = store
        .scim_list("okta", ResourceType::User, &sorted)
        .await
        .unwrap();
    assert_eq!(total, 25);
    assert_eq!(names(&rs), ["user23", "user22", "user21"]);

    let (total, groups) = store
        .scim_list("okta", ResourceType::Group, &list_all(10))
        .await
        .unwrap();
    assert_eq!((total, names(&groups)), (1, vec!["Everyone".to_string()]));
    let (total, other) = store
        .scim_list("entra", ResourceType::User, &list_all(10))
        .await
        .unwrap();
    assert_eq!((total, other.len()), (0, 0));
}

/// Far pages start from anchors (every 500th key); they must be exactly the pages `OFFSET`
/// would give, before and after creates and deletes move the positions.
pub async fn far_pages_match_the_default_order(store: &dyn Store) {
    connection(store, "okta").await;
    let mut expected: Vec<(jiff::Timestamp, String)> = Vec::new();
    for i in 0..1200_u32 {
        // Ties on `created` (three per second) are ordered by id, which is shuffled.
        let id = format!("u{:04}", (i * 7919) % 1200);
        let created = at("2024-01-01T00:00:00Z")
            .checked_add(jiff::SignedDuration::from_secs(i64::from(i / 3)))
            .unwrap();
        let u = user(
            "okta",
            &id,
            &format!("name-{id}"),
            &created.to_string(),
            json!({}),
        );
        store.scim_create(&u, &[], &event("c", &id)).await.unwrap();
        expected.push((created, id));
    }
    expected.sort();
    let check = |expected: Vec<(jiff::Timestamp, String)>| async move {
        let ids: Vec<String> = expected.into_iter().map(|(_, id)| id).collect();
        for start in [1, 450, 500, 501, 777, 1000, 1001, 1101, 1199, 1250] {
            let query = ScimListQuery {
                start_index: start,
                ..list_all(100)
            };
            let (total, page) = store
                .scim_list("okta", ResourceType::User, &query)
                .await
                .unwrap();
            assert_eq!(total as usize, ids.len(), "total at {start}");
            let got: Vec<&str> = page.iter().map(|r| r.id.as_str()).collect();
            let from = (start as usize - 1).min(ids.len());
            let want: Vec<&str> = ids[from..(from + 100).min(ids.len())]
                .iter()
                .map(String::as_str)
                .collect();
            assert_eq!(got, want, "page at {start}");
        }
    };
    // Twice: the first far page builds the anchors, the second uses the kept ones.
    check(expected.clone()).await;
    check(expected.clone()).await;
    for gone in [3, 600, 1100] {
        let (_, id) = expected.remove(gone);
        assert!(
            store
                .scim_delete("okta", ResourceType::User, &id, &event("d", &id))
                .await
                .unwrap()
        );
    }
    let late = user("okta", "u9999", "late", "2023-01-01T00:00:00Z", json!({}));
    store
        .scim_create(&late, &[], &event("c", "u9999"))
        .await
        .unwrap();
    expected.insert(0, (at("2023-01-01T00:00:00Z"), "u9999".into()));
    // Stale anchors are not used; once rebuilt, the new ones are.
    check(expected.clone()).await;
    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    check(expected.clone()).await;
    check(expected).await;
}
