//! SCIM user provisioning (ref §1).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::*;

/// ref §1.3, §1.5, §2.3, §3.4: one person seen by SCIM, Confluence and the org admin API.
#[tokio::test]
async fn scim_user_shape_and_one_account_everywhere() {
    let s = sim().await;
    let u = s
        .create_scim_user("ada.lovelace@example.com", "E-10442")
        .await;
    assert_eq!(
        u["schemas"],
        json!([
            "urn:scim:schemas:extension:atlassian-external:1.0",
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
        ])
    );
    let id = u["id"].as_str().unwrap().to_string();
    let account = u["urn:scim:schemas:extension:atlassian-external:1.0"]["atlassianAccountId"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    assert!(account.starts_with("557058:"));
    assert_ne!(id, account);
    assert_eq!(u["externalId"], "E-10442");
    assert_eq!(u["userName"], "ada.lovelace@example.com");
    assert_eq!(
        u["emails"],
        json!([{"value": "ada.lovelace@example.com", "type": "work", "primary": true}])
    );
    assert_eq!(
        u["name"],
        json!({"givenName": "Ada", "familyName": "Lovelace"})
    );
    assert_eq!(u["displayName"], "Ada Lovelace");
    assert_eq!(u["active"], true);
    assert_eq!(u["groups"], json!([]));
    assert_eq!(u["meta"]["resourceType"], "User");
    assert_eq!(
        u["meta"]["location"],
        format!("{}/Users/{id}", s.info("scim_base_url"))
    );
    assert!(
        is_micros_z(u["meta"]["created"].as_str().unwrap()),
        "{}",
        u["meta"]["created"]
    );
    assert!(is_micros_z(u["meta"]["lastModified"].as_str().unwrap()));

    let r = s
        .scim(Method::GET, &format!("/Users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/scim+json");
    assert_eq!(body(r).await.1, u);

    // Confluence v1 sees the account; unlicensed until in confluence-users (ref §2.3).
    let (st, v) = body(
        s.wiki(
            Method::GET,
            &format!("/wiki/rest/api/user?accountId={account}&expand=operations"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["type"], "known");
    assert_eq!(v["accountType"], "atlassian");
    assert_eq!(v["email"], "ada.lovelace@example.com");
    assert_eq!(v["operations"], json!([]));
    let users = s.group_id("confluence-users").await;
    let r = s
        .wiki(
            Method::POST,
            &format!("/wiki/rest/api/group/userByGroupId?groupId={users}"),
        )
        .json(&json!({"accountId": account}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let (_, v) = body(
        s.wiki(
            Method::GET,
            &format!("/wiki/rest/api/user?accountId={account}&expand=operations"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        v["operations"],
        json!([{"operation": "use", "targetType": "application"}])
    );

    // PATCH active:false (value-object form, lower-case `operations`) deactivates (ref §1.6).
    let (st, v) = body(
        s.scim(Method::PATCH, &format!("/Users/{id}"))
            .json(
                &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                          "operations": [{"op": "replace", "value": {"active": false}}]}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["active"], false);
    let (_, v) = body(
        s.wiki(
            Method::GET,
            &format!("/wiki/rest/api/user?accountId={account}&expand=operations"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(v["operations"], json!([]));
    let (_, page) = body(
        s.admin(
            Method::GET,
            &format!("/admin/v2/orgs/{}/directories/-/users", s.info("org_id")),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let me = page["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["accountId"] == account.as_str())
        .unwrap()
        .clone();
    assert_eq!(me["status"], "deactivated");
    assert_eq!(me["accountStatus"], "inactive");
    assert_eq!(me["managementSource"], "synced");

    // Path forms and `Operations`.
    let (st, v) = body(
        s.scim(Method::PATCH, &format!("/Users/{id}"))
            .json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "replace", "path": "active", "value": true},
                {"op": "replace", "path": "name.givenName", "value": "Augusta"},
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "augusta@example.com"},
                {"op": "remove", "path": "externalId"}
            ]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    assert_eq!(v["active"], true);
    assert_eq!(v["name"]["givenName"], "Augusta");
    assert_eq!(v["emails"][0]["value"], "augusta@example.com");
    assert!(v.get("externalId").is_none());
}

/// ref §1.4: 1-based paging, `count` ≤ 100, capital `Resources`.
#[tokio::test]
async fn scim_lists_250_users_in_pages_of_100() {
    let s = sim().await;
    for i in 0..250 {
        s.create_scim_user(&format!("user{i:03}@example.com"), &format!("E{i:03}"))
            .await;
    }
    let mut seen = Vec::new();
    for (start, expected) in [(1, 100), (101, 100), (201, 50)] {
        let (st, v) = body(
            s.scim(Method::GET, &format!("/Users?startIndex={start}&count=500"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(
            v["schemas"],
            json!(["urn:ietf:params:scim:api:messages:2.0:ListResponse"])
        );
        assert_eq!(v["totalResults"], 250);
        assert_eq!(v["startIndex"], start);
        assert_eq!(v["itemsPerPage"], expected);
        let res = v["Resources"].as_array().unwrap();
        assert_eq!(res.len(), expected);
        seen.extend(
            res.iter()
                .map(|r| r["userName"].as_str().unwrap().to_string()),
        );
    }
    seen.dedup();
    assert_eq!(seen.len(), 250);
    let (_, v) = body(
        s.scim(Method::GET, "/Users?startIndex=251")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["itemsPerPage"], 0);
    assert!(v.get("resources").is_none());
}

/// ref §1.4, §1.5, §1.9: filters, 409 uniqueness, invalidFilter, 401 Failure body.
#[tokio::test]
async fn scim_filters_conflicts_and_errors() {
    let s = sim().await;
    let u = s.create_scim_user("grace@example.com", "E-1").await;
    let r = s
        .scim(Method::POST, "/Users")
        .json(&json!({"userName": "GRACE@example.com", "emails": [{"value": "grace@example.com", "primary": true}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "application/scim+json");
    let (st, v) = body(r).await;
    assert_eq!(st, StatusCode::CONFLICT);
    assert_eq!(
        v["schemas"],
        json!(["urn:ietf:params:scim:api:messages:2.0:Error"])
    );
    assert_eq!(v["status"], "409");
    assert_eq!(v["scimType"], "uniqueness");
    assert!(v["detail"].is_string());

    for (filter, hits) in [
        ("userName eq \"Grace@Example.com\"", 1),
        ("externalId eq \"E-1\"", 1),
        ("externalId eq \"e-1\"", 0),
    ] {
        let (st, v) = body(
            s.scim(Method::GET, "/Users")
                .query(&[("filter", filter)])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, StatusCode::OK, "{filter}");
        assert_eq!(v["totalResults"], hits, "{filter}");
    }
    for filter in [
        "userName co \"grace\"",
        "emails eq \"grace@example.com\"",
        "userName eq grace",
        "displayName eq \"x\"",
    ] {
        let (st, v) = body(
            s.scim(Method::GET, "/Users")
                .query(&[("filter", filter)])
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST, "{filter}");
        assert_eq!(v["scimType"], "invalidFilter");
        assert_eq!(v["status"], "400");
    }

    // DELETE → 204, then 404; the account stays, deactivated (ref §1.6).
    let id = u["id"].as_str().unwrap();
    let account = u["urn:scim:schemas:extension:atlassian-external:1.0"]["atlassianAccountId"]
        .as_str()
        .unwrap();
    let r = s
        .scim(Method::DELETE, &format!("/Users/{id}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (st, v) = body(
        s.scim(Method::GET, &format!("/Users/{id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(v["status"], "404");
    let st = s.state().await;
    let acc = st["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["accountId"] == account)
        .unwrap();
    assert_eq!(acc["active"], false);
    assert_eq!(acc["scimId"], Value::Null);

    let r = s
        .http
        .get(format!("{}/Users", s.info("scim_base_url")))
        .send()
        .await
        .unwrap();
    let (st, v) = body(r).await;
    assert_eq!(st, StatusCode::UNAUTHORIZED);
    assert!(v["error"].is_string() && v["traceId"].is_string());
}

/// ref §1.7: SCIM groups, membership PATCH, and the same group in Confluence.
#[tokio::test]
async fn scim_groups_and_membership() {
    let s = sim().await;
    let u = s.create_scim_user("ada@example.com", "E-2").await;
    let uid = u["id"].as_str().unwrap();
    let (st, g) = body(
        s.scim(Method::POST, "/Groups")
            .json(&json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "eng-confluence-users", "members": []}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(g["meta"]["resourceType"], "Group");
    let gid = g["id"].as_str().unwrap();
    let (st, g) = body(
        s.scim(Method::PATCH, &format!("/Groups/{gid}"))
            .json(&json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "add", "path": "members", "value": [{"value": uid, "display": "ada@example.com"}]}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(g["members"][0]["value"], uid);
    assert_eq!(g["members"][0]["type"], "User");
    let (_, v) = body(
        s.scim(Method::GET, "/Groups")
            .query(&[("filter", "displayName eq \"eng-confluence-users\"")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(v["totalResults"], 1);
    let conf_id = s.group_id("eng-confluence-users").await;
    let (_, m) = body(
        s.wiki(
            Method::GET,
            &format!("/wiki/rest/api/group/{conf_id}/membersByGroupId"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(m["size"], 1);
    let (st, g) = body(
        s.scim(Method::PATCH, &format!("/Groups/{gid}"))
            .json(&json!({"Operations": [{"op": "remove", "path": format!("members[value eq \"{uid}\"]")}]}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(g["members"], json!([]));
    let (st, v) = body(
        s.scim(Method::POST, "/Groups")
            .json(&json!({"displayName": "eng-confluence-users"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (st, v["scimType"].clone()),
        (StatusCode::CONFLICT, json!("uniqueness"))
    );
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        assert_eq!(
            s.scim(Method::GET, path).send().await.unwrap().status(),
            StatusCode::OK,
            "{path}"
        );
    }
}
