//! Entra simulator (token endpoint and Microsoft Graph) against reference §10.

use reqwest::StatusCode;
use roster_sim::entra::{EntraOptions, start};
use serde_json::{Value, json};

use super::*;

struct Entra {
    run: roster_sim::Running,
    http: Client,
}

async fn entra(options: EntraOptions) -> Entra {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Entra {
        run: start(listener, options).await.unwrap(),
        http: client(),
    }
}

impl Entra {
    async fn token_with(&self, fields: &[(&str, &str)]) -> Response {
        let body: String = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", v.replace(':', "%3A").replace('/', "%2F")))
            .collect::<Vec<_>>()
            .join("&");
        self.http
            .post(info(&self.run, "token_url"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    async fn token(&self) -> String {
        let (id, secret) = (
            info(&self.run, "client_id"),
            info(&self.run, "client_secret"),
        );
        let r = self
            .token_with(&[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .await;
        assert_eq!(r.status(), StatusCode::OK);
        json(r).await["access_token"].as_str().unwrap().to_string()
    }

    async fn graph(&self, token: &str, path_or_url: &str) -> Response {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", info(&self.run, "graph_url"))
        };
        self.http.get(url).bearer_auth(token).send().await.unwrap()
    }
}

#[tokio::test]
async fn the_token_endpoint_issues_bearer_tokens_for_client_credentials() {
    // §10.1: client_credentials with client_id, client_secret and the /.default scope.
    let e = entra(EntraOptions::default()).await;
    let (id, secret) = (info(&e.run, "client_id"), info(&e.run, "client_secret"));
    let r = e
        .token_with(&[
            ("grant_type", "client_credentials"),
            ("client_id", &id),
            ("client_secret", &secret),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let t = json(r).await;
    assert_eq!(
        keys(&t),
        sorted(&["token_type", "expires_in", "ext_expires_in", "access_token"])
    );
    assert_eq!(
        (t["token_type"].as_str(), t["expires_in"].as_u64()),
        (Some("Bearer"), Some(3599))
    );
}

/// Fields of a form-encoded token request.
type Form<'a> = &'a [(&'a str, &'a str)];

#[tokio::test]
async fn refused_credentials_answer_with_aadsts_errors() {
    let e = entra(EntraOptions::default()).await;
    let (id, secret) = (info(&e.run, "client_id"), info(&e.run, "client_secret"));
    let graph = "https://graph.microsoft.com/.default";
    let cases: [(Form, StatusCode, &str, u64); 4] = [
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", "wrong"),
                ("scope", graph),
            ],
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "someone-else"),
                ("client_secret", &secret),
                ("scope", graph),
            ],
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
        ),
        (
            &[
                ("grant_type", "client_credentials"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", "User.Read"),
            ],
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
        ),
        (
            &[
                ("grant_type", "password"),
                ("client_id", &id),
                ("client_secret", &secret),
                ("scope", graph),
            ],
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
        ),
    ];
    for (fields, status, error, code) in cases {
        let r = e.token_with(fields).await;
        assert_eq!(r.status(), status, "{error}");
        let body = json(r).await;
        assert_eq!(body["error"], error);
        assert_eq!(body["error_codes"], json!([code]));
        assert!(
            body["error_description"]
                .as_str()
                .unwrap()
                .starts_with(&format!("AADSTS{code}: "))
        );
        for k in ["timestamp", "trace_id", "correlation_id", "error_uri"] {
            assert!(body[k].is_string(), "{k}");
        }
    }
    let wrong_tenant = format!(
        "{}/other-tenant/oauth2/v2.0/token",
        info(&e.run, "graph_url")
    );
    let r = e
        .http
        .post(wrong_tenant)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=client_credentials")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["error_codes"], json!([90002]));
}

#[tokio::test]
async fn without_select_users_carry_only_the_default_properties() {
    // §10.2: the default set excludes accountEnabled.
    let e = entra(EntraOptions::default()).await;
    let t = e.token().await;
    let page = json(e.graph(&t, "/v1.0/users?$top=1").await).await;
    assert!(
        page["@odata.context"]
            .as_str()
            .unwrap()
            .ends_with("/v1.0/$metadata#users")
    );
    assert_eq!(
        keys(&page["value"][0]),
        sorted(&[
            "businessPhones",
            "displayName",
            "givenName",
            "id",
            "jobTitle",
            "mail",
            "mobilePhone",
            "officeLocation",
            "preferredLanguage",
            "surname",
            "userPrincipalName",
        ])
    );
}

#[tokio::test]
async fn select_replaces_the_default_set_and_next_links_carry_it() {
    // §10.2: `$select` replaces the default set; `@odata.nextLink` holds `$skiptoken`.
    let e = entra(EntraOptions {
        page_size: Some(100),
        ..EntraOptions::default()
    })
    .await;
    let t = e.token().await;
    let mut url =
        "/v1.0/users?$select=id,accountEnabled,employeeId,signInActivity&$top=999".to_string();
    let mut ids = std::collections::BTreeSet::new();
    let mut pages = 0;
    loop {
        let page = json(e.graph(&t, &url).await).await;
        for u in page["value"].as_array().unwrap() {
            assert_eq!(
                keys(u),
                sorted(&["id", "accountEnabled", "employeeId", "signInActivity"])
            );
            if let Some(s) = u["signInActivity"].as_object() {
                assert!(
                    s["lastSignInDateTime"]
                        .as_str()
                        .unwrap()
                        .parse::<jiff::Timestamp>()
                        .is_ok()
                );
            }
            ids.insert(u["id"].as_str().unwrap().to_string());
        }
        pages += 1;
        match page["@odata.nextLink"].as_str() {
            Some(n) => {
                assert!(
                    n.contains("$skiptoken=") && n.contains("$select=") && n.contains("$top=999"),
                    "{n}"
                );
                url = n.to_string();
            }
            None => break,
        }
    }
    let state = json(
        e.http
            .get(format!("{}/_sim/state", e.run.url()))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids.len(), state["users"].as_array().unwrap().len());
    assert!(pages >= 3);
    let r = e.graph(&t, "/v1.0/users?$top=1000").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = e.graph(&t, "/v1.0/users?$select=id,aboutMe").await;
    assert_eq!(r.status(), StatusCode::NOT_IMPLEMENTED);
    assert_eq!(json(r).await["error"]["code"], "NotImplemented");
    let r = e.graph(&t, "/v1.0/users?$select=id,favouriteColour").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["error"]["code"], "Request_BadRequest");
    // `$filter=accountEnabled eq false` (§10.2 example).
    let off = json(
        e.graph(
            &t,
            "/v1.0/users?$select=id,accountEnabled&$filter=accountEnabled%20eq%20false",
        )
        .await,
    )
    .await;
    let off = off["value"].as_array().unwrap();
    assert!(!off.is_empty() && off.iter().all(|u| u["accountEnabled"] == false));
}

#[tokio::test]
async fn errors_carry_graph_error_objects() {
    // §10.6 error body; permissions of §10.1.
    let e = entra(EntraOptions {
        permissions: vec!["User.Read.All".into()],
        ..EntraOptions::default()
    })
    .await;
    let r = e.graph("", "/v1.0/users").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        header(&r, "www-authenticate")
            .unwrap()
            .starts_with("Bearer")
    );
    let body = json(r).await;
    assert_eq!(keys(&body), ["error"]);
    assert_eq!(
        keys(&body["error"]),
        sorted(&["code", "message", "innerError"])
    );
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert_eq!(
        keys(&body["error"]["innerError"]),
        sorted(&["date", "request-id", "client-request-id"])
    );
    let t = e.token().await;
    for path in ["/v1.0/groups", "/v1.0/users?$select=id,signInActivity"] {
        let r = e.graph(&t, path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        assert_eq!(
            json(r).await["error"]["code"],
            "Authorization_RequestDenied"
        );
    }
    let r = e
        .graph(&t, "/v1.0/users/00000000-0000-0000-0000-000000000000")
        .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await["error"]["code"], "Request_ResourceNotFound");
}

#[tokio::test]
async fn throttling_is_429_with_retry_after() {
    // §10.6: 429 with Retry-After seconds.
    let e = entra(EntraOptions::default()).await;
    let t = e.token().await;
    put_faults(
        &e.run,
        json!({"burst_every": 1, "burst_length": 1, "retry_after_secs": 3}),
    )
    .await;
    let r = e.graph(&t, "/v1.0/users?$top=1").await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "retry-after").as_deref(), Some("3"));
    assert!(json(r).await["error"]["code"].is_string());
}

#[tokio::test]
async fn group_members_are_typed_directory_objects() {
    // §10.4: `GET /groups/{id}/members`, paged via @odata.nextLink.
    let e = entra(EntraOptions {
        page_size: Some(10),
        ..EntraOptions::default()
    })
    .await;
    let t = e.token().await;
    let groups = json(
        e.graph(&t, "/v1.0/groups?$select=id,displayName&$top=999")
            .await,
    )
    .await;
    let eng = groups["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["displayName"] == "dept-engineering")
        .unwrap();
    let page = json(
        e.graph(
            &t,
            &format!(
                "/v1.0/groups/{}/members?$select=id",
                eng["id"].as_str().unwrap()
            ),
        )
        .await,
    )
    .await;
    assert!(page["@odata.nextLink"].is_string());
    let members = page["value"].as_array().unwrap();
    assert_eq!(members.len(), 10);
    for m in members {
        assert_eq!(m["@odata.type"], "#microsoft.graph.user");
        assert_eq!(keys(m), sorted(&["@odata.type", "id"]));
    }
    let id = members[0]["id"].as_str().unwrap();
    let of = json(e.graph(&t, &format!("/v1.0/users/{id}/memberOf")).await).await;
    assert!(
        of["value"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == eng["id"] && g["@odata.type"] == "#microsoft.graph.group")
    );
}

#[tokio::test]
async fn expired_tokens_are_refused() {
    let e = entra(EntraOptions {
        token_lifetime_secs: 0,
        ..EntraOptions::default()
    })
    .await;
    let t = e.token().await;
    let r = e.graph(&t, "/v1.0/users").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let body: Value = json(r).await;
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
}
