//! Request sequences shaped like Entra ID's and Okta's provisioning (see
//! `/work/shared/reference/scim.md` §4), replayed over HTTP; they must leave the expected
//! people (source `idp:bootstrap`) and groups.

use std::time::Duration;

use reqwest::StatusCode;
use roster_core::{PersonRecord, PersonStatus};
use serde_json::{Value, json};

use crate::common::{TestServer, eventually, on_every_backend};

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

fn ops(operations: Value) -> Value {
    json!({"schemas": [PATCH_OP], "Operations": operations})
}

fn q(filter: &str) -> String {
    filter
        .replace(' ', "%20")
        .replace('"', "%22")
        .replace('@', "%40")
}

async fn ok(got: (StatusCode, Value), expected: u16) -> Value {
    assert_eq!(got.0.as_u16(), expected, "{}", got.1);
    got.1
}

/// People once the background import has seen `expect` of them in the wanted state.
async fn people_where(s: &TestServer, done: impl Fn(&[PersonRecord]) -> bool) -> Vec<PersonRecord> {
    eventually(Duration::from_secs(10), || async {
        let people = s
            .store
            .people(jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1))
            .await
            .unwrap();
        done(&people).then_some(people)
    })
    .await
}

fn find<'a>(people: &'a [PersonRecord], employee_id: &str) -> &'a PersonRecord {
    people
        .iter()
        .find(|p| p.person.employee_id == employee_id)
        .unwrap_or_else(|| panic!("no person {employee_id}"))
}

async fn member_ids(s: &TestServer, gid: &str) -> Vec<String> {
    let mut ids: Vec<String> = s
        .store
        .scim_members("bootstrap", gid)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.value)
        .collect();
    ids.sort();
    ids
}

fn entra_user(upn: &str, given: &str, family: &str, number: &str) -> Value {
    json!({
        "schemas": [USER, ENTERPRISE],
        "externalId": upn.split('@').next().unwrap(),
        "userName": upn,
        "active": true,
        "displayName": format!("{given} {family}"),
        "emails": [{"primary": true, "type": "work", "value": upn}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": format!("{given} {family}"), "familyName": family, "givenName": given},
        "roles": [],
        ENTERPRISE: {"employeeNumber": number, "department": "Engineering"},
    })
}

async fn entra_id_provisioning_cycle(s: &TestServer) {
    // Test Connection: a random GUID must give an empty 200.
    let probe = format!("userName eq \"{}\"", uuid::Uuid::new_v4());
    let empty = ok(s.get(&format!("/Users?filter={}", q(&probe))).await, 200).await;
    assert_eq!(empty["totalResults"], 0);

    let ada_filter = format!("/Users?filter={}", q("userName eq \"ada@contoso.example\""));
    assert_eq!(ok(s.get(&ada_filter).await, 200).await["totalResults"], 0);
    let ada = ok(
        s.post(
            "/Users",
            &entra_user("ada@contoso.example", "Ada", "Lovelace", "1001"),
        )
        .await,
        201,
    )
    .await;
    let grace = ok(
        s.post(
            "/Users",
            &entra_user("grace@contoso.example", "Grace", "Hopper", "1000"),
        )
        .await,
        201,
    )
    .await;
    let (ada, grace) = (
        ada["id"].as_str().unwrap().to_string(),
        grace["id"].as_str().unwrap().to_string(),
    );
    assert_eq!(
        ok(s.get(&ada_filter).await, 200).await["Resources"][0]["id"],
        ada.as_str()
    );

    // Manager as a bare id, then a path-less replace with dotted and URN keys, then a
    // value-filtered e-mail path.
    let manager =
        ops(json!([{"op": "Add", "path": format!("{ENTERPRISE}:manager"), "value": grace}]));
    ok(s.patch(&format!("/Users/{ada}"), &manager).await, 200).await;
    let update = ops(json!([{"op": "Replace", "value": {
        "displayName": "Ada King",
        "name.familyName": "King",
        format!("{ENTERPRISE}:department"): "Research",
    }}]));
    let patched = ok(s.patch(&format!("/Users/{ada}"), &update).await, 200).await;
    assert_eq!(patched["name"]["familyName"], "King");
    assert_eq!(patched[ENTERPRISE]["manager"]["value"], grace.as_str());
    let email = ops(
        json!([{"op": "Replace", "path": "emails[type eq \"work\"].value", "value": "ada.king@contoso.example"}]),
    );
    ok(s.patch(&format!("/Users/{ada}"), &email).await, 200).await;

    // Groups: matched by displayName with members excluded, created with Microsoft's extra
    // schema URI, then memberships added and removed by PATCH (204).
    let group_filter = format!(
        "/Groups?excludedAttributes=members&filter={}",
        q("displayName eq \"Engineers\"")
    );
    assert_eq!(ok(s.get(&group_filter).await, 200).await["totalResults"], 0);
    let group = ok(s.post("/Groups", &json!({
        "schemas": [GROUP, "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
        "externalId": "8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159",
        "displayName": "Engineers",
        "meta": {"resourceType": "Group"},
    })).await, 201).await;
    let gid = group["id"].as_str().unwrap().to_string();
    let add = ops(
        json!([{"op": "Add", "path": "members", "value": [{"$ref": null, "value": ada}, {"$ref": null, "value": grace}]}]),
    );
    ok(s.patch(&format!("/Groups/{gid}"), &add).await, 204).await;
    let remove = ops(json!([{"op": "Remove", "path": "members", "value": [{"value": grace}]}]));
    ok(s.patch(&format!("/Groups/{gid}"), &remove).await, 204).await;
    let found = ok(s.get(&group_filter).await, 200).await;
    assert_eq!(found["Resources"][0]["id"], gid.as_str());
    assert!(found["Resources"][0].get("members").is_none());

    // Disable without the compliance flag: a string boolean.
    let disable = ops(json!([{"op": "Replace", "path": "active", "value": "False"}]));
    let disabled = ok(s.patch(&format!("/Users/{ada}"), &disable).await, 200).await;
    assert_eq!(disabled["active"], false);

    assert_eq!(member_ids(s, &gid).await, vec![ada.clone()]);
    let people = people_where(s, |people| {
        people
            .iter()
            .any(|p| p.person.employee_id == "1001" && p.person.status == PersonStatus::Terminated)
    })
    .await;
    let ada_person = &find(&people, "1001").person;
    assert_eq!(ada_person.email, "ada.king@contoso.example");
    assert_eq!(
        (
            ada_person.first_name.as_str(),
            ada_person.last_name.as_str()
        ),
        ("Ada", "King")
    );
    assert_eq!(ada_person.department, "Research");
    assert_eq!(ada_person.manager_id.as_deref(), Some("1000"));
    let grace_person = find(&people, "1000");
    assert_eq!(grace_person.person.status, PersonStatus::Active);
    assert!(grace_person.absent_since.is_none());

    // Deleting a user takes the person out of the source's listing: absent, a leaver.
    ok(s.delete(&format!("/Users/{grace}")).await, 204).await;
    let people = people_where(s, |people| {
        people
            .iter()
            .any(|p| p.person.employee_id == "1000" && p.absent_since.is_some())
    })
    .await;
    assert!(find(&people, "1000").absent_since.is_some());
}

async fn okta_provisioning_cycle(s: &TestServer) {
    // Test connection, then the existence check before a create.
    let page = ok(s.get("/Users?startIndex=1&count=2").await, 200).await;
    assert!(
        page["totalResults"].is_u64()
            && page["startIndex"].is_u64()
            && page["itemsPerPage"].is_u64()
    );
    ok(s.get("/Groups?startIndex=1&count=100").await, 200).await;
    let bob_filter = format!(
        "/Users?filter={}&startIndex=1&count=100",
        q("userName eq \"bob@okta.example\"")
    );
    assert_eq!(ok(s.get(&bob_filter).await, 200).await["totalResults"], 0);

    let okta_user = |login: &str, external: &str, given: &str| {
        json!({
            "schemas": [USER],
            "userName": login,
            "name": {"givenName": given, "familyName": "Builder"},
            "emails": [{"primary": true, "value": login, "type": "work"}],
            "displayName": format!("{given} Builder"),
            "locale": "en-US",
            "externalId": external,
            "groups": [],
            "password": "placeholder-Okta-sends-1!",
            "active": true,
        })
    };
    let bob = ok(
        s.post("/Users", &okta_user("bob@okta.example", "00u1bob", "Bob"))
            .await,
        201,
    )
    .await;
    let carol = ok(
        s.post(
            "/Users",
            &okta_user("carol@okta.example", "00u2carol", "Carol"),
        )
        .await,
        201,
    )
    .await;
    let (bob_id, carol_id) = (
        bob["id"].as_str().unwrap().to_string(),
        carol["id"].as_str().unwrap().to_string(),
    );
    assert!(bob.get("password").is_none());
    // An existing user gets 409 with the error schema.
    let again = s
        .post("/Users", &okta_user("bob@okta.example", "00u1bob", "Bob"))
        .await;
    crate::common::assert_error(&again, 409, Some("uniqueness"));

    // Profile updates are GET then PUT of the whole object, id and meta included.
    let mut current = ok(s.get(&format!("/Users/{bob_id}")).await, 200).await;
    current["title"] = json!("Site Lead");
    current["name"]["familyName"] = json!("Builders");
    let put = ok(s.put(&format!("/Users/{bob_id}"), &current).await, 200).await;
    assert_eq!(put["title"], "Site Lead");

    // Group Push: create empty, find by displayName, rename with the same id in the value,
    // remove by filter and add in one request, then a full replace of members.
    let group = ok(
        s.post(
            "/Groups",
            &json!({"schemas": [GROUP], "displayName": "Sales", "members": []}),
        )
        .await,
        201,
    )
    .await;
    let gid = group["id"].as_str().unwrap().to_string();
    let found = ok(
        s.get(&format!(
            "/Groups?filter={}&startIndex=1&count=100",
            q("displayName eq \"Sales\"")
        ))
        .await,
        200,
    )
    .await;
    assert_eq!(found["totalResults"], 1);
    let rename = ops(json!([{"op": "replace", "value": {"id": gid, "displayName": "Sales Team"}}]));
    ok(s.patch(&format!("/Groups/{gid}"), &rename).await, 204).await;
    let add = ops(json!([{"op": "add", "path": "members", "value": [
        {"value": bob_id, "display": "bob@okta.example"}, {"value": carol_id, "display": "carol@okta.example"}]}]));
    let got = s.patch(&format!("/Groups/{gid}"), &add).await;
    assert!(matches!(got.0.as_u16(), 200 | 204), "{}", got.1);
    let swap = ops(json!([
        {"op": "remove", "path": format!("members[value eq \"{carol_id}\"]")},
        {"op": "add", "path": "members", "value": [{"value": bob_id, "display": "bob@okta.example"}]},
    ]));
    ok(s.patch(&format!("/Groups/{gid}"), &swap).await, 204).await;
    assert_eq!(member_ids(s, &gid).await, vec![bob_id.clone()]);
    let (_, g) = s.get(&format!("/Groups/{gid}")).await;
    assert_eq!(g["displayName"], "Sales Team");

    let replace_all =
        ops(json!([{"op": "replace", "path": "members", "value": [{"value": carol_id}]}]));
    ok(s.patch(&format!("/Groups/{gid}"), &replace_all).await, 204).await;
    assert_eq!(member_ids(s, &gid).await, vec![carol_id.clone()]);
    let (_, carol_now) = s.get(&format!("/Users/{carol_id}")).await;
    assert_eq!(carol_now["groups"][0]["display"], "Sales Team");

    // App Integration Wizard apps PUT the whole group, members included.
    let mut whole = ok(s.get(&format!("/Groups/{gid}")).await, 200).await;
    whole["members"] = json!([{"value": bob_id}, {"value": carol_id}]);
    ok(s.put(&format!("/Groups/{gid}"), &whole).await, 200).await;
    let mut both = vec![bob_id.clone(), carol_id.clone()];
    both.sort();
    assert_eq!(member_ids(s, &gid).await, both);
    whole["members"] = json!([{"value": carol_id}]);
    ok(s.put(&format!("/Groups/{gid}"), &whole).await, 200).await;
    assert_eq!(member_ids(s, &gid).await, vec![carol_id.clone()]);

    // Deactivation is a path-less replace; Okta never deletes.
    let deactivate = ops(json!([{"op": "replace", "value": {"active": false}}]));
    ok(s.patch(&format!("/Users/{bob_id}"), &deactivate).await, 200).await;

    let people = people_where(s, |people| {
        people.iter().any(|p| {
            p.person.employee_id == "00u1bob" && p.person.status == PersonStatus::Terminated
        }) && people.iter().any(|p| p.person.employee_id == "00u2carol")
    })
    .await;
    let bob = &find(&people, "00u1bob").person;
    assert_eq!(bob.title, "Site Lead");
    assert_eq!(bob.last_name, "Builders");
    assert_eq!(bob.email, "bob@okta.example");
    assert_eq!(
        find(&people, "00u2carol").person.status,
        PersonStatus::Active
    );

    // Every write was audited for the connection.
    let events = s.store.audit_page(0, 1000).await.unwrap();
    let scim: Vec<&str> = events
        .iter()
        .filter(|e| e.actor == "scim:bootstrap")
        .map(|e| e.action.as_str())
        .collect();
    assert!(
        scim.contains(&"scim replace user") && scim.contains(&"scim patch group"),
        "{scim:?}"
    );
    assert!(events.iter().all(|e| !e.body.contains("placeholder-Okta")));
}

on_every_backend!(entra_id_provisioning_cycle, okta_provisioning_cycle);
