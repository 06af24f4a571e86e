//! `attributes` / `excludedAttributes` and `returned`: `roster_scim::project::project`.

use roster_scim::project::project;
use roster_scim::schema::{ENTERPRISE_USER, GROUP, ResourceType, Returned, Schemas, USER};
use roster_scim::{AttrPath, parse_path};
use serde_json::{Value, json};

fn paths(list: &[&str]) -> Vec<AttrPath> {
    list.iter()
        .map(|p| parse_path(p).expect("valid path").attr)
        .collect()
}

fn user() -> Value {
    json!({
        "schemas": [USER, ENTERPRISE_USER],
        "id": "2819c223",
        "externalId": "bjensen",
        "meta": {"resourceType": "User", "version": "W/\"3\"", "location": "https://x/Users/2819c223"},
        "userName": "bjensen",
        "password": "should never be stored, and never returned if it were",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"value": "b@x.org", "type": "work", "primary": true}, {"value": "b@home.org", "type": "home"}],
        "legacyField": "stored but not in the schemas",
        ENTERPRISE_USER: {"department": "Tour Operations", "manager": {"value": "26118915", "displayName": "Boss"}}
    })
}

fn run(attributes: &[&str], excluded: &[&str]) -> Value {
    project(
        &Schemas::standard(&[]),
        ResourceType::User,
        &user(),
        &paths(attributes),
        &paths(excluded),
    )
}

#[test]
fn default_projection_drops_never_returned_and_unknown_attributes() {
    let out = run(&[], &[]);
    let mut expected = user();
    let fields = expected.as_object_mut().unwrap();
    fields.remove("password");
    fields.remove("legacyField");
    assert_eq!(out, expected);
}

#[test]
fn attributes_select_and_always_returned_stay() {
    let out = run(&["userName"], &[]);
    assert_eq!(
        out,
        json!({"schemas": [USER], "id": "2819c223", "userName": "bjensen"})
    );
    let out = run(&["USERNAME", "password", "meta"], &[]);
    assert_eq!(out["userName"], "bjensen");
    assert!(
        out.get("password").is_none(),
        "never means never, even when asked"
    );
    assert_eq!(out["meta"], user()["meta"]);
}

#[test]
fn sub_attribute_selection() {
    let out = run(&["name.givenName", "emails.value"], &[]);
    assert_eq!(
        out,
        json!({
            "schemas": [USER],
            "id": "2819c223",
            "name": {"givenName": "Barbara"},
            "emails": [{"value": "b@x.org"}, {"value": "b@home.org"}]
        })
    );
}

#[test]
fn extension_paths_select_and_exclude() {
    let dept = format!("{ENTERPRISE_USER}:department");
    let out = run(&[&dept], &[]);
    assert_eq!(
        out,
        json!({"schemas": [USER, ENTERPRISE_USER], "id": "2819c223", ENTERPRISE_USER: {"department": "Tour Operations"}})
    );
    let out = run(&[ENTERPRISE_USER], &[]);
    assert_eq!(out[ENTERPRISE_USER], user()[ENTERPRISE_USER]);
    assert!(out.get("userName").is_none());
    let manager_value = format!("{ENTERPRISE_USER}:manager.value");
    let out = run(&[&manager_value], &[]);
    assert_eq!(
        out[ENTERPRISE_USER],
        json!({"manager": {"value": "26118915"}})
    );
    let out = run(&[], &[ENTERPRISE_USER]);
    assert!(out.get(ENTERPRISE_USER).is_none());
    assert_eq!(
        out["schemas"],
        json!([USER]),
        "schemas lists only the extensions returned"
    );
    let out = run(&[], &[&dept]);
    assert_eq!(
        out[ENTERPRISE_USER],
        json!({"manager": {"value": "26118915", "displayName": "Boss"}})
    );
}

#[test]
fn excluded_attributes() {
    let out = run(
        &[],
        &["emails", "name.familyName", "meta", "id", "unknownThing"],
    );
    assert!(out.get("emails").is_none());
    assert!(
        out.get("meta").is_none(),
        "meta is returned by default, so it can be excluded"
    );
    assert_eq!(out["id"], "2819c223", "id is always returned");
    assert_eq!(out["name"], json!({"givenName": "Barbara"}));
    assert_eq!(out["userName"], "bjensen");
    let out = run(&[], &["emails.type", "emails.primary"]);
    assert_eq!(
        out["emails"],
        json!([{"value": "b@x.org"}, {"value": "b@home.org"}])
    );
}

#[test]
fn groups_read_without_members() {
    let group = json!({"schemas": [GROUP], "id": "g1", "displayName": "Eng", "members": [{"value": "u1", "display": "Ann"}]});
    let s = Schemas::standard(&[]);
    let out = project(&s, ResourceType::Group, &group, &[], &paths(&["members"]));
    assert_eq!(
        out,
        json!({"schemas": [GROUP], "id": "g1", "displayName": "Eng"})
    );
    let out = project(
        &s,
        ResourceType::Group,
        &group,
        &paths(&["members.value"]),
        &[],
    );
    assert_eq!(
        out,
        json!({"schemas": [GROUP], "id": "g1", "members": [{"value": "u1"}]})
    );
}

#[test]
fn request_returned_attributes_only_when_asked() {
    let mut s = Schemas::standard(&[]);
    for a in &mut s.user.attributes {
        if a.name == "title" {
            a.returned = Returned::Request;
        }
    }
    let mut doc = user();
    doc["title"] = json!("Tour Guide");
    let out = project(&s, ResourceType::User, &doc, &[], &[]);
    assert!(out.get("title").is_none());
    let out = project(&s, ResourceType::User, &doc, &paths(&["title"]), &[]);
    assert_eq!(out["title"], "Tour Guide");
}
