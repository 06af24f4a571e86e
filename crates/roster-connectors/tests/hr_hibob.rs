//! The HiBob source against the HiBob simulator over real HTTP: every id, then the employees
//! in batches (leavers only appear with `showInactive`), list fields by their display values,
//! managers through HiBob ids; quarantine; 429 waits on `X-RateLimit-Reset`; credential
//! errors; the "Ping test" URL check; `Bob-Signature` webhooks.

mod hr_support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine;
use hr_support::{admin, change, counters, first_delivery, receiver};
use jiff::Timestamp;
use reqwest::Method;
use roster_connectors::hr::{
    HibobConfig, HibobSource, HrSource, MappingConfig, SourceError, WebhookError,
};
use roster_connectors::http::HttpPolicy;
use roster_core::PersonStatus;
use roster_sim::Running;
use roster_sim::hibob::{HibobOptions, start};
use serde_json::json;

async fn sim(options: HibobOptions) -> Running {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    start(listener, options).await.unwrap()
}

fn config(sim: &Running, batch_size: usize) -> HibobConfig {
    let mut mapping = MappingConfig::new("Europe/Paris");
    mapping
        .custom
        .insert("cost_center".into(), "custom.costCenter".into());
    HibobConfig {
        base_url: sim.info["base_url"].as_str().unwrap().to_string(),
        service_user_id_env: "BOB_USER".into(),
        token_env: "BOB_TOKEN".into(),
        webhook_secret_env: sim
            .info
            .get("webhook_secret")
            .map(|_| "BOB_HOOK".to_string()),
        poll_interval_secs: 300,
        batch_size,
        http: HttpPolicy {
            base_delay_ms: 10,
            max_delay_ms: 200,
            ..HttpPolicy::default()
        },
        mapping,
    }
}

fn source(sim: &Running, config: HibobConfig, token: Option<&str>) -> HibobSource {
    let s = |k: &str| sim.info[k].as_str().unwrap_or_default().to_string();
    let env = BTreeMap::from([
        ("BOB_USER".to_string(), s("service_user_id")),
        (
            "BOB_TOKEN".to_string(),
            token.map_or_else(|| s("token"), str::to_string),
        ),
        ("BOB_HOOK".to_string(), s("webhook_secret")),
    ]);
    HibobSource::new("bob", config, &|k: &str| env.get(k).cloned()).unwrap()
}

#[tokio::test]
async fn everyone_is_read_in_batches_leavers_included() {
    let acme = roster_examples::acme(roster_examples::ACME_SEED, roster_examples::ACME_SIZE);
    let sim = sim(HibobOptions::default()).await;
    let listing = source(&sim, config(&sim, 100), None).list().await.unwrap();
    assert!(listing.quarantined.is_empty(), "{:?}", listing.quarantined);
    let intake = listing.validate("bob", &["cost_center".to_string()].into());
    assert!(intake.quarantined.is_empty(), "{:?}", intake.quarantined);
    assert_eq!(intake.people.len(), acme.people.len());
    for want in &acme.people {
        let got = intake
            .people
            .iter()
            .find(|p| p.employee_id == want.employee_id)
            .unwrap();
        assert_eq!(
            (&got.email, &got.department, &got.title),
            (&want.email, &want.department, &want.title)
        );
        assert_eq!(got.location, want.location);
        assert_eq!(got.manager_id, want.manager_id, "{}", want.employee_id);
        assert_eq!(
            (got.start_date, got.end_date),
            (want.start_date, want.end_date),
            "{}",
            want.employee_id
        );
        assert_eq!(
            got.employment_type, want.employment_type,
            "{}",
            want.employee_id
        );
        assert_eq!(
            got.custom.get("cost_center"),
            want.custom.get("cost_center")
        );
        let terminated = want.status == PersonStatus::Terminated;
        assert_eq!(
            got.status == PersonStatus::Terminated,
            terminated,
            "{}",
            want.employee_id
        );
    }
    // The ids, then three batches of 100.
    assert_eq!(counters(&sim).await["requests"], 4);
}

#[tokio::test]
async fn unmapped_values_and_malformed_records_are_quarantined() {
    let sim = sim(HibobOptions::default()).await;
    admin(&sim, Method::POST, "/_sim/malformed", json!({"record": 42})).await;
    change(&sim, "E00070", json!({"start_date": "2024-13-40"})).await;
    let listing = source(&sim, config(&sim, 0), None).list().await.unwrap();
    let fields: Vec<(&str, Option<&str>)> = listing
        .quarantined
        .iter()
        .map(|q| (q.field.as_str(), q.employee_id.as_deref()))
        .collect();
    assert!(
        fields.contains(&("start_date", Some("E00070"))),
        "{fields:?}"
    );
    assert!(fields.contains(&("record", None)), "{fields:?}");
    assert_eq!(fields.len(), 2);
}

#[tokio::test]
async fn throttling_waits_for_the_reset_and_bad_credentials_say_which() {
    let mut options = HibobOptions::default();
    options.faults.burst_every = 1000;
    options.faults.burst_length = 1;
    // The reset is a whole Unix second, so "2 s from now" is between 1 and 2 s away.
    options.faults.retry_after_secs = 2;
    let sim = sim(options).await;
    let t = Instant::now();
    let listing = source(&sim, config(&sim, 0), None).list().await.unwrap();
    assert_eq!(listing.records.len(), roster_examples::ACME_SIZE);
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "{:?}",
        t.elapsed()
    );
    assert_eq!(counters(&sim).await["injected"], 1);

    let err = source(&sim, config(&sim, 0), Some("wrong"))
        .list()
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Unauthorized { .. }), "{err}");
    assert!(err.to_string().contains("BOB_USER and BOB_TOKEN"), "{err}");
}

#[tokio::test]
async fn the_ping_is_answered_and_signed_webhooks_checked() {
    let (url, got) = receiver().await;
    let sim = sim(HibobOptions {
        webhook_url: Some(url),
        ..HibobOptions::default()
    })
    .await;
    let s = source(&sim, config(&sim, 0), None);
    let ping = s
        .verify_webhook(&Default::default(), b"\"Ping test\"", Timestamp::now())
        .unwrap();
    assert!(ping.is_ping());
    let id = change(
        &sim,
        "E00080",
        json!({"status": "terminated", "end_date": "2026-12-01"}),
    )
    .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (headers, body) = first_delivery(&got).await;
    let notice = s.verify_webhook(&headers, &body, Timestamp::now()).unwrap();
    assert_eq!(notice.employee_ids, [id]);
    assert_eq!(notice.event, "employee.updated");
    let mut forged = headers.clone();
    forged.insert(
        "bob-signature",
        base64::engine::general_purpose::STANDARD
            .encode([0u8; 64])
            .parse()
            .unwrap(),
    );
    assert!(matches!(
        s.verify_webhook(&forged, &body, Timestamp::now()),
        Err(WebhookError::BadSignature { .. })
    ));
    let mut unsigned = headers.clone();
    unsigned.remove("bob-signature");
    assert!(matches!(
        s.verify_webhook(&unsigned, &body, Timestamp::now()),
        Err(WebhookError::MissingHeader { .. })
    ));
    // With the change HiBob would show: the leaver is still listed, as Inactive.
    let listing = s.list().await.unwrap();
    let leaver = listing
        .records
        .iter()
        .find(|r| r.fields["employee_id"] == "E00080")
        .unwrap();
    assert_eq!(leaver.fields["status"], "terminated");
    assert_eq!(leaver.fields["end_date"], "2026-12-01");
}
