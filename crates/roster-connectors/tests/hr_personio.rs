//! The Personio source against the Personio simulator over real HTTP: a token, then every
//! page of employees (leavers too), the attribute wrappers unwrapped, German values mapped,
//! offsets turned into company days, managers resolved through Personio ids; quarantine of
//! unmapped values and malformed records; 429 waits; credential errors; changed-since; signed
//! webhooks.

mod hr_support;

use std::collections::BTreeMap;

use hr_support::{admin, change, counters, first_delivery, receiver};
use jiff::Timestamp;
use reqwest::Method;
use roster_connectors::hr::signature::hmac_sha256_hex;
use roster_connectors::hr::{
    HrSource, MappingConfig, PersonioConfig, PersonioSource, SourceError, WebhookError,
};
use roster_connectors::http::HttpPolicy;
use roster_core::PersonStatus;
use roster_sim::Running;
use roster_sim::personio::{PersonioOptions, start};
use serde_json::json;

async fn sim(options: PersonioOptions) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, options).await.unwrap()
}

/// The mapping a tenant with these custom attributes writes: the employee number and the
/// German work-time model.
fn mapping() -> MappingConfig {
    let mut m = MappingConfig::new("Europe/Paris");
    m.fields.insert("employee_id".into(), "dynamic_1001".into());
    m.fields
        .insert("employment_type".into(), "dynamic_2002".into());
    m.custom.insert("cost_center".into(), "dynamic_3003".into());
    m.values.insert(
        "employment_type".into(),
        BTreeMap::from([
            ("Vollzeit".into(), "full_time".into()),
            ("Teilzeit".into(), "part_time".into()),
            ("Praktikum".into(), "intern".into()),
            ("Freiberuflich".into(), "contractor".into()),
        ]),
    );
    m
}

fn config(sim: &Running, mapping: MappingConfig) -> PersonioConfig {
    PersonioConfig {
        base_url: sim.info["base_url"].as_str().unwrap().to_string(),
        client_id_env: "P_ID".into(),
        client_secret_env: "P_SECRET".into(),
        webhook_secret_env: sim.info.get("webhook_secret").map(|_| "P_HOOK".to_string()),
        webhook_signature_header: "x-personio-signature".into(),
        poll_interval_secs: 300,
        page_size: Some(100),
        offset_unit: Default::default(),
        partner_id: None,
        app_id: None,
        http: HttpPolicy {
            base_delay_ms: 10,
            max_delay_ms: 200,
            ..HttpPolicy::default()
        },
        mapping,
    }
}

fn source(sim: &Running, config: PersonioConfig, secret: Option<&str>) -> PersonioSource {
    let s = |k: &str| sim.info[k].as_str().unwrap_or_default().to_string();
    let env = BTreeMap::from([
        ("P_ID".to_string(), s("client_id")),
        (
            "P_SECRET".to_string(),
            secret.map_or_else(|| s("client_secret"), str::to_string),
        ),
        ("P_HOOK".to_string(), s("webhook_secret")),
    ]);
    PersonioSource::new("personio", config, &|k: &str| env.get(k).cloned()).unwrap()
}

#[tokio::test]
async fn every_page_is_read_and_mapped_to_the_acme_people() {
    let acme = roster_examples::acme(roster_examples::ACME_SEED, roster_examples::ACME_SIZE);
    let sim = sim(PersonioOptions::default()).await;
    let listing = source(&sim, config(&sim, mapping()), None)
        .list()
        .await
        .unwrap();
    assert!(listing.quarantined.is_empty(), "{:?}", listing.quarantined);
    let custom = ["cost_center".to_string()].into();
    let intake = listing.validate("personio", &custom);
    assert!(intake.quarantined.is_empty(), "{:?}", intake.quarantined);
    assert_eq!(intake.people.len(), acme.people.len());
    for want in &acme.people {
        let got = intake
            .people
            .iter()
            .find(|p| p.employee_id == want.employee_id)
            .unwrap();
        assert_eq!(got.email, want.email);
        assert_eq!((&got.department, &got.team), (&want.department, &want.team));
        assert_eq!(got.manager_id, want.manager_id, "{}", want.employee_id);
        assert_eq!(got.start_date, want.start_date, "{}", want.employee_id);
        assert_eq!(got.end_date, want.end_date, "{}", want.employee_id);
        assert_eq!(got.status, want.status, "{}", want.employee_id);
        assert_eq!(
            got.employment_type, want.employment_type,
            "{}",
            want.employee_id
        );
        assert_eq!(
            got.custom.get("cost_center"),
            want.custom.get("cost_center")
        );
    }
    assert!(
        intake
            .people
            .iter()
            .any(|p| p.status == PersonStatus::Terminated)
    );
    // One token, then 300 employees in pages of 100.
    assert_eq!(counters(&sim).await["requests"], 4);
}

#[tokio::test]
async fn unmapped_values_and_malformed_records_are_quarantined_with_their_field() {
    let sim = sim(PersonioOptions::default()).await;
    admin(
        &sim,
        Method::POST,
        "/_sim/malformed",
        json!({"record": "not an employee"}),
    )
    .await;
    let mut m = mapping();
    m.values
        .get_mut("employment_type")
        .unwrap()
        .remove("Praktikum");
    let listing = source(&sim, config(&sim, m), None).list().await.unwrap();
    let interns = roster_examples::acme(roster_examples::ACME_SEED, roster_examples::ACME_SIZE)
        .people
        .iter()
        .filter(|p| p.employment_type == "intern")
        .count();
    assert!(interns > 0);
    let by_field = |f: &str| {
        listing
            .quarantined
            .iter()
            .filter(|q| q.field == f)
            .collect::<Vec<_>>()
    };
    assert_eq!(by_field("employment_type").len(), interns);
    let q = by_field("employment_type")[0];
    assert!(
        q.reason.contains("\"Praktikum\"") && q.reason.contains("Personio record id"),
        "{}",
        q.reason
    );
    assert_eq!(by_field("record").len(), 1);
}

#[tokio::test]
async fn throttling_is_waited_out_and_bad_credentials_name_the_variables() {
    let mut options = PersonioOptions::default();
    options.faults.burst_every = 1000;
    options.faults.burst_length = 2;
    let sim = sim(options).await;
    let listing = source(&sim, config(&sim, mapping()), None)
        .list()
        .await
        .unwrap();
    assert_eq!(listing.records.len(), roster_examples::ACME_SIZE);
    assert_eq!(counters(&sim).await["injected"], 2);

    let err = source(&sim, config(&sim, mapping()), Some("wrong"))
        .list()
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("P_ID and P_SECRET"), "{err}");
}

#[tokio::test]
async fn changed_since_names_the_changed_and_a_broken_feed_lists_few() {
    let sim = sim(PersonioOptions::default()).await;
    let s = source(&sim, config(&sim, mapping()), None);
    let before = Timestamp::now() - jiff::SignedDuration::from_secs(1);
    assert_eq!(s.changed_since(before).await.unwrap(), Some(vec![]));
    let id = change(&sim, "E00050", json!({"title": "Staff Engineer"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.changed_since(before).await.unwrap(), Some(vec![id]));
    admin(&sim, Method::PUT, "/_sim/feed", json!({"share": 0.05})).await;
    // 15 of 300 listed; those whose manager is not among them cannot be mapped.
    let broken = s.list().await.unwrap();
    assert_eq!(broken.records.len() + broken.quarantined.len(), 15);
}

#[tokio::test]
async fn signed_webhooks_are_accepted_and_forgeries_refused() {
    let (url, got) = receiver().await;
    let sim = sim(PersonioOptions {
        webhook_url: Some(url),
        ..PersonioOptions::default()
    })
    .await;
    let s = source(&sim, config(&sim, mapping()), None);
    let id = change(
        &sim,
        "E00060",
        json!({"status": "terminated", "end_date": "2026-12-01"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (headers, body) = first_delivery(&got).await;
    let notice = s.verify_webhook(&headers, &body, Timestamp::now()).unwrap();
    assert_eq!(notice.employee_ids, [id]);
    let mut forged = headers.clone();
    forged.insert(
        "x-personio-signature",
        hmac_sha256_hex(b"guess", &[&body]).parse().unwrap(),
    );
    assert!(matches!(
        s.verify_webhook(&forged, &body, Timestamp::now()),
        Err(WebhookError::BadSignature { .. })
    ));
    let mut tampered = body.to_vec();
    tampered.push(b' ');
    assert!(matches!(
        s.verify_webhook(&headers, &tampered, Timestamp::now()),
        Err(WebhookError::BadSignature { .. })
    ));
}
