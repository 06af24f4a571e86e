//! `bench`: Roster's benchmarks. Each prints what it measured in one line that BENCHMARKS.md
//! quotes, with the command that reproduces it. Run them with `--release`.

mod import;
mod propagation;
mod provision;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use jiff::Timestamp;
use roster_core::audit::NewAuditEvent;
use roster_core::{ActualState, PersonRecord, Policy, desired_state, plan};
use roster_store::Store;

#[derive(Parser)]
#[command(about = "Roster benchmarks (run with --release)")]
struct Cli {
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand)]
enum Bench {
    /// Desired state + plan for a large company and policy, from an empty target and from a
    /// target already in the desired state.
    Plan {
        #[arg(long, default_value_t = 100_000)]
        people: usize,
        #[arg(long, default_value_t = 50)]
        rules: usize,
        #[arg(long, default_value_t = 5_000)]
        spaces: usize,
        #[arg(long, default_value_t = 20_000)]
        groups: usize,
    },
    /// The first sync of `plan` (run by it in a child process): plans from an empty target,
    /// applies, writes the actual state as JSON.
    #[command(hide = true)]
    FirstSync {
        #[arg(long)]
        people: usize,
        #[arg(long)]
        rules: usize,
        #[arg(long)]
        spaces: usize,
        #[arg(long)]
        groups: usize,
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// The example company's syncs applied to the Confluence Cloud simulator over HTTP.
    Propagate {
        /// Inject 20 % 5xx, 429 bursts and dropped connections.
        #[arg(long)]
        faults: bool,
    },
    /// Initial provisioning of a generated company into the Confluence Cloud simulator held
    /// to a request-rate limit (default: the 100 requests/s Atlassian documents for API-token
    /// traffic), with network latency added: how much of the allowed rate a sync uses.
    Provision {
        #[arg(long, default_value_t = 10_000)]
        people: usize,
        /// Requests per second the simulated site allows (one bucket for every route).
        #[arg(long, default_value_t = 100)]
        rate_limit: u32,
        /// Added to every request, like the round trip to a real site.
        #[arg(long, default_value_t = 100)]
        latency_ms: u64,
    },
    /// A people import of a large source (then the same listing again) while single audit
    /// appends go on: the import's time and how long those other writes wait.
    Import {
        #[arg(long, default_value_t = 200_000)]
        people: usize,
        /// Share of people whose title changes before the second import, in percent.
        #[arg(long, default_value_t = 50)]
        changed_percent: usize,
        /// Database URL [default: a fresh SQLite file in a temporary directory].
        #[arg(long)]
        database: Option<String>,
    },
    /// Appends audit events in batches as apply does, then verifies the whole chain.
    Audit {
        #[arg(long, default_value_t = 1_000_000)]
        events: usize,
        /// Events per transaction (apply's default batch is 200).
        #[arg(long, default_value_t = 200)]
        batch: usize,
        /// Database URL [default: a fresh SQLite file in a temporary directory].
        #[arg(long)]
        database: Option<String>,
    },
}

/// Peak resident memory of this process (Linux `VmHWM`), in MiB.
fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The benchmark's inputs: the synthetic company and the large policy.
fn inputs(
    people: usize,
    rules: usize,
    spaces: usize,
    groups: usize,
) -> Result<(Vec<PersonRecord>, Policy, Timestamp)> {
    let t = Instant::now();
    let company = roster_examples::acme(roster_examples::ACME_SEED, people);
    let now = company.as_of;
    let policy = Policy::parse(&roster_examples::large_policy_toml(rules, spaces, groups))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let records: Vec<PersonRecord> = company
        .people
        .into_iter()
        .map(|person| PersonRecord {
            person,
            previous: Vec::new(),
            absent_since: None,
        })
        .collect();
    eprintln!(
        "generated {} people, {} rules, {} spaces, {} groups in {:.2?}",
        records.len(),
        policy.rules.len(),
        policy.spaces.len(),
        policy.managed_groups().len(),
        t.elapsed()
    );
    Ok((records, policy, now))
}

/// First sync: plans against an empty target (timed), applies the plan with the reference
/// semantics and writes the resulting actual state to `out`.
fn bench_first_sync(
    people: usize,
    rules: usize,
    spaces: usize,
    groups: usize,
    out: &Path,
) -> Result<()> {
    let (records, policy, now) = inputs(people, rules, spaces, groups)?;
    let t = Instant::now();
    let desired = desired_state(&policy, &records, &[], now);
    let first = plan("bench", &policy, &desired, &ActualState::default(), now);
    let cold = t.elapsed();
    println!(
        "plan from an empty target (first sync): {} people, {} changes in {:.3} s",
        records.len(),
        first.changes.len(),
        cold.as_secs_f64()
    );
    // Account changes are applied per person (in plan order) so that finding the account
    // does not scan 100,000 others for each of two million steps.
    let mut actual = ActualState::default();
    let mut per_person: BTreeMap<&str, Vec<&roster_core::Action>> = BTreeMap::new();
    for change in &first.changes {
        match change.action.account() {
            Some(a) => per_person
                .entry(a.employee_id.as_str())
                .or_default()
                .push(&change.action),
            None => {
                actual
                    .apply(&change.action, |_| unreachable!("not an account"))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
        }
    }
    for actions in per_person.values() {
        let mut one = ActualState {
            groups: std::mem::take(&mut actual.groups),
            ..ActualState::default()
        };
        for action in actions {
            one.apply(action, |a| format!("acct-{}", a.employee_id))
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
        actual.groups = std::mem::take(&mut one.groups);
        actual.accounts.append(&mut one.accounts);
    }
    let file = std::io::BufWriter::new(std::fs::File::create(out)?);
    serde_json::to_writer(file, &actual)?;
    Ok(())
}

/// Resets the process's peak-memory mark (Linux `clear_refs` value 5), so that what follows
/// is measured on its own.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn bench_plan(people: usize, rules: usize, spaces: usize, groups: usize) -> Result<()> {
    // The first sync runs in a child process so that its two-million-change plan does not
    // count towards the steady-state plan's memory.
    let dir = tempfile::tempdir()?;
    let state_file = dir.path().join("actual.json");
    let status = std::process::Command::new(std::env::current_exe()?)
        .args([
            "first-sync",
            "--people",
            &people.to_string(),
            "--rules",
            &rules.to_string(),
        ])
        .args([
            "--spaces",
            &spaces.to_string(),
            "--groups",
            &groups.to_string(),
            "--out",
        ])
        .arg(&state_file)
        .status()?;
    if !status.success() {
        bail!("the first sync failed: {status}");
    }
    let (records, policy, now) = inputs(people, rules, spaces, groups)?;
    let actual: ActualState =
        serde_json::from_reader(std::io::BufReader::new(std::fs::File::open(&state_file)?))?;
    let entitlements: usize = actual.accounts.iter().map(|a| a.entitlements.len()).sum();
    let before = peak_rss_mib();
    let reset = reset_peak_rss();
    let t = Instant::now();
    let desired = desired_state(&policy, &records, &[], now);
    let desired_time = t.elapsed();
    let steady = plan("bench", &policy, &desired, &actual, now);
    let warm = t.elapsed();
    let peak = peak_rss_mib();
    if !steady.changes.is_empty() {
        bail!(
            "planning after applying left {} changes",
            steady.changes.len()
        );
    }
    println!(
        "plan against an actual state of the same size: {} people, {} accounts, {} entitlements, \
         {} group space permissions; 0 changes in {:.3} s (desired state {:.3} s, diff {:.3} s)",
        records.len(),
        actual.accounts.len(),
        entitlements,
        actual.group_space_permissions.len(),
        warm.as_secs_f64(),
        desired_time.as_secs_f64(),
        (warm - desired_time).as_secs_f64()
    );
    if let (true, Some(peak)) = (reset, peak) {
        println!(
            "peak memory while planning (VmHWM, inputs included): {peak:.0} MiB; \
             before planning (people, policy, actual state loaded): {:.0} MiB",
            before.unwrap_or_default()
        );
    }
    Ok(())
}

fn event(i: usize, at: Timestamp) -> NewAuditEvent {
    NewAuditEvent {
        at,
        actor: "roster apply".into(),
        action: "add to group".into(),
        system: Some("acme.atlassian.net".into()),
        subject: format!("person{i}@acme.example"),
        detail: serde_json::json!({
            "plan_id": "01a209a0-1cef-74b7-97a2-6d3aae784277",
            "step": i,
            "change": {"action": "add", "group": format!("g{:05}", i % 20_000)},
            "why": "rule \"engineers\": department = Engineering",
            "outcome": "applied",
        }),
    }
}

async fn bench_audit(events: usize, batch: usize, database: Option<String>) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let url =
        database.unwrap_or_else(|| format!("sqlite://{}", dir.path().join("bench.db").display()));
    let store: Box<dyn Store> = roster_store::open(&url)
        .await
        .with_context(|| format!("opening {}", roster_store::redact_url(&url)))?;
    if store.audit_head().await?.is_some_and(|(seq, _)| seq > 0) {
        bail!("the database already holds audit events: use an empty one");
    }
    let at: Timestamp = "2026-11-23T08:00:00Z".parse()?;
    let t = Instant::now();
    let mut appended = 0;
    while appended < events {
        let n = batch.min(events - appended);
        let chunk: Vec<NewAuditEvent> = (appended..appended + n).map(|i| event(i, at)).collect();
        store.append_audit(&chunk).await?;
        appended += n;
    }
    let append = t.elapsed();
    println!(
        "audit append ({}): {events} events in batches of {batch} in {:.2} s = {:.0} events/s",
        store.backend(),
        append.as_secs_f64(),
        events as f64 / append.as_secs_f64()
    );
    let t = Instant::now();
    let mut after = 0;
    loop {
        let page = store.audit_page(after, 10_000).await?;
        match page.last() {
            Some(e) => after = e.seq,
            None => break,
        }
    }
    println!(
        "audit read ({}): {after} events in {:.2} s",
        store.backend(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let verified = roster_store::verify_audit(store.as_ref(), |_| {}).await?;
    let verify = t.elapsed();
    println!(
        "audit verify ({}): {verified} events in {:.2} s = {:.0} events/s",
        store.backend(),
        verify.as_secs_f64(),
        verified as f64 / verify.as_secs_f64()
    );
    if let Some(mib) = peak_rss_mib() {
        println!("peak memory (VmHWM): {mib:.0} MiB");
    }
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().bench {
        Bench::Plan {
            people,
            rules,
            spaces,
            groups,
        } => bench_plan(people, rules, spaces, groups),
        Bench::FirstSync {
            people,
            rules,
            spaces,
            groups,
            out,
        } => bench_first_sync(people, rules, spaces, groups, &out),
        Bench::Propagate { faults } => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(propagation::run(faults)),
        Bench::Provision {
            people,
            rate_limit,
            latency_ms,
        } => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(provision::run(provision::Options {
                people,
                rate_limit,
                latency_ms,
            })),
        Bench::Import {
            people,
            changed_percent,
            database,
        } => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(import::run(import::Options {
                people,
                changed_percent,
                database,
            })),
        Bench::Audit {
            events,
            batch,
            database,
        } => tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?
            .block_on(bench_audit(events, batch, database)),
    }
}
