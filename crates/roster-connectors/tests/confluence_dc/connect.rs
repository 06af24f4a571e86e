//! `connect test`: good credentials, rejected ones, and missing rights.

use super::*;

/// `connect test`: every check passes with good credentials, with the PAT and with Basic.
#[tokio::test]
async fn connection_checks_pass_with_good_credentials() {
    let running = sim(DcOptions::default()).await;
    for basic in [false, true] {
        let checks = target(&running, basic).check_connection().await;
        let names: Vec<&str> = checks.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "Confluence DC credentials",
                "Administrator rights",
                "Confluence groups",
                "Confluence spaces",
                "Space permissions"
            ]
        );
        assert!(checks.iter().all(|c| c.ok), "basic {basic}: {checks:#?}");
        assert!(checks[0].detail.contains("(admin)"), "{}", checks[0].detail);
        assert!(
            checks[2].detail.contains("confluence-users"),
            "{}",
            checks[2].detail
        );
    }
}

/// A wrong PAT or password fails with a detail that names the credential (and the variable
/// it came from) without ever showing the secret.
#[tokio::test]
async fn connection_checks_name_a_rejected_credential() {
    let running = sim(DcOptions::default()).await;
    let wrong = "wrong-token-5f0c1d";
    let mut c = config(&running);
    c.pat_env = Some("CONFLUENCE_PAT".into());
    let t = ConfluenceDcTarget::new(
        "confluence",
        c,
        DcSecrets {
            password: None,
            pat: Some(wrong.into()),
        },
    )
    .unwrap();
    let checks = t.check_connection().await;
    assert!(!checks[0].ok, "{checks:#?}");
    assert!(
        checks[0]
            .detail
            .contains("personal access token rejected: check CONFLUENCE_PAT"),
        "{}",
        checks[0].detail
    );
    assert!(checks.iter().all(|c| !c.ok), "{checks:#?}");
    for c in &checks {
        assert!(!c.detail.contains(wrong), "{c:?}");
    }

    let mut c = config(&running);
    c.password_env = Some("CONFLUENCE_PASSWORD".into());
    let t = ConfluenceDcTarget::new(
        "confluence",
        c,
        DcSecrets {
            password: Some(wrong.into()),
            pat: None,
        },
    )
    .unwrap();
    let checks = t.check_connection().await;
    assert!(
        !checks[0].ok
            && checks[0]
                .detail
                .contains("password rejected for admin: check CONFLUENCE_PASSWORD"),
        "{checks:#?}"
    );
    for c in &checks {
        assert!(!c.detail.contains(wrong), "{c:?}");
    }
}

/// A site that authenticates the account but refuses it administration and one space's
/// permissions, and a configured licence group that does not exist: each check says which.
#[tokio::test]
async fn connection_checks_say_which_right_is_missing() {
    use axum::http::StatusCode;
    use axum::routing::get;
    let envelope = |status: u16, message: &str| {
        json!({"statusCode": status, "data": {"authorized": false, "valid": true, "errors": [], "successful": false},
               "message": message, "reason": "Forbidden"})
    };
    let forbidden = envelope(403, "User is not permitted to perform this operation");
    let f2 = forbidden.clone();
    let app = axum::Router::new()
        .route(
            "/rest/api/user/current",
            get(|| async {
                axum::Json(json!({"type": "known", "username": "bot", "userKey": "k1", "displayName": "Roster Bot"}))
            }),
        )
        .route(
            "/rest/api/admin/users/list/active",
            get(move || async move { (StatusCode::FORBIDDEN, axum::Json(forbidden)) }),
        )
        .route(
            "/rest/api/group",
            get(|| async { axum::Json(json!({"results": [], "start": 0, "limit": 1, "size": 0, "_links": {}})) }),
        )
        .route(
            "/rest/api/group/{name}",
            get(move || async move {
                (
                    StatusCode::NOT_FOUND,
                    axum::Json(envelope(404, "Group not found")),
                )
            }),
        )
        .route(
            "/rest/api/space",
            get(|| async {
                axum::Json(json!({"results": [{"id": 1, "key": "ENG", "name": "Engineering"}],
                                  "start": 0, "limit": 1, "size": 1, "_links": {}}))
            }),
        )
        .route(
            "/rest/api/space/{key}/permissions",
            get(move || async move { (StatusCode::FORBIDDEN, axum::Json(f2)) }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let config = ConfluenceDcConfig {
        base_url: format!("http://{addr}"),
        username: None,
        password_env: None,
        pat_env: Some("CONFLUENCE_PAT".into()),
        licence_groups: BTreeMap::from([("confluence".into(), "confluence-users".into())]),
        http: policy(),
    };
    let t = ConfluenceDcTarget::new(
        "confluence",
        config,
        DcSecrets {
            password: None,
            pat: Some("pat".into()),
        },
    )
    .unwrap();
    let checks = t.check_connection().await;
    let ok: Vec<bool> = checks.iter().map(|c| c.ok).collect();
    assert_eq!(ok, [true, false, false, true, false], "{checks:#?}");
    assert!(
        checks[1].detail.contains("bot is not an administrator: the account must be a Confluence administrator (member of confluence-administrators) to manage users and groups"),
        "{}",
        checks[1].detail
    );
    assert!(
        checks[2]
            .detail
            .contains("licence group confluence-users (licence_groups.confluence) does not exist"),
        "{}",
        checks[2].detail
    );
    assert!(
        checks[4]
            .detail
            .contains("bot may not read the permissions of space ENG"),
        "{}",
        checks[4].detail
    );
}
