//! Any bytes as a SCIM PATCH against a user and a group. The first byte picks how the rest is
//! read: as a whole PatchOp body (JSON), or as the `path` of one operation with a fixed set of
//! values. Applying never panics; a failed PATCH leaves the document as it was; a successful
//! one leaves a user that POST would store exactly so (`id` and `meta` aside).
#![no_main]

use libfuzzer_sys::fuzz_target;
use roster_scim::patch::{PATCH_OP, apply_patch};
use roster_scim::resource::validate_for_write;
use roster_scim::schema::{ResourceType, Schemas};
use serde_json::{Value, json};

fn user() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "u1",
        "meta": {"resourceType": "User", "version": "W/\"1\""},
        "userName": "bjensen",
        "active": true,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [
            {"value": "b@example.com", "type": "work", "primary": true},
            {"value": "b@home.org", "type": "home"}
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Ops", "manager": {"value": "m1"}}
    })
}

fn group() -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "id": "g1",
        "displayName": "Eng",
        "members": [{"value": "u1"}, {"value": "u2"}]
    })
}

fn bodies(data: &[u8]) -> Vec<Value> {
    let Some((&mode, rest)) = data.split_first() else {
        return Vec::new();
    };
    if mode % 2 == 0 {
        return serde_json::from_slice(rest).into_iter().collect();
    }
    let Ok(path) = std::str::from_utf8(rest) else {
        return Vec::new();
    };
    let op = ["add", "Replace", "remove"][usize::from(mode / 2) % 3];
    let values = [
        json!("x"),
        json!("False"),
        json!(true),
        json!(null),
        json!({"value": "v", "type": "work", "primary": true}),
        json!([{"value": "u3"}, {"value": "u1", "display": "d"}]),
        json!({"givenName": "G", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "D"}),
    ];
    values
        .into_iter()
        .map(|value| json!({"schemas": [PATCH_OP], "Operations": [{"op": op, "path": path, "value": value}]}))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let schemas = Schemas::standard(&[]);
    for body in bodies(data) {
        let mut doc = user();
        match apply_patch(&schemas, ResourceType::User, &mut doc, &body) {
            Ok(_) => {
                let mut expected = doc.clone();
                if let Some(fields) = expected.as_object_mut() {
                    fields.remove("id");
                    fields.remove("meta");
                }
                match validate_for_write(&schemas, ResourceType::User, doc.clone(), None) {
                    Ok(stored) => assert_eq!(stored, expected, "PATCH {body} stored a form POST would not"),
                    Err(e) => panic!("PATCH {body} left an invalid user: {}\n{doc:#}", e.detail),
                }
            }
            Err(e) => {
                assert!(e.status == 400 && e.scim_type.is_some(), "{e:?}");
                assert_eq!(doc, user(), "a failed PATCH changed the user");
            }
        }
        let mut doc = group();
        if apply_patch(&schemas, ResourceType::Group, &mut doc, &body).is_err() {
            assert_eq!(doc, group(), "a failed PATCH changed the group");
        }
    }
});
