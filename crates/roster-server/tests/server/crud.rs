//! Users and groups through their whole life, errors included.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestServer, assert_error, on_every_backend, user};

const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

async fn create(s: &TestServer, path: &str, body: &Value) -> Value {
    let (status, created) = s.post(path, body).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    created
}

async fn users_round_trip(s: &TestServer) {
    let mut body = user("Ada@Acme.example");
    body["password"] = json!("hunter2");
    body[ENTERPRISE] = json!({"employeeNumber": "E1", "department": "Engineering"});
    body["schemas"] = json!(["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE]);
    let response = s
        .req(Method::POST, "/Users")
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let etag = response.headers()["etag"].to_str().unwrap().to_string();
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/scim+json"
    );
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(location, format!("{}/Users/{id}", s.base));
    assert_eq!(created["meta"]["location"], location);
    assert_eq!(created["meta"]["resourceType"], "User");
    assert_eq!(created["meta"]["version"], etag);
    assert_eq!(etag, "W/\"1\"");
    assert!(created.get("password").is_none(), "{created}");
    assert_eq!(created[ENTERPRISE]["department"], "Engineering");
    // No groups yet: an empty multi-valued attribute is left out (RFC 7643 §2.4).
    assert!(created.get("groups").is_none(), "{created}");

    let (status, got) = s.get(&format!("/Users/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["userName"], "Ada@Acme.example");
    assert_eq!(got["meta"]["created"], created["meta"]["created"]);

    // Filters compare userName case-insensitively.
    let (_, found) = s
        .get("/Users?filter=userName%20eq%20%22ada%40acme.example%22")
        .await;
    assert_eq!(found["totalResults"], 1, "{found}");
    assert_eq!(found["Resources"][0]["id"], id.as_str());
    assert_eq!(found["itemsPerPage"], 1);
    assert_eq!(found["startIndex"], 1);

    // PATCH answers 200 with the resource and a new version.
    let (status, patched) = s
        .patch(
            &format!("/Users/{id}"),
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [{"op": "Replace", "path": "title", "value": "Countess"}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{patched}");
    assert_eq!(patched["title"], "Countess");
    assert_eq!(patched["meta"]["version"], "W/\"2\"");

    // PUT replaces: what it leaves out is gone.
    let mut replacement = user("ada@acme.example");
    replacement["id"] = json!(id);
    let (status, put) = s.put(&format!("/Users/{id}"), &replacement).await;
    assert_eq!(status, StatusCode::OK, "{put}");
    assert!(put.get("title").is_none(), "{put}");
    assert!(put.get(ENTERPRISE).is_none(), "{put}");
    assert_eq!(put["userName"], "ada@acme.example");
    assert_eq!(put["meta"]["version"], "W/\"3\"");
    // The same PUT again changes nothing, so the version stays.
    let (_, again) = s.put(&format!("/Users/{id}"), &replacement).await;
    assert_eq!(again["meta"]["version"], "W/\"3\"");

    let (status, _) = s.delete(&format!("/Users/{id}")).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_error(&s.get(&format!("/Users/{id}")).await, 404, None);
    assert_error(&s.delete(&format!("/Users/{id}")).await, 404, None);

    // Every write is in the audit log, attributed to the connection, without the password.
    let events = s.store.audit_page(0, 100).await.unwrap();
    let actions: Vec<&str> = events
        .iter()
        .filter(|e| e.actor == "scim:bootstrap")
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(
        actions,
        [
            "scim create user",
            "scim patch user",
            "scim replace user",
            "scim delete user"
        ]
    );
    assert!(events.iter().all(|e| !e.body.contains("hunter2")));
    let create_event = events[0].parsed().unwrap();
    assert_eq!(create_event.subject, "Ada@Acme.example");
    assert_eq!(create_event.detail["id"], id.as_str());
    assert!(
        create_event.detail["attributes"]
            .as_array()
            .unwrap()
            .contains(&json!("userName"))
    );
}

async fn duplicate_user_names_conflict_case_insensitively(s: &TestServer) {
    create(s, "/Users", &user("grace@acme.example")).await;
    let got = s.post("/Users", &user("GRACE@acme.EXAMPLE")).await;
    assert_error(&got, 409, Some("uniqueness"));
    let (_, other) = s.post("/Users", &user("other@acme.example")).await;
    let id = other["id"].as_str().unwrap();
    let rename = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "replace", "path": "userName", "value": "Grace@Acme.Example"}]});
    assert_error(
        &s.patch(&format!("/Users/{id}"), &rename).await,
        409,
        Some("uniqueness"),
    );
}

async fn bad_requests_get_the_right_scim_type(s: &TestServer) {
    assert_error(
        &s.get("/Users?filter=userName%20eq").await,
        400,
        Some("invalidFilter"),
    );
    assert_error(
        &s.get("/Users?filter=nosuchattribute%20eq%20%22x%22").await,
        400,
        Some("invalidFilter"),
    );
    let broken = s
        .req(Method::POST, "/Users")
        .header("content-type", "application/scim+json")
        .body("{\"userName\": ")
        .send()
        .await
        .unwrap();
    assert_error(
        &crate::common::read(broken).await,
        400,
        Some("invalidSyntax"),
    );
    assert_error(&s.get("/Users/does-not-exist").await, 404, None);
    assert_error(
        &s.patch("/Users/does-not-exist", &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": []})).await,
        404,
        None,
    );
    let missing_name =
        json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "displayName": "x"});
    let got = s.post("/Users", &missing_name).await;
    assert_eq!(got.0, StatusCode::BAD_REQUEST, "{}", got.1);
    assert_error(&s.get("/Users?count=ten").await, 400, Some("invalidValue"));
}

async fn versions_answer_if_match_and_if_none_match(s: &TestServer) {
    let created = create(s, "/Users", &user("lin@acme.example")).await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/Users/{id}");
    let not_modified = s
        .req(Method::GET, &path)
        .header("if-none-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), StatusCode::NOT_MODIFIED);
    let modified = s
        .req(Method::GET, &path)
        .header("if-none-match", "W/\"7\"")
        .send()
        .await
        .unwrap();
    assert_eq!(modified.status(), StatusCode::OK);
    assert_eq!(modified.headers()["etag"], "W/\"1\"");

    let op = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "nickName", "value": "Lin"}]});
    let stale = s
        .req(Method::PATCH, &path)
        .header("if-match", "W/\"9\"")
        .header("content-type", "application/scim+json")
        .body(op.to_string())
        .send()
        .await
        .unwrap();
    let got = crate::common::read(stale).await;
    assert_eq!(got.0, StatusCode::PRECONDITION_FAILED, "{}", got.1);
    let fresh = s
        .req(Method::PATCH, &path)
        .header("if-match", "W/\"1\"")
        .header("content-type", "application/scim+json")
        .body(op.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(fresh.headers()["etag"], "W/\"2\"");
    let stale_delete = s
        .req(Method::DELETE, &path)
        .header("if-match", "W/\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale_delete.status(), StatusCode::PRECONDITION_FAILED);
    assert_eq!(s.get(&path).await.0, StatusCode::OK);
}

async fn groups_carry_members_and_users_their_groups(s: &TestServer) {
    let a = create(s, "/Users", &user("a@acme.example")).await;
    let b = create(s, "/Users", &user("b@acme.example")).await;
    let (a, b) = (a["id"].as_str().unwrap(), b["id"].as_str().unwrap());
    let group = create(
        s,
        "/Groups",
        &json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                "displayName": "Engineering", "members": [{"value": a}]}),
    )
    .await;
    let gid = group["id"].as_str().unwrap();
    assert_eq!(group["members"][0]["value"], a);
    assert_eq!(group["members"][0]["type"], "User");
    assert!(group["members"][0].get("display").is_none(), "{group}");
    assert_eq!(group["members"][0]["$ref"], format!("{}/Users/{a}", s.base));

    let add_b = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": b}]}]});
    let (status, body) = s.patch(&format!("/Groups/{gid}"), &add_b).await;
    assert_eq!(status, StatusCode::NO_CONTENT, "{body}");
    let (_, g) = s.get(&format!("/Groups/{gid}")).await;
    let mut members: Vec<&str> = g["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["value"].as_str().unwrap())
        .collect();
    members.sort();
    let mut expected = vec![a, b];
    expected.sort();
    assert_eq!(members, expected);
    let (_, ua) = s.get(&format!("/Users/{a}")).await;
    assert_eq!(ua["groups"][0]["value"], gid);
    assert_eq!(ua["groups"][0]["display"], "Engineering");

    let (_, without) = s
        .get(&format!("/Groups/{gid}?excludedAttributes=members"))
        .await;
    assert!(without.get("members").is_none(), "{without}");
    assert_eq!(without["displayName"], "Engineering");
    let (_, only) = s.get(&format!("/Users/{a}?attributes=userName")).await;
    assert_eq!(only["userName"], "a@acme.example");
    assert!(
        only.get("name").is_none() && only.get("groups").is_none(),
        "{only}"
    );
    assert_eq!(only["id"], a);

    let unknown = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "add", "path": "members", "value": [{"value": "ghost"}]}]});
    assert_error(
        &s.patch(&format!("/Groups/{gid}"), &unknown).await,
        400,
        Some("invalidValue"),
    );

    // Deleting a user takes it out of its groups.
    assert_eq!(
        s.delete(&format!("/Users/{b}")).await.0,
        StatusCode::NO_CONTENT
    );
    let (_, g) = s.get(&format!("/Groups/{gid}")).await;
    assert_eq!(g["members"].as_array().unwrap().len(), 1, "{g}");
}

async fn lists_page_and_count(s: &TestServer) {
    for i in 0..7 {
        create(s, "/Users", &user(&format!("p{i}@acme.example"))).await;
    }
    let (_, all) = s.get("/Users?startIndex=1&count=3").await;
    assert_eq!(
        (all["totalResults"].as_u64(), all["itemsPerPage"].as_u64()),
        (Some(7), Some(3))
    );
    let mut seen = Vec::new();
    let mut start = 1;
    while start <= 7 {
        let (_, page) = s.get(&format!("/Users?startIndex={start}&count=3")).await;
        assert_eq!(page["startIndex"], start);
        for r in page["Resources"].as_array().unwrap() {
            seen.push(r["id"].as_str().unwrap().to_string());
        }
        start += 3;
    }
    let unique: std::collections::BTreeSet<_> = seen.iter().collect();
    assert_eq!(
        (seen.len(), unique.len()),
        (7, 7),
        "pages are stable and disjoint"
    );
    let (_, none) = s.get("/Users?count=0").await;
    assert_eq!(none["totalResults"], 7);
    assert_eq!(none["Resources"], json!([]));
    let (_, sorted) = s
        .get("/Users?sortBy=userName&sortOrder=descending&count=2")
        .await;
    assert_eq!(sorted["Resources"][0]["userName"], "p6@acme.example");
    let (status, searched) = s
        .post(
            "/Users/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                    "filter": "userName sw \"p1\"", "attributes": ["userName"]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{searched}");
    assert_eq!(searched["totalResults"], 1);
    assert!(searched["Resources"][0].get("emails").is_none());
    let (_, everything) = s
        .post(
            "/.search",
            &json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "count": 100}),
        )
        .await;
    assert_eq!(everything["totalResults"], 7);
    // Entra's Test Connection: a random id filters to an empty 200, not 404.
    let (status, empty) = s
        .get(&format!(
            "/Users?filter=id%20eq%20%22{}%22",
            uuid::Uuid::new_v4()
        ))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["totalResults"], 0);
}

on_every_backend!(
    users_round_trip,
    duplicate_user_names_conflict_case_insensitively,
    bad_requests_get_the_right_scim_type,
    versions_answer_if_match_and_if_none_match,
    groups_carry_members_and_users_their_groups,
    lists_page_and_count,
);
