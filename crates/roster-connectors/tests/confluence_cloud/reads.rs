//! Reading the site: the seeded spaces and groups, many pages, a broken pager, last-active dates.

use super::*;

#[tokio::test]
async fn reads_the_seeded_site() {
    let sim = sim().await;
    let t = target(&sim.info);
    let state = t.read_state().await.unwrap();
    for g in ["confluence-users", "confluence-admins", "site-admins"] {
        assert!(state.groups.contains(g), "{g} in {:?}", state.groups);
    }
    // The seeded people have no SCIM record: accounts without an employee id.
    let by_email: HashMap<&str, _> = state
        .accounts
        .iter()
        .map(|a| (a.email.as_str(), a))
        .collect();
    let grace = by_email["grace.hopper@example.com"];
    assert_eq!(grace.employee_id, None);
    assert!(grace.active);
    assert!(
        grace
            .entitlements
            .contains(&Entitlement::group("confluence-users"))
    );
    assert!(
        grace
            .entitlements
            .contains(&Entitlement::licence("confluence"))
    );
    let admin = by_email["admin@example.com"];
    assert!(
        admin
            .entitlements
            .contains(&Entitlement::group("site-admins"))
    );
    for space in ["DOCS", "HR", "IT"] {
        for (group, op) in [
            ("confluence-admins", "read"),
            ("confluence-admins", "administer"),
            ("confluence-users", "read"),
        ] {
            let p = GroupSpacePermission {
                group: group.into(),
                space: space.into(),
                operation: op.into(),
            };
            assert!(state.group_space_permissions.contains(&p), "{p:?}");
        }
    }
}

#[tokio::test]
async fn reads_past_many_pages() {
    let sim = sim().await;
    let t = target(&sim.info);
    let client = scim(&sim.info);
    for n in 0..260 {
        let p = person(n);
        let user = ScimUser {
            external_id: Some(p.employee_id.clone()),
            user_name: p.email.clone(),
            display_name: Some(p.display_name.clone()),
            emails: vec![roster_connectors::scim_client::ScimEmail::work(&p.email)],
            active: Some(true),
            ..Default::default()
        };
        client.create_user(&user).await.unwrap();
    }
    let users = client.list_users().await.unwrap();
    assert_eq!(users.len(), 260, "three pages of at most 100");
    let ids: BTreeSet<_> = users.iter().map(|u| u.id.clone().unwrap()).collect();
    assert_eq!(ids.len(), 260);

    twice(
        &t,
        Action::CreateGroup {
            group: "big".into(),
        },
    )
    .await;
    for n in 0..205 {
        let action = Action::Add {
            account: person(n),
            entitlement: Entitlement::group("big"),
        };
        assert_eq!(t.apply(&action).await, Ok(StepOutcome::Applied));
    }
    let state = t.read_state().await.unwrap();
    let members = state
        .accounts
        .iter()
        .filter(|a| a.entitlements.contains(&Entitlement::group("big")))
        .count();
    assert_eq!(
        members, 205,
        "membersByGroupId read past its 200-member page"
    );
    assert_eq!(
        state
            .accounts
            .iter()
            .filter(|a| a.employee_id.is_some())
            .count(),
        260
    );
    // Already a member: found on the member list's second page.
    let again = Action::Add {
        account: person(204),
        entitlement: Entitlement::group("big"),
    };
    assert_eq!(t.apply(&again).await, Ok(StepOutcome::AlreadyDone));
}

/// Group pages that repeat whatever `start` says (CONFCLOUD-56322) stop the read.
#[tokio::test]
async fn a_repeated_group_page_is_an_error_not_a_short_list() {
    use axum::extract::Query;
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/scim/Users",
            get(|| async { axum::Json(json!({"totalResults": 0, "Resources": []})) }),
        )
        .route(
            "/wiki/rest/api/group",
            get(|Query(q): Query<HashMap<String, String>>| async move {
                let start: u64 = q.get("start").and_then(|s| s.parse().ok()).unwrap_or(0);
                axum::Json(json!({
                    "results": [{"type": "group", "name": "g", "id": "1"}],
                    "start": 0, "limit": 1, "size": 1,
                    "_links": {"base": "http://x/wiki", "next": format!("/rest/api/group?start={}", start + 1)}
                }))
            }),
        );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    let info = json!({"site_url": format!("http://{addr}"), "scim_base_url": format!("http://{addr}/scim"),
                      "email": "a@example.com", "api_token": "t", "scim_key": "k"});
    let e = target(&info).read_state().await.unwrap_err();
    assert!(
        matches!(&e, TargetError::Permanent(m) if m.contains("paging went in a circle")),
        "{e:?}"
    );
}

/// With the organization admin API configured, a read carries when each account was last
/// active in Confluence (`productAccess[].lastActiveTimestamp`, ref §3.4), past the first page
/// of org users, and the org's account status for accounts SCIM has no record of. Without the
/// org key nothing changes; a wrong org key fails the read instead of leaving dates out.
#[tokio::test]
async fn reads_last_active_dates_from_the_org_admin_api() {
    let sim = sim().await;
    let t = target(&sim.info);
    let client = scim(&sim.info);
    // Two pages of org users (100 a page); the last person is licensed, so it has
    // Confluence product access.
    for n in 0..110 {
        let p = person(n);
        let user = ScimUser {
            external_id: Some(p.employee_id.clone()),
            user_name: p.email.clone(),
            display_name: Some(p.display_name.clone()),
            emails: vec![roster_connectors::scim_client::ScimEmail::work(&p.email)],
            active: Some(true),
            ..Default::default()
        };
        client.create_user(&user).await.unwrap();
    }
    let licensed = Action::Add {
        account: person(109),
        entitlement: Entitlement::licence("confluence"),
    };
    assert_eq!(t.apply(&licensed).await, Ok(StepOutcome::Applied));
    // Alan keeps an active account but loses his licence: Confluence shows him without
    // `use application` in `eng`; only the org says his account is active.
    twice(
        &t,
        Action::CreateGroup {
            group: "eng".into(),
        },
    )
    .await;
    let before = t.read_state().await.unwrap();
    let find = |state: &roster_core::state::ActualState, email: &str| {
        state
            .accounts
            .iter()
            .find(|a| a.email == email)
            .unwrap_or_else(|| panic!("{email} in {:?}", state.accounts))
            .clone()
    };
    let alan = find(&before, "alan.turing@example.com");
    let alan_ref = AccountRef {
        employee_id: "ALAN".into(),
        email: alan.email.clone(),
        display_name: alan.display_name.clone(),
        external_id: Some(alan.external_id.clone()),
    };
    for action in [
        Action::Add {
            account: alan_ref.clone(),
            entitlement: Entitlement::group("eng"),
        },
        Action::Remove {
            account: alan_ref,
            entitlement: Entitlement::licence("confluence"),
        },
    ] {
        assert_eq!(
            t.apply(&action).await,
            Ok(StepOutcome::Applied),
            "{action:?}"
        );
    }

    let grace = find(&before, "grace.hopper@example.com");
    let last = find(&before, &person(109).email);
    assert!(last.employee_id.is_some(), "a SCIM account: {last:?}");
    let set = |account: String, at: &'static str| {
        let url = format!(
            "{}/_sim/users/{account}/last-active",
            s(&sim.info, "site_url")
        );
        async move {
            let r = reqwest::Client::new()
                .put(url)
                .json(&json!({ "lastActiveTimestamp": at }))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), reqwest::StatusCode::NO_CONTENT);
        }
    };
    set(grace.external_id.clone(), "2026-08-30T09:15:00Z").await;
    set(last.external_id.clone(), "2026-09-01T07:30:00Z").await;

    let state = t.read_state().await.unwrap();
    let at = |s: &str| Some(s.parse::<jiff::Timestamp>().unwrap());
    assert_eq!(
        find(&state, &grace.email).last_active,
        at("2026-08-30T09:15:00Z")
    );
    assert_eq!(
        find(&state, &last.email).last_active,
        at("2026-09-01T07:30:00Z"),
        "read past the first page of org users"
    );
    // Never active in Confluence (and no product access left).
    assert_eq!(find(&state, &alan.email).last_active, None);
    assert!(
        find(&state, &alan.email).active,
        "no SCIM record: the org's accountStatus says active"
    );

    // Without the org key: no org admin API, no dates, Confluence's view of Alan.
    let plain = ConfluenceCloudTarget::new(
        "confluence",
        config(&sim.info),
        CloudSecrets {
            org_key: None,
            ..secrets(&sim.info)
        },
    )
    .unwrap();
    let state = plain.read_state().await.unwrap();
    assert!(
        state.accounts.iter().all(|a| a.last_active.is_none()),
        "{:?}",
        state.accounts
    );
    assert!(!find(&state, &alan.email).active);

    // A wrong org key is an error, not a read without dates.
    let wrong = ConfluenceCloudTarget::new(
        "confluence",
        config(&sim.info),
        CloudSecrets {
            org_key: Some("wrong".into()),
            ..secrets(&sim.info)
        },
    )
    .unwrap();
    let e = wrong.read_state().await.unwrap_err();
    assert!(
        matches!(&e, TargetError::Permanent(m) if m.contains("organization API key rejected")),
        "{e:?}"
    );
}
