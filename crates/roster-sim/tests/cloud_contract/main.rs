//! Contract tests of the Confluence Cloud simulator over real HTTP, field by field against the
//! examples of `docs/reference/atlassian-api.md` (section numbers cited per test).

use reqwest::{Client, Method, RequestBuilder, StatusCode};
use roster_sim::Running;
use roster_sim::cloud::{self, CloudOptions};
use serde_json::{Value, json};

mod admin_faults;
mod confluence;
mod pages;
mod rate_limit;
mod scim;

struct Sim {
    run: Running,
    http: Client,
}

fn client() -> Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder().build().expect("client")
}

async fn start(options: CloudOptions) -> Sim {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let run = cloud::start(listener, options).await.expect("start");
    Sim {
        run,
        http: client(),
    }
}

async fn sim() -> Sim {
    start(CloudOptions::default()).await
}

impl Sim {
    fn info(&self, k: &str) -> String {
        self.run.info[k].as_str().expect("info field").to_string()
    }

    /// Confluence call with Basic auth; writes carry the XSRF header and JSON content type.
    fn wiki(&self, method: Method, path: &str) -> RequestBuilder {
        let write = method != Method::GET;
        let mut rb = self
            .http
            .request(method, format!("{}{path}", self.info("site_url")))
            .basic_auth(self.info("email"), Some(self.info("api_token")))
            .header("accept", "application/json");
        if write {
            rb = rb.header("x-atlassian-token", "no-check");
        }
        rb
    }

    fn scim(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.info("scim_base_url")))
            .bearer_auth(self.info("scim_key"))
    }

    fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.info("admin_api_url")))
            .bearer_auth(self.info("org_key"))
    }

    async fn state(&self) -> Value {
        self.http
            .get(format!("{}/_sim/state", self.run.url()))
            .send()
            .await
            .expect("state")
            .json()
            .await
            .expect("state json")
    }

    async fn group_id(&self, name: &str) -> String {
        let st = self.state().await;
        st["groups"]
            .as_array()
            .expect("groups")
            .iter()
            .find(|g| g["name"] == name)
            .map(|g| g["id"].as_str().expect("id").to_string())
            .expect("group exists")
    }

    async fn create_scim_user(&self, user_name: &str, external_id: &str) -> Value {
        let r = self
            .scim(Method::POST, "/Users")
            .header("content-type", "application/scim+json")
            .json(&json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": user_name,
                "externalId": external_id,
                "emails": [{"value": user_name, "type": "work", "primary": true}],
                "name": {"givenName": "Ada", "familyName": "Lovelace"},
                "displayName": "Ada Lovelace",
                "active": true,
            }))
            .send()
            .await
            .expect("create");
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json().await.expect("json")
    }
}

async fn body(r: reqwest::Response) -> (StatusCode, Value) {
    let status = r.status();
    let text = r.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

fn is_micros_z(s: &str) -> bool {
    // 2026-02-21T11:57:56.537169Z
    s.len() == 27
        && s.ends_with('Z')
        && s.as_bytes()[19] == b'.'
        && s[20..26].bytes().all(|b| b.is_ascii_digit())
}

#[tokio::test]
async fn info_line_names_everything_a_client_needs() {
    let s = sim().await;
    let info = &s.run.info;
    let base = s.run.url();
    assert_eq!(info["site_url"], base);
    assert_eq!(info["admin_api_url"], base);
    assert_eq!(
        info["scim_base_url"],
        format!("{base}/scim/directory/{}", s.info("directory_id"))
    );
    for k in ["org_id", "email", "api_token", "scim_key", "org_key"] {
        assert!(info[k].as_str().is_some_and(|v| !v.is_empty()), "{k}");
    }
    let st = s.state().await;
    let spaces: Vec<&str> = st["spaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["key"].as_str().unwrap())
        .collect();
    assert_eq!(spaces, ["DOCS", "HR", "IT"]);
}
