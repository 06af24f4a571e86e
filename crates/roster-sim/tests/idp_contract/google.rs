//! Google simulator (Directory API and the service-account token endpoint) against
//! reference §11.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use ring::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use roster_sim::google::{GROUP_READONLY, GoogleOptions, TEST_KEY_PEM, USER_READONLY, start};
use serde_json::{Value, json};

use super::*;

struct Google {
    run: roster_sim::Running,
    http: Client,
}

async fn google(options: GoogleOptions) -> Google {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Google {
        run: start(listener, options).await.unwrap(),
        http: client(),
    }
}

impl Google {
    async fn get_as(&self, token: &str, path_or_url: &str) -> Response {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", info(&self.run, "base_url"))
        };
        self.http.get(url).bearer_auth(token).send().await.unwrap()
    }

    async fn get(&self, path: &str) -> Response {
        self.get_as(&info(&self.run, "access_token"), path).await
    }

    async fn state(&self) -> Value {
        json(
            self.http
                .get(format!("{}/_sim/state", self.run.url()))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    /// A JWT-bearer assertion signed with the simulator's service-account key.
    fn assertion(&self, claims: Value) -> String {
        let b64: String = TEST_KEY_PEM
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .collect();
        let key = RsaKeyPair::from_pkcs8(&STANDARD.decode(b64).unwrap()).unwrap();
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(json!({"alg": "RS256", "typ": "JWT"}).to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut sig = vec![0; key.public().modulus_len()];
        key.sign(
            &RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            input.as_bytes(),
            &mut sig,
        )
        .unwrap();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn claims(&self, sub: &str, scope: &str) -> Value {
        let key: Value = serde_json::from_str(&info(&self.run, "service_account_key")).unwrap();
        let now = jiff::Timestamp::now().as_second();
        json!({
            "iss": key["client_email"], "sub": sub, "scope": scope,
            "aud": info(&self.run, "token_url"), "iat": now, "exp": now + 3600,
        })
    }

    async fn exchange(&self, assertion: &str) -> Response {
        self.http
            .post(info(&self.run, "token_url"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(format!(
                "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion={assertion}"
            ))
            .send()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn users_have_the_fields_of_the_reference_example() {
    // §11.2 Response.
    let g = google(GoogleOptions::default()).await;
    let r = g
        .get("/admin/directory/v1/users?customer=my_customer&maxResults=500")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = json(r).await;
    assert_eq!(page["kind"], "admin#directory#users");
    assert!(page["etag"].as_str().unwrap().starts_with('"'));
    let users = page["users"].as_array().unwrap();
    let with_id = users
        .iter()
        .find(|u| u.get("externalIds").is_some())
        .unwrap();
    for k in [
        "kind",
        "id",
        "primaryEmail",
        "name",
        "isAdmin",
        "suspended",
        "archived",
        "orgUnitPath",
        "creationTime",
        "lastLoginTime",
        "customerId",
        "organizations",
        "etag",
    ] {
        assert!(with_id.get(k).is_some(), "user.{k}");
    }
    assert_eq!(with_id["kind"], "admin#directory#user");
    assert_eq!(
        keys(&with_id["name"]),
        sorted(&["givenName", "familyName", "fullName"])
    );
    assert_eq!(with_id["organizations"][0]["primary"], true);
    assert_eq!(with_id["externalIds"][0]["type"], "organization");
    assert!(
        is_millis_instant(&with_id["creationTime"]) && is_millis_instant(&with_id["lastLoginTime"])
    );
    assert_eq!(with_id["customerId"], info(&g.run, "customer_id").as_str());
    // Never signed in: the epoch (§11.2 HR mapping note).
    assert!(
        users
            .iter()
            .any(|u| u["lastLoginTime"] == "1970-01-01T00:00:00.000Z")
    );
    // suspensionReason only when suspended.
    for u in users {
        assert_eq!(
            u.get("suspensionReason").is_some(),
            u["suspended"] == true,
            "{u}"
        );
    }
    assert!(users.iter().any(|u| u["archived"] == true));
}

#[tokio::test]
async fn pages_follow_next_page_token_and_limits_are_checked() {
    // §11.2: maxResults default 100, max 500; pageToken from nextPageToken.
    let g = google(GoogleOptions {
        page_size: Some(70),
        ..GoogleOptions::default()
    })
    .await;
    let first = "/admin/directory/v1/users?customer=my_customer&maxResults=500";
    let mut url = first.to_string();
    let (mut count, mut pages) = (0, 0);
    loop {
        let page = json(g.get(&url).await).await;
        count += page["users"].as_array().map_or(0, Vec::len);
        pages += 1;
        match page["nextPageToken"].as_str() {
            Some(t) => url = format!("{first}&pageToken={t}"),
            None => break,
        }
    }
    let state = g.state().await;
    let live = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["deleted"] == false)
        .count();
    assert_eq!(count, live);
    assert!(pages >= 3);
    let default = json(
        g.get("/admin/directory/v1/users?customer=my_customer")
            .await,
    )
    .await;
    assert_eq!(default["users"].as_array().unwrap().len(), 70);
    for (path, reason) in [
        (
            "/admin/directory/v1/users?customer=my_customer&maxResults=501",
            "invalid",
        ),
        ("/admin/directory/v1/users", "badRequest"),
        (
            "/admin/directory/v1/users?customer=my_customer&pageToken=garbage",
            "invalid",
        ),
    ] {
        let r = g.get(path).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path}");
        assert_eq!(
            json(r).await["error"]["errors"][0]["reason"],
            reason,
            "{path}"
        );
    }
    let by_domain = g
        .get(&format!(
            "/admin/directory/v1/users?domain={}",
            info(&g.run, "domain")
        ))
        .await;
    assert_eq!(by_domain.status(), StatusCode::OK);
}

#[tokio::test]
async fn deleted_users_are_listed_only_with_show_deleted() {
    // §11.2: `showDeleted=true` lists deleted users instead.
    let g = google(GoogleOptions::default()).await;
    let live = json(
        g.get("/admin/directory/v1/users?customer=my_customer&maxResults=500")
            .await,
    )
    .await;
    assert!(
        live["users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u.get("deletionTime").is_none())
    );
    let gone = json(
        g.get("/admin/directory/v1/users?customer=my_customer&showDeleted=true")
            .await,
    )
    .await;
    let gone = gone["users"].as_array().unwrap();
    assert!(!gone.is_empty());
    assert!(gone.iter().all(|u| is_millis_instant(&u["deletionTime"])));
}

#[tokio::test]
async fn errors_carry_google_error_objects() {
    // §11.4: `{"error": {"code", "message", "errors": [{domain, reason, message}]}}`.
    let g = google(GoogleOptions {
        token_scopes: vec![USER_READONLY.into()],
        ..GoogleOptions::default()
    })
    .await;
    let r = g
        .get_as(
            "ya29.nope",
            "/admin/directory/v1/users?customer=my_customer",
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let e = json(r).await;
    assert_eq!(e["error"]["code"], 401);
    assert_eq!(e["error"]["errors"][0]["reason"], "authError");
    assert_eq!(
        keys(&e["error"]["errors"][0]),
        sorted(&["domain", "message", "reason"])
    );
    let r = g
        .get("/admin/directory/v1/groups?customer=my_customer")
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        json(r).await["error"]["errors"][0]["reason"],
        "insufficientPermissions"
    );
    let r = g.get("/admin/directory/v1/users/nobody@acme.example").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await["error"]["errors"][0]["reason"], "notFound");
}

#[tokio::test]
async fn over_quota_is_403_user_rate_limit_exceeded() {
    // §11.4 error body with reason userRateLimitExceeded.
    let g = google(GoogleOptions::default()).await;
    put_faults(&g.run, json!({"burst_every": 1, "burst_length": 1})).await;
    let r = g
        .get("/admin/directory/v1/users?customer=my_customer")
        .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(header(&r, "retry-after").is_none());
    let e = json(r).await;
    assert_eq!(e["error"]["code"], 403);
    let first = &e["error"]["errors"][0];
    assert_eq!(
        (first["domain"].as_str(), first["reason"].as_str()),
        (Some("global"), Some("userRateLimitExceeded"))
    );
    assert!(first["message"].is_string() && e["error"]["message"].is_string());
}

#[tokio::test]
async fn groups_and_members() {
    // §11.3: groups (max 200 a page, or of one user with userKey) and members.
    let g = google(GoogleOptions::default()).await;
    let page = json(
        g.get("/admin/directory/v1/groups?customer=my_customer&maxResults=200")
            .await,
    )
    .await;
    assert_eq!(page["kind"], "admin#directory#groups");
    let groups = page["groups"].as_array().unwrap();
    let admins = groups.iter().find(|x| x["name"] == "it-admins").unwrap();
    assert_eq!(admins["kind"], "admin#directory#group");
    assert_eq!(
        admins["email"],
        format!("it-admins@{}", info(&g.run, "domain")).as_str()
    );
    let members = json(
        g.get(&format!(
            "/admin/directory/v1/groups/{}/members",
            admins["id"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert_eq!(members["kind"], "admin#directory#members");
    let m = &members["members"][0];
    assert_eq!(
        (m["kind"].as_str(), m["type"].as_str(), m["role"].as_str()),
        (Some("admin#directory#member"), Some("USER"), Some("MEMBER"))
    );
    let of_user = json(
        g.get(&format!(
            "/admin/directory/v1/groups?userKey={}",
            m["email"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert!(
        of_user["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["id"] == admins["id"])
    );
    let r = g
        .get("/admin/directory/v1/groups?customer=my_customer&maxResults=201")
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn the_token_endpoint_checks_signature_claims_and_delegation() {
    // §11.1: JWT-bearer grant, impersonating an admin (`sub`) for delegated scopes.
    let g = google(GoogleOptions {
        delegated_scopes: vec![USER_READONLY.into()],
        ..GoogleOptions::default()
    })
    .await;
    let admin = info(&g.run, "subject");
    let ok = g
        .exchange(&g.assertion(g.claims(&admin, USER_READONLY)))
        .await;
    assert_eq!(ok.status(), StatusCode::OK);
    let t = json(ok).await;
    assert_eq!(
        keys(&t),
        sorted(&["access_token", "expires_in", "token_type"])
    );
    let token = t["access_token"].as_str().unwrap().to_string();
    let r = g
        .get_as(
            &token,
            "/admin/directory/v1/users?customer=my_customer&maxResults=1",
        )
        .await;
    assert_eq!(r.status(), StatusCode::OK);

    let signed = g.assertion(g.claims(&admin, USER_READONLY));
    let (input, sig) = signed.rsplit_once('.').unwrap();
    let mut sig = URL_SAFE_NO_PAD.decode(sig).unwrap();
    sig[10] ^= 0x01;
    let tampered = format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig));
    let r = g.exchange(&tampered).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json(r).await,
        json!({"error": "invalid_grant", "error_description": "Invalid JWT Signature."})
    );

    let both = format!("{USER_READONLY} {GROUP_READONLY}");
    let r = g.exchange(&g.assertion(g.claims(&admin, &both))).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(r).await["error"], "unauthorized_client");

    let r = g
        .exchange(&g.assertion(g.claims("nobody@acme.example", USER_READONLY)))
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        json(r).await["error_description"],
        "Invalid email or User ID"
    );

    let mut long = g.claims(&admin, USER_READONLY);
    long["exp"] = json!(long["iat"].as_i64().unwrap() + 7200);
    let r = g.exchange(&g.assertion(long)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["error"], "invalid_grant");
}
