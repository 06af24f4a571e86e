//! PATCH on groups: members added and removed in bulk, Entra and Okta membership shapes.

mod support;

use roster_scim::ScimType;
use roster_scim::patch::PatchOutcome;
use roster_scim::schema::{GROUP, ResourceType};
use serde_json::json;
use support::*;

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

#[test]
fn scim2_tester_member_shape_round_trips() {
    // scim2-tester adds and replaces members as {value, $ref, type} and reads them back.
    let member =
        json!({"value": "u9", "$ref": "http://127.0.0.1:8080/scim/v2/Users/u9", "type": "User"});
    for op in ["add", "replace"] {
        let mut g = json!({"schemas": [GROUP], "id": "g1", "displayName": "Eng"});
        let outcome = patch(
            ResourceType::Group,
            &mut g,
            json!([{"op": op, "path": "members", "value": [member.clone()]}]),
        )
        .unwrap();
        assert_eq!(outcome.members_added, vec!["u9"]);
        assert_eq!(g["members"], json!([member.clone()]), "{op}");
    }
}
