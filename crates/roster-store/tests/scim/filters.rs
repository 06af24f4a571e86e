//! The filter grammar against stored data: every operator, `and`/`or`/`not`, value paths,
//! sub-attributes, extension paths, case-exactness, memberships, and values full of LIKE
//! metacharacters and quotes, which must match literally. Each case is also checked against
//! `roster_scim`'s in-memory evaluator, so the store and PATCH agree on what a filter means.

use roster_scim::filter::eval::matches_resource;
use roster_scim::schema::{ENTERPRISE_USER, ROSTER_USER, ResourceType};
use roster_scim::{AttrPath, parse_filter};
use roster_store::{ScimListQuery, ScimResource, ScimWriteError, Store};
use serde_json::json;

use crate::{connection, event, group, member, schemas, user, wire};

fn users() -> Vec<ScimResource> {
    vec![
        user(
            "okta",
            "u1",
            "Alice@Example.com",
            "2024-01-01T00:00:00Z",
            json!({
                "displayName": "Alice Smith",
                "name": {"givenName": "Alice", "familyName": "Smith"},
                "title": "Engineer",
                "active": true,
                "externalId": "ext-1",
                "emails": [
                    {"value": "alice@acme.com", "type": "work", "primary": true},
                    {"value": "alice@home.org", "type": "home"}
                ],
                ENTERPRISE_USER: {"employeeNumber": "1001", "department": "R&D", "manager": {"value": "u3"}},
                ROSTER_USER: {"startDate": "2024-01-15"}
            }),
        ),
        user(
            "okta",
            "u2",
            "bob",
            "2024-02-01T00:00:00Z",
            json!({
                "displayName": "Bob O'Brien",
                "title": "50% off_sale",
                "active": false,
                "externalId": "EXT-2",
                "emails": [{"value": "bob@acme.com", "type": "work"}],
                ENTERPRISE_USER: {"employeeNumber": "1002", "department": "Sales"},
                ROSTER_USER: {"startDate": "2023-06-01"}
            }),
        ),
        user(
            "okta",
            "u3",
            "carol_%",
            "2024-03-01T00:00:00Z",
            json!({
                "displayName": "Carol",
                "title": "a\\b \"quoted\"",
                // Entra sends booleans as strings.
                "active": "True",
                "name": {"familyName": "O'Neil"},
                "phoneNumbers": [{"value": "+1 555 0100", "type": "mobile"}]
            }),
        ),
        user(
            "okta",
            "u4",
            "dave",
            "2024-04-01T00:00:00Z",
            json!({
                "title": null,
                "active": true,
                "emails": [],
                ROSTER_USER: {"startDate": "not a date"}
            }),
        ),
    ]
}

async fn seed(store: &dyn Store) {
    connection(store, "okta").await;
    connection(store, "entra").await;
    for u in users() {
        store
            .scim_create(&u, &[], &event("c", &u.id))
            .await
            .unwrap();
    }
    // Someone else's user matches many filters but must never be listed.
    let other = user(
        "entra",
        "x1",
        "alice@example.com",
        "2024-01-01T00:00:00Z",
        json!({"title": "Engineer"}),
    );
    store
        .scim_create(&other, &[], &event("c", "x1"))
        .await
        .unwrap();
    for (id, name, members) in [
        ("g1", "Engineering", vec!["u1", "u3"]),
        ("g2", "Sales", vec!["u2"]),
        ("g3", "engineering", vec![]),
    ] {
        let members: Vec<_> = members.into_iter().map(member).collect();
        let g = group("okta", id, name, "2024-01-01T00:00:00Z");
        store
            .scim_create(&g, &members, &event("c", id))
            .await
            .unwrap();
    }
}

async fn ids(store: &dyn Store, rt: ResourceType, filter: &str) -> Vec<String> {
    let parsed = parse_filter(filter).unwrap_or_else(|e| panic!("{filter}: {}", e.detail));
    let query = ScimListQuery {
        schemas: schemas(),
        filter: Some(&parsed),
        sort_by: None,
        descending: false,
        start_index: 1,
        count: 100,
    };
    let (total, found) = store
        .scim_list("okta", rt, &query)
        .await
        .unwrap_or_else(|e| panic!("{filter}: {e}"));
    assert_eq!(total as usize, found.len(), "{filter}");
    let mut ids: Vec<String> = found.into_iter().map(|r| r.id).collect();
    ids.sort();
    ids
}

/// The evaluator's answer on the same users (memberships are not in the documents, so
/// membership filters are left out of this check).
fn evaluated(filter: &str) -> Vec<String> {
    let parsed = parse_filter(filter).unwrap();
    let resolve = |p: &AttrPath| schemas().resolve(ResourceType::User, p);
    let mut ids: Vec<String> = users()
        .iter()
        .filter(|u| matches_resource(&parsed, &wire(u), &resolve))
        .map(|u| u.id.clone())
        .collect();
    ids.sort();
    ids
}

pub async fn user_filter_matrix(store: &dyn Store) {
    seed(store).await;
    let ent = ENTERPRISE_USER;
    let ros = ROSTER_USER;
    let cases: Vec<(String, &[&str])> = vec![
        // userName: case-insensitive, on the indexed column.
        (r#"userName eq "alice@example.com""#.into(), &["u1"]),
        (r#"USERNAME Eq "ALICE@EXAMPLE.COM""#.into(), &["u1"]),
        (r#"userName ne "bob""#.into(), &["u1", "u3", "u4"]),
        (r#"userName co "%""#.into(), &["u3"]),
        (r#"userName co "_""#.into(), &["u3"]),
        (r#"userName sw "carol_""#.into(), &["u3"]),
        (r#"userName sw "carol%""#.into(), &[]),
        (r#"userName ew "_%""#.into(), &["u3"]),
        (r#"userName gt "bob""#.into(), &["u3", "u4"]),
        (r#"userName le "bob""#.into(), &["u1", "u2"]),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName eq "BOB""#.into(),
            &["u2"],
        ),
        // LIKE metacharacters and quotes in JSON strings are literal.
        (r#"title co "50%""#.into(), &["u2"]),
        (r#"title co "%""#.into(), &["u2"]),
        (r#"title co "f_s""#.into(), &["u2"]),
        (r#"title co "ff s""#.into(), &[]),
        (r#"title sw "50% OFF_""#.into(), &["u2"]),
        (r#"title eq "a\\b \"quoted\"""#.into(), &["u3"]),
        (r#"title co "\\""#.into(), &["u3"]),
        (r#"displayName co "O'Brien""#.into(), &["u2"]),
        (r#"title ew "SALE""#.into(), &["u2"]),
        (r#"title gt "b""#.into(), &["u1"]),
        // Presence and null: null, absent and empty are not present.
        (r#"title pr"#.into(), &["u1", "u2", "u3"]),
        (r#"not (title pr)"#.into(), &["u4"]),
        (r#"title eq null"#.into(), &["u4"]),
        (r#"title ne null"#.into(), &["u1", "u2", "u3"]),
        (r#"displayName eq null"#.into(), &["u4"]),
        (r#"emails pr"#.into(), &["u1", "u2"]),
        (r#"name pr"#.into(), &["u1", "u3"]),
        // Sub-attributes, and multi-valued attributes matching on any value.
        (r#"name.familyName eq "smith""#.into(), &["u1"]),
        (r#"name.familyName sw "o'""#.into(), &["u3"]),
        (r#"emails.value ew "@ACME.com""#.into(), &["u1", "u2"]),
        (r#"emails co "home""#.into(), &["u1"]),
        (
            r#"emails.value ne "alice@acme.com""#.into(),
            &["u1", "u2", "u3", "u4"],
        ),
        (r#"emails.primary eq true"#.into(), &["u1"]),
        (
            r#"emails[type eq "work" and value co "@acme"]"#.into(),
            &["u1", "u2"],
        ),
        (r#"emails[type eq "home" and value co "@acme"]"#.into(), &[]),
        (
            r#"emails[type eq "home"] or phoneNumbers[type eq "mobile"]"#.into(),
            &["u1", "u3"],
        ),
        (r#"emails[not (type eq "work")]"#.into(), &["u1"]),
        (r#"emails[primary pr]"#.into(), &["u1"]),
        (r#"name[givenName eq "alice"]"#.into(), &["u1"]),
        // Booleans, also stored as strings.
        (r#"active eq true"#.into(), &["u1", "u3", "u4"]),
        (r#"active eq "False""#.into(), &["u2"]),
        (r#"active ne true"#.into(), &["u2"]),
        (r#"active eq 1"#.into(), &[]),
        // Extension attributes under their URN.
        (format!(r#"{ent}:department eq "r&d""#), &["u1"]),
        (format!(r#"{ent}:manager.value eq "u3""#), &["u1"]),
        (format!(r#"{ent}:employeeNumber gt "1001""#), &["u2"]),
        (format!(r#"{ent}:employeeNumber eq 1002"#), &["u2"]),
        (format!(r#"{ent}:manager pr"#), &["u1"]),
        // Days are strings: ISO days order as text, and a value that is no day still compares.
        (format!(r#"{ros}:startDate gt "2024-01-01""#), &["u1", "u4"]),
        (format!(r#"{ros}:startDate lt "2023-06-02""#), &["u2"]),
        (format!(r#"{ros}:startDate eq "2023-06-01""#), &["u2"]),
        (
            format!(r#"{ros}:startDate ge "2023-06-01" and {ros}:startDate le "2024-01-15""#),
            &["u1", "u2"],
        ),
        // Case-exact columns.
        (r#"externalId eq "EXT-2""#.into(), &["u2"]),
        (r#"externalId eq "ext-2""#.into(), &[]),
        (r#"externalId sw "EXT""#.into(), &["u2"]),
        (r#"externalId pr"#.into(), &["u1", "u2"]),
        (r#"id eq "u2""#.into(), &["u2"]),
        (r#"id eq "U2""#.into(), &[]),
        // meta.
        (
            r#"meta.created ge "2024-02-01T00:00:00Z""#.into(),
            &["u2", "u3", "u4"],
        ),
        (
            r#"meta.lastModified lt "2024-02-01T00:00:00Z""#.into(),
            &["u1"],
        ),
        (
            r#"meta.resourceType eq "User""#.into(),
            &["u1", "u2", "u3", "u4"],
        ),
        (r#"meta.resourceType eq "Group""#.into(), &[]),
        (
            r#"meta.version eq "W/\"1\"""#.into(),
            &["u1", "u2", "u3", "u4"],
        ),
        // Logic.
        (
            r#"(userName eq "bob" or userName eq "dave") and active eq true"#.into(),
            &["u4"],
        ),
        (
            r#"not (userName eq "bob" or title co "Eng")"#.into(),
            &["u3", "u4"],
        ),
        (r#"not (not (emails pr))"#.into(), &["u1", "u2"]),
        (r#"title pr and not (externalId pr)"#.into(), &["u3"]),
    ];
    for (filter, expected) in &cases {
        assert_eq!(
            ids(store, ResourceType::User, filter).await,
            *expected,
            "{filter}"
        );
        assert_eq!(evaluated(filter), *expected, "evaluator: {filter}");
    }
    // Memberships come from the membership table.
    for (filter, expected) in [
        (r#"groups.value eq "g1""#, &["u1", "u3"][..]),
        (r#"groups[display eq "sales"]"#, &["u2"]),
        (r#"groups eq "G2""#, &["u2"]),
        (r#"not (groups pr)"#, &["u4"]),
        (r#"groups.display co "eer" and emails pr"#, &["u1"]),
    ] {
        assert_eq!(
            ids(store, ResourceType::User, filter).await,
            expected,
            "{filter}"
        );
    }
}

pub async fn group_filter_matrix(store: &dyn Store) {
    seed(store).await;
    for (filter, expected) in [
        (r#"displayName eq "ENGINEERING""#, &["g1", "g3"][..]),
        (r#"displayName sw "sal""#, &["g2"]),
        (r#"members.value eq "u1""#, &["g1"]),
        (r#"members[value eq "u2"]"#, &["g2"]),
        (r#"members eq "u3""#, &["g1"]),
        (r#"members pr"#, &["g1", "g2"]),
        (r#"not (members pr)"#, &["g3"]),
        (r#"members.display co "smith""#, &["g1"]),
        (r#"members[type eq "User" and value eq "u3"]"#, &["g1"]),
        (r#"members[type eq "Group"]"#, &[]),
        (r#"members.value ne "u1""#, &["g1", "g2", "g3"]),
        (
            r#"meta.resourceType eq "Group" and externalId eq null"#,
            &["g1", "g2", "g3"],
        ),
    ] {
        assert_eq!(
            ids(store, ResourceType::Group, filter).await,
            expected,
            "{filter}"
        );
    }
}

async fn sorted(store: &dyn Store, by: &str, descending: bool) -> Vec<String> {
    let path = roster_scim::parse_path(by).unwrap().attr;
    let query = ScimListQuery {
        schemas: schemas(),
        filter: None,
        sort_by: Some(&path),
        descending,
        start_index: 1,
        count: 100,
    };
    let (_, found) = store
        .scim_list("okta", ResourceType::User, &query)
        .await
        .unwrap();
    found.into_iter().map(|r| r.id).collect()
}

pub async fn sorting(store: &dyn Store) {
    seed(store).await;
    assert_eq!(
        sorted(store, "userName", false).await,
        ["u1", "u2", "u3", "u4"]
    );
    assert_eq!(
        sorted(store, "username", true).await,
        ["u4", "u3", "u2", "u1"]
    );
    // Case-insensitive attributes sort case-insensitively; missing values sort last
    // ascending and first descending.
    assert_eq!(
        sorted(store, "title", false).await,
        ["u2", "u3", "u1", "u4"]
    );
    assert_eq!(sorted(store, "title", true).await, ["u4", "u1", "u3", "u2"]);
    assert_eq!(
        sorted(store, "name.familyName", false).await,
        ["u3", "u1", "u2", "u4"]
    );
    // Multi-valued: the primary value, else the first.
    // Descending reverses the tie-break too: among the missing, the newest first.
    assert_eq!(
        sorted(store, "emails", true).await,
        ["u4", "u3", "u2", "u1"]
    );
    assert_eq!(
        sorted(store, "emails.value", false).await,
        ["u1", "u2", "u3", "u4"]
    );
    assert_eq!(
        sorted(store, "meta.created", true).await,
        ["u4", "u3", "u2", "u1"]
    );
    assert_eq!(
        sorted(store, "externalId", false).await,
        ["u2", "u1", "u3", "u4"]
    );
    let path = format!("{ENTERPRISE_USER}:employeeNumber");
    assert_eq!(sorted(store, &path, true).await, ["u4", "u3", "u2", "u1"]);
}

pub async fn invalid_filters_name_the_attribute(store: &dyn Store) {
    seed(store).await;
    for (filter, named) in [
        (r#"shoeSize eq 9"#, "shoeSize"),
        (r#"emails[colour eq "red"]"#, "colour"),
        (r#"active gt false"#, "active"),
        (r#"meta.created eq "last week""#, "meta.created"),
        (r#"urn:example:unknown:1.0:User:thing pr"#, "thing"),
        (r#"userName[value eq "x"]"#, "userName"),
    ] {
        let parsed = parse_filter(filter).unwrap();
        let query = ScimListQuery {
            schemas: schemas(),
            filter: Some(&parsed),
            sort_by: None,
            descending: false,
            start_index: 1,
            count: 10,
        };
        match store.scim_list("okta", ResourceType::User, &query).await {
            Err(ScimWriteError::InvalidFilter(m)) => assert!(m.contains(named), "{filter}: {m}"),
            other => panic!("{filter}: expected invalidFilter, got {other:?}"),
        }
    }
    let members = AttrPath::new("groups");
    let query = ScimListQuery {
        schemas: schemas(),
        filter: None,
        sort_by: Some(&members),
        descending: false,
        start_index: 1,
        count: 10,
    };
    assert!(matches!(
        store.scim_list("okta", ResourceType::User, &query).await,
        Err(ScimWriteError::InvalidFilter(m)) if m.contains("groups")
    ));
}
