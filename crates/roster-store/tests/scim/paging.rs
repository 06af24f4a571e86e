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
