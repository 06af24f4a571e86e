//! Continuous sync: import the HR sources, then plan and apply every configured system.
//! `roster sync --once` runs one cycle; `roster serve` runs [`Syncer::run`]: each source is
//! polled at its interval (asking the vendor's changed-since first where it has one, so a
//! quiet poll costs one request) and read at once when its webhook arrives.
//!
//! One cycle at a time: plans and applies never overlap, whether a poll, a webhook or an
//! identity provider's SCIM push started them. A source the feed-shrink guard halts is left
//! as it was (nobody in it is offboarded) while the others go on.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use async_trait::async_trait;
use jiff::Timestamp;
use roster_connectors::SourceConfig;
use roster_connectors::directory::process_env;
use roster_connectors::hr::{HrSource, build_source};
use roster_core::Policy;
use roster_core::quality::FeedHalt;
use roster_engine::{ApplyError, import_source};
use roster_server::{WebhookReply, WebhookSink};
use roster_store::Store;
use tokio::sync::{Mutex, mpsc};

use super::flow::{apply_stored, plan_systems, read_source, report_import};
use super::{Global, load_policy};
use crate::config::Loaded;
use crate::{EXIT_HALTED, EXIT_HELD, SyncArgs};

/// How often a source without `poll_interval_secs` (a CSV file) is read again by `serve`.
const FILE_POLL_SECS: u64 = 300;

/// Polls that may rely on changed-since before the whole listing is read anyway (deletions
/// and fields the vendor does not flag show up at least this often).
const FULL_READ_EVERY: u32 = 12;

/// What one cycle did.
#[derive(Debug, Default)]
pub struct CycleReport {
    pub halted: Vec<FeedHalt>,
    /// Plans held by the safety check: `(system, plan id)`.
    pub held: Vec<(String, String)>,
    /// Steps applied over every system.
    pub applied: usize,
    pub errors: Vec<String>,
}

pub struct Syncer {
    store: Arc<dyn Store>,
    loaded: Loaded,
    policy: Policy,
    /// The API sources, opened once (their HTTP clients keep the vendor's pace).
    sources: BTreeMap<String, Arc<dyn HrSource>>,
    cycle: Mutex<()>,
}

impl Syncer {
    pub fn new(store: Arc<dyn Store>, loaded: Loaded, policy: Policy) -> Result<Syncer> {
        let mut sources = BTreeMap::new();
        for (name, config) in &loaded.config.sources {
            if !matches!(config, SourceConfig::Csv(_)) {
                // The errors name the source already.
                let source = build_source(name, config, &process_env)?;
                sources.insert(name.clone(), Arc::from(source));
            }
        }
        Ok(Syncer {
            store,
            loaded,
            policy,
            sources,
            cycle: Mutex::new(()),
        })
    }

    pub fn has_systems(&self) -> bool {
        !self.loaded.config.systems.is_empty()
    }

    pub fn source_count(&self) -> usize {
        self.loaded.config.sources.len()
    }

    /// Imports the sources named in `only` (every source when `None`), then plans every
    /// system and applies the plans the safety check does not hold.
    pub async fn cycle(
        &self,
        only: Option<&BTreeSet<String>>,
        accept_shrink: &[String],
    ) -> CycleReport {
        let _one_at_a_time = self.cycle.lock().await;
        let mut report = CycleReport::default();
        let at = Timestamp::now();
        for (name, config) in &self.loaded.config.sources {
            if only.is_some_and(|o| !o.contains(name)) {
                continue;
            }
            let intake = match self.sources.get(name) {
                Some(source) => source
                    .list()
                    .await
                    .map(|l| l.validate(name, &self.policy.custom_attributes))
                    .map_err(anyhow::Error::from),
                None => read_source(name, config, &self.policy, None).await,
            };
            let intake = match intake {
                Ok(i) => i,
                Err(e) => {
                    report.errors.push(format!("{name}: not imported: {e:#}"));
                    continue;
                }
            };
            let accept = accept_shrink.contains(name);
            match import_source(self.store.as_ref(), &self.policy, name, intake, at, accept).await {
                Ok(outcome) => {
                    if let Some(halt) = report_import(name, outcome) {
                        eprintln!("{}", halt.message);
                        report.halted.push(halt);
                    }
                }
                Err(e) => report.errors.push(format!("{name}: {e}")),
            }
        }
        self.plan_and_apply_unlocked(&mut report).await;
        report
    }

    /// Plans and applies every system (after an identity provider's SCIM push).
    pub async fn plan_and_apply(&self) -> CycleReport {
        let _one_at_a_time = self.cycle.lock().await;
        let mut report = CycleReport::default();
        self.plan_and_apply_unlocked(&mut report).await;
        report
    }

    async fn plan_and_apply_unlocked(&self, report: &mut CycleReport) {
        if self.loaded.config.systems.is_empty() {
            return;
        }
        let planned = match plan_systems(
            &self.store,
            &self.loaded,
            &self.policy,
            None,
            Timestamp::now(),
        )
        .await
        {
            Ok(p) => p,
            Err(e) => {
                report.errors.push(format!("planning: {e:#}"));
                return;
            }
        };
        for p in planned {
            if let Some(hold) = &p.plan.hold {
                eprintln!(
                    "HELD: plan {} for {}: {}\n  Review it; to go ahead: roster apply {} --confirm",
                    p.id, p.plan.system, hold.message, p.id
                );
                report.held.push((p.plan.system.clone(), p.id.clone()));
                continue;
            }
            if p.plan.is_empty() {
                continue;
            }
            match apply_stored(&self.store, &self.loaded, &p.id, false, None).await {
                Ok(r) => {
                    // Standard error: a service's standard output may be closed.
                    eprintln!(
                        "{}: plan {}: {} step(s) applied, {} already in place, {} failed, {} waiting",
                        p.plan.system,
                        p.id,
                        r.applied,
                        r.already_done,
                        r.failed.len(),
                        r.waiting.len()
                    );
                    report.applied += r.applied;
                    for (step, message) in &r.failed {
                        report
                            .errors
                            .push(format!("{}: step {step}: {message}", p.plan.system));
                    }
                }
                Err(ApplyError::Held(message)) => {
                    eprintln!("HELD: plan {} for {}: {message}", p.id, p.plan.system);
                    report.held.push((p.plan.system.clone(), p.id.clone()));
                }
                Err(e) => report
                    .errors
                    .push(format!("applying plan {} to {}: {e}", p.id, p.plan.system)),
            }
        }
    }

    /// Serves forever: polls each source when due, and at once (a tenth of a second later,
    /// so a burst of deliveries is one read) when `webhooks` names it.
    pub async fn run(self: Arc<Self>, mut webhooks: mpsc::UnboundedReceiver<String>) {
        struct Due {
            at: tokio::time::Instant,
            every: Duration,
            polls: u32,
            last_read: Timestamp,
        }
        let start = tokio::time::Instant::now();
        let mut due: BTreeMap<String, Due> = self
            .loaded
            .config
            .sources
            .iter()
            .map(|(name, config)| {
                let every = Duration::from_secs(
                    config.poll_interval_secs().unwrap_or(FILE_POLL_SECS).max(1),
                );
                let first = Due {
                    at: start,
                    every,
                    polls: 0,
                    last_read: Timestamp::UNIX_EPOCH,
                };
                (name.clone(), first)
            })
            .collect();
        loop {
            let next = due.values().map(|d| d.at).min();
            let mut ready: BTreeSet<String> = BTreeSet::new();
            tokio::select! {
                delivered = webhooks.recv() => {
                    let Some(name) = delivered else { return };
                    ready.insert(name);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    while let Ok(more) = webhooks.try_recv() {
                        ready.insert(more);
                    }
                }
                _ = sleep_until(next) => {
                    let now = tokio::time::Instant::now();
                    for (name, d) in due.iter_mut().filter(|(_, d)| d.at <= now) {
                        d.at = now + d.every;
                        d.polls += 1;
                        if self.quiet_since(name, d.last_read, d.polls).await {
                            continue;
                        }
                        ready.insert(name.clone());
                    }
                }
            }
            if ready.is_empty() {
                continue;
            }
            let read_at = Timestamp::now();
            for name in &ready {
                if let Some(d) = due.get_mut(name) {
                    d.last_read = read_at;
                }
            }
            let report = self.cycle(Some(&ready), &[]).await;
            for e in &report.errors {
                eprintln!("sync: {e}");
            }
        }
    }

    /// Whether a poll of `name` can be skipped: the vendor's changed-since names nobody
    /// changed since the last read, and a full read is not due.
    async fn quiet_since(&self, name: &str, last_read: Timestamp, polls: u32) -> bool {
        if last_read == Timestamp::UNIX_EPOCH || polls.is_multiple_of(FULL_READ_EVERY) {
            return false;
        }
        let Some(source) = self.sources.get(name) else {
            return false;
        };
        // A little overlap: a change stamped just before the last read started is not lost.
        let since = last_read - jiff::SignedDuration::from_secs(60);
        matches!(source.changed_since(since).await, Ok(Some(ids)) if ids.is_empty())
    }
}

async fn sleep_until(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Receives HR webhooks for [`Syncer::run`]: a delivery that verifies wakes the source's sync.
pub struct Webhooks {
    pub syncer: Arc<Syncer>,
    pub wake: mpsc::UnboundedSender<String>,
}

#[async_trait]
impl WebhookSink for Webhooks {
    async fn deliver(
        &self,
        source: &str,
        headers: &roster_server::hooks::HeaderMap,
        body: &[u8],
    ) -> WebhookReply {
        let Some(s) = self.syncer.sources.get(source) else {
            return WebhookReply::UnknownSource;
        };
        match s.verify_webhook(headers, body, Timestamp::now()) {
            Ok(notice) => {
                if !notice.is_ping() {
                    let _ = self.wake.send(source.to_string());
                }
                WebhookReply::Accepted
            }
            Err(e) => WebhookReply::Rejected(e.to_string()),
        }
    }
}

/// `roster sync --once`.
pub async fn once(global: &Global<'_>, args: &SyncArgs) -> Result<ExitCode> {
    let loaded = global.load_config()?;
    let policy = load_policy(&loaded.config.policy)?;
    let store = global.open_store().await?;
    let syncer = Syncer::new(store, loaded, policy)?;
    let report = syncer.cycle(None, &args.accept_shrink).await;
    for e in &report.errors {
        eprintln!("error: {e}");
    }
    eprintln!(
        "sync: {} step(s) applied; {} source(s) halted; {} plan(s) held; {} error(s)",
        report.applied,
        report.halted.len(),
        report.held.len(),
        report.errors.len()
    );
    Ok(if !report.errors.is_empty() {
        ExitCode::FAILURE
    } else if !report.halted.is_empty() {
        ExitCode::from(EXIT_HALTED)
    } else if !report.held.is_empty() {
        ExitCode::from(EXIT_HELD)
    } else {
        ExitCode::SUCCESS
    })
}

/// `roster sync`: polls until Ctrl-C (no SCIM endpoint, no webhooks: `roster serve` has both).
pub async fn forever(global: &Global<'_>) -> Result<ExitCode> {
    let loaded = global.load_config()?;
    let policy = load_policy(&loaded.config.policy)?;
    let store = global.open_store().await?;
    let syncer = Arc::new(Syncer::new(store, loaded, policy)?);
    let (_keep_open, wake) = mpsc::unbounded_channel();
    eprintln!("roster sync: polling every source at its interval; Ctrl-C stops");
    tokio::select! {
        _ = syncer.run(wake) => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(ExitCode::SUCCESS)
}
