//! Spaces and space permissions (ref §4.6, §4.7): the seeded list, grant/revoke rules, and
//! the Cloud-style path that does not exist on DC.

use reqwest::Method;
use serde_json::{Value, json};

use super::{assert_error, sim};

#[tokio::test]
async fn spaces_and_seeded_permissions() {
    let s = sim().await;
    let spaces = s.json("/rest/api/space").await;
    assert_eq!(spaces["size"], 2);
    let docs = s.json("/rest/api/space/DOCS").await;
    assert!(docs["id"].is_u64(), "numeric id on DC (ref §4.6)");
    assert_eq!(docs["key"], "DOCS");
    assert_eq!(docs["type"], "global");
    assert_eq!(docs["status"], "current");
    let r = s.get("/rest/api/space/NOPE").send().await.unwrap();
    assert_error(r, 404, "No space with key : NOPE").await;

    let perms = s.json("/rest/api/space/HR/permissions").await;
    let perms = perms.as_array().expect("an array, not a page (ref §4.7)");
    assert_eq!(perms.len(), 3);
    assert!(perms.contains(&json!({
        "operation": {"operationKey": "read", "targetType": "space"},
        "subject": {"type": "group", "name": "confluence-users"},
        "spaceKey": "HR"
    })));
    assert!(perms.contains(&json!({
        "operation": {"operationKey": "administer", "targetType": "space"},
        "subject": {"type": "group", "name": "confluence-administrators"},
        "spaceKey": "HR"
    })));
    s.running.stop().await;
}

#[tokio::test]
async fn grant_and_revoke_rules() {
    let s = sim().await;
    let put = |path: &str, body: Value| s.write(Method::PUT, path).json(&body);
    let g = "/rest/api/space/DOCS/permissions/group/confluence-users";
    let u = s.json("/rest/api/user?username=jsmith").await;
    let key = u["userKey"].as_str().unwrap().to_string();
    let user = format!("/rest/api/space/DOCS/permissions/user/{key}");
    let create_page = json!([{"operationKey": "create", "targetType": "page"}]);
    let read_and_comment = json!([{"operationKey": "read", "targetType": "space"},
                                  {"operationKey": "create", "targetType": "comment"}]);

    // Another operation needs read first.
    let r = put(&format!("{user}/grant"), create_page.clone())
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "read").await;
    // Read in the same call is enough; granting twice changes nothing.
    for _ in 0..2 {
        let r = put(&format!("{user}/grant"), read_and_comment.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let mine = s.json(&user).await;
    assert_eq!(mine.as_array().unwrap().len(), 2);
    assert_eq!(mine[0]["subject"], json!({"type": "user", "userKey": key}));
    // The group holds read already.
    let r = put(&format!("{g}/grant"), create_page.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    // Invalid pairs: Cloud's restrict_content, an unknown target.
    for bad in [
        json!([{"operationKey": "restrict_content", "targetType": "space"}]),
        json!([{"operationKey": "read", "targetType": "page"}]),
        json!({"operationKey": "read", "targetType": "space"}),
    ] {
        let r = put(&format!("{g}/grant"), bad).send().await.unwrap();
        assert_eq!(r.status(), 400);
    }
    let r = put(
        "/rest/api/space/DOCS/permissions/group/nope/grant",
        read_and_comment.clone(),
    )
    .send()
    .await
    .unwrap();
    assert_error(r, 404, "nope").await;
    let r = put(
        "/rest/api/space/DOCS/permissions/user/0123/grant",
        read_and_comment.clone(),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 404);
    let r = put(
        "/rest/api/space/NOPE/permissions/group/confluence-users/grant",
        create_page.clone(),
    )
    .send()
    .await
    .unwrap();
    assert_error(r, 404, "No space with key").await;

    // Revoking what is not held is skipped.
    let r = put(&format!("{user}/revoke"), create_page.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(s.json(&user).await.as_array().unwrap().len(), 2);
    // Revoking read takes everything else with it.
    let r = put(
        &format!("{g}/revoke"),
        json!([{"operationKey": "read", "targetType": "space"}]),
    )
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(s.json(g).await, json!([]));
    let r = put(&format!("{user}/revoke"), read_and_comment)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(s.json(&user).await, json!([]));
    let state = s.state().await;
    let docs = &state["spaces"][0];
    assert_eq!(docs["key"], "DOCS");
    assert_eq!(docs["permissions"].as_array().unwrap().len(), 2);
    s.running.stop().await;
}

#[tokio::test]
async fn cloud_style_permission_path_is_an_html_404() {
    let s = sim().await;
    let r = s
        .write(Method::POST, "/rest/api/space/DOCS/permission")
        .json(
            &json!({"subject": {"type": "group", "identifier": "confluence-users"},
                      "operation": {"key": "read", "target": "space"}}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(r.json::<Value>().await.is_err());
    s.running.stop().await;
}
