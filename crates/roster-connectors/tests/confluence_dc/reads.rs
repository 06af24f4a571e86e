//! Reading the seeded site and paging past several pages.

use super::*;

#[tokio::test]
async fn reads_the_seeded_site() {
    let running = sim(DcOptions::default()).await;
    for basic in [false, true] {
        let state = target(&running, basic).read_state().await.unwrap();
        assert_eq!(state.accounts.len(), 3);
        let admin = state
            .accounts
            .iter()
            .find(|a| a.employee_id.as_deref() == Some("ADMIN"))
            .unwrap();
        assert_eq!(admin.external_id.len(), 32);
        assert!(admin.active);
        assert!(
            admin
                .entitlements
                .contains(&Entitlement::group("confluence-administrators"))
        );
        assert!(
            admin
                .entitlements
                .contains(&Entitlement::licence("confluence"))
        );
        let bruce = state
            .accounts
            .iter()
            .find(|a| a.employee_id.as_deref() == Some("BWAYNE"))
            .unwrap();
        assert!(!bruce.active);
        assert_eq!(bruce.email, "bruce.wayne@confluence.example");
        assert_eq!(bruce.display_name, "Bruce Wayne");
        assert_eq!(
            bruce.entitlements,
            BTreeSet::from([
                Entitlement::group("confluence-users"),
                Entitlement::licence("confluence")
            ])
        );
        assert_eq!(
            state.groups,
            BTreeSet::from([
                "confluence-administrators".into(),
                "confluence-users".into()
            ])
        );
        let gsp = |g: &str, s: &str, o: &str| GroupSpacePermission {
            group: g.into(),
            space: s.into(),
            operation: o.into(),
        };
        let mut expected = BTreeSet::new();
        for space in ["DOCS", "HR"] {
            expected.insert(gsp("confluence-administrators", space, "read"));
            expected.insert(gsp("confluence-administrators", space, "administer"));
            expected.insert(gsp("confluence-users", space, "read"));
        }
        assert_eq!(state.group_space_permissions, expected);
    }
    running.stop().await;
}

/// More than 250 users (seeded through the admin REST) are read over 3+ pages.
#[tokio::test]
async fn reads_every_page() {
    let running = sim(DcOptions::default()).await;
    let t = target(&running, true);
    t.apply(&Action::CreateGroup {
        group: "big".into(),
    })
    .await
    .unwrap();
    let http = reqwest::Client::new();
    let base = running.info["base_url"].as_str().unwrap();
    let pat = running.info["pat"].as_str().unwrap();
    for i in 0..260 {
        let name = format!("p{i:04}");
        let r = http
            .post(format!("{base}/rest/api/admin/user"))
            .bearer_auth(pat)
            .header("X-Atlassian-Token", "no-check")
            .json(&json!({"userName": name, "fullName": format!("P {i}"),
                          "email": format!("{name}@acme.example"), "password": "pw"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let r = http
            .put(format!("{base}/rest/api/user/{name}/group/big"))
            .bearer_auth(pat)
            .header("X-Atlassian-Token", "no-check")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 204);
    }
    let state = t.read_state().await.unwrap();
    assert_eq!(state.accounts.len(), 263);
    let ids: BTreeSet<&str> = state
        .accounts
        .iter()
        .map(|a| a.external_id.as_str())
        .collect();
    assert_eq!(ids.len(), 263);
    let in_big = state
        .accounts
        .iter()
        .filter(|a| a.entitlements.contains(&Entitlement::group("big")))
        .count();
    assert_eq!(in_big, 260);
    running.stop().await;
}
