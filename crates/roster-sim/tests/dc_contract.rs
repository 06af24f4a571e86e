//! Contract tests of the Confluence Data Center simulator against the reference
//! (`atlassian-api.md` §4, §7), field by field, over real HTTP.

use reqwest::{Method, RequestBuilder, StatusCode};
use roster_sim::Running;
use roster_sim::dc::{DcOptions, start};
use serde_json::{Value, json};

/// Spaces and space permissions (ref §4.6, §4.7).
#[path = "dc_contract/permissions.rs"]
mod permissions;

/// The token-bucket rate limit and its headers (ref §4.10).
#[path = "dc_contract/rate_limit.rs"]
mod rate_limit;

struct Sim {
    running: Running,
    base: String,
    username: String,
    password: String,
    pat: String,
    http: reqwest::Client,
}

async fn sim() -> Sim {
    sim_with(DcOptions::default()).await
}

async fn sim_with(options: DcOptions) -> Sim {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let running = start(listener, options).await.unwrap();
    let info = running.info.clone();
    let s = |k: &str| info[k].as_str().unwrap().to_string();
    Sim {
        base: s("base_url"),
        username: s("username"),
        password: s("password"),
        pat: s("pat"),
        running,
        http: reqwest::Client::new(),
    }
}

impl Sim {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
    fn get(&self, path: &str) -> RequestBuilder {
        self.http
            .get(self.url(path))
            .basic_auth(&self.username, Some(&self.password))
    }
    fn write(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, self.url(path))
            .bearer_auth(&self.pat)
            .header("X-Atlassian-Token", "no-check")
    }
    async fn json(&self, path: &str) -> Value {
        let r = self.get(path).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        r.json().await.unwrap()
    }
    async fn state(&self) -> Value {
        self.http
            .get(self.url("/_sim/state"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

/// Asserts the v1 error envelope with `reason` (ref §4.9).
async fn assert_error(r: reqwest::Response, status: u16, message: &str) {
    assert_eq!(r.status().as_u16(), status);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["statusCode"], status);
    assert_eq!(v["data"]["authorized"], false);
    assert_eq!(v["data"]["allowedInReadOnlyMode"], true);
    assert_eq!(v["data"]["successful"], false);
    assert!(v["data"]["errors"].is_array());
    assert!(v["data"]["valid"].is_boolean());
    assert!(
        v["message"].as_str().unwrap().contains(message),
        "{v} lacks {message}"
    );
    assert_eq!(
        v["reason"],
        StatusCode::from_u16(status)
            .unwrap()
            .canonical_reason()
            .unwrap()
    );
}

fn is_user_key(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|k| k.len() == 32 && k.chars().all(|c| c.is_ascii_hexdigit()))
}

#[tokio::test]
async fn authentication_basic_and_pat() {
    let s = sim().await;
    let r = s
        .http
        .get(s.url("/rest/api/user/current"))
        .send()
        .await
        .unwrap();
    assert_error(r, 401, "authenticated").await;
    let r = s
        .http
        .get(s.url("/rest/api/user/current"))
        .basic_auth(&s.username, Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let me = s.json("/rest/api/user/current").await;
    assert_eq!(me["username"], s.username.as_str());
    assert_eq!(me["type"], "known");
    assert!(is_user_key(&me["userKey"]));
    let r = s
        .http
        .get(s.url("/rest/api/latest/user/current"))
        .bearer_auth(&s.pat)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "PAT and the /latest alias (ref §4.1)");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["userKey"], me["userKey"]);
    s.running.stop().await;
}

#[tokio::test]
async fn user_objects_and_lookup() {
    let s = sim().await;
    let u = s.json("/rest/api/user?username=jsmith&expand=status").await;
    // ref §4.3 user object
    assert_eq!(u["type"], "known");
    assert_eq!(u["username"], "jsmith");
    assert_eq!(u["displayName"], "Jane Smith");
    assert_eq!(u["email"], "jane.smith@confluence.example");
    assert_eq!(u["status"], "Active");
    assert!(is_user_key(&u["userKey"]));
    assert_eq!(u["profilePicture"]["width"], 48);
    let key = u["userKey"].as_str().unwrap();
    assert_eq!(
        u["_links"]["self"],
        format!("{}/rest/api/user?key={key}", s.base)
    );
    let by_key = s.json(&format!("/rest/api/user?key={key}")).await;
    assert_eq!(by_key["username"], "jsmith");
    assert!(by_key.get("status").is_none());
    assert_eq!(by_key["_expandable"]["status"], "");
    let b = s.json("/rest/api/user?username=bwayne&expand=status").await;
    assert_eq!(b["status"], "Deactivated");
    let r = s
        .get("/rest/api/user?username=nobody")
        .send()
        .await
        .unwrap();
    assert_error(r, 404, "nobody").await;
    s.running.stop().await;
}

#[tokio::test]
async fn admin_user_lifecycle_and_validation() {
    let s = sim().await;
    let create = |body: Value| s.write(Method::POST, "/rest/api/admin/user").json(&body);
    for (body, message) in [
        (
            json!({"userName": "Ada", "fullName": "Ada", "email": "ada@x.example", "password": "p"}),
            "lower case",
        ),
        (
            json!({"userName": "a da", "fullName": "Ada", "email": "ada@x.example", "password": "p"}),
            "whitespace",
        ),
        (
            json!({"userName": "a<b", "fullName": "Ada", "email": "ada@x.example", "password": "p"}),
            "cannot contain",
        ),
        (
            json!({"userName": "anonymous", "fullName": "Ada", "email": "ada@x.example", "password": "p"}),
            "anonymous",
        ),
        (
            json!({"userName": "ada", "fullName": " ", "email": "ada@x.example", "password": "p"}),
            "Full name",
        ),
        (
            json!({"userName": "ada", "fullName": "<b>", "email": "ada@x.example", "password": "p"}),
            "Full name",
        ),
        (
            json!({"userName": "ada", "fullName": "Ada", "email": "not-an-email", "password": "p"}),
            "email",
        ),
        (
            json!({"userName": "ada", "fullName": "Ada", "email": "ada@x.example"}),
            "password",
        ),
    ] {
        let r = create(body).send().await.unwrap();
        assert_error(r, 400, message).await;
    }
    let r = create(json!({"userName": "ada", "fullName": "Ada Lovelace",
                          "email": "ada@x.example", "notifyViaEmail": true}))
    .send()
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let v: Value = r.json().await.unwrap();
    assert!(is_user_key(&v["userKey"]));
    let r = create(
        json!({"userName": "ada", "fullName": "Ada", "email": "a@x.example", "password": "p"}),
    )
    .send()
    .await
    .unwrap();
    assert_error(r, 409, "ada").await;

    let r = s
        .write(Method::PUT, "/rest/api/admin/user/ada")
        .json(&json!({"email": "ada.l@x.example", "fullName": "Ada King"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let u = s.json("/rest/api/user?username=ada&expand=status").await;
    assert_eq!(u["email"], "ada.l@x.example");
    assert_eq!(u["displayName"], "Ada King");
    assert_eq!(u["userKey"], v["userKey"]);
    for verb in ["disable", "disable", "enable", "enable", "disable"] {
        let r = s
            .write(Method::PUT, &format!("/rest/api/admin/user/ada/{verb}"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204, "{verb} is idempotent");
    }
    let u = s.json("/rest/api/user?username=ada&expand=status").await;
    assert_eq!(u["status"], "Deactivated");
    let r = s
        .write(Method::PUT, "/rest/api/admin/user/ghost/disable")
        .send()
        .await
        .unwrap();
    assert_error(r, 404, "ghost").await;

    let r = s
        .write(Method::DELETE, "/rest/api/admin/user/ada")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let task: Value = r.json().await.unwrap();
    let id = task["id"].as_str().unwrap();
    assert_eq!(task["links"]["status"], format!("/rest/api/longtask/{id}"));
    let r = s.get("/rest/api/user?username=ada").send().await.unwrap();
    assert_eq!(r.status(), 404);
    s.running.stop().await;
}

#[tokio::test]
async fn writes_need_xsrf_token_and_json() {
    let s = sim().await;
    let body = json!({"type": "group", "name": "x"});
    let r = s
        .http
        .post(s.url("/rest/api/admin/group"))
        .basic_auth(&s.username, Some(&s.password))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_error(r, 403, "XSRF check failed").await;
    let r = s
        .write(Method::POST, "/rest/api/admin/group")
        .header("Content-Type", "text/plain")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_error(r, 415, "application/json").await;
    // A write without a body needs no content type.
    let r = s
        .write(Method::PUT, "/rest/api/user/jsmith/group/confluence-users")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    s.running.stop().await;
}

/// Follows `_links.next` verbatim from `_links.base` (ref §4.2), checking each page.
async fn all_pages(s: &Sim, first: &str, limit: usize) -> (Vec<Value>, usize) {
    let mut path = first.to_string();
    let mut out = Vec::new();
    let mut pages = 0;
    loop {
        let v = s.json(&path).await;
        pages += 1;
        assert_eq!(v["start"], out.len());
        assert_eq!(v["limit"], limit);
        let results = v["results"].as_array().unwrap();
        assert_eq!(v["size"], results.len());
        assert_eq!(v["_links"]["base"], s.base.as_str());
        assert_eq!(v["_links"]["context"], "");
        assert!(v["_links"]["self"].as_str().unwrap().starts_with(&s.base));
        out.extend(results.iter().cloned());
        match v["_links"]["next"].as_str() {
            Some(next) => {
                assert!(next.starts_with("/rest/api/"), "{next} is relative to base");
                path = next.to_string();
            }
            None => return (out, pages),
        }
    }
}

#[tokio::test]
async fn paging_over_several_pages() {
    let s = sim().await;
    for i in 0..8 {
        let r = s
            .write(Method::POST, "/rest/api/admin/user")
            .json(
                &json!({"userName": format!("user{i:02}"), "fullName": format!("User {i}"),
                          "email": format!("user{i}@x.example"), "password": "secret"}),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = s
            .write(
                Method::PUT,
                &format!("/rest/api/user/user{i:02}/group/confluence-users"),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let (users, pages) = all_pages(&s, "/rest/api/user/list?limit=4&expand=status", 4).await;
    assert_eq!(users.len(), 11);
    assert_eq!(pages, 3);
    assert!(
        users
            .iter()
            .all(|u| u["status"].is_string() && u["email"].is_string())
    );
    let state = s.state().await;
    let mut names: Vec<&str> = users
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    names.sort();
    let mut expected: Vec<&str> = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    expected.sort();
    assert_eq!(names, expected);

    let (members, pages) = all_pages(
        &s,
        "/rest/api/group/confluence-users/member?limit=3&expand=status",
        3,
    )
    .await;
    assert_eq!(members.len(), 11);
    assert_eq!(pages, 4);
    let first = s
        .json("/rest/api/group/confluence-users/member?limit=3")
        .await;
    assert_eq!(
        first["_links"]["next"],
        "/rest/api/group/confluence-users/member?limit=3&start=3"
    );
    let last = s
        .json("/rest/api/group/confluence-users/member?limit=3&start=9")
        .await;
    assert!(last["_links"].get("next").is_none());
    assert_eq!(last["size"], 2);

    let (groups, _) = all_pages(&s, "/rest/api/group?limit=1", 1).await;
    assert_eq!(groups.len(), 2);
    assert_eq!(groups[0]["type"], "group");
    assert_eq!(groups[0]["name"], "confluence-administrators");
    assert_eq!(
        groups[0]["_links"]["self"],
        format!("{}/rest/api/group/confluence-administrators", s.base)
    );
    s.running.stop().await;
}

#[tokio::test]
async fn groups_and_idempotent_membership() {
    let s = sim().await;
    let r = s
        .write(Method::POST, "/rest/api/admin/group")
        .json(&json!({"name": "eng"}))
        .send()
        .await
        .unwrap();
    assert_error(r, 400, "missing type id property 'type'").await;
    let r = s
        .write(Method::POST, "/rest/api/group")
        .json(&json!({"type": "group", "name": "eng"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert!(
        r.json::<Value>().await.is_err(),
        "405 is not JSON (ref §4.9)"
    );
    let r = s
        .write(Method::POST, "/rest/api/admin/group")
        .json(&json!({"type": "group", "name": "eng"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let g: Value = r.json().await.unwrap();
    assert_eq!(g["name"], "eng");
    let r = s
        .write(Method::POST, "/rest/api/admin/group")
        .json(&json!({"type": "group", "name": "eng"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(s.json("/rest/api/group/eng").await["type"], "group");

    for _ in 0..2 {
        let r = s
            .write(Method::PUT, "/rest/api/user/jsmith/group/eng")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let m = s.json("/rest/api/group/eng/member").await;
    assert_eq!(m["size"], 1);
    assert_eq!(m["results"][0]["username"], "jsmith");
    let of = s.json("/rest/api/user/memberof?username=jsmith").await;
    let names: Vec<&str> = of["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["confluence-users", "eng"]);
    for _ in 0..2 {
        let r = s
            .write(Method::DELETE, "/rest/api/user/jsmith/group/eng")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    assert_eq!(s.json("/rest/api/group/eng/member").await["size"], 0);
    let r = s
        .write(Method::PUT, "/rest/api/user/jsmith/group/nope")
        .send()
        .await
        .unwrap();
    assert_error(r, 404, "nope").await;
    let r = s
        .write(Method::DELETE, "/rest/api/admin/group/eng")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = s
        .write(Method::DELETE, "/rest/api/admin/group/eng")
        .send()
        .await
        .unwrap();
    assert_error(r, 404, "eng").await;
    s.running.stop().await;
}

#[tokio::test]
async fn rate_limit_fault_has_dc_headers() {
    let s = sim().await;
    let faults = json!({"burst_every": 1, "burst_length": 1, "retry_after_secs": 2});
    let r = s
        .http
        .put(s.url("/_sim/faults"))
        .json(&faults)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = s.get("/rest/api/space").send().await.unwrap();
    assert_eq!(r.status(), 429);
    let h = r.headers();
    for name in [
        "x-ratelimit-limit",
        "x-ratelimit-interval-seconds",
        "x-ratelimit-fillrate",
    ] {
        assert!(
            h[name].to_str().unwrap().parse::<u64>().unwrap() > 0,
            "{name}"
        );
    }
    assert_eq!(h["x-ratelimit-remaining"], "0");
    assert_eq!(h["retry-after"], "2");
    // The state stays readable.
    let state = s.state().await;
    assert_eq!(state["groups"].as_array().unwrap().len(), 2);
    s.running.stop().await;
}

#[tokio::test]
async fn sim_state_shape() {
    let s = sim().await;
    let state = s.state().await;
    let admin = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == s.username.as_str())
        .unwrap();
    for field in ["userKey", "email", "fullName"] {
        assert!(admin[field].is_string(), "{field}");
    }
    assert_eq!(admin["active"], true);
    assert_eq!(
        state["groups"][0],
        json!({"name": "confluence-administrators", "members": [s.username]})
    );
    let hr = &state["spaces"][1];
    assert_eq!(hr["key"], "HR");
    assert!(hr["permissions"].as_array().unwrap().contains(&json!({
        "operationKey": "read", "targetType": "space",
        "subject": {"type": "group", "name": "confluence-users"}
    })));
    s.running.stop().await;
}
