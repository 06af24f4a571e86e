//! Every action applied twice, `connect test`, and the configuration.

use super::*;

#[tokio::test]
async fn every_action_twice() {
    let sim = sim().await;
    let t = target(&sim.info);
    let ada = AccountRef {
        employee_id: "E10442".into(),
        email: "ada.lovelace@example.com".into(),
        display_name: "Ada Lovelace".into(),
        external_id: None,
    };
    let gsp = |op: &str| Action::GrantGroupSpacePermission {
        group: "eng".into(),
        space: "DOCS".into(),
        operation: op.into(),
    };
    let rgsp = |op: &str| Action::RevokeGroupSpacePermission {
        group: "eng".into(),
        space: "DOCS".into(),
        operation: op.into(),
    };
    let add = |e: Entitlement| Action::Add {
        account: ada.clone(),
        entitlement: e,
    };
    let remove = |e: Entitlement| Action::Remove {
        account: ada.clone(),
        entitlement: e,
    };

    twice(
        &t,
        Action::CreateGroup {
            group: "eng".into(),
        },
    )
    .await;
    twice(&t, gsp("read")).await;
    twice(&t, gsp("create:page")).await;
    twice(&t, gsp("delete_own")).await;
    twice(
        &t,
        Action::CreateAccount {
            account: ada.clone(),
            active: false,
        },
    )
    .await;
    let renamed = AccountRef {
        display_name: "Ada King".into(),
        ..ada.clone()
    };
    twice(&t, Action::UpdateAccount { account: renamed }).await;
    twice(
        &t,
        Action::ActivateAccount {
            account: ada.clone(),
        },
    )
    .await;
    twice(
        &t,
        Action::DeactivateAccount {
            account: ada.clone(),
        },
    )
    .await;
    twice(
        &t,
        Action::ActivateAccount {
            account: ada.clone(),
        },
    )
    .await;
    twice(&t, add(Entitlement::group("eng"))).await;
    twice(&t, add(Entitlement::licence("confluence"))).await;
    twice(&t, add(Entitlement::space("DOCS", "read"))).await;
    twice(&t, add(Entitlement::space("DOCS", "create:comment"))).await;
    twice(&t, add(Entitlement::space("DOCS", "archive"))).await;

    let state = t.read_state().await.unwrap();
    let a = state
        .accounts
        .iter()
        .find(|a| a.employee_id.as_deref() == Some("E10442"))
        .unwrap();
    assert_eq!(a.email, "ada.lovelace@example.com");
    assert_eq!(a.display_name, "Ada King");
    assert!(a.active);
    assert!(!a.external_id.is_empty());
    let want: BTreeSet<Entitlement> = [
        Entitlement::group("eng"),
        Entitlement::group("confluence-users"),
        Entitlement::licence("confluence"),
        Entitlement::space("DOCS", "read"),
        Entitlement::space("DOCS", "create:comment"),
        Entitlement::space("DOCS", "archive"),
    ]
    .into();
    assert_eq!(a.entitlements, want);
    for op in ["read", "create:page", "delete_own"] {
        let p = GroupSpacePermission {
            group: "eng".into(),
            space: "DOCS".into(),
            operation: op.into(),
        };
        assert!(state.group_space_permissions.contains(&p), "{p:?}");
    }

    // With the account id the plan would carry.
    let known = AccountRef {
        external_id: Some(a.external_id.clone()),
        ..ada.clone()
    };
    twice(
        &t,
        Action::Remove {
            account: known.clone(),
            entitlement: Entitlement::space("DOCS", "create:comment"),
        },
    )
    .await;
    twice(&t, remove(Entitlement::space("DOCS", "archive"))).await;
    twice(&t, remove(Entitlement::space("DOCS", "read"))).await;
    twice(&t, remove(Entitlement::licence("confluence"))).await;
    twice(
        &t,
        Action::Remove {
            account: known,
            entitlement: Entitlement::group("eng"),
        },
    )
    .await;
    twice(&t, rgsp("create:page")).await;
    twice(&t, rgsp("delete_own")).await;
    twice(&t, rgsp("read")).await;
    twice(
        &t,
        Action::DeactivateAccount {
            account: ada.clone(),
        },
    )
    .await;

    let state = t.read_state().await.unwrap();
    let a = state
        .accounts
        .iter()
        .find(|a| a.employee_id.as_deref() == Some("E10442"))
        .unwrap();
    assert!(!a.active);
    assert!(a.entitlements.is_empty(), "{:?}", a.entitlements);
    assert!(
        !state
            .group_space_permissions
            .iter()
            .any(|p| p.group == "eng")
    );

    // Things that do not exist are permanent errors, not retries.
    let missing = Action::Add {
        account: person(99),
        entitlement: Entitlement::group("eng"),
    };
    assert!(matches!(
        t.apply(&missing).await,
        Err(TargetError::Permanent(_))
    ));
    let no_group = add(Entitlement::group("no-such-group"));
    assert!(
        matches!(t.apply(&no_group).await, Err(TargetError::Permanent(m)) if m.contains("no-such-group"))
    );
    let no_space = Action::GrantGroupSpacePermission {
        group: "eng".into(),
        space: "NOPE".into(),
        operation: "read".into(),
    };
    assert!(
        matches!(t.apply(&no_space).await, Err(TargetError::Permanent(m)) if m.contains("NOPE"))
    );
}

#[tokio::test]
async fn connection_checks_say_what_is_wrong() {
    let sim = sim().await;
    let checks = target(&sim.info).check_connection().await;
    assert_eq!(checks.len(), 5, "{checks:?}");
    assert!(checks.iter().all(|c| c.ok), "{checks:#?}");

    let bad = CloudSecrets {
        api_token: "wrong".into(),
        scim_key: "wrong".into(),
        org_key: Some("wrong".into()),
    };
    let t = ConfluenceCloudTarget::new("confluence", config(&sim.info), bad).unwrap();
    let checks = t.check_connection().await;
    assert!(checks.iter().all(|c| !c.ok), "{checks:#?}");
    assert!(
        checks[0]
            .detail
            .contains("API token rejected for admin@example.com"),
        "{}",
        checks[0].detail
    );
    assert!(
        checks[1].detail.contains("directory API key rejected"),
        "{}",
        checks[1].detail
    );
    assert!(
        checks[4].detail.contains("organization API key rejected"),
        "{}",
        checks[4].detail
    );
}

#[test]
fn config_is_strict_and_has_defaults() {
    let c: ConfluenceCloudConfig = toml::from_str(
        r#"
        site_url = "https://acme.atlassian.net"
        scim_base_url = "https://api.atlassian.com/scim/directory/d"
        email = "bot@acme.example"
        api_token_env = "T"
        scim_key_env = "K"
        "#,
    )
    .unwrap();
    assert_eq!(c.licence_groups["confluence"], "confluence-users");
    assert_eq!(c.http, HttpPolicy::default());
    let e = toml::from_str::<ConfluenceCloudConfig>(
        r#"
        site_url = "x"
        scim_base_url = "y"
        email = "e"
        api_token_env = "T"
        scim_key_env = "K"
        api_token = "secret"
        "#,
    );
    assert!(e.is_err());
}
