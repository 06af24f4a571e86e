//! The BambooHR source against the BambooHR simulator over real HTTP: everyone (leavers too)
//! from the custom report and, page by page, from the dataset; value maps and future hires;
//! quarantine of what cannot be mapped; 429 waits; credential errors; changed-since; signed
//! webhooks fired by the simulator and checked by the source.

mod hr_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hr_support::{change, counters, first_delivery, http, receiver};
use jiff::Timestamp;
use roster_connectors::hr::signature::hmac_sha256_hex;
use roster_connectors::hr::{
    BambooHrConfig, BambooHrListing, BambooHrSource, HrSource, MappingConfig, SourceError,
    WebhookError,
};
use roster_connectors::http::HttpPolicy;
use roster_sim::Running;
use roster_sim::bamboohr::{BambooHrOptions, start};
use serde_json::json;

async fn sim(options: BambooHrOptions) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, options).await.unwrap()
}

fn config(sim: &Running, listing: BambooHrListing) -> BambooHrConfig {
    BambooHrConfig {
        base_url: sim.info["base_url"].as_str().unwrap().to_string(),
        api_key_env: "BAMBOO_KEY".into(),
        webhook_secret_env: Some("BAMBOO_HOOK".into()),
        poll_interval_secs: 300,
        listing,
        page_size: Some(100),
        webhook_tolerance_secs: 300,
        http: HttpPolicy {
            base_delay_ms: 10,
            max_delay_ms: 200,
            ..HttpPolicy::default()
        },
        mapping: MappingConfig::new("Europe/Paris"),
    }
}

fn source(sim: &Running, mut config: BambooHrConfig, key: Option<&str>) -> BambooHrSource {
    if sim.info.get("webhook_private_key").is_none() {
        config.webhook_secret_env = None;
    }
    let mut env = BTreeMap::new();
    env.insert(
        "BAMBOO_KEY".to_string(),
        key.map_or_else(
            || sim.info["api_key"].as_str().unwrap().to_string(),
            str::to_string,
        ),
    );
    if let Some(secret) = sim.info["webhook_private_key"].as_str() {
        env.insert("BAMBOO_HOOK".to_string(), secret.to_string());
    }
    BambooHrSource::new("bamboo", config, &|k: &str| env.get(k).cloned()).unwrap()
}

#[tokio::test]
async fn the_custom_report_lists_everyone_with_leavers_and_mapped_values() {
    let expected = roster_examples::acme(roster_examples::ACME_SEED, roster_examples::ACME_SIZE);
    let sim = sim(BambooHrOptions::default()).await;
    let s = source(&sim, config(&sim, BambooHrListing::CustomReport), None);
    let listing = s.list().await.unwrap();
    assert!(listing.quarantined.is_empty(), "{:?}", listing.quarantined);
    assert_eq!(listing.records.len(), expected.people.len());
    let intake = listing.validate("bamboo", &Default::default());
    assert!(intake.quarantined.is_empty(), "{:?}", intake.quarantined);
    for want in &expected.people {
        let got = intake
            .people
            .iter()
            .find(|p| p.employee_id == want.employee_id)
            .unwrap_or_else(|| panic!("{} missing", want.employee_id));
        assert_eq!(got.email, want.email);
        assert_eq!(got.department, want.department);
        assert_eq!(got.manager_id, want.manager_id, "{}", want.employee_id);
        assert_eq!(got.start_date, want.start_date, "{}", want.employee_id);
        if want.status == roster_core::PersonStatus::Terminated {
            assert_eq!(got.status, roster_core::PersonStatus::Terminated);
            assert_eq!(got.end_date, want.end_date, "{}", want.employee_id);
        } else {
            assert_eq!(
                got.employment_type, want.employment_type,
                "{}",
                want.employee_id
            );
        }
    }
    let terminated = intake
        .people
        .iter()
        .filter(|p| p.status == roster_core::PersonStatus::Terminated)
        .count();
    assert!(terminated >= 3, "leavers are listed too: {terminated}");
    // One request: the report is not paged.
    assert_eq!(counters(&sim).await["requests"], 1);
}

#[tokio::test]
async fn the_dataset_is_read_page_by_page_to_the_end() {
    let sim = sim(BambooHrOptions::default()).await;
    let mut c = config(&sim, BambooHrListing::Dataset);
    c.page_size = Some(70);
    let listing = source(&sim, c, None).list().await.unwrap();
    let people = roster_examples::ACME_SIZE;
    assert_eq!(listing.records.len(), people);
    let pages = people.div_ceil(70);
    assert!(pages >= 3);
    assert_eq!(counters(&sim).await["requests"], pages as u64);
}

#[tokio::test]
async fn future_hires_are_active_and_unmappable_records_are_quarantined() {
    let sim = sim(BambooHrOptions::default()).await;
    change(
        &sim,
        "E00010",
        json!({"status": "Inactive", "terminationDate": null, "hireDate": "2099-01-04"}),
    )
    .await;
    change(
        &sim,
        "E00011",
        json!({"employmentHistoryStatus": "Freelance"}),
    )
    .await;
    change(&sim, "E00012", json!({"hireDate": "04/01/2024"})).await;
    let r = http()
        .post(format!("{}/_sim/malformed", sim.url()))
        .json(&json!({"record": "not an employee"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let listing = source(&sim, config(&sim, BambooHrListing::CustomReport), None)
        .list()
        .await
        .unwrap();
    let future = listing
        .records
        .iter()
        .find(|r| r.fields["employee_id"] == "E00010")
        .unwrap();
    assert_eq!(future.fields["status"], "active");
    assert_eq!(future.fields["start_date"], "2099-01-04");
    let q: BTreeMap<Option<&str>, (&str, &str)> = listing
        .quarantined
        .iter()
        .map(|q| {
            (
                q.employee_id.as_deref(),
                (q.field.as_str(), q.reason.as_str()),
            )
        })
        .collect();
    assert_eq!(q.len(), 3, "{q:?}");
    let (field, reason) = q[&Some("E00011")];
    assert_eq!(field, "employment_type");
    assert!(
        reason.contains("\"Freelance\"") && reason.contains("BambooHR record id"),
        "{reason}"
    );
    let (field, reason) = q[&Some("E00012")];
    assert_eq!(field, "start_date");
    assert!(reason.contains("04/01/2024"), "{reason}");
    let (field, _) = q[&None];
    assert_eq!(field, "record");
}

#[tokio::test]
async fn throttling_is_waited_out() {
    let mut options = BambooHrOptions::default();
    options.faults.burst_every = 1000;
    options.faults.burst_length = 2;
    options.faults.retry_after_secs = 1;
    let sim = sim(options).await;
    let t = Instant::now();
    let listing = source(&sim, config(&sim, BambooHrListing::CustomReport), None)
        .list()
        .await
        .unwrap();
    assert_eq!(listing.records.len(), roster_examples::ACME_SIZE);
    assert!(t.elapsed() >= Duration::from_secs(1), "{:?}", t.elapsed());
    let c = counters(&sim).await;
    assert_eq!(c["injected"], 2, "{c}");
    assert_eq!(c["requests"], 3, "two 429s, then the answer");
}

#[tokio::test]
async fn a_wrong_key_and_withheld_fields_say_what_to_fix() {
    let sim = sim(BambooHrOptions::default()).await;
    let err = source(
        &sim,
        config(&sim, BambooHrListing::CustomReport),
        Some("wrong"),
    )
    .list()
    .await
    .unwrap_err();
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("BAMBOO_KEY"), "{err}");

    let mut c = config(&sim, BambooHrListing::CustomReport);
    c.mapping
        .custom
        .insert("cost_center".into(), "customCostCenterSecret".into());
    let err = source(&sim, c, None).list().await.unwrap_err();
    assert!(matches!(err, SourceError::FieldsWithheld { .. }), "{err}");
    assert!(err.to_string().contains("customCostCenterSecret"), "{err}");

    let mut env = BTreeMap::new();
    env.insert("OTHER".to_string(), "x".to_string());
    let missing = BambooHrSource::new(
        "bamboo",
        config(&sim, BambooHrListing::CustomReport),
        &|k: &str| env.get(k).cloned(),
    )
    .err()
    .unwrap();
    assert!(
        missing.to_string().contains("BAMBOO_KEY is not set"),
        "{missing}"
    );
}

#[tokio::test]
async fn changes_are_seen_by_changed_since_and_a_broken_feed_lists_few() {
    let sim = sim(BambooHrOptions::default()).await;
    let s = source(&sim, config(&sim, BambooHrListing::CustomReport), None);
    let before = Timestamp::now();
    assert_eq!(s.changed_since(before).await.unwrap(), Some(vec![]));
    let id = change(&sim, "E00020", json!({"jobTitle": "Principal Engineer"})).await["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(s.changed_since(before).await.unwrap(), Some(vec![id]));

    let r = http()
        .put(format!("{}/_sim/feed", sim.url()))
        .json(&json!({"share": 0.05}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let listing = s.list().await.unwrap();
    assert_eq!(
        listing.records.len(),
        roster_examples::ACME_SIZE.div_ceil(20)
    );
}

#[tokio::test]
async fn signed_webhooks_are_accepted_and_forgeries_refused() {
    let (url, got) = receiver().await;
    let sim = sim(BambooHrOptions {
        webhook_url: Some(url),
        ..BambooHrOptions::default()
    })
    .await;
    let s = source(&sim, config(&sim, BambooHrListing::CustomReport), None);
    let id = change(
        &sim,
        "E00030",
        json!({"status": "Inactive", "terminationDate": "2026-12-01"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (headers, body) = first_delivery(&got).await;
    let notice = s.verify_webhook(&headers, &body, Timestamp::now()).unwrap();
    assert_eq!(notice.event, "employee.updated");
    assert_eq!(notice.employee_ids, [id]);
    assert!(notice.changed_fields.contains(&"status".to_string()));

    let mut tampered = body.to_vec();
    tampered.extend_from_slice(b" ");
    let err = s
        .verify_webhook(&headers, &tampered, Timestamp::now())
        .unwrap_err();
    assert!(matches!(err, WebhookError::BadSignature { .. }), "{err}");

    let stamp = headers["x-bamboohr-timestamp"]
        .to_str()
        .unwrap()
        .to_string();
    let mut forged = headers.clone();
    forged.insert(
        "x-bamboohr-signature",
        hmac_sha256_hex(b"not the key", &[&body, stamp.as_bytes()])
            .parse()
            .unwrap(),
    );
    assert!(matches!(
        s.verify_webhook(&forged, &body, Timestamp::now()),
        Err(WebhookError::BadSignature { .. })
    ));

    // Correctly signed, but an hour old: a replay.
    let key = sim.info["webhook_private_key"].as_str().unwrap();
    let old = (Timestamp::now().as_second() - 3600).to_string();
    let mut replay = headers.clone();
    replay.insert("x-bamboohr-timestamp", old.parse().unwrap());
    replay.insert(
        "x-bamboohr-signature",
        hmac_sha256_hex(key.as_bytes(), &[&body, old.as_bytes()])
            .parse()
            .unwrap(),
    );
    assert!(matches!(
        s.verify_webhook(&replay, &body, Timestamp::now()),
        Err(WebhookError::Stale { .. })
    ));
    let mut unsigned = headers.clone();
    unsigned.remove("x-bamboohr-signature");
    assert!(matches!(
        s.verify_webhook(&unsigned, &body, Timestamp::now()),
        Err(WebhookError::MissingHeader { .. })
    ));
}
