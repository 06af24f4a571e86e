//! Confluence Cloud REST v1 and v2 (ref §2).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::*;

/// ref §2.2, §2.4: offset pages ordered by name, `_links.next` only while more remain.
#[tokio::test]
async fn v1_group_list_pages_with_links() {
    let s = sim().await;
    let site = s.info("site_url");
    let (st, g) = body(
        s.wiki(Method::POST, "/wiki/rest/api/group")
            .json(&json!({"name": "eng-writers"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::CREATED);
    assert_eq!(g["type"], "group");
    assert_eq!(g["name"], "eng-writers");
    assert!(uuid::Uuid::parse_str(g["id"].as_str().unwrap()).is_ok());
    let (st, _) = body(
        s.wiki(Method::POST, "/wiki/rest/api/group")
            .json(&json!({"name": "eng-writers"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, _) = body(
        s.wiki(Method::POST, "/wiki/rest/api/group")
            .json(&json!({"name": ""}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);

    let (st, p) = body(
        s.wiki(Method::GET, "/wiki/rest/api/group?start=0&limit=2")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    let names: Vec<&str> = p["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["confluence-admins", "confluence-users"]);
    assert_eq!(
        (p["start"].clone(), p["limit"].clone(), p["size"].clone()),
        (json!(0), json!(2), json!(2))
    );
    assert_eq!(p["_links"]["base"], format!("{site}/wiki"));
    assert_eq!(p["_links"]["context"], "/wiki");
    assert_eq!(
        p["_links"]["next"],
        "/rest/api/group?next=true&limit=2&start=2"
    );
    let next = format!("/wiki{}", p["_links"]["next"].as_str().unwrap());
    let (_, p) = body(s.wiki(Method::GET, &next).send().await.unwrap()).await;
    let names: Vec<&str> = p["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["eng-writers", "site-admins"]);
    assert!(p["_links"].get("next").is_none());
    let (_, p) = body(
        s.wiki(Method::GET, "/wiki/rest/api/group")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(p["limit"], 200);
    assert!(p["_links"].get("next").is_none());

    let id = g["id"].as_str().unwrap();
    let (st, v) = body(
        s.wiki(Method::GET, &format!("/wiki/rest/api/group/by-id?id={id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (st, v["name"].clone()),
        (StatusCode::OK, json!("eng-writers"))
    );
    let r = s
        .wiki(
            Method::DELETE,
            &format!("/wiki/rest/api/group/by-id?id={id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (st, v) = body(
        s.wiki(Method::GET, &format!("/wiki/rest/api/group/by-id?id={id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (st, v["statusCode"].clone()),
        (StatusCode::NOT_FOUND, json!(404))
    );
}

/// ref §2.4: 201 with an empty body, 204 for a non-member, 400 on limit 201, 200-empty for an
/// unknown group, 404 on writes to an unknown group.
#[tokio::test]
async fn v1_membership_contract() {
    let s = sim().await;
    let st = s.state().await;
    let grace = st["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "grace.hopper@example.com")
        .unwrap()["accountId"]
        .as_str()
        .unwrap()
        .to_string();
    let admins = s.group_id("confluence-admins").await;
    let r = s
        .wiki(
            Method::POST,
            &format!("/wiki/rest/api/group/userByGroupId?groupId={admins}"),
        )
        .header("content-type", "application/json")
        .body(json!({"accountId": grace}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.text().await.unwrap(), "");
    let (st, p) = body(
        s.wiki(
            Method::GET,
            &format!(
                "/wiki/rest/api/group/{admins}/membersByGroupId?start=0&limit=1&expand=operations"
            ),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(p["size"], 1);
    assert_eq!(p["results"][0]["operations"][0]["operation"], "administer");
    assert_eq!(
        p["_links"]["next"],
        format!(
            "/rest/api/group/{admins}/membersByGroupId?next=true&expand=operations&limit=1&start=1"
        )
    );
    let (_, p) = body(
        s.wiki(
            Method::GET,
            &format!("/wiki/rest/api/group/{admins}/membersByGroupId?start=1&limit=1"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(p["results"][0]["accountId"], grace.as_str());

    let (st, v) = body(
        s.wiki(
            Method::GET,
            &format!("/wiki/rest/api/group/{admins}/membersByGroupId?limit=201"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["statusCode"], 400);
    assert_eq!(v["data"]["successful"], false);
    let unknown = uuid::Uuid::new_v4();
    let (st, p) = body(
        s.wiki(
            Method::GET,
            &format!("/wiki/rest/api/group/{unknown}/membersByGroupId"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (st, p["size"].clone(), p["results"].clone()),
        (StatusCode::OK, json!(0), json!([]))
    );
    let r = s
        .wiki(
            Method::POST,
            &format!("/wiki/rest/api/group/userByGroupId?groupId={unknown}"),
        )
        .json(&json!({"accountId": grace}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    for _ in 0..2 {
        let r = s
            .wiki(
                Method::DELETE,
                &format!("/wiki/rest/api/group/userByGroupId?groupId={admins}&accountId={grace}"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
}

/// ref §2.1, §2.9, §7: XSRF header, content type, text/plain 401.
#[tokio::test]
async fn v1_writes_need_xsrf_header_and_json() {
    let s = sim().await;
    let url = format!("{}/wiki/rest/api/group", s.info("site_url"));
    let r = s
        .http
        .post(&url)
        .basic_auth(s.info("email"), Some(s.info("api_token")))
        .json(&json!({"name": "x"}))
        .send()
        .await
        .unwrap();
    let (st, v) = body(r).await;
    assert_eq!(st, StatusCode::FORBIDDEN);
    assert_eq!(v["statusCode"], 403);
    assert_eq!(v["message"], "XSRF check failed");
    assert_eq!(v["data"]["errors"], json!([]));
    let r = s
        .wiki(Method::POST, "/wiki/rest/api/group")
        .body(r#"{"name":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let r = s
        .http
        .get(format!("{}/wiki/rest/api/user/current", s.info("site_url")))
        .basic_auth(s.info("email"), Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let (st, me) = body(
        s.wiki(Method::GET, "/wiki/rest/api/user/current")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(me["email"], s.info("email"));
    assert!(me["accountId"].as_str().unwrap().starts_with("557058:"));
}

/// ref §2.6: grant, duplicate, read first, invalid pairs, cascade, last admin, plural path.
#[tokio::test]
async fn space_permission_writes() {
    let s = sim().await;
    let st = s.state().await;
    let alan = st["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "alan.turing@example.com")
        .unwrap()["accountId"]
        .as_str()
        .unwrap()
        .to_string();
    let docs_id = st["spaces"][0]["id"].as_str().unwrap().to_string();
    let grant = |subject: Value, key: &str, target: &str, space: &str| {
        s.wiki(
            Method::POST,
            &format!("/wiki/rest/api/space/{space}/permission"),
        )
        .json(&json!({"subject": subject, "operation": {"key": key, "target": target}}))
        .send()
    };
    let user = json!({"type": "user", "identifier": alan});
    let (st, p) = body(grant(user.clone(), "read", "space", "DOCS").await.unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    assert!(p["id"].is_u64());
    assert_eq!(p["subject"], user);
    assert_eq!(p["operation"], json!({"key": "read", "target": "space"}));
    let read_id = p["id"].as_u64().unwrap();
    let (st, v) = body(grant(user.clone(), "read", "space", "DOCS").await.unwrap()).await;
    assert_eq!(
        (st, v["message"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("Permission already exists for the given user or group")
        )
    );
    let (st, p) = body(grant(user.clone(), "create", "page", "DOCS").await.unwrap()).await;
    assert_eq!(st, StatusCode::OK);
    let create_id = p["id"].as_u64().unwrap();
    let (st, _) = body(
        grant(user.clone(), "create", "space", "DOCS")
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    let (st, v) = body(grant(user.clone(), "export", "space", "HR").await.unwrap()).await;
    assert_eq!(
        (st, v["message"].clone()),
        (
            StatusCode::BAD_REQUEST,
            json!("'read space' permission doesn't exist for the given user or group")
        )
    );
    let (st, v) = body(
        grant(
            json!({"type": "group", "identifier": uuid::Uuid::new_v4().to_string()}),
            "read",
            "space",
            "DOCS",
        )
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert!(v["message"].as_str().unwrap().starts_with("No group found"));
    let (st, _) = body(grant(user.clone(), "read", "space", "NOPE").await.unwrap()).await;
    assert_eq!(st, StatusCode::NOT_FOUND);

    // baton's plural, numeric-id form is not an endpoint (ref §6.4).
    let r = s
        .wiki(
            Method::POST,
            &format!("/wiki/rest/api/space/{docs_id}/permissions"),
        )
        .json(&json!({"subject": user, "operation": {"key": "read", "target": "space"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = s
        .wiki(
            Method::DELETE,
            &format!("/wiki/rest/api/space/DOCS/permissions/{create_id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    // Removing read/space cascades.
    let r = s
        .wiki(
            Method::DELETE,
            &format!("/wiki/rest/api/space/DOCS/permission/{read_id}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let st = s.state().await;
    let alans: Vec<_> = st["spaces"][0]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["principalId"] == alan.as_str())
        .collect();
    assert!(alans.is_empty(), "{alans:?}");

    // The last administer permission stays.
    let admin_perm = st["spaces"][0]["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["key"] == "administer")
        .unwrap()["id"]
        .as_u64()
        .unwrap();
    let (st, v) = body(
        s.wiki(
            Method::DELETE,
            &format!("/wiki/rest/api/space/DOCS/permission/{admin_perm}"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (st, v["statusCode"].clone()),
        (StatusCode::BAD_REQUEST, json!(400))
    );
    let admins_read = s.state().await["spaces"][0]["permissions"][0]["id"]
        .as_u64()
        .unwrap();
    let r = s
        .wiki(
            Method::DELETE,
            &format!("/wiki/rest/api/space/DOCS/permission/{admins_read}"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "read/space of the only admin group cascades to administer"
    );
}

/// ref §2.2, §2.5, §2.6: cursor pages, `Link` header, limit bounds, v2 error body.
#[tokio::test]
async fn v2_spaces_and_permissions_cursor_paging() {
    let s = sim().await;
    let site = s.info("site_url");
    let mut next = Some("/wiki/api/v2/spaces?limit=1".to_string());
    let mut keys = Vec::new();
    while let Some(path) = next {
        let r = s.wiki(Method::GET, &path).send().await.unwrap();
        let link = r
            .headers()
            .get("link")
            .map(|v| v.to_str().unwrap().to_string());
        let (st, p) = body(r).await;
        assert_eq!(st, StatusCode::OK);
        assert_eq!(p["_links"]["base"], format!("{site}/wiki"));
        let sp = &p["results"][0];
        assert!(sp["id"].is_string());
        assert_eq!(sp["type"], "global");
        assert_eq!(sp["status"], "current");
        keys.push(sp["key"].as_str().unwrap().to_string());
        next = p["_links"]["next"].as_str().map(String::from);
        match &next {
            Some(n) => {
                assert!(
                    n.starts_with("/wiki/api/v2/spaces?cursor=") && n.ends_with("&limit=1"),
                    "{n}"
                );
                assert_eq!(
                    link.unwrap(),
                    format!("<{n}>; rel=\"next\", <{site}/wiki>; rel=\"base\"")
                );
            }
            None => assert!(link.is_none()),
        }
    }
    assert_eq!(keys, ["DOCS", "HR", "IT"]);
    for bad in ["251", "0", "x"] {
        let (st, v) = body(
            s.wiki(Method::GET, &format!("/wiki/api/v2/spaces?limit={bad}"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(st, StatusCode::BAD_REQUEST);
        assert_eq!(v["errors"][0]["status"], 400);
        assert!(v["errors"][0]["code"].is_string() && v["errors"][0]["title"].is_string());
    }
    let (_, p) = body(
        s.wiki(Method::GET, "/wiki/api/v2/spaces?keys=HR")
            .send()
            .await
            .unwrap(),
    )
    .await;
    let hr = p["results"][0].clone();
    assert_eq!(hr["key"], "HR");
    let hr_id = hr["id"].as_str().unwrap().to_string();
    let (st, v) = body(
        s.wiki(Method::GET, &format!("/wiki/api/v2/spaces/{hr_id}"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((st, v), (StatusCode::OK, hr));
    let (st, v) = body(
        s.wiki(Method::GET, "/wiki/api/v2/spaces/1")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (st, v["errors"][0]["status"].clone()),
        (StatusCode::NOT_FOUND, json!(404))
    );

    let admins = s.group_id("confluence-admins").await;
    let (st, p) = body(
        s.wiki(
            Method::GET,
            &format!("/wiki/api/v2/spaces/{hr_id}/permissions?limit=2"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(
        p["results"][0]["principal"],
        json!({"type": "group", "id": admins})
    );
    assert_eq!(
        p["results"][0]["operation"],
        json!({"key": "read", "targetType": "space"})
    );
    assert!(p["results"][0]["id"].is_string());
    let n = p["_links"]["next"].as_str().unwrap();
    assert!(n.starts_with(&format!("/wiki/api/v2/spaces/{hr_id}/permissions?cursor=")));
    let (_, p) = body(s.wiki(Method::GET, n).send().await.unwrap()).await;
    assert_eq!(p["results"].as_array().unwrap().len(), 1);
    assert!(p["_links"].get("next").is_none());
}
