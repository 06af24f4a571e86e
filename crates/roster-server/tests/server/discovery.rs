//! Discovery endpoints, and the answers for what the server does not serve.

use reqwest::{Method, StatusCode};

use crate::common::{Backend, TestServer, assert_error, test_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn discovery_endpoints_describe_what_is_enforced() {
    let s = TestServer::start(Backend::Sqlite, test_config())
        .await
        .unwrap();

    let response = s
        .req(Method::GET, "/ServiceProviderConfig")
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "application/scim+json"
    );
    let spc: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        spc["schemas"][0],
        "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    );
    for feature in ["patch", "bulk", "filter", "sort", "etag"] {
        assert_eq!(spc[feature]["supported"], true, "{feature}: {spc}");
    }
    assert_eq!(spc["changePassword"]["supported"], false);
    assert_eq!(spc["bulk"]["maxOperations"], 1000);
    assert_eq!(spc["bulk"]["maxPayloadSize"], 1024 * 1024);
    assert_eq!(spc["filter"]["maxResults"], 1000);
    assert_eq!(spc["authenticationSchemes"][0]["type"], "oauthbearertoken");
    assert_eq!(
        spc["meta"]["location"],
        format!("{}/ServiceProviderConfig", s.base)
    );

    let (status, types) = s.get("/ResourceTypes").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(types["totalResults"], 2);
    let names: Vec<&str> = types["Resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["User", "Group"]);
    let (_, user) = s.get("/ResourceTypes/User").await;
    assert_eq!(user["endpoint"], "/Users");
    assert_eq!(user["schema"], "urn:ietf:params:scim:schemas:core:2.0:User");
    assert_eq!(
        user["schemaExtensions"][0]["schema"],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    );
    assert_error(&s.get("/ResourceTypes/Nope").await, 404, None);

    let (_, schemas) = s.get("/Schemas").await;
    assert_eq!(schemas["totalResults"], 4);
    for schema in schemas["Resources"].as_array().unwrap() {
        let id = schema["id"].as_str().unwrap();
        let (status, one) = s.get(&format!("/Schemas/{id}")).await;
        assert_eq!(status, StatusCode::OK, "{id}");
        assert_eq!(&one, schema);
    }
    let (_, user_schema) = s
        .get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
        .await;
    let user_name = user_schema["attributes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == "userName")
        .unwrap();
    assert_eq!(user_name["uniqueness"], "server");
    assert_eq!(user_name["caseExact"], false);
    assert_eq!(user_name["required"], true);
    assert_error(&s.get("/Schemas/urn:nope").await, 404, None);
    assert_error(&s.get("/Schemas?filter=id%20pr").await, 403, None);
    s.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unsupported_methods_endpoints_and_me_get_scim_errors() {
    let s = TestServer::start(Backend::Sqlite, test_config())
        .await
        .unwrap();
    for path in ["/ServiceProviderConfig", "/ResourceTypes", "/Schemas"] {
        for method in [Method::POST, Method::PUT, Method::PATCH, Method::DELETE] {
            let got = s.send(method.clone(), path, None).await;
            assert_error(&got, 405, None);
        }
    }
    assert_error(&s.send(Method::GET, "/Bulk", None).await, 405, None);
    assert_error(&s.send(Method::DELETE, "/Users", None).await, 405, None);
    assert_error(&s.get("/Me").await, 501, None);
    assert_error(&s.send(Method::PATCH, "/Me", None).await, 501, None);
    assert_error(
        &s.get(&format!("/{}", uuid::Uuid::new_v4())).await,
        404,
        None,
    );
    assert_error(&s.get("/Users/nope/deeper").await, 404, None);
    s.finish().await;
}
