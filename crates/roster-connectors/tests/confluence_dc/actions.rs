//! The configuration, the operation mapping, and every action applied twice.

use super::*;

#[test]
fn configuration_keys_and_secrets() {
    let c: ConfluenceDcConfig = toml::from_str(
        r#"
base_url = "https://confluence.example.com/wiki-ctx"
username = "roster"
password_env = "ROSTER_TEST_DC_PASSWORD_UNSET"
[http]
max_attempts = 3
"#,
    )
    .unwrap();
    assert_eq!(c.licence_groups["confluence"], "confluence-users");
    assert_eq!(c.http.max_attempts, 3);
    assert!(toml::from_str::<ConfluenceDcConfig>("base_url = \"x\"\ntoken = \"t\"").is_err());
    let e = DcSecrets::from_env(&c).unwrap_err();
    assert!(e.to_string().contains("ROSTER_TEST_DC_PASSWORD_UNSET"));
    let e = ConfluenceDcTarget::new("c", c, DcSecrets::default())
        .err()
        .unwrap();
    assert!(matches!(e, TargetError::Permanent(_)));
    let s = DcSecrets {
        password: Some("hunter2".into()),
        pat: None,
    };
    assert!(!format!("{s:?}").contains("hunter2"));
}

#[test]
fn operation_mapping() {
    for (roster, target, op) in [
        ("read", "space", "read"),
        ("administer", "space", "administer"),
        ("export", "space", "export"),
        ("restrict_content", "space", "restrict"),
        ("delete_own", "space", "delete_own"),
        ("create:page", "page", "create"),
        ("delete:attachment", "attachment", "delete"),
        ("delete_mail:space", "space", "delete_mail"),
    ] {
        assert_eq!(dc_pair(roster).unwrap(), (target.into(), op.into()));
        assert_eq!(roster_operation(target, op), roster);
    }
    let e = dc_pair("archive").unwrap_err();
    assert!(matches!(&e, TargetError::Permanent(m) if m.contains("archive")));
}

/// Every action, applied twice: the second time is `AlreadyDone`.
#[tokio::test]
async fn every_action_once_and_again() {
    let running = sim(DcOptions::default()).await;
    let t = target(&running, false);
    let p = person("E00042");
    let moved = AccountRef {
        email: "new.address@acme.example".into(),
        display_name: "Person Renamed".into(),
        ..p.clone()
    };
    let add = |e: Entitlement| Action::Add {
        account: p.clone(),
        entitlement: e,
    };
    let remove = |e: Entitlement| Action::Remove {
        account: p.clone(),
        entitlement: e,
    };
    let group_perm = |grant: bool, op: &str| {
        let (group, space, operation) = ("eng".to_string(), "DOCS".to_string(), op.to_string());
        if grant {
            Action::GrantGroupSpacePermission {
                group,
                space,
                operation,
            }
        } else {
            Action::RevokeGroupSpacePermission {
                group,
                space,
                operation,
            }
        }
    };
    let actions = vec![
        Action::CreateGroup {
            group: "eng".into(),
        },
        group_perm(true, "read"),
        group_perm(true, "create:page"),
        Action::CreateAccount {
            account: p.clone(),
            active: false,
        },
        Action::UpdateAccount {
            account: moved.clone(),
        },
        Action::ActivateAccount { account: p.clone() },
        add(Entitlement::group("eng")),
        add(Entitlement::licence("confluence")),
        add(Entitlement::space("HR", "read")),
        add(Entitlement::space("HR", "export")),
    ];
    for action in &actions {
        assert_eq!(
            t.apply(action).await.unwrap(),
            StepOutcome::Applied,
            "{action:?}"
        );
        assert_eq!(
            t.apply(action).await.unwrap(),
            StepOutcome::AlreadyDone,
            "{action:?}"
        );
    }

    let state = t.read_state().await.unwrap();
    let a = state
        .accounts
        .iter()
        .find(|a| a.employee_id.as_deref() == Some("E00042"))
        .unwrap();
    assert!(a.active);
    assert_eq!(a.email, "new.address@acme.example");
    assert_eq!(a.display_name, "Person Renamed");
    assert_eq!(
        a.entitlements,
        BTreeSet::from([
            Entitlement::group("eng"),
            Entitlement::group("confluence-users"),
            Entitlement::licence("confluence"),
            Entitlement::space("HR", "read"),
            Entitlement::space("HR", "export"),
        ])
    );
    assert!(
        state
            .group_space_permissions
            .contains(&GroupSpacePermission {
                group: "eng".into(),
                space: "DOCS".into(),
                operation: "create:page".into()
            })
    );

    // By the system's id too.
    let by_key = AccountRef {
        external_id: Some(a.external_id.clone()),
        ..moved
    };
    let undo = vec![
        remove(Entitlement::space("HR", "export")),
        remove(Entitlement::space("HR", "read")),
        remove(Entitlement::group("eng")),
        remove(Entitlement::licence("confluence")),
        Action::DeactivateAccount { account: by_key },
        group_perm(false, "create:page"),
        group_perm(false, "read"),
    ];
    for action in &undo {
        assert_eq!(
            t.apply(action).await.unwrap(),
            StepOutcome::Applied,
            "{action:?}"
        );
        assert_eq!(
            t.apply(action).await.unwrap(),
            StepOutcome::AlreadyDone,
            "{action:?}"
        );
    }
    let state = sim_state(&running).await;
    let user = state["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "e00042")
        .unwrap();
    assert_eq!(user["active"], false);
    let eng = state["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "eng")
        .unwrap();
    assert_eq!(eng["members"], json!([]));
    assert_eq!(
        state["spaces"][0]["permissions"].as_array().unwrap().len(),
        3
    );
    assert_eq!(
        state["spaces"][1]["permissions"].as_array().unwrap().len(),
        3
    );

    // Errors that will not go away.
    let e = t.apply(&group_perm(true, "archive")).await.unwrap_err();
    assert!(matches!(e, TargetError::Permanent(_)));
    let e = t
        .apply(&Action::ActivateAccount {
            account: person("E99999"),
        })
        .await
        .unwrap_err();
    assert!(matches!(e, TargetError::Permanent(_)));
    let e = t
        .apply(&Action::Add {
            account: person("E00042"),
            entitlement: Entitlement::group("no-such-group"),
        })
        .await
        .unwrap_err();
    assert!(matches!(e, TargetError::Permanent(m) if m.contains("no-such-group")));
    running.stop().await;
}
