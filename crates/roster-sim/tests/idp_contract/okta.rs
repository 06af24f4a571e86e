//! Okta simulator against reference §9.

use std::collections::BTreeSet;

use reqwest::StatusCode;
use roster_sim::okta::{OktaOptions, start};
use serde_json::{Value, json};

use super::*;

struct Okta {
    run: roster_sim::Running,
    http: Client,
}

async fn okta(options: OktaOptions) -> Okta {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Okta {
        run: start(listener, options).await.unwrap(),
        http: client(),
    }
}

impl Okta {
    async fn get(&self, path_or_url: &str) -> Response {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_string()
        } else {
            format!("{}{path_or_url}", info(&self.run, "base_url"))
        };
        self.http
            .get(url)
            .header(
                "authorization",
                format!("SSWS {}", info(&self.run, "token")),
            )
            .header("accept", "application/json")
            .send()
            .await
            .unwrap()
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
}

/// The `Link` header lines of an answer, by `rel`.
fn links(r: &Response) -> Vec<(String, String)> {
    r.headers()
        .get_all("link")
        .iter()
        .map(|v| {
            let v = v.to_str().unwrap();
            let (url, rel) = v.split_once("; rel=").unwrap();
            (
                rel.trim_matches('"').to_string(),
                url.trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_user_has_the_fields_of_the_spec_example() {
    // §9.2 "User (from spec example)".
    let o = okta(OktaOptions::default()).await;
    let r = o.get("/api/v1/users?limit=1").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/json")
    );
    let users = json(r).await;
    let u = &users.as_array().unwrap()[0];
    assert_eq!(
        keys(u),
        sorted(&[
            "id",
            "status",
            "created",
            "activated",
            "statusChanged",
            "lastLogin",
            "lastUpdated",
            "passwordChanged",
            "type",
            "profile",
            "credentials",
            "_links",
        ])
    );
    let id = u["id"].as_str().unwrap();
    assert!(id.starts_with("00u") && id.len() == 20, "{id}");
    for k in ["created", "lastUpdated"] {
        assert!(is_millis_instant(&u[k]), "{k}: {}", u[k]);
    }
    for k in ["activated", "statusChanged", "lastLogin", "passwordChanged"] {
        assert!(u[k].is_null() || is_millis_instant(&u[k]), "{k}: {}", u[k]);
    }
    assert!(u["type"]["id"].is_string());
    for k in [
        "firstName",
        "lastName",
        "login",
        "email",
        "mobilePhone",
        "secondEmail",
        "department",
        "title",
    ] {
        assert!(u["profile"].get(k).is_some(), "profile.{k}");
    }
    assert_eq!(
        u["credentials"]["provider"],
        json!({"type": "OKTA", "name": "OKTA"})
    );
    assert_eq!(
        u["_links"]["self"]["href"],
        json!(format!("{}/api/v1/users/{id}", info(&o.run, "base_url")))
    );
    // Only while an asynchronous lifecycle change runs (§9.3).
    assert!(u.get("transitioningToStatus").is_none());
}

#[tokio::test]
async fn pages_are_linked_with_separate_link_headers_until_no_next() {
    // §9.2 Pagination: `Link: <...>; rel="self"` and `Link: <...after=...>; rel="next"`.
    let o = okta(OktaOptions {
        page_size: Some(60),
        ..OktaOptions::default()
    })
    .await;
    let mut url = "/api/v1/users?limit=200".to_string();
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    loop {
        let r = o.get(&url).await;
        let l = links(&r);
        assert_eq!(l[0].0, "self");
        let next = l
            .iter()
            .find(|(rel, _)| rel == "next")
            .map(|(_, u)| u.clone());
        let page = json(r).await;
        assert!(page.as_array().unwrap().len() <= 60);
        for u in page.as_array().unwrap() {
            assert!(
                seen.insert(u["id"].as_str().unwrap().to_string()),
                "repeated {u}"
            );
        }
        pages += 1;
        match next {
            Some(n) => {
                assert!(n.contains("after=") && n.contains("limit=60"), "{n}");
                url = n;
            }
            None => break,
        }
    }
    assert!(pages >= 3, "{pages} pages");
    let state = o.state().await;
    let live = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] != "DEPROVISIONED")
        .count();
    assert_eq!(seen.len(), live);
}

#[tokio::test]
async fn deprovisioned_users_appear_only_with_filter_or_search() {
    // §9.2: no query omits DEPROVISIONED; filter and search include them; q omits them.
    let o = okta(OktaOptions::default()).await;
    let statuses = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|u| u["status"].as_str().unwrap().to_string())
            .collect()
    };
    let plain = json(o.get("/api/v1/users?limit=200").await).await;
    assert!(!statuses(&plain).contains("DEPROVISIONED"));
    for q in [
        "filter=status%20eq%20%22DEPROVISIONED%22",
        "search=status%20eq%20%22DEPROVISIONED%22",
    ] {
        let r = o.get(&format!("/api/v1/users?{q}")).await;
        assert_eq!(r.status(), StatusCode::OK, "{q}");
        let gone = json(r).await;
        assert_eq!(
            statuses(&gone),
            BTreeSet::from(["DEPROVISIONED".to_string()]),
            "{q}"
        );
    }
    // `q` has a default limit of 10 and is not pageable.
    let r = o.get("/api/v1/users?q=a").await;
    assert!(links(&r).iter().all(|(rel, _)| rel != "next"));
    let found = json(r).await;
    assert!(found.as_array().unwrap().len() <= 10);
    assert!(!statuses(&found).contains("DEPROVISIONED"));
}

#[tokio::test]
async fn filter_accepts_only_its_attributes_and_operators() {
    // §9.2: filter on status, lastUpdated, id, login, email, names; `eq` only except
    // lastUpdated; search on any profile attribute.
    let o = okta(OktaOptions::default()).await;
    let r = o
        .get("/api/v1/users?filter=profile.department%20eq%20%22Sales%22")
        .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e = json(r).await;
    assert_eq!(e["errorCode"], "E0000031");
    assert!(!e["errorCauses"].as_array().unwrap().is_empty());
    let r = o
        .get("/api/v1/users?filter=lastUpdated%20gt%20%222000-01-01T00:00:00.000Z%22")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = o
        .get("/api/v1/users?search=profile.department%20eq%20%22Sales%22")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let sales = json(r).await;
    assert!(!sales.as_array().unwrap().is_empty());
    assert!(
        sales
            .as_array()
            .unwrap()
            .iter()
            .all(|u| u["profile"]["department"] == "Sales")
    );
}

#[tokio::test]
async fn errors_carry_okta_error_objects() {
    // §9.5 error body and codes E0000011 (401), E0000006 (403), E0000007 (404).
    let o = okta(OktaOptions {
        can_read_groups: false,
        ..OktaOptions::default()
    })
    .await;
    let r = o
        .http
        .get(format!("{}/api/v1/users", o.run.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let e = json(r).await;
    assert_eq!(
        keys(&e),
        sorted(&[
            "errorCode",
            "errorSummary",
            "errorLink",
            "errorId",
            "errorCauses"
        ])
    );
    assert_eq!(
        (e["errorCode"].as_str(), e["errorLink"].as_str()),
        (Some("E0000011"), Some("E0000011"))
    );
    let r = o.get("/api/v1/groups").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(json(r).await["errorCode"], "E0000006");
    let r = o.get("/api/v1/users/00uNOSUCHUSER0000000").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(json(r).await["errorCode"], "E0000007");
}

#[tokio::test]
async fn every_answer_has_rate_limit_headers_and_429_is_e0000047_without_retry_after() {
    // §9.5: X-Rate-Limit-Limit/-Remaining/-Reset (UTC epoch seconds) on every response.
    let o = okta(OktaOptions::default()).await;
    let now = jiff::Timestamp::now().as_second();
    let r = o.get("/api/v1/users?limit=1").await;
    let n = |name: &str| header(&r, name).unwrap().parse::<i64>().unwrap();
    assert!(n("x-rate-limit-limit") > 0 && n("x-rate-limit-remaining") >= 0);
    assert!(n("x-rate-limit-reset") >= now);
    let r = o.get("/api/v1/users/nobody").await;
    assert!(
        header(&r, "x-rate-limit-reset").is_some(),
        "errors carry them too"
    );

    put_faults(&o.run, json!({"rate_limit_per_sec": 2})).await;
    let mut last = None;
    for _ in 0..3 {
        last = Some(o.get("/api/v1/users?limit=1").await);
    }
    let r = last.unwrap();
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&r, "x-rate-limit-remaining").as_deref(), Some("0"));
    assert_eq!(header(&r, "x-rate-limit-limit").as_deref(), Some("2"));
    assert!(
        header(&r, "x-rate-limit-reset")
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > now
    );
    assert!(header(&r, "retry-after").is_none());
    let e = json(r).await;
    assert_eq!(e["errorCode"], "E0000047");
    assert_eq!(
        e["errorSummary"],
        "API call exceeded rate limit due to too many requests."
    );
}

#[tokio::test]
async fn groups_and_their_members_page_like_users() {
    // §9.4: groups, and members with `GET /api/v1/groups/{id}/users` paged via Link.
    let o = okta(OktaOptions {
        page_size: Some(20),
        ..OktaOptions::default()
    })
    .await;
    let groups = json(o.get("/api/v1/groups?limit=200").await).await;
    let groups = groups.as_array().unwrap();
    let everyone = groups
        .iter()
        .find(|g| g["profile"]["name"] == "Everyone")
        .unwrap();
    assert_eq!(everyone["type"], "BUILT_IN");
    assert_eq!(everyone["objectClass"], json!(["okta:user_group"]));
    let eng = groups
        .iter()
        .find(|g| g["profile"]["name"] == "dept-engineering")
        .unwrap();
    assert_eq!(eng["type"], "OKTA_GROUP");
    let mut url = format!("/api/v1/groups/{}/users", eng["id"].as_str().unwrap());
    let mut members = 0;
    let mut pages = 0;
    loop {
        let r = o.get(&url).await;
        let next = links(&r).into_iter().find(|(rel, _)| rel == "next");
        members += json(r).await.as_array().unwrap().len();
        pages += 1;
        match next {
            Some((_, n)) => url = n,
            None => break,
        }
    }
    assert!(
        pages >= 2 && members > 20,
        "{pages} pages, {members} members"
    );
    // The same membership seen from a member.
    let state = o.state().await;
    let engineer = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| {
            u["groups"]
                .as_array()
                .unwrap()
                .iter()
                .any(|g| g == "dept-engineering")
        })
        .unwrap();
    let mine = json(
        o.get(&format!(
            "/api/v1/users/{}/groups",
            engineer["id"].as_str().unwrap()
        ))
        .await,
    )
    .await;
    assert!(
        mine.as_array()
            .unwrap()
            .iter()
            .any(|g| g["id"] == eng["id"])
    );
}

#[tokio::test]
async fn the_admin_route_changes_a_users_status() {
    let o = okta(OktaOptions::default()).await;
    let users = json(o.get("/api/v1/users?limit=1").await).await;
    let id = users[0]["id"].as_str().unwrap().to_string();
    let patch = |body: Value| {
        o.http
            .patch(format!("{}/_sim/users/{id}", o.run.url()))
            .json(&body)
            .send()
    };
    let r = patch(json!({"status": "SUSPENDED", "lastLogin": null}))
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let u = json(o.get(&format!("/api/v1/users/{id}")).await).await;
    assert_eq!(
        (u["status"].as_str(), u["lastLogin"].is_null()),
        (Some("SUSPENDED"), true)
    );
    assert_eq!(
        patch(json!({"status": "ASLEEP"})).await.unwrap().status(),
        StatusCode::BAD_REQUEST
    );
}
