//! The generic SCIM target and the SCIM client against the Atlassian SCIM part of the Cloud
//! simulator (Atlassian user provisioning is SCIM 2.0), plus contract tests that decode the
//! reference's example bodies.

use std::collections::BTreeSet;
use std::sync::Arc;

use roster_connectors::http::{HttpClient, HttpPolicy};
use roster_connectors::scim_client::{
    ListResponse, PatchOp, ScimClient, ScimEmail, ScimGroup, ScimUser,
};
use roster_connectors::scim_target::{ScimTarget, ScimTargetConfig};
use roster_core::plan::{AccountRef, Action};
use roster_core::state::Entitlement;
use roster_core::{StepOutcome, Target, TargetError};
use roster_sim::cloud::{CloudOptions, start};
use serde_json::{Value, json};
use tokio::net::TcpListener;

fn policy() -> HttpPolicy {
    HttpPolicy {
        timeout_secs: 10,
        max_attempts: 8,
        base_delay_ms: 10,
        max_delay_ms: 1_000,
        max_concurrency: 8,
        requests_per_second: None,
    }
}

async fn sim() -> roster_sim::Running {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, CloudOptions::default()).await.unwrap()
}

fn s(info: &Value, key: &str) -> String {
    info[key].as_str().unwrap_or_default().to_string()
}

fn target(info: &Value) -> ScimTarget {
    let config = ScimTargetConfig {
        base_url: s(info, "scim_base_url"),
        token_env: "UNUSED".into(),
        http: policy(),
    };
    ScimTarget::new("wiki", &config, s(info, "scim_key")).unwrap()
}

fn client(info: &Value, key: &str) -> ScimClient {
    let http = HttpClient::new("scim", policy()).unwrap();
    ScimClient::new(Arc::new(http), s(info, "scim_base_url"), key)
}

async fn twice(t: &dyn Target, action: Action) {
    assert_eq!(
        t.apply(&action).await,
        Ok(StepOutcome::Applied),
        "first {action:?}"
    );
    assert_eq!(
        t.apply(&action).await,
        Ok(StepOutcome::AlreadyDone),
        "second {action:?}"
    );
}

#[tokio::test]
async fn every_action_twice_against_atlassian_scim() {
    let sim = sim().await;
    let t = target(&sim.info);
    let ada = AccountRef {
        employee_id: "E10442".into(),
        email: "ada.lovelace@example.com".into(),
        display_name: "Ada Lovelace".into(),
        external_id: None,
    };
    twice(
        &t,
        Action::CreateGroup {
            group: "eng-writers".into(),
        },
    )
    .await;
    twice(
        &t,
        Action::CreateAccount {
            account: ada.clone(),
            active: true,
        },
    )
    .await;
    twice(
        &t,
        Action::UpdateAccount {
            account: AccountRef {
                email: "ada.king@example.com".into(),
                ..ada.clone()
            },
        },
    )
    .await;
    let ada = AccountRef {
        email: "ada.king@example.com".into(),
        ..ada
    };
    twice(
        &t,
        Action::DeactivateAccount {
            account: ada.clone(),
        },
    )
    .await;
    twice(
        &t,
        Action::ActivateAccount {
            account: ada.clone(),
        },
    )
    .await;
    let member = Action::Add {
        account: ada.clone(),
        entitlement: Entitlement::group("eng-writers"),
    };
    twice(&t, member).await;

    let state = t.read_state().await.unwrap();
    assert!(state.groups.contains("eng-writers"));
    let a = state
        .accounts
        .iter()
        .find(|a| a.employee_id.as_deref() == Some("E10442"))
        .unwrap();
    assert_eq!(a.email, "ada.king@example.com");
    assert!(a.active);
    assert_eq!(
        a.entitlements,
        BTreeSet::from([Entitlement::group("eng-writers")])
    );

    // By SCIM id, as a plan would carry it.
    let known = AccountRef {
        external_id: Some(a.external_id.clone()),
        ..ada.clone()
    };
    twice(
        &t,
        Action::Remove {
            account: known,
            entitlement: Entitlement::group("eng-writers"),
        },
    )
    .await;
    let state = t.read_state().await.unwrap();
    let a = state
        .accounts
        .iter()
        .find(|a| a.employee_id.as_deref() == Some("E10442"))
        .unwrap();
    assert!(a.entitlements.is_empty());

    for action in [
        Action::Add {
            account: ada.clone(),
            entitlement: Entitlement::space("ENG", "read"),
        },
        Action::Add {
            account: ada.clone(),
            entitlement: Entitlement::licence("confluence"),
        },
        Action::GrantGroupSpacePermission {
            group: "eng-writers".into(),
            space: "ENG".into(),
            operation: "read".into(),
        },
    ] {
        match t.apply(&action).await {
            Err(TargetError::Permanent(m)) => {
                assert!(m.starts_with("wiki is a generic SCIM target"), "{m}")
            }
            other => panic!("{action:?}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn client_pages_filters_and_reports_errors() {
    let sim = sim().await;
    let c = client(&sim.info, &s(&sim.info, "scim_key"));
    for n in 0..230 {
        let user = ScimUser {
            external_id: Some(format!("E{n:05}")),
            user_name: format!("p{n}@example.com"),
            display_name: Some(format!("P {n}")),
            emails: vec![ScimEmail::work(format!("p{n}@example.com"))],
            active: Some(true),
            ..Default::default()
        };
        let created = c.create_user(&user).await.unwrap();
        assert!(created.id.is_some());
        assert!(created.atlassian_account_id().is_some());
    }
    let users = c.list_users().await.unwrap();
    assert_eq!(users.len(), 230);
    assert_eq!(
        users
            .iter()
            .map(|u| u.id.clone())
            .collect::<BTreeSet<_>>()
            .len(),
        230
    );

    let found = c
        .find_user_by("externalId", "E00117")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.user_name, "p117@example.com");
    assert!(
        c.find_user_by("userName", "nobody\"@example.com")
            .await
            .unwrap()
            .is_none()
    );
    let id = found.id.clone().unwrap();
    assert_eq!(
        c.get_user(&id)
            .await
            .unwrap()
            .unwrap()
            .external_id
            .as_deref(),
        Some("E00117")
    );

    // A duplicate is a 409 whose message carries the SCIM detail and scimType.
    let dup = ScimUser {
        user_name: "p1@example.com".into(),
        emails: vec![ScimEmail::work("p1@example.com")],
        ..Default::default()
    };
    let e = c.create_user(&dup).await.unwrap_err();
    assert_eq!(e.status(), Some(409), "{e}");
    assert!(e.to_string().contains("uniqueness"), "{e}");

    let g = c
        .create_group(&ScimGroup {
            display_name: "team".into(),
            members: Some(vec![]),
            ..Default::default()
        })
        .await
        .unwrap();
    let gid = g.id.clone().unwrap();
    c.patch_group(&gid, &[PatchOp::add_members(&[&id])])
        .await
        .unwrap();
    let g = c.find_group_by_display_name("team").await.unwrap().unwrap();
    assert_eq!(g.id.as_deref(), Some(gid.as_str()));
    let full = c.get_group(&gid).await.unwrap().unwrap();
    assert!(full.members.unwrap().iter().any(|m| m.value == id));
    c.patch_group(&gid, &[PatchOp::remove_member(&id)])
        .await
        .unwrap();
    assert!(
        c.get_group(&gid)
            .await
            .unwrap()
            .unwrap()
            .members
            .unwrap_or_default()
            .is_empty()
    );
    let groups = c.list_groups().await.unwrap();
    assert_eq!(
        groups.iter().filter(|g| g.display_name == "team").count(),
        1
    );

    c.patch_user(&id, &[PatchOp::replace("active", false)])
        .await
        .unwrap();
    assert_eq!(c.get_user(&id).await.unwrap().unwrap().active, Some(false));
    let mut replaced = c.get_user(&id).await.unwrap().unwrap();
    replaced.display_name = Some("Replaced".into());
    c.replace_user(&id, &replaced).await.unwrap();
    assert_eq!(
        c.get_user(&id)
            .await
            .unwrap()
            .unwrap()
            .display_name
            .as_deref(),
        Some("Replaced")
    );
    assert!(c.delete_user(&id).await.unwrap());
    assert!(c.get_user(&id).await.unwrap().is_none());
    assert!(!c.delete_user(&id).await.unwrap());

    let bad = client(&sim.info, "wrong");
    let e = bad.list_users().await.unwrap_err();
    assert_eq!(e.status(), Some(401), "{e}");
}

#[test]
fn decodes_the_reference_bodies() {
    // atlassian-api.md §1.3.
    let user: ScimUser = serde_json::from_value(json!({
        "schemas": ["urn:scim:schemas:extension:atlassian-external:1.0", "urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "id": "a59238e6-487e-451d-a534-d67aa4c48350",
        "externalId": "E-10442",
        "userName": "ada.lovelace@example.com",
        "emails": [{"value": "ada.lovelace@example.com", "type": "work", "primary": true}],
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "displayName": "Ada Lovelace",
        "title": "Engineer",
        "active": true,
        "groups": [],
        "meta": {"resourceType": "User", "location": "https://api.atlassian.com/scim/directory/315e/Users/a592",
                 "lastModified": "2026-02-21T11:57:56.537169Z", "created": "2026-02-21T11:57:56.537169Z"},
        "urn:scim:schemas:extension:atlassian-external:1.0": {"atlassianAccountId": "5f45327791e67a003fed461e"}
    }))
    .unwrap();
    assert_eq!(
        user.atlassian_account_id(),
        Some("5f45327791e67a003fed461e")
    );
    assert_eq!(user.primary_email(), Some("ada.lovelace@example.com"));
    assert_eq!(user.extra["title"], "Engineer");
    assert_eq!(
        user.meta.as_ref().unwrap().resource_type.as_deref(),
        Some("User")
    );
    // Unknown attributes survive a round trip.
    let back = serde_json::to_value(&user).unwrap();
    assert_eq!(back["title"], "Engineer");
    assert_eq!(
        back["urn:scim:schemas:extension:atlassian-external:1.0"]["atlassianAccountId"],
        "5f45327791e67a003fed461e"
    );

    // §1.4 ListResponse, with §1.7's group.
    let page: ListResponse<ScimGroup> = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 1, "startIndex": 1, "itemsPerPage": 1,
        "Resources": [{
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "id": "50202593-bc47-45df-8fa0-3f63343aa3c1",
            "displayName": "eng-confluence-users",
            "members": [{"type": "User", "value": "f0ae48f7-1466-445e-85ea-e83ef754aefd", "display": "ada@example.com",
                         "$ref": "https://api.atlassian.com/scim/directory/2fb2/Users/f0ae"}],
            "meta": {"resourceType": "Group"}
        }]
    }))
    .unwrap();
    assert_eq!(page.total_results, 1);
    let members = page.resources[0].members.as_ref().unwrap();
    assert_eq!(members[0].value, "f0ae48f7-1466-445e-85ea-e83ef754aefd");
    assert_eq!(
        members[0].reference.as_deref(),
        Some("https://api.atlassian.com/scim/directory/2fb2/Users/f0ae")
    );

    // §1.9 error body.
    let e: roster_connectors::scim_client::ScimError = serde_json::from_value(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"], "status": "409", "scimType": "uniqueness", "detail": "User already exists"
    }))
    .unwrap();
    assert_eq!(e.scim_type.as_deref(), Some("uniqueness"));

    // Config: secrets only by variable name.
    let c: ScimTargetConfig =
        toml::from_str("base_url = \"https://x/scim/v2\"\ntoken_env = \"T\"\n").unwrap();
    assert_eq!(c.http, HttpPolicy::default());
    assert!(
        toml::from_str::<ScimTargetConfig>("base_url = \"x\"\ntoken_env = \"T\"\ntoken = \"s\"\n")
            .is_err()
    );
}

/// A server with CONFCLOUD-56322's bug: the same page whatever `startIndex` says.
#[tokio::test]
async fn a_repeated_page_is_an_error_not_a_short_list() {
    use axum::routing::get;
    let resources: Vec<Value> = (0..100)
        .map(|n| json!({"id": format!("u{n}"), "userName": format!("u{n}@example.com")}))
        .collect();
    let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
                      "totalResults": 500, "startIndex": 1, "itemsPerPage": 100, "Resources": resources});
    let app = axum::Router::new().route(
        "/scim/Users",
        get(move || async move { axum::Json(body.clone()) }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let http = HttpClient::new("broken", policy()).unwrap();
    let c = ScimClient::new(Arc::new(http), format!("http://{addr}/scim"), "t");
    let e = c.list_users().await.unwrap_err();
    assert!(e.to_string().contains("repeats the previous page"), "{e}");
}
