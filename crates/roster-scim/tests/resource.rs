//! POST/PUT validation: `roster_scim::resource::validate_for_write`.

use roster_scim::resource::{is_datetime, validate_for_write};
use roster_scim::schema::{
    ENTERPRISE_USER, GROUP, Mutability, ROSTER_USER, ResourceType, Schemas, USER,
};
use roster_scim::{ScimError, ScimType};
use serde_json::{Value, json};

fn schemas() -> Schemas {
    Schemas::standard(&["badgeColour".to_string()])
}

fn user(doc: Value) -> Result<Value, ScimError> {
    validate_for_write(&schemas(), ResourceType::User, doc, None)
}

fn group(doc: Value) -> Result<Value, ScimError> {
    validate_for_write(&schemas(), ResourceType::Group, doc, None)
}

fn assert_err(result: Result<Value, ScimError>, scim_type: ScimType, mentions: &str) {
    let err = result.expect_err("should be rejected");
    assert_eq!(err.status, 400, "{err:?}");
    assert_eq!(err.scim_type, Some(scim_type), "{err:?}");
    assert!(
        err.detail.contains(mentions),
        "detail {:?} should mention {mentions:?}",
        err.detail
    );
}

#[test]
fn minimal_user_is_stored_with_its_core_schema() {
    let out = user(json!({"schemas": [USER], "userName": "bjensen"})).unwrap();
    assert_eq!(out, json!({"schemas": [USER], "userName": "bjensen"}));
}

#[test]
fn schemas_must_list_the_core_schema() {
    assert_err(
        user(json!({"userName": "a"})),
        ScimType::InvalidSyntax,
        USER,
    );
    assert_err(
        user(json!({"schemas": [GROUP], "userName": "a"})),
        ScimType::InvalidSyntax,
        USER,
    );
    assert_err(
        user(json!({"schemas": USER, "userName": "a"})),
        ScimType::InvalidSyntax,
        "schemas",
    );
    assert_err(
        group(json!({"schemas": [USER], "displayName": "g"})),
        ScimType::InvalidSyntax,
        GROUP,
    );
    // Case differences in the URN do not matter; OneLogin templates send the SCIM 1.1 URI.
    assert!(user(json!({"schemas": [USER.to_uppercase()], "userName": "a"})).is_ok());
    let out = user(json!({"schemas": ["urn:scim:schemas:core:1.0"], "userName": "a"})).unwrap();
    assert_eq!(out["schemas"], json!([USER]));
}

#[test]
fn extension_attributes_need_the_extension_listed() {
    let doc = json!({"schemas": [USER], "userName": "a", ENTERPRISE_USER: {"department": "R&D"}});
    assert_err(user(doc), ScimType::InvalidSyntax, ENTERPRISE_USER);
    let doc = json!({"schemas": [USER, ENTERPRISE_USER], "userName": "a", ENTERPRISE_USER: {"department": "R&D"}});
    let out = user(doc).unwrap();
    assert_eq!(out["schemas"], json!([USER, ENTERPRISE_USER]));
    assert_eq!(out[ENTERPRISE_USER], json!({"department": "R&D"}));
}

#[test]
fn listed_extension_without_attributes_is_not_kept_in_schemas() {
    let out = user(json!({"schemas": [USER, ENTERPRISE_USER], "userName": "a"})).unwrap();
    assert_eq!(out["schemas"], json!([USER]));
    let out =
        user(json!({"schemas": [USER, ENTERPRISE_USER], "userName": "a", ENTERPRISE_USER: {}}))
            .unwrap();
    assert!(out.get(ENTERPRISE_USER).is_none());
}

#[test]
fn required_attributes_must_be_present_and_not_blank() {
    assert_err(
        user(json!({"schemas": [USER]})),
        ScimType::InvalidValue,
        "userName",
    );
    assert_err(
        user(json!({"schemas": [USER], "userName": null})),
        ScimType::InvalidValue,
        "userName",
    );
    assert_err(
        user(json!({"schemas": [USER], "userName": "  "})),
        ScimType::InvalidValue,
        "userName",
    );
    assert_err(
        group(json!({"schemas": [GROUP]})),
        ScimType::InvalidValue,
        "displayName",
    );
    assert!(group(json!({"schemas": [GROUP], "displayName": "Eng"})).is_ok());
}

#[test]
fn types_are_checked_and_errors_name_the_attribute() {
    let base = |k: &str, v: Value| {
        let mut d = json!({"schemas": [USER, ENTERPRISE_USER, ROSTER_USER], "userName": "a"});
        d[k] = v;
        user(d)
    };
    assert_err(
        base("active", json!("yes")),
        ScimType::InvalidValue,
        "active",
    );
    assert_err(base("active", json!(1)), ScimType::InvalidValue, "active");
    assert_err(
        base("displayName", json!(42)),
        ScimType::InvalidValue,
        "displayName",
    );
    assert_err(
        base("name", json!("Barbara")),
        ScimType::InvalidValue,
        "name",
    );
    assert_err(
        base("name", json!({"givenName": true})),
        ScimType::InvalidValue,
        "name.givenName",
    );
    assert_err(
        base("emails", json!({"value": "a@b"})),
        ScimType::InvalidValue,
        "emails",
    );
    assert_err(
        base("emails", json!([{"value": "a@b", "primary": "perhaps"}])),
        ScimType::InvalidValue,
        "emails[0].primary",
    );
    assert_err(
        base("x509Certificates", json!([{"value": "not base64!"}])),
        ScimType::InvalidValue,
        "x509Certificates[0].value",
    );
    assert_err(
        base(ROSTER_USER, json!({"startDate": 20260105})),
        ScimType::InvalidValue,
        "startDate",
    );
    assert_err(
        base(ENTERPRISE_USER, json!({"employeeNumber": 701984})),
        ScimType::InvalidValue,
        "employeeNumber",
    );
    // Dates are days (strings): Okta's day, Entra's date-time and a typo are all kept as sent;
    // the import into people decides (and quarantines the typo).
    for sent in ["2026-01-05", "2026-01-05T09:00:00+01:00", "next monday"] {
        let out = base(ROSTER_USER, json!({ "startDate": sent })).unwrap();
        assert_eq!(out[ROSTER_USER]["startDate"], sent);
    }
}

#[test]
fn entra_string_booleans_are_booleans() {
    for (sent, stored) in [
        ("True", true),
        ("False", false),
        ("true", true),
        ("FALSE", false),
    ] {
        let out = user(json!({"schemas": [USER], "userName": "a", "active": sent})).unwrap();
        assert_eq!(out["active"], json!(stored), "{sent}");
    }
    let out = user(json!({"schemas": [USER], "userName": "a", "emails": [{"value": "a@b", "primary": "True"}]})).unwrap();
    assert_eq!(out["emails"], json!([{"value": "a@b", "primary": true}]));
}

#[test]
fn attribute_names_are_case_insensitive_and_stored_canonically() {
    let out = user(json!({
        "SCHEMAS": [USER, ENTERPRISE_USER],
        "USERNAME": "a",
        "Name": {"GivenName": "Barbara", "FAMILYNAME": "Jensen"},
        "emails": [{"Value": "a@b", "TYPE": "work"}],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:user": {"Department": "R&D"},
    }))
    .unwrap();
    assert_eq!(
        out,
        json!({
            "schemas": [USER, ENTERPRISE_USER],
            "userName": "a",
            "name": {"givenName": "Barbara", "familyName": "Jensen"},
            "emails": [{"value": "a@b", "type": "work"}],
            ENTERPRISE_USER: {"department": "R&D"},
        })
    );
}

#[test]
fn read_only_input_is_ignored_and_password_is_not_kept() {
    let out = user(json!({
        "schemas": [USER],
        "id": "client-chosen",
        "meta": {"resourceType": "User", "created": "2020-01-01T00:00:00Z"},
        "userName": "a",
        "password": "Pl4ceholder!",
        "groups": [{"value": "g1", "display": "Eng"}],
    }))
    .unwrap();
    assert_eq!(out, json!({"schemas": [USER], "userName": "a"}));
    let out = group(json!({"schemas": [GROUP], "displayName": "Eng", "members": [{"value": "u1", "display": "Ann"}]})).unwrap();
    assert_eq!(out["members"], json!([{"value": "u1"}]));
}

#[test]
fn unknown_attributes_and_schemas_are_dropped() {
    // Entra's group create lists its ADSCIM schema; OneLogin templates carry extra fields.
    let out = group(json!({
        "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Group1DisplayName",
        "meta": {"resourceType": "Group"},
        "favouriteColour": "teal",
    }))
    .unwrap();
    assert_eq!(
        out,
        json!({"schemas": [GROUP], "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159", "displayName": "Group1DisplayName"})
    );
    let out = user(json!({"schemas": [USER], "userName": "a", "name": {"givenName": "B", "nick": "x"}, "urn:example:other:1.0:User:x": 1})).unwrap();
    assert_eq!(out["name"], json!({"givenName": "B"}));
    assert!(
        out.as_object()
            .unwrap()
            .keys()
            .all(|k| !k.contains("example"))
    );
}

#[test]
fn dotted_and_urn_qualified_keys_name_their_attribute() {
    let out = user(json!({
        "schemas": [USER, ENTERPRISE_USER],
        "userName": "a",
        "name.givenName": "Barbara",
        "name": {"familyName": "Jensen"},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department": "R&D",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value": "boss-id",
        "urn:ietf:params:scim:schemas:core:2.0:User:displayName": "Babs",
    }))
    .unwrap();
    assert_eq!(
        out["name"],
        json!({"givenName": "Barbara", "familyName": "Jensen"})
    );
    assert_eq!(out["displayName"], "Babs");
    assert_eq!(
        out[ENTERPRISE_USER],
        json!({"department": "R&D", "manager": {"value": "boss-id"}})
    );
}

#[test]
fn manager_may_be_a_bare_id_or_a_one_element_array() {
    for manager in [
        json!("26118915-6090-4610-87e4-49d8ca9f808d"),
        json!([{"value": "26118915-6090-4610-87e4-49d8ca9f808d", "$ref": null}]),
        json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d", "displayName": "Boss"}),
    ] {
        let out = user(json!({"schemas": [USER, ENTERPRISE_USER], "userName": "a", ENTERPRISE_USER: {"manager": manager}})).unwrap();
        assert_eq!(
            out[ENTERPRISE_USER]["manager"],
            json!({"value": "26118915-6090-4610-87e4-49d8ca9f808d"}),
            "{manager}"
        );
    }
}

#[test]
fn at_most_one_primary_value() {
    let doc = json!({"schemas": [USER], "userName": "a", "emails": [
        {"value": "a@b", "primary": true}, {"value": "c@d", "primary": true}]});
    assert_err(user(doc), ScimType::InvalidValue, "primary");
    let doc = json!({"schemas": [USER], "userName": "a", "emails": [
        {"value": "a@b", "primary": true}, {"value": "c@d", "primary": false}]});
    assert!(user(doc).is_ok());
}

#[test]
fn nulls_and_empty_arrays_are_unassigned_but_empty_strings_are_kept() {
    let out = user(json!({"schemas": [USER], "userName": "a", "displayName": null, "roles": [], "nickName": "", "emails": [null]})).unwrap();
    assert_eq!(
        out,
        json!({"schemas": [USER], "userName": "a", "nickName": ""})
    );
}

#[test]
fn okta_create_payload() {
    // Okta's SCIM 2.0 reference: create with a placeholder password, empty groups, locale.
    let out = user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": "test.user@okta.local",
        "name": {"givenName": "Test", "familyName": "User"},
        "emails": [{"primary": true, "value": "test.user@okta.local", "type": "work"}],
        "displayName": "Test User",
        "locale": "en-US",
        "externalId": "00ujl29u0le5T6Aj10h7",
        "groups": [],
        "password": "1mz050nq",
        "active": true
    }))
    .unwrap();
    assert_eq!(out["userName"], "test.user@okta.local");
    assert_eq!(out["externalId"], "00ujl29u0le5T6Aj10h7");
    assert!(out.get("password").is_none() && out.get("groups").is_none());
    assert_eq!(out["emails"][0]["primary"], true);
}

#[test]
fn entra_create_payload() {
    let out = user(json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
        "userName": "Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1",
        "active": true,
        "emails": [{"primary": true, "type": "work", "value": "Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com"}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "givenName familyName", "familyName": "familyName", "givenName": "givenName"},
        "roles": [],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"employeeNumber": null, "department": "Finance"}
    }))
    .unwrap();
    assert_eq!(out[ENTERPRISE_USER], json!({"department": "Finance"}));
    assert!(out.get("meta").is_none() && out.get("roles").is_none());
}

fn with_immutable_nick_name() -> Schemas {
    let mut s = schemas();
    for a in &mut s.user.attributes {
        if a.name == "nickName" {
            a.mutability = Mutability::Immutable;
        }
        if a.name == "name" {
            for sub in &mut a.sub_attributes {
                if sub.name == "familyName" {
                    sub.mutability = Mutability::Immutable;
                }
            }
        }
    }
    s
}

#[test]
fn put_keeps_immutable_values() {
    let s = with_immutable_nick_name();
    let existing = json!({"schemas": [USER], "id": "1", "userName": "a", "nickName": "Babs", "name": {"familyName": "Jensen"}});
    let put = |doc: Value| validate_for_write(&s, ResourceType::User, doc, Some(&existing));
    // Same value, or omitted (carried over).
    let out = put(json!({"schemas": [USER], "userName": "b", "nickName": "Babs"})).unwrap();
    assert_eq!(out["nickName"], "Babs");
    assert_eq!(out["name"], json!({"familyName": "Jensen"}));
    let out = put(json!({"schemas": [USER], "userName": "b", "name": {"givenName": "B"}})).unwrap();
    assert_eq!(out["nickName"], "Babs");
    assert_eq!(
        out["name"],
        json!({"givenName": "B", "familyName": "Jensen"})
    );
    assert_err(
        put(json!({"schemas": [USER], "userName": "b", "nickName": "Other"})),
        ScimType::Mutability,
        "nickName",
    );
    assert_err(
        put(json!({"schemas": [USER], "userName": "b", "name": {"familyName": "X"}})),
        ScimType::Mutability,
        "name.familyName",
    );
    // An immutable attribute without a value may be set by a PUT.
    let empty = json!({"schemas": [USER], "id": "1", "userName": "a"});
    let out = validate_for_write(
        &s,
        ResourceType::User,
        json!({"schemas": [USER], "userName": "a", "nickName": "New"}),
        Some(&empty),
    )
    .unwrap();
    assert_eq!(out["nickName"], "New");
}

#[test]
fn okta_put_of_a_group_with_members_replaces_them() {
    let existing =
        json!({"schemas": [GROUP], "id": "g", "displayName": "Eng", "members": [{"value": "u1"}]});
    let out = validate_for_write(
        &schemas(),
        ResourceType::Group,
        json!({"schemas": [GROUP], "id": "g", "displayName": "Eng", "members": [{"value": "u2", "display": "Bo"}]}),
        Some(&existing),
    )
    .unwrap();
    assert_eq!(out["members"], json!([{"value": "u2"}]));
}

#[test]
fn non_objects_are_rejected() {
    assert_err(user(json!([])), ScimType::InvalidSyntax, "object");
    assert_err(
        user(json!({"schemas": [USER, ENTERPRISE_USER], "userName": "a", ENTERPRISE_USER: "x"})),
        ScimType::InvalidValue,
        ENTERPRISE_USER,
    );
}

#[test]
fn datetimes_follow_rfc_3339() {
    for ok in [
        "2026-01-05T09:00:00Z",
        "2026-01-05t09:00:00z",
        "2024-02-29T23:59:60.123+14:00",
        "2026-01-05T09:00:00",
        "2026-01-05T09:00:00.5-05:30",
    ] {
        assert!(is_datetime(ok), "{ok}");
    }
    for bad in [
        "2026-01-05",
        "2025-02-29T00:00:00Z",
        "2026-04-31T00:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-01-05 09:00:00Z",
        "2026-01-05T24:00:00Z",
        "2026-01-05T09:00:00.Z",
        "2026-01-05T09:00:00+1:00",
        "2026-01-05T09:00:00Zjunk",
        "２０２６-01-05T09:00:00Z",
    ] {
        assert!(!is_datetime(bad), "{bad}");
    }
}
