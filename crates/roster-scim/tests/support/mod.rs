//! Helpers shared by the PATCH test files.
#![allow(dead_code)]

use roster_scim::patch::{PATCH_OP, PatchOutcome, apply_patch};
use roster_scim::schema::{ENTERPRISE_USER, GROUP, ResourceType, Schemas, USER};
use roster_scim::{ScimError, ScimType};
use serde_json::{Value, json};

pub fn schemas() -> Schemas {
    Schemas::standard(&[])
}

pub fn request(ops: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": ops})
}

pub fn patch(rt: ResourceType, doc: &mut Value, ops: Value) -> Result<PatchOutcome, ScimError> {
    apply_patch(&schemas(), rt, doc, &request(ops))
}

pub fn patch_user(doc: &mut Value, ops: Value) -> Result<PatchOutcome, ScimError> {
    patch(ResourceType::User, doc, ops)
}

/// Applies `ops` to a user, expecting success and a change, and returns the new document.
pub fn changed(mut doc: Value, ops: Value) -> Value {
    let outcome = patch_user(&mut doc, ops).expect("patch should succeed");
    assert!(outcome.changed, "patch should change the document");
    doc
}

pub fn fails(mut doc: Value, ops: Value, scim_type: ScimType, mentions: &str) {
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

pub fn user() -> Value {
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

pub fn group(members: &[&str]) -> Value {
    let members: Vec<Value> = members.iter().map(|m| json!({"value": m})).collect();
    json!({"schemas": [GROUP], "id": "g1", "displayName": "Eng", "members": members})
}

pub fn member_ids(doc: &Value) -> Vec<&str> {
    doc["members"].as_array().map_or(Vec::new(), |m| {
        m.iter().map(|m| m["value"].as_str().unwrap()).collect()
    })
}
