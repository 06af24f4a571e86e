//! PATCH (RFC 7644 §3.5.2): `roster_scim::patch::apply_patch`, with the request shapes Entra ID
//! and Okta send (reference: shared/reference/scim.md §4.1, §4.2). Request structure, simple
//! and complex attributes, dotted and URN paths. Helpers in `support/`.

mod support;

use roster_scim::ScimType;
use roster_scim::patch::{PATCH_OP, PatchOutcome, apply_patch};
use roster_scim::schema::{ENTERPRISE_USER, ResourceType, USER};
use serde_json::{Value, json};
use support::*;

// --- request structure -------------------------------------------------------------------

#[test]
fn request_must_be_a_patch_op_message() {
    let mut doc = user();
    let s = schemas();
    let err = |body: Value| apply_patch(&s, ResourceType::User, &mut user(), &body).unwrap_err();
    assert_eq!(
        err(json!({"Operations": [{"op": "add", "path": "title", "value": "x"}]})).scim_type,
        Some(ScimType::InvalidSyntax)
    );
    assert_eq!(
        err(json!({"schemas": [PATCH_OP]})).scim_type,
        Some(ScimType::InvalidSyntax)
    );
    assert_eq!(
        err(json!({"schemas": [PATCH_OP], "Operations": []})).scim_type,
        Some(ScimType::InvalidSyntax)
    );
    assert_eq!(
        err(json!({"schemas": [PATCH_OP], "Operations": {"op": "add"}})).scim_type,
        Some(ScimType::InvalidSyntax)
    );
    assert_eq!(err(json!([])).scim_type, Some(ScimType::InvalidSyntax));
    fails(
        user(),
        json!([{"op": "merge", "path": "title", "value": "x"}]),
        ScimType::InvalidSyntax,
        "merge",
    );
    fails(
        user(),
        json!([{"path": "title", "value": "x"}]),
        ScimType::InvalidSyntax,
        "op",
    );
    fails(
        user(),
        json!(["add"]),
        ScimType::InvalidSyntax,
        "operation 1",
    );
    fails(
        user(),
        json!([{"op": "add", "path": 7, "value": "x"}]),
        ScimType::InvalidPath,
        "path",
    );
    fails(
        user(),
        json!([{"op": "add", "path": "emails[type eq]", "value": "x"}]),
        ScimType::InvalidPath,
        "",
    );
    fails(
        user(),
        json!([{"op": "add", "path": "favouriteColour", "value": "x"}]),
        ScimType::InvalidPath,
        "favouriteColour",
    );
    fails(
        user(),
        json!([{"op": "add", "path": "name[givenName eq \"x\"]", "value": "x"}]),
        ScimType::InvalidPath,
        "value filter",
    );
    // Structural member names are matched case-insensitively, like op values.
    let body = json!({"SCHEMAS": [PATCH_OP.to_uppercase()], "operations": [{"OP": "ADD", "Path": "title", "VALUE": "Boss"}]});
    apply_patch(&s, ResourceType::User, &mut doc, &body).unwrap();
    assert_eq!(doc["title"], "Boss");
}

#[test]
fn errors_name_the_failing_operation() {
    let mut doc = user();
    let err = patch_user(
        &mut doc,
        json!([
            {"op": "replace", "path": "title", "value": "ok"},
            {"op": "replace", "path": "active", "value": "maybe"}
        ]),
    )
    .unwrap_err();
    assert!(
        err.detail.starts_with("operation 2 (replace active)"),
        "{}",
        err.detail
    );
    assert_eq!(err.scim_type, Some(ScimType::InvalidValue));
    assert!(doc.get("title").is_none(), "operations apply as a whole");
}

// --- simple attributes, no-op detection -------------------------------------------------

#[test]
fn replace_add_and_remove_a_simple_attribute() {
    let doc = changed(
        user(),
        json!([{"op": "replace", "path": "displayName", "value": "Barbara J."}]),
    );
    assert_eq!(doc["displayName"], "Barbara J.");
    assert_eq!(doc["id"], user()["id"]);
    assert_eq!(doc["meta"], user()["meta"]);
    let doc = changed(
        doc,
        json!([{"op": "add", "path": "title", "value": "Tour Guide"}]),
    );
    assert_eq!(doc["title"], "Tour Guide");
    let doc = changed(doc, json!([{"op": "remove", "path": "title"}]));
    assert!(doc.get("title").is_none());
}

#[test]
fn a_patch_that_changes_nothing_reports_unchanged() {
    let mut doc = user();
    let before = doc.clone();
    for ops in [
        json!([{"op": "replace", "path": "displayName", "value": "Babs Jensen"}]),
        json!([{"op": "add", "path": "emails", "value": [{"value": "babs@jensen.org", "type": "home"}]}]),
        json!([{"op": "remove", "path": "title"}]),
        // Entra re-sends manager updates that did not change.
        json!([{"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager", "value": "26118915"}]),
        json!([{"op": "replace", "value": {"active": true, "name.givenName": "Barbara"}}]),
    ] {
        let outcome = patch_user(&mut doc, ops.clone()).unwrap();
        assert_eq!(outcome, PatchOutcome::default(), "{ops}");
        assert_eq!(doc, before, "{ops}");
    }
}

#[test]
fn entra_capitalised_ops_and_string_booleans() {
    let doc = changed(
        user(),
        json!([{"op": "Replace", "path": "active", "value": "False"}]),
    );
    assert_eq!(doc["active"], false);
    let doc = changed(
        doc,
        json!([{"op": "REPLACE", "path": "active", "value": "True"}]),
    );
    assert_eq!(doc["active"], true);
    let doc = changed(
        doc,
        json!([{"op": "Add", "path": "nickName", "value": "Babs"}, {"op": "Remove", "path": "nickName"}, {"op": "Add", "path": "title", "value": "T"}]),
    );
    assert!(doc.get("nickName").is_none());
    fails(
        user(),
        json!([{"op": "Replace", "path": "active", "value": "Nope"}]),
        ScimType::InvalidValue,
        "active",
    );
}

#[test]
fn okta_deactivates_with_a_pathless_replace() {
    let doc = changed(
        user(),
        json!([{"op": "replace", "value": {"active": false}}]),
    );
    assert_eq!(doc["active"], false);
    assert_eq!(doc["displayName"], "Babs Jensen");
}

#[test]
fn type_errors_name_the_attribute() {
    fails(
        user(),
        json!([{"op": "replace", "path": "emails[type eq \"work\"].value", "value": 42}]),
        ScimType::InvalidValue,
        "emails[type eq \"work\"].value",
    );
    fails(
        user(),
        json!([{"op": "add", "path": "name", "value": "Barbara"}]),
        ScimType::InvalidValue,
        "name",
    );
    fails(
        user(),
        json!([{"op": "replace", "value": {"name.familyName": ["J"]}}]),
        ScimType::InvalidValue,
        "name.familyName",
    );
}

#[test]
fn value_is_required_for_add_and_replace() {
    fails(
        user(),
        json!([{"op": "add", "path": "title"}]),
        ScimType::InvalidValue,
        "value",
    );
    fails(
        user(),
        json!([{"op": "replace", "path": "title"}]),
        ScimType::InvalidValue,
        "value",
    );
    fails(
        user(),
        json!([{"op": "add", "path": "title", "value": null}]),
        ScimType::InvalidValue,
        "null",
    );
    fails(
        user(),
        json!([{"op": "replace", "value": "x"}]),
        ScimType::InvalidValue,
        "object",
    );
    // replace with null unassigns.
    let doc = changed(
        user(),
        json!([{"op": "replace", "path": "displayName", "value": null}]),
    );
    assert!(doc.get("displayName").is_none());
}

// --- complex attributes, dotted and URN paths ---------------------------------------------

#[test]
fn sub_attribute_paths() {
    let doc = changed(
        user(),
        json!([{"op": "replace", "path": "name.givenName", "value": "Babs"}]),
    );
    assert_eq!(
        doc["name"],
        json!({"givenName": "Babs", "familyName": "Jensen"})
    );
    let doc = changed(
        doc,
        json!([{"op": "add", "path": "name.middleName", "value": "Jane"}]),
    );
    assert_eq!(doc["name"]["middleName"], "Jane");
    let doc = changed(
        doc,
        json!([{"op": "remove", "path": "name.givenName"}, {"op": "remove", "path": "name.middleName"}, {"op": "remove", "path": "name.familyName"}]),
    );
    assert!(
        doc.get("name").is_none(),
        "a complex attribute left empty is unassigned"
    );
    let doc = changed(
        doc,
        json!([{"op": "add", "path": "NAME.GIVENNAME", "value": "B"}]),
    );
    assert_eq!(doc["name"], json!({"givenName": "B"}));
}

#[test]
fn replacing_a_complex_attribute_keeps_unnamed_sub_attributes() {
    let doc = changed(
        user(),
        json!([{"op": "replace", "path": "name", "value": {"givenName": "Babs"}}]),
    );
    assert_eq!(
        doc["name"],
        json!({"givenName": "Babs", "familyName": "Jensen"})
    );
}

#[test]
fn entra_pathless_replace_with_dotted_and_urn_keys() {
    let doc = changed(
        user(),
        json!([{"op": "Replace", "value": {
            "displayName": "Barbara Jensen",
            "name.givenName": "Barbara",
            "name.familyName": "Jensen-Smith",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber": "701984",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager": "boss-2"
        }}]),
    );
    assert_eq!(doc["displayName"], "Barbara Jensen");
    assert_eq!(
        doc["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen-Smith"})
    );
    assert_eq!(
        doc[ENTERPRISE_USER],
        json!({"department": "Tour Operations", "employeeNumber": "701984", "manager": {"value": "boss-2"}})
    );
}

#[test]
fn pathless_value_keyed_by_the_extension_urn() {
    let doc = changed(
        user(),
        json!([{"op": "replace", "value": {
            ENTERPRISE_USER: {"Department": "Finance", "costCenter": "4130"}
        }}]),
    );
    assert_eq!(doc[ENTERPRISE_USER]["department"], "Finance");
    assert_eq!(doc[ENTERPRISE_USER]["costCenter"], "4130");
    assert_eq!(
        doc[ENTERPRISE_USER]["manager"],
        json!({"value": "26118915"})
    );
    // Into a user that has no extension yet: `schemas` follows.
    let mut plain = json!({"schemas": [USER], "id": "1", "userName": "a"});
    patch_user(
        &mut plain,
        json!([{"op": "add", "value": {ENTERPRISE_USER: {"division": "EMEA"}}}]),
    )
    .unwrap();
    assert_eq!(plain["schemas"], json!([USER, ENTERPRISE_USER]));
    assert_eq!(plain[ENTERPRISE_USER], json!({"division": "EMEA"}));
}

#[test]
fn enterprise_urn_paths() {
    let urn = |a: &str| format!("{ENTERPRISE_USER}:{a}");
    let doc = changed(
        user(),
        json!([{"op": "replace", "path": urn("department"), "value": "Sales"}]),
    );
    assert_eq!(doc[ENTERPRISE_USER]["department"], "Sales");
    // Entra's bare manager id, and the sub-attribute path.
    let doc = changed(
        doc,
        json!([{"op": "Add", "path": urn("manager"), "value": "2c2f"}]),
    );
    assert_eq!(doc[ENTERPRISE_USER]["manager"], json!({"value": "2c2f"}));
    let doc = changed(
        doc,
        json!([{"op": "replace", "path": urn("manager.value"), "value": "3d3e"}]),
    );
    assert_eq!(doc[ENTERPRISE_USER]["manager"], json!({"value": "3d3e"}));
    let doc = changed(
        doc,
        json!([{"op": "remove", "path": urn("manager")}, {"op": "remove", "path": urn("department")}]),
    );
    assert!(doc.get(ENTERPRISE_USER).is_none());
    assert_eq!(doc["schemas"], json!([USER]));
    let doc = changed(
        doc,
        json!([{"op": "add", "path": urn("costCenter"), "value": "4130"}]),
    );
    assert_eq!(doc["schemas"], json!([USER, ENTERPRISE_USER]));
}

#[test]
fn the_whole_extension_as_a_path() {
    let doc = changed(
        user(),
        json!([{"op": "add", "path": ENTERPRISE_USER, "value": {"organization": "Universal Studios", "schemas": ["x"]}}]),
    );
    assert_eq!(doc[ENTERPRISE_USER]["organization"], "Universal Studios");
    assert_eq!(doc[ENTERPRISE_USER]["department"], "Tour Operations");
    let doc = changed(doc, json!([{"op": "remove", "path": ENTERPRISE_USER}]));
    assert!(doc.get(ENTERPRISE_USER).is_none());
    assert_eq!(doc["schemas"], json!([USER]));
}
