//! PATCH (RFC 7644 §3.5.2): `roster_scim::patch::apply_patch`, with the request shapes Entra ID
//! and Okta send (reference: shared/reference/scim.md §4.1, §4.2).

use roster_scim::patch::{PATCH_OP, PatchOutcome, apply_patch};
use roster_scim::schema::{ENTERPRISE_USER, GROUP, ResourceType, Schemas, USER};
use roster_scim::{ScimError, ScimType};
use serde_json::{Value, json};

fn schemas() -> Schemas {
    Schemas::standard(&[])
}

fn request(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

fn patch(rt: ResourceType, doc: &mut Value, ops: Value) -> Result<PatchOutcome, ScimError> {
    apply_patch(&schemas(), rt, doc, &request(ops))
}

fn patch_user(doc: &mut Value, ops: Value) -> Result<PatchOutcome, ScimError> {
    patch(ResourceType::User, doc, ops)
}

/// Applies `ops` to a user, expecting success and a change, and returns the new document.
fn changed(mut doc: Value, ops: Value) -> Value {
    let outcome = patch_user(&mut doc, ops).expect("patch should succeed");
    assert!(outcome.changed, "patch should change the document");
    doc
}

fn fails(mut doc: Value, ops: Value, scim_type: ScimType, mentions: &str) {
    let before = doc.clone();
    let err = patch_user(&mut doc, ops).expect_err("patch should fail");
    assert_eq!(err.status, 400, "{err:?}");
    assert_eq!(err.scim_type, Some(scim_type), "{err:?}");
    assert!(
        err.detail.contains(mentions),
        "detail {:?} should mention {mentions:?}",
        err.detail
    );
    assert_eq!(doc, before, "a failed PATCH leaves the document as it was");
}

fn user() -> Value {
    json!({
        "schemas": [USER, ENTERPRISE_USER],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "meta": {"resourceType": "User", "version": "W/\"1\""},
        "userName": "bjensen@example.com",
        "displayName": "Babs Jensen",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"}
        ],
        ENTERPRISE_USER: {"department": "Tour Operations", "manager": {"value": "26118915"}}
    })
}

fn group(members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": [GROUP], "id": "g1", "displayName": "Eng", "members": members})
}

fn member_ids(doc: &Value) -> Vec<&str> {
    doc["members"].as_array().map_or(Vec::new(), |m| {
        m.iter().map(|m| m["value"].as_str().unwrap()).collect()
    })
}

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

// --- groups ------------------------------------------------------------------------------

#[test]
fn many_members_added_and_removed_in_one_operation() {
    let mut g = group(&["u1", "u2"]);
    let outcome = patch(
        ResourceType::Group,
        &mut g,
        json!([{"op": "add", "path": "members", "value": [
            {"value": "u2"}, {"value": "u3", "display": "Cy"}, {"value": "u4"}, {"value": "u3"}
        ]}]),
    )
    .unwrap();
    assert!(outcome.changed);
    assert_eq!(outcome.members_added, vec!["u3", "u4"]);
    assert!(outcome.members_removed.is_empty());
    assert_eq!(member_ids(&g), vec!["u1", "u2", "u3", "u4"]);
    assert_eq!(
        g["members"][2],
        json!({"value": "u3"}),
        "display is read-only and not stored"
    );
    let outcome = patch(
        ResourceType::Group,
        &mut g,
        json!([{"op": "remove", "path": "members[value eq \"u1\" or value eq \"u4\"]"}]),
    )
    .unwrap();
    assert_eq!(outcome.members_removed, vec!["u1", "u4"]);
    assert_eq!(member_ids(&g), vec!["u2", "u3"]);
}

#[test]
fn entra_member_add_and_value_list_removal() {
    let mut g = group(&["u1", "u2", "u3"]);
    let outcome = patch(ResourceType::Group, &mut g, json!([
        {"op": "Add", "path": "members", "value": [{"$ref": null, "value": "u9"}]},
        {"op": "Remove", "path": "members", "value": [{"value": "u1"}, {"value": "U3"}, {"value": "not-a-member"}]}
    ])).unwrap();
    assert_eq!(outcome.members_added, vec!["u9"]);
    assert_eq!(outcome.members_removed, vec!["u1", "u3"]);
    assert_eq!(member_ids(&g), vec!["u2", "u9"]);
    // Entra's flagged form, a filter path.
    let outcome = patch(
        ResourceType::Group,
        &mut g,
        json!([{"op": "Remove", "path": "members[value eq \"u2\"]"}]),
    )
    .unwrap();
    assert_eq!(outcome.members_removed, vec!["u2"]);
}

#[test]
fn okta_membership_patch_removes_and_adds_in_one_request() {
    let mut g = group(&["u1", "u2"]);
    let outcome = patch(
        ResourceType::Group,
        &mut g,
        json!([
            {"op": "remove", "path": "members[value eq \"u1\"]"},
            {"op": "add", "path": "members", "value": [{"value": "u5", "display": "e@x.org"}]}
        ]),
    )
    .unwrap();
    assert_eq!(
        (outcome.members_added, outcome.members_removed),
        (vec!["u5".to_string()], vec!["u1".to_string()])
    );
    // Okta's rename repeats the group's id.
    let outcome = patch(
        ResourceType::Group,
        &mut g,
        json!([{"op": "replace", "value": {"id": "g1", "displayName": "Engineering"}}]),
    )
    .unwrap();
    assert!(
        outcome.changed && outcome.members_added.is_empty() && outcome.members_removed.is_empty()
    );
    assert_eq!(g["displayName"], "Engineering");
    // Full replace of the member list.
    let outcome = patch(
        ResourceType::Group,
        &mut g,
        json!([{"op": "replace", "path": "members", "value": [{"value": "u2"}, {"value": "u7"}]}]),
    )
    .unwrap();
    assert_eq!(
        (outcome.members_added, outcome.members_removed),
        (vec!["u7".to_string()], vec!["u5".to_string()])
    );
    let outcome = patch(
        ResourceType::Group,
        &mut g,
        json!([{"op": "replace", "path": "members", "value": []}]),
    )
    .unwrap();
    assert_eq!(outcome.members_removed, vec!["u2", "u7"]);
    assert!(g.get("members").is_none());
}

#[test]
fn member_values_are_immutable_and_display_is_read_only() {
    let mut g = group(&["u1"]);
    let err = patch(
        ResourceType::Group,
        &mut g,
        json!([{"op": "replace", "path": "members[value eq \"u1\"].value", "value": "u2"}]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::Mutability));
    let err = patch(
        ResourceType::Group,
        &mut g,
        json!([{"op": "replace", "path": "members[value eq \"u1\"].display", "value": "x"}]),
    )
    .unwrap_err();
    assert_eq!(err.scim_type, Some(ScimType::Mutability));
    assert_eq!(g, group(&["u1"]));
    // Adding an existing member again changes nothing.
    let outcome = patch(
        ResourceType::Group,
        &mut g,
        json!([{"op": "add", "path": "members", "value": [{"value": "u1", "display": "Ann"}]}]),
    )
    .unwrap();
    assert_eq!(outcome, PatchOutcome::default());
}

#[test]
fn a_user_patch_reports_no_members() {
    let mut doc = user();
    let outcome = patch_user(
        &mut doc,
        json!([{"op": "replace", "path": "title", "value": "x"}]),
    )
    .unwrap();
    assert!(outcome.members_added.is_empty() && outcome.members_removed.is_empty());
}
