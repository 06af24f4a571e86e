//! Bulk: bulkId references, failOnErrors and the advertised limits.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::common::{TestServer, assert_error, on_every_backend, user};

const BULK: &str = "urn:ietf:params:scim:api:messages:2.0:BulkRequest";

fn statuses(response: &Value) -> Vec<(String, String)> {
    response["Operations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| {
            (
                o["bulkId"].as_str().unwrap_or("-").to_string(),
                o["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

async fn bulk_ids_resolve_in_any_order(s: &TestServer) {
    let request = json!({
        "schemas": [BULK],
        "Operations": [
            // The group refers to a user created by a later operation.
            {"method": "POST", "path": "/Groups", "bulkId": "g1",
             "data": {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
                      "displayName": "Bulk group", "members": [{"value": "bulkId:u1", "type": "User"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u1", "data": user("bulk1@acme.example")},
            {"method": "PATCH", "path": "/Users/bulkId:u1",
             "data": {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                      "Operations": [{"op": "replace", "path": "title", "value": "Bulked"}]}},
            {"method": "POST", "path": "/Users", "bulkId": "u2", "data": user("bulk2@acme.example")},
            {"method": "DELETE", "path": "/Users/bulkId:u2"},
        ]
    });
    let (status, response) = s.post("/Bulk", &request).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(
        response["schemas"][0],
        "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    );
    assert_eq!(
        statuses(&response),
        [
            ("g1".to_string(), "201".to_string()),
            ("u1".into(), "201".into()),
            ("-".into(), "200".into()),
            ("u2".into(), "201".into()),
            ("-".into(), "204".into()),
        ]
    );
    let group_location = response["Operations"][0]["location"].as_str().unwrap();
    let user_location = response["Operations"][1]["location"].as_str().unwrap();
    let gid = group_location.rsplit('/').next().unwrap();
    let uid = user_location.rsplit('/').next().unwrap();
    let (_, group) = s.get(&format!("/Groups/{gid}")).await;
    assert_eq!(group["members"][0]["value"], uid, "{group}");
    let (_, u) = s.get(&format!("/Users/{uid}")).await;
    assert_eq!(u["title"], "Bulked");
    let (_, gone) = s
        .get("/Users?filter=userName%20eq%20%22bulk2%40acme.example%22")
        .await;
    assert_eq!(gone["totalResults"], 0);
}

async fn fail_on_errors_stops_the_job(s: &TestServer) {
    s.post("/Users", &user("taken@acme.example")).await;
    let request = json!({
        "schemas": [BULK],
        "failOnErrors": 1,
        "Operations": [
            {"method": "POST", "path": "/Users", "bulkId": "dup", "data": user("taken@acme.example")},
            {"method": "POST", "path": "/Users", "bulkId": "never", "data": user("never@acme.example")},
        ]
    });
    let (status, response) = s.post("/Bulk", &request).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(
        statuses(&response),
        [("dup".to_string(), "409".to_string())]
    );
    assert_eq!(
        response["Operations"][0]["response"]["scimType"],
        "uniqueness"
    );
    let (_, never) = s
        .get("/Users?filter=userName%20eq%20%22never%40acme.example%22")
        .await;
    assert_eq!(
        never["totalResults"], 0,
        "the operation after the error did not run"
    );

    // Without failOnErrors every operation runs; a reference to nothing is 409.
    let request = json!({
        "schemas": [BULK],
        "Operations": [
            {"method": "POST", "path": "/Users", "data": user("taken@acme.example")},
            {"method": "PATCH", "path": "/Users/bulkId:missing", "data": {"Operations": []}},
            {"method": "POST", "path": "/Users", "bulkId": "ok", "data": user("ok@acme.example")},
        ]
    });
    let (_, response) = s.post("/Bulk", &request).await;
    assert_eq!(
        statuses(&response),
        [
            ("-".to_string(), "409".to_string()),
            ("-".into(), "409".into()),
            ("ok".into(), "201".into()),
        ]
    );
}

on_every_backend!(bulk_ids_resolve_in_any_order, fail_on_errors_stops_the_job);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_limits_are_enforced_with_413() {
    let s = TestServer::start(crate::common::Backend::Sqlite, crate::common::test_config())
        .await
        .unwrap();
    let ops: Vec<Value> = (0..1001)
        .map(|_| json!({"method": "DELETE", "path": "/Users/x"}))
        .collect();
    let got = s
        .post("/Bulk", &json!({"schemas": [BULK], "Operations": ops}))
        .await;
    assert_error(&got, 413, Some("tooMany"));
    let huge = json!({"schemas": [BULK], "Operations": [
        {"method": "POST", "path": "/Users", "data": {"userName": "x".repeat(1024 * 1024 + 1)}}]});
    let response = s
        .req(Method::POST, "/Bulk")
        .header("content-type", "application/scim+json")
        .body(huge.to_string())
        .send()
        .await
        .unwrap();
    assert_error(&crate::common::read(response).await, 413, None);
    s.finish().await;
}
