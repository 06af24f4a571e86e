//! Organization admin API (ref §3) and fault injection (ref §5.3).

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::*;
use roster_sim::FaultConfig;
use roster_sim::cloud::CloudOptions;

/// ref §3.4, §3.7, §3.8, §3.10.
#[tokio::test]
async fn org_admin_users_and_lifecycle() {
    let s = sim().await;
    let org = s.info("org_id");
    let dir = s.info("directory_id");
    let (st, p) = body(
        s.admin(
            Method::GET,
            &format!("/admin/v2/orgs/{org}/directories/{dir}/users?limit=2&expand=productAccess"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(p["data"].as_array().unwrap().len(), 2);
    let u = &p["data"][0];
    for (k, v) in [
        ("status", "active"),
        ("accountStatus", "active"),
        ("membershipStatus", "active"),
        ("accountType", "atlassian"),
    ] {
        assert_eq!(u[k], v, "{k}");
    }
    assert_eq!(u["email"], s.info("email"));
    assert_eq!(u["productAccess"][0]["key"], "confluence");
    // Seeded as active two days ago; an account's last activity can be set through `/_sim/`.
    let grace = &p["data"][1];
    assert!(grace["productAccess"][0]["lastActiveTimestamp"].is_string());
    let r = s
        .http
        .put(format!(
            "{}/_sim/users/{}/last-active",
            s.info("site_url"),
            grace["accountId"].as_str().unwrap()
        ))
        .json(&json!({"lastActiveTimestamp": "2026-08-30T09:15:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, plain) = body(
        s.admin(
            Method::GET,
            &format!("/admin/v2/orgs/{org}/directories/-/users?limit=2"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert!(
        plain["data"][1].get("productAccess").is_none(),
        "productAccess only with expand=productAccess"
    );
    let (_, expanded) = body(
        s.admin(
            Method::GET,
            &format!(
                "/admin/v2/orgs/{org}/directories/-/users?limit=2&expand=groups,productAccess"
            ),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        expanded["data"][1]["productAccess"][0]["lastActiveTimestamp"],
        "2026-08-30T09:15:00Z"
    );
    assert!(expanded["data"][1]["groups"].is_array());
    assert!(p["links"]["self"].is_string() && p["links"]["prev"].is_null());
    let cursor = p["links"]["next"].as_str().unwrap();
    let (_, p2) = body(
        s.admin(
            Method::GET,
            &format!("/admin/v2/orgs/{org}/directories/-/users"),
        )
        .query(&[("cursor", cursor)])
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(p2["data"].as_array().unwrap().len(), 1);
    assert!(p2["links"]["next"].is_null() && p2["links"]["prev"].is_string());
    let (st, v) = body(
        s.admin(
            Method::GET,
            &format!("/admin/v2/orgs/{org}/directories/-/users?limit=101"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::BAD_REQUEST);
    assert_eq!(v["errors"][0]["status"], "400");
    assert!(
        v["errors"][0]["code"]
            .as_str()
            .unwrap()
            .starts_with("ADMIN-UAM-")
    );

    let account = p2["data"][0]["accountId"].as_str().unwrap();
    let r = s
        .admin(
            Method::POST,
            &format!("/users/{account}/manage/lifecycle/disable"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, p2) = body(
        s.admin(
            Method::GET,
            &format!("/admin/v2/orgs/{org}/directories/-/users"),
        )
        .query(&[("cursor", cursor)])
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(p2["data"][0]["status"], "deactivated");
    assert!(p2["data"][0].get("productAccess").is_none());
    let r = s
        .admin(
            Method::POST,
            &format!("/users/{account}/manage/lifecycle/enable"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (st, v) = body(
        s.admin(
            Method::POST,
            "/users/557058:nobody/manage/lifecycle/disable",
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::NOT_FOUND);
    assert_eq!(
        v,
        json!({"key": "accountNotFound", "errorKey": "account-not-found", "errorDetail": "Error: User account not found"})
    );
    let r = s
        .http
        .get(format!(
            "{}/admin/v2/orgs/{org}/directories/{dir}/users",
            s.info("admin_api_url")
        ))
        .bearer_auth("wrong")
        .send()
        .await
        .unwrap();
    let (st, v) = body(r).await;
    assert_eq!(
        (st, v),
        (
            StatusCode::UNAUTHORIZED,
            json!({"code": 401, "message": "Unauthorized"})
        )
    );
    let (st, v) = body(
        s.admin(
            Method::GET,
            &format!("/admin/v1/orgs/{org}/directory/users/{account}/last-active-dates"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["data"]["product_access"], json!([]));
    assert!(v["data"]["added_to_org"].is_string());
    let (st, v) = body(
        s.admin(
            Method::GET,
            &format!("/admin/v1/orgs/{org}/directory/users/557058:nobody/last-active-dates"),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        (st, v["errors"][0]["code"].clone()),
        (StatusCode::NOT_FOUND, json!("ADMIN-UAM-404-1"))
    );
}

/// Fault injection (faults.rs) with the Cloud 429 shape (ref §5.3).
#[tokio::test]
async fn faults_errors_rate_limits_and_dropped_writes() {
    let s = start(CloudOptions {
        faults: FaultConfig {
            error_rate: 1.0,
            ..FaultConfig::default()
        },
        ..CloudOptions::default()
    })
    .await;
    for _ in 0..5 {
        let r = s
            .wiki(Method::GET, "/wiki/rest/api/user/current")
            .send()
            .await
            .unwrap();
        assert!(r.status().is_server_error(), "{}", r.status());
    }
    assert_eq!(
        s.state().await["spaces"].as_array().unwrap().len(),
        3,
        "/_sim/ is never faulted"
    );

    let s = start(CloudOptions {
        faults: FaultConfig {
            burst_every: 4,
            burst_length: 2,
            retry_after_secs: 7,
            ..FaultConfig::default()
        },
        ..CloudOptions::default()
    })
    .await;
    let mut limited = 0;
    for _ in 0..8 {
        let r = s
            .wiki(Method::GET, "/wiki/rest/api/group")
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            limited += 1;
            let h = r.headers();
            assert_eq!(h["retry-after"], "7");
            assert_eq!(h["x-ratelimit-remaining"], "0");
            assert!(h.contains_key("x-ratelimit-limit"));
            let reset = h["x-ratelimit-reset"].to_str().unwrap();
            assert_eq!(
                (reset.len(), &reset[10..11], &reset[16..]),
                (17, "T", "Z"),
                "{reset}"
            );
            assert_eq!(h["ratelimit-reason"], "confluence-quota-tenant-based");
            assert_eq!(
                r.json::<Value>().await.unwrap(),
                json!({"message": "Rate limit exceeded."})
            );
        } else {
            assert_eq!(r.status(), StatusCode::OK);
        }
    }
    assert_eq!(limited, 4);

    let s = start(CloudOptions {
        faults: FaultConfig {
            drop_after_write_rate: 1.0,
            ..FaultConfig::default()
        },
        ..CloudOptions::default()
    })
    .await;
    let err = s
        .wiki(Method::POST, "/wiki/rest/api/group")
        .json(&json!({"name": "dropped-but-done"}))
        .send()
        .await
        .expect_err("the connection is dropped");
    assert!(
        err.is_request() && !err.is_status() && !err.is_timeout(),
        "{err:?}"
    );
    let st = s.state().await;
    assert!(
        st["groups"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "dropped-but-done"),
        "the write happened"
    );
    // Reads are not dropped.
    let r = s
        .wiki(Method::GET, "/wiki/rest/api/group")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
