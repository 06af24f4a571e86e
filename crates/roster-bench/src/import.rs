//! `bench import`: a people import of a large source while other writes go on, as in
//! `roster serve` (SCIM writes and applies keep writing while a connection's people are
//! re-imported). What matters besides the import's own time is how long the other writes
//! wait: a write that waits for the import's transaction is a request that stalls.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use jiff::{SignedDuration, Timestamp};
use roster_core::Person;
use roster_core::audit::NewAuditEvent;
use roster_store::Store;

pub struct Options {
    pub people: usize,
    /// Share of people whose title changes between the two imports, in percent.
    pub changed_percent: usize,
    pub database: Option<String>,
}

pub async fn run(o: Options) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let url = o
        .database
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store: Arc<dyn Store> = Arc::from(
        roster_store::open(&url)
            .await
            .with_context(|| format!("opening {}", roster_store::redact_url(&url)))?,
    );
    let source = format!("bench:{}", run_suffix());
    let mut people: Vec<Person> =
        roster_examples::acme(roster_examples::ACME_SEED, o.people).people;
    let none = BTreeSet::new();
    let mut at: Timestamp = "2026-12-01T08:00:00Z".parse()?;

    let t = Instant::now();
    let first = store.import_people(&source, &people, &none, at).await?;
    println!(
        "first import ({}): {} people added in {:.2} s",
        store.backend(),
        first.added,
        t.elapsed().as_secs_f64()
    );

    let every = (100 / o.changed_percent.clamp(1, 100)).max(1);
    for (i, p) in people.iter_mut().enumerate() {
        if i % every == 0 {
            p.title = format!("{} (bench)", p.title);
        }
    }
    // First the changed listing, then the same one again (nothing to record but the listing).
    for label in ["changed", "unchanged"] {
        at += SignedDuration::from_mins(10);
        let (summary, took, mut waits) = import_while_writing(store.clone(), &source, &people, at)
            .await
            .with_context(|| format!("the {label} import"))?;
        waits.sort_by(f64::total_cmp);
        println!(
            "import of {} people, {} changed ({}): {:.2} s; meanwhile {} single-event audit \
             appends: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            summary.listed,
            summary.changed,
            store.backend(),
            took.as_secs_f64(),
            waits.len(),
            quantile(&waits, 0.50),
            quantile(&waits, 0.99),
            quantile(&waits, 1.0),
        );
    }
    Ok(())
}

/// Imports `people` while another task appends one audit event at a time, and returns the
/// import's summary and time and every append's time in milliseconds.
async fn import_while_writing(
    store: Arc<dyn Store>,
    source: &str,
    people: &[Person],
    at: Timestamp,
) -> Result<(roster_store::ImportSummary, Duration, Vec<f64>)> {
    let done = Arc::new(AtomicBool::new(false));
    let writer = {
        let store = store.clone();
        let done = done.clone();
        tokio::spawn(async move {
            let mut waits = Vec::new();
            let mut n = 0u64;
            while !done.load(Ordering::SeqCst) {
                let event = NewAuditEvent {
                    at,
                    actor: "bench".into(),
                    action: "write during import".into(),
                    system: None,
                    subject: format!("write {n}"),
                    detail: serde_json::json!({}),
                };
                let t = Instant::now();
                store.append_audit(&[event]).await?;
                waits.push(t.elapsed().as_secs_f64() * 1000.0);
                n += 1;
                // About 200 writes a second: a busy server, not a saturated one.
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            anyhow::Ok(waits)
        })
    };
    // Let the writer get going before the import starts.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let summary = store
        .import_people(source, people, &BTreeSet::new(), at)
        .await;
    let took = t.elapsed();
    done.store(true, Ordering::SeqCst);
    let waits = writer.await??;
    Ok((summary?, took, waits))
}

/// The `q` quantile of ascending `sorted` (0 when empty).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        n => sorted[((n - 1) as f64 * q).round() as usize],
    }
}

/// A source name of its own per run, so a shared PostgreSQL database can be reused.
fn run_suffix() -> String {
    format!("{:x}", Timestamp::now().as_nanosecond())
}
