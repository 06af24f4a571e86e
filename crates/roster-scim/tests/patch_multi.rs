//! PATCH on multi-valued attributes: value filters, merges, primary, remove, mutability and
//! required attributes.

mod support;

use roster_scim::ScimType;
use roster_scim::schema::ResourceType;
use serde_json::{Value, json};
use support::*;

// --- multi-valued attributes and value filters --------------------------------------------

#[test]
fn value_filtered_sub_attribute() {
    let doc = changed(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": "barbara@example.com"}]),
    );
    assert_eq!(
        doc["emails"][0],
        json!({"value": "barbara@example.com", "type": "work", "primary": true})
    );
    assert_eq!(doc["emails"][1], user()["emails"][1]);
    // Filter keywords and attribute names in any case.
    let doc = changed(
        doc,
        json!([{"op": "replace", "path": "EMAILS[TYPE EQ \"home\"].VALUE", "value": "b@j.org"}]),
    );
    assert_eq!(doc["emails"][1]["value"], "b@j.org");
}

#[test]
fn entra_value_filter_with_no_match_creates_the_value() {
    let doc = changed(
        user(),
        json!([
            {"op": "Add", "path": "phoneNumbers[type eq \"mobile\"].value", "value": "+1 555 0100"},
            {"op": "Replace", "path": "addresses[type eq \"work\"].postalCode", "value": "98052"},
            {"op": "Replace", "path": "emails[type eq \"other\"].value", "value": "o@x.org"}
        ]),
    );
    assert_eq!(
        doc["phoneNumbers"],
        json!([{"type": "mobile", "value": "+1 555 0100"}])
    );
    assert_eq!(
        doc["addresses"],
        json!([{"type": "work", "postalCode": "98052"}])
    );
    assert_eq!(
        doc["emails"][2],
        json!({"type": "other", "value": "o@x.org"})
    );
    // A filter that does not describe one value cannot create it.
    fails(
        user(),
        json!([{"op": "replace", "path": "emails[value co \"@nowhere\"].type", "value": "x"}]),
        ScimType::NoTarget,
        "emails",
    );
    fails(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"a\" or type eq \"b\"].value", "value": "x"}]),
        ScimType::NoTarget,
        "matches",
    );
}

#[test]
fn value_filter_selecting_whole_values() {
    let doc = changed(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"home\"]", "value": {"value": "new@jensen.org"}}]),
    );
    assert_eq!(
        doc["emails"][1],
        json!({"value": "new@jensen.org", "type": "home"})
    );
    let doc = changed(
        doc,
        json!([{"op": "remove", "path": "emails[type eq \"home\"]"}]),
    );
    assert_eq!(doc["emails"].as_array().unwrap().len(), 1);
    let doc = changed(
        doc,
        json!([{"op": "remove", "path": "emails[value eq \"bjensen@example.com\"].type"}]),
    );
    assert_eq!(
        doc["emails"],
        json!([{"value": "bjensen@example.com", "primary": true}])
    );
    let doc = changed(
        doc,
        json!([{"op": "remove", "path": "emails[primary eq true]"}]),
    );
    assert!(doc.get("emails").is_none(), "no value left: unassigned");
}

#[test]
fn add_appends_new_values_and_replace_replaces_all() {
    let doc = changed(
        user(),
        json!([{"op": "add", "path": "emails", "value": [
            {"value": "babs@jensen.org", "type": "home"},
            {"value": "b@other.org", "type": "other"},
            {"value": "b@other.org", "type": "other"}
        ]}]),
    );
    assert_eq!(doc["emails"].as_array().unwrap().len(), 3);
    assert_eq!(
        doc["emails"][2],
        json!({"value": "b@other.org", "type": "other"})
    );
    // One value without an array is taken as a one-element array.
    let doc = changed(
        doc,
        json!([{"op": "add", "path": "emails", "value": {"value": "x@y.z"}}]),
    );
    assert_eq!(doc["emails"].as_array().unwrap().len(), 4);
    let doc = changed(
        doc,
        json!([{"op": "replace", "path": "emails", "value": [{"value": "only@x.org"}]}]),
    );
    assert_eq!(doc["emails"], json!([{"value": "only@x.org"}]));
    let doc = changed(doc, json!([{"op": "remove", "path": "emails"}]));
    assert!(doc.get("emails").is_none());
    let doc = changed(
        doc,
        json!([{"op": "add", "value": {"emails": [{"value": "n@x.org"}]}}]),
    );
    assert_eq!(doc["emails"], json!([{"value": "n@x.org"}]));
}

#[test]
fn a_new_primary_value_unmarks_the_others() {
    let doc = changed(
        user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "new@example.com", "type": "work", "primary": true}]}]),
    );
    let primaries: Vec<&Value> = doc["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .collect();
    assert_eq!(
        primaries,
        vec![&json!({"value": "new@example.com", "type": "work", "primary": true})]
    );
    assert_eq!(doc["emails"][0]["primary"], false);
    let doc = changed(
        doc,
        json!([{"op": "replace", "path": "emails[type eq \"home\"].primary", "value": "True"}]),
    );
    let primaries: Vec<&str> = doc["emails"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["primary"] == true)
        .map(|e| e["value"].as_str().unwrap())
        .collect();
    assert_eq!(primaries, vec!["babs@jensen.org"]);
    fails(
        user(),
        json!([{"op": "add", "path": "emails", "value": [{"value": "a@x", "primary": true}, {"value": "b@x", "primary": true}]}]),
        ScimType::InvalidValue,
        "primary",
    );
    fails(
        user(),
        json!([{"op": "replace", "path": "emails[type pr].primary", "value": true}]),
        ScimType::InvalidValue,
        "primary",
    );
}

// --- remove ------------------------------------------------------------------------------

#[test]
fn remove_needs_a_path_and_a_filter_must_match() {
    fails(
        user(),
        json!([{"op": "remove"}]),
        ScimType::NoTarget,
        "path",
    );
    fails(
        user(),
        json!([{"op": "remove", "value": {"title": "x"}}]),
        ScimType::NoTarget,
        "path",
    );
    fails(
        user(),
        json!([{"op": "remove", "path": "emails[type eq \"fax\"]"}]),
        ScimType::NoTarget,
        "emails",
    );
    fails(
        user(),
        json!([{"op": "remove", "path": "phoneNumbers[type eq \"fax\"].value"}]),
        ScimType::NoTarget,
        "phoneNumbers",
    );
}

// --- mutability and required attributes -----------------------------------------------------

#[test]
fn read_only_attributes_cannot_be_patched() {
    for path in [
        "id",
        "meta",
        "meta.created",
        "groups",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.displayName",
    ] {
        fails(
            user(),
            json!([{"op": "replace", "path": path, "value": "x"}]),
            ScimType::Mutability,
            path,
        );
        fails(
            user(),
            json!([{"op": "remove", "path": path}]),
            ScimType::Mutability,
            path,
        );
    }
    fails(
        user(),
        json!([{"op": "replace", "value": {"id": "other"}}]),
        ScimType::Mutability,
        "id",
    );
    // Read-only input equal to what is stored, and meta, are ignored (Okta, Entra).
    let mut doc = user();
    let outcome = patch_user(&mut doc, json!([{"op": "replace", "value": {"id": user()["id"], "meta": {"resourceType": "User"}, "groups": []}}])).unwrap();
    assert!(!outcome.changed);
}

#[test]
fn required_attributes_cannot_be_removed_or_blanked() {
    fails(
        user(),
        json!([{"op": "remove", "path": "userName"}]),
        ScimType::Mutability,
        "userName",
    );
    fails(
        user(),
        json!([{"op": "replace", "path": "userName", "value": null}]),
        ScimType::Mutability,
        "userName",
    );
    fails(
        user(),
        json!([{"op": "replace", "path": "userName", "value": ""}]),
        ScimType::InvalidValue,
        "userName",
    );
    let mut g = group(&[]);
    let err = patch(
        ResourceType::Group,
        &mut g,
        json!([{"op": "remove", "path": "displayName"}]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::Mutability));
}

#[test]
fn password_is_accepted_and_not_kept() {
    let mut doc = user();
    let outcome = patch_user(
        &mut doc,
        json!([{"op": "replace", "path": "password", "value": "n3w-Secret"}]),
    )
    .unwrap();
    assert!(!outcome.changed);
    let outcome = patch_user(
        &mut doc,
        json!([{"op": "replace", "value": {"password": "n3w-Secret", "title": "X"}}]),
    )
    .unwrap();
    assert!(outcome.changed);
    assert!(!doc.to_string().contains("n3w-Secret"));
}

#[test]
fn unknown_keys_in_a_pathless_value_are_dropped() {
    let doc = changed(
        user(),
        json!([{"op": "add", "value": {"favouriteColour": "teal", "title": "T", "urn:example:x:1.0:User:y": 1}}]),
    );
    assert_eq!(doc["title"], "T");
    assert!(doc.get("favouriteColour").is_none());
}
